// raw: framing "none" after a framed handshake (spec section 5).
import * as L from "../lib.mjs";
const {
  mk,
  send,
  sendSlowly,
  expectBytes,
  expectAccept,
  expectHello,
  rejectClose,
  silentClose,
  silence,
  closeWrite,
  hdr,
  utf8,
  pattern,
  helloFrame,
  acceptFrame,
  QWH,
} = L;

const A = "raw";
const RS = (x = {}) => ({ scenario: "echo", framing: "none", features: [], ...x });
const RC = (x = {}) => ({ scenario: "mirror", framing: "none", features: [], ...x });
const srv = (name, o) => mk(A, "server", name, { config: RS(), ...o });
const cli = (name, o) => mk(A, "client", name, { config: RC(), ...o });
const openRaw = (offer = ["raw"]) => [send(helloFrame(offer)), expectAccept({ type: "accept", qwh: QWH, features: ["raw"] })];
const clientOpenRaw = (acc = acceptFrame(["raw"])) => [expectHello({ type: "handshake", qwh: QWH, features: ["raw"] }), send(acc)];

const server = [];
const client = [];

server.push(
  srv("accept-lists-raw", {
    title: "a raw server accepts a hello offering raw and lists raw in its accept",
    reqs: ["QWH-RAW-001", "QWH-NEG-003"],
    steps: [...openRaw(), silence()],
  }),
);
server.push(
  srv("raw-and-control-offered", {
    title: "offered raw and control, a raw server lists raw only (control is never enabled with raw)",
    reqs: ["QWH-NEG-003", "QWH-RAW-004"],
    steps: [...openRaw(["raw", "control"]), silence()],
  }),
);
server.push(
  srv("echo-unframed-bytes", {
    title: "after the accept the bytes are an unframed stream (echoed as bytes, no header)",
    reqs: ["QWH-RAW-003"],
    steps: [...openRaw(), send(utf8("hello raw")), expectBytes(utf8("hello raw"))],
  }),
);
server.push(
  srv("header-like-bytes-not-interpreted", {
    title: "bytes that look like a frame header are stream bytes",
    reqs: ["QWH-RAW-003"],
    steps: [...openRaw(), send("0000000568"), expectBytes("0000000568")],
  }),
);
server.push(
  srv("control-like-bytes-not-interpreted", {
    title: "bytes that look like a PING are stream bytes, not a control frame",
    reqs: ["QWH-RAW-003", "QWH-RAW-004"],
    steps: [...openRaw(), send(L.ping(pattern(8))), expectBytes(L.ping(pattern(8)))],
  }),
);
server.push(
  srv("huge-length-not-checked", {
    title: "7fffffff in the stream is not a length: no maximum applies in raw mode",
    reqs: ["QWH-RAW-003"],
    config: RS({ maxFrameLength: 16 }),
    steps: [
      send(helloFrame(["raw"])),
      expectAccept({ type: "accept", features: ["raw"], maxFrameLength: 16 }),
      send("7fffffff" + pattern(40)),
      expectBytes("7fffffff" + pattern(40)),
    ],
  }),
);
server.push(
  srv("byte-by-byte-stream", {
    title: "a stream sent byte by byte comes back whole",
    reqs: ["QWH-RAW-003"],
    steps: [...openRaw(), sendSlowly(pattern(24), 5), expectBytes(pattern(24))],
  }),
);
server.push(
  srv("hello-byte-by-byte", {
    title: "the hello of a raw connection is a frame: sent byte by byte, it is read whole",
    reqs: ["QWH-RAW-001"],
    steps: [sendSlowly(helloFrame(["raw"]), 2), expectAccept({ type: "accept", features: ["raw"] })],
  }),
);
server.push(
  srv("hello-too-large", {
    title: "the handshake limit applies in raw mode: header 00004001 is rejected with E_HANDSHAKE_TOO_LARGE",
    reqs: ["QWH-RAW-001", "QWH-HELLO-010"],
    steps: [send(hdr(16385)), rejectClose("E_HANDSHAKE_TOO_LARGE")],
  }),
);
server.push(
  srv("hello-without-raw", {
    title: "a raw server rejects a hello that does not offer raw with E_FRAMING_MISMATCH",
    reqs: ["QWH-RAW-005"],
    steps: [send(helloFrame([])), rejectClose("E_FRAMING_MISMATCH")],
  }),
);
server.push(
  srv("hello-with-control-only", {
    title: "a raw server rejects a hello offering only control with E_FRAMING_MISMATCH",
    reqs: ["QWH-RAW-005"],
    steps: [send(helloFrame(["control"])), rejectClose("E_FRAMING_MISMATCH")],
  }),
);
server.push(
  mk(A, "server", "framed-server-raw-hello", {
    title: "a length-prefixed server rejects a hello offering raw with E_FRAMING_MISMATCH",
    reqs: ["QWH-RAW-005"],
    config: { scenario: "echo", features: ["control"] },
    steps: [send(helloFrame(["raw"])), rejectClose("E_FRAMING_MISMATCH")],
  }),
);
server.push(
  mk(A, "server", "framed-server-raw-and-control", {
    title: "a length-prefixed server rejects raw even when control is offered too",
    reqs: ["QWH-RAW-005"],
    config: { scenario: "echo", features: ["control"] },
    steps: [send(helloFrame(["control", "raw"])), rejectClose("E_FRAMING_MISMATCH")],
  }),
);
server.push(
  srv("end-of-stream", {
    title: "the client's FIN ends the raw stream: the server echoes what it had and closes without any frame",
    reqs: ["QWH-RAW-004"],
    steps: [...openRaw(), send(utf8("tail")), closeWrite(), expectBytes(utf8("tail")), silentClose()],
  }),
);
server.push(
  srv("no-heartbeat-in-raw", {
    title: "heartbeats configured: no PING is ever written on a raw connection",
    reqs: ["QWH-RAW-004"],
    config: RS({ heartbeatIntervalMs: 50 }),
    steps: [...openRaw(), silence(400)],
  }),
);
server.push(
  srv("server-messages-unframed", {
    title: "messages the server application sends are written as plain bytes",
    reqs: ["QWH-RAW-003"],
    config: RS({ messages: [utf8("ab"), utf8("cd")] }),
    steps: [...openRaw(), expectBytes(utf8("abcd"))],
  }),
);

