// state: what may be sent and delivered in which state (spec section 9).
import * as L from "../lib.mjs";
const {
  mk,
  send,
  wait,
  expectAccept,
  expectHello,
  expectData,
  expectBytes,
  rejectClose,
  ctrlClose,
  silentClose,
  silence,
  utf8,
  frame,
  textFrame,
  helloFrame,
  acceptFrame,
  hdr,
  QWH,
} = L;

const A = "state";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const cli = (name, o) => mk(A, "client", name, { config: C(), ...o });
const server = [];
const client = [];

server.push(
  srv("silent-before-hello", {
    title: "after the TCP handshake the server sends nothing until the hello",
    reqs: ["QWH-STATE-002"],
    steps: [silence(250), send(helloFrame()), expectAccept({ type: "accept" })],
  }),
);
server.push(
  srv("greeting-waits-for-accept", {
    title: "a server application that sends at once: its message comes after the accept, never before",
    reqs: ["QWH-STATE-002", "QWH-ACCEPT-001"],
    config: S({ messages: [utf8("greet")] }),
    steps: [silence(250), send(helloFrame()), expectAccept({ type: "accept" }), expectData(utf8("greet"))],
  }),
);
server.push(
  srv("greeting-waits-for-slow-policy", {
    title: "the policy takes 200 ms: nothing (no message, no PING) is sent before the accept",
    reqs: ["QWH-STATE-002", "QWH-ACCEPT-001"],
    config: S({ verifyDelayMs: 200, messages: [utf8("greet")], heartbeatIntervalMs: 50 }),
    steps: [send(helloFrame()), expectAccept({ type: "accept" }), expectData(utf8("greet"))],
  }),
);
server.push(
  srv("bytes-during-verifying", {
    title: "a data frame sent while the server is still verifying the hello: reject E_PROTOCOL_ERROR",
    reqs: ["QWH-STATE-003", "QWH-STATE-004"],
    config: S({ verifyDelayMs: 300 }),
    steps: [send(helloFrame()), wait(80), send(textFrame("early")), rejectClose("E_PROTOCOL_ERROR")],
  }),
);
server.push(
  srv("bytes-with-hello-while-verifying", {
    title: "a data frame in the same write as the hello, policy still deciding: reject E_PROTOCOL_ERROR",
    reqs: ["QWH-STATE-003", "QWH-STATE-004"],
    config: S({ verifyDelayMs: 300 }),
    steps: [send(helloFrame() + textFrame("early")), rejectClose("E_PROTOCOL_ERROR")],
  }),
);
server.push(
  srv("bytes-with-hello", {
    title:
      "a data frame in the same write as the hello, policy deciding at once: the byte still came before the answer, reject E_PROTOCOL_ERROR",
    reqs: ["QWH-STATE-003", "QWH-STATE-004", "QWH-STATE-006"],
    steps: [send(helloFrame() + textFrame("early")), rejectClose("E_PROTOCOL_ERROR")],
  }),
);
server.push(
  srv("bytes-with-hello-partial-header", {
    title:
      "one byte (the start of a header) in the same write as the hello, policy deciding at once: reject E_PROTOCOL_ERROR, never an accept",
    reqs: ["QWH-STATE-006", "QWH-STATE-003"],
    steps: [send(helloFrame() + "00"), rejectClose("E_PROTOCOL_ERROR")],
  }),
);
server.push(
  srv("bytes-with-hello-empty-frame", {
    title: "an empty data frame in the same write as the hello, policy deciding at once: reject E_PROTOCOL_ERROR",
    reqs: ["QWH-STATE-006", "QWH-STATE-003"],
    steps: [send(helloFrame() + frame("")), rejectClose("E_PROTOCOL_ERROR")],
  }),
);
server.push(
  srv("one-byte-during-verifying", {
    title: "a single byte during verification is enough for E_PROTOCOL_ERROR",
    reqs: ["QWH-STATE-003"],
    config: S({ verifyDelayMs: 300 }),
    steps: [send(helloFrame()), wait(80), send("00"), rejectClose("E_PROTOCOL_ERROR")],
  }),
);
server.push(
  srv("second-hello-is-a-message", {
    title: "a second hello after the accept is an ordinary message (echoed)",
    reqs: ["QWH-STATE-004", "QWH-FRAME-011"],
    steps: [send(helloFrame()), expectAccept({ type: "accept" }), send(helloFrame()), expectData(helloFrame().slice(8))],
  }),
);
server.push(
  srv("no-delivery-after-failure", {
    title: "after failing on an oversized header, a valid frame in the same write is not delivered",
    reqs: ["QWH-STATE-005"],
    config: S({ maxFrameLength: 16 }),
    steps: [send(helloFrame()), expectAccept({ type: "accept" }), send(hdr(17) + textFrame("after")), ctrlClose("E_FRAME_TOO_LARGE")],
  }),
);
server.push(
  srv("no-delivery-after-failure-no-control", {
    title: "without control: after a failure nothing is delivered and nothing is sent",
    reqs: ["QWH-STATE-005", "QWH-ERR-004"],
    config: S({ features: [], maxFrameLength: 16 }),
    steps: [send(helloFrame([])), expectAccept({ type: "accept" }), send(hdr(17) + textFrame("after")), silentClose()],
  }),
);
server.push(
  srv("no-delivery-after-reject", {
    title: "a data frame after an invalid hello is never delivered",
    reqs: ["QWH-STATE-005", "QWH-STATE-004"],
    steps: [send(frame(utf8("{}")) + textFrame("after")), rejectClose("E_INVALID_HANDSHAKE")],
  }),
);

client.push(
  cli("no-frame-before-accept", {
    title: "messages queued at connect are held until the accept, then sent",
    reqs: ["QWH-STATE-001"],
    config: C({ messages: [utf8("m1")] }),
    steps: [expectHello({ type: "handshake", qwh: QWH }), silence(250), send(acceptFrame()), expectData(utf8("m1"))],
  }),
);
client.push(
  cli("nothing-before-accept-next-frame", {
    title:
      "a message queued at connect is not written before the accept: after an accept with maxFrameLength 0 the next frame is the mirror of our empty message",
    reqs: ["QWH-STATE-001", "QWH-FRAME-007"],
    config: C({ messages: [utf8("m1")] }),
    steps: [
      expectHello({ type: "handshake", qwh: QWH }),
      send(L.acceptFrame(["control"], { maxFrameLength: 0 })),
      send(frame("")),
      expectData(""),
    ],
  }),
);
client.push(
  cli("queued-messages-in-order", {
    title: "three messages queued before the accept are sent after it, in order",
    reqs: ["QWH-STATE-001", "QWH-FRAME-008"],
    config: C({ messages: ["01", "02", "03"] }),
    steps: [expectHello({ type: "handshake" }), silence(150), send(acceptFrame()), expectBytes(frame("01") + frame("02") + frame("03"))],
  }),
);
client.push(
  cli("no-ping-before-accept", {
    title: "heartbeats configured: no PING before the accept",
    reqs: ["QWH-STATE-001", "QWH-CTRL-001"],
    config: C({ heartbeatIntervalMs: 50 }),
    steps: [expectHello({ type: "handshake" }), silence(300)],
  }),
);
client.push(
  cli("no-frame-after-reject", {
    title: "after a reject the client sends nothing, queued messages included",
    reqs: ["QWH-STATE-001", "QWH-ACCEPT-009"],
    config: C({ messages: [utf8("m1")] }),
    steps: [expectHello({ type: "handshake" }), send(L.rejectFrame("E_POLICY_REJECTED")), silentClose()],
  }),
);
client.push(
  cli("no-delivery-after-failure", {
    title: "after failing on an oversized header, a valid frame in the same write is not delivered",
    reqs: ["QWH-STATE-005"],
    config: C({ maxFrameLength: 16 }),
    steps: [
      expectHello({ type: "handshake", maxFrameLength: 16 }),
      send(acceptFrame()),
      send(hdr(17) + textFrame("after")),
      ctrlClose("E_FRAME_TOO_LARGE"),
    ],
  }),
);
client.push(
  cli("no-delivery-after-invalid-accept", {
    title: "an invalid accept followed by a data frame: nothing delivered, nothing sent",
    reqs: ["QWH-STATE-005", "QWH-STATE-004"],
    steps: [expectHello({ type: "handshake" }), send(frame(utf8("{}")) + textFrame("after")), silentClose()],
  }),
);
L.addResults(client, {
  "no-frame-after-reject": { error: "E_POLICY_REJECTED", received: [] },
  "no-delivery-after-failure": { error: "E_FRAME_TOO_LARGE", received: [] },
  "no-delivery-after-invalid-accept": { error: "E_INVALID_HANDSHAKE", received: [] },
});

export default {
  area: A,
  description:
    "Connection states (spec section 9): nothing sent before the answer, nothing delivered before the handshake completes or after a failure.",
  server,
  client,
};