client.push(
  cli("hello-offers-raw", {
    title: "a client configured for framing none offers raw in a framed hello",
    reqs: ["QWH-RAW-002", "QWH-RAW-001"],
    steps: [expectHello({ type: "handshake", qwh: QWH, features: ["raw"] }), silence()],
  }),
);
client.push(
  mk(A, "client", "framed-client-does-not-offer-raw", {
    title: "a length-prefixed client does not offer raw",
    reqs: ["QWH-RAW-002"],
    config: { scenario: "mirror", features: ["control"] },
    steps: [expectHello({ type: "handshake", qwh: QWH, features: ["control"] }), silence()],
  }),
);
client.push(
  cli("echo-unframed-bytes", {
    title: "after the accept the client's stream is unframed",
    reqs: ["QWH-RAW-003"],
    steps: [...clientOpenRaw(), send(utf8("hello raw")), expectBytes(utf8("hello raw"))],
  }),
);
client.push(
  cli("bytes-in-accept-write", {
    title: "bytes that arrive in the same write as the accept are the start of the stream",
    reqs: ["QWH-RAW-003"],
    steps: [expectHello({ type: "handshake", features: ["raw"] }), send(acceptFrame(["raw"]) + utf8("early")), expectBytes(utf8("early"))],
  }),
);
client.push(
  cli("header-like-bytes-not-interpreted", {
    title: "bytes that look like frames are stream bytes",
    reqs: ["QWH-RAW-003", "QWH-RAW-004"],
    steps: [...clientOpenRaw(), send(L.ping("") + "00000003"), expectBytes(L.ping("") + "00000003")],
  }),
);
client.push(
  cli("huge-length-not-checked", {
    title: "ffffffff in the stream is not a length",
    reqs: ["QWH-RAW-003"],
    config: RC({ maxFrameLength: 16 }),
    steps: [
      expectHello({ type: "handshake", features: ["raw"] }),
      send(acceptFrame(["raw"])),
      send("ffffffff" + pattern(20)),
      expectBytes("ffffffff" + pattern(20)),
    ],
  }),
);
client.push(
  cli("client-messages-unframed", {
    title: "messages the client application sends are written as plain bytes after the accept",
    reqs: ["QWH-RAW-003", "QWH-STATE-001"],
    config: RC({ messages: [utf8("ab"), utf8("cd")] }),
    steps: [expectHello({ type: "handshake", features: ["raw"] }), silence(150), send(acceptFrame(["raw"])), expectBytes(utf8("abcd"))],
  }),
);
client.push(
  cli("accept-without-raw", {
    title: "an accept that does not list raw fails with E_FRAMING_MISMATCH: nothing sent, connection closed",
    reqs: ["QWH-RAW-006", "QWH-ERR-004"],
    steps: [expectHello({ type: "handshake", features: ["raw"] }), send(acceptFrame([])), silentClose()],
  }),
);
client.push(
  cli("accept-without-raw-lists-control", {
    title: "an accept listing control instead of raw fails: nothing sent, connection closed",
    reqs: ["QWH-RAW-006", "QWH-ACCEPT-006"],
    steps: [expectHello({ type: "handshake", features: ["raw"] }), send(acceptFrame(["control"])), silentClose()],
  }),
);
client.push(
  cli("server-end-of-stream", {
    title: "the server's FIN ends the stream: the client closes without any frame",
    reqs: ["QWH-RAW-004"],
    steps: [...clientOpenRaw(), send(utf8("x")), expectBytes(utf8("x")), closeWrite(), silentClose()],
  }),
);
client.push(
  cli("no-heartbeat-in-raw", {
    title: "heartbeats configured: no PING is written on a raw connection",
    reqs: ["QWH-RAW-004"],
    config: RC({ heartbeatIntervalMs: 50 }),
    steps: [...clientOpenRaw(), silence(400)],
  }),
);
// The client's order of checks: a feature not offered (E_PROTOCOL_ERROR) before "raw" missing (QWH-ACCEPT-011).
client.push(
  cli("accept-lists-control-not-raw-code", {
    title: "an accept listing control instead of raw: E_PROTOCOL_ERROR (a feature not offered) before E_FRAMING_MISMATCH; nothing sent",
    reqs: ["QWH-ACCEPT-011", "QWH-ACCEPT-006"],
    steps: [expectHello({ type: "handshake", features: ["raw"] }), send(acceptFrame(["control"])), silentClose()],
  }),
);
L.addResults(client, {
  "accept-without-raw": { error: "E_FRAMING_MISMATCH", received: [] },
  "accept-lists-control-not-raw-code": { error: "E_PROTOCOL_ERROR", received: [] },
});

export default {
  area: A,
  description: 'Raw mode (spec section 5): framing "none" after a framed hello and accept; the framing agreement.',
  server,
  client,
};
