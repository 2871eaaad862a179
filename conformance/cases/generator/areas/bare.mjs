// bare: the bare profile (spec section 6.4): no hello, every frame is data; v1 is the default.
import * as L from "../lib.mjs";
const {
  mk,
  send,
  expectBytes,
  expectData,
  expectHello,
  rejectClose,
  silentClose,
  silence,
  closeWrite,
  utf8,
  frame,
  textFrame,
  jsonFrame,
  helloFrame,
  hdr,
  pattern,
} = L;

const A = "bare";
const S = (x = {}) => ({ scenario: "echo", profile: "bare", ...x });
const C = (x = {}) => ({ scenario: "mirror", profile: "bare", ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const cli = (name, o) => mk(A, "client", name, { config: C(), ...o });
const server = [];
const client = [];

const ECHOED = [
  ["first-frame-is-data", textFrame("hi"), ["QWH-BARE-001"], "the first frame is an ordinary message"],
  ["hello-delivered-as-message", helloFrame(), ["QWH-BARE-002"], "a v1 hello as the first frame is delivered as a message"],
  [
    "legacy-hello-delivered-as-message",
    jsonFrame({ type: "handshake", version: "1.0.0" }),
    ["QWH-BARE-002"],
    "a 0.3 hello as the first frame is delivered as a message",
  ],
  ["empty-first-frame", frame(""), ["QWH-BARE-001", "QWH-FRAME-003"], "an empty first frame is an empty message"],
  ["not-json-first-frame", frame(utf8("not json")), ["QWH-BARE-001"], "a first frame that is not JSON is simply a message"],
  ["large-first-frame", frame(pattern(20000)), ["QWH-BARE-001"], "a 20000-byte first frame: no handshake limit in bare"],
];
for (const [name, bytes, reqs, title] of ECHOED) server.push(srv(name, { title, reqs, steps: [send(bytes), expectBytes(bytes, 3000)] }));
server.push(
  srv("sends-nothing-first", {
    title: "a bare server sends no answer and no frame of its own",
    reqs: ["QWH-BARE-001"],
    steps: [silence(250)],
  }),
);
server.push(
  srv("no-handshake-timeout", {
    title: "a bare server has no handshake phase: a silent peer is not timed out (timeout 300 ms configured)",
    reqs: ["QWH-BARE-001"],
    config: S({ handshakeTimeoutMs: 300 }),
    steps: [silence(800), send(textFrame("x")), expectData(utf8("x"))],
  }),
);
server.push(
  srv("no-control-frames", {
    title: "a PING on a bare connection is a too-large data frame: closed, nothing sent",
    reqs: ["QWH-BARE-001", "QWH-FRAME-010"],
    steps: [send(L.ping()), silentClose()],
  }),
);
server.push(
  srv("no-heartbeat", {
    title: "heartbeats configured: a bare server never sends a PING",
    reqs: ["QWH-BARE-001"],
    config: S({ heartbeatIntervalMs: 50 }),
    steps: [send(textFrame("x")), expectData(utf8("x")), silence(400)],
  }),
);
server.push(
  srv("own-maximum", {
    title: "a bare server enforces its own maximum (16): 00000011 closes without a frame",
    reqs: ["QWH-FRAME-005", "QWH-BARE-001"],
    config: S({ maxFrameLength: 16 }),
    steps: [send(hdr(17)), silentClose()],
  }),
);
server.push(
  srv("end-of-stream", {
    title: "the peer's FIN at a frame boundary: messages echoed, then the server closes",
    reqs: ["QWH-CLOSE-009"],
    steps: [send(textFrame("a") + textFrame("b")), closeWrite(), expectBytes(textFrame("a") + textFrame("b")), silentClose()],
  }),
);
server.push(
  srv("server-messages-first", {
    title: "a bare server's application messages go out at once as data frames",
    reqs: ["QWH-BARE-001"],
    config: S({ messages: [utf8("greet")] }),
    steps: [expectData(utf8("greet"))],
  }),
);
server.push(
  srv("refused-connection-no-bytes", {
    title: "a bare listener that refuses a connection (allowConnection) closes without sending any byte",
    reqs: ["QWH-LIMIT-004", "QWH-LIMIT-003"],
    config: S({ allowConnection: false }),
    steps: [silentClose()],
  }),
);
// The default profile is v1: without configuration a data frame first is not a hello.
const V = { scenario: "echo", features: ["control"] };
server.push(
  mk(A, "server", "default-is-v1", {
    title: "a listener without profile configuration is v1: a data frame first gets reject E_INVALID_HANDSHAKE",
    reqs: ["QWH-BARE-004", "QWH-BARE-003"],
    config: V,
    steps: [send(textFrame("hi")), rejectClose("E_INVALID_HANDSHAKE")],
  }),
);
server.push(
  mk(A, "server", "default-is-v1-json", {
    title: "a v1 listener: a JSON object without type handshake gets E_INVALID_HANDSHAKE",
    reqs: ["QWH-BARE-003"],
    config: V,
    steps: [send(jsonFrame({ hello: "world" })), rejectClose("E_INVALID_HANDSHAKE")],
  }),
);

client.push(
  cli("first-frame-is-data", {
    title: "a bare client's first bytes are its first message, no hello",
    reqs: ["QWH-BARE-001"],
    config: C({ messages: [utf8("m1")] }),
    steps: [expectBytes(textFrame("m1"))],
  }),
);
client.push(
  cli("first-message-looks-like-hello", {
    title: "a bare client sending a hello-shaped message sends it as data, unchanged",
    reqs: ["QWH-BARE-001"],
    config: C({ messages: [helloFrame().slice(8)] }),
    steps: [expectBytes(helloFrame())],
  }),
);
client.push(
  cli("delivers-at-once", {
    title: "a bare client delivers the server's first frame as a message",
    reqs: ["QWH-BARE-001"],
    steps: [send(textFrame("srv")), expectData(utf8("srv"))],
  }),
);
client.push(
  cli("accept-is-a-message", {
    title: "an accept-shaped frame to a bare client is just a message",
    reqs: ["QWH-BARE-001"],
    steps: [send(L.acceptFrame()), expectBytes(L.acceptFrame())],
  }),
);
client.push(
  cli("no-control-frames", {
    title: "a PING to a bare client is a too-large data frame: closed, nothing sent",
    reqs: ["QWH-BARE-001", "QWH-FRAME-010"],
    steps: [send(L.ping()), silentClose()],
  }),
);
client.push(
  cli("no-heartbeat", {
    title: "heartbeats configured: a bare client never sends a PING",
    reqs: ["QWH-BARE-001"],
    config: C({ heartbeatIntervalMs: 50 }),
    steps: [silence(400)],
  }),
);
client.push(
  cli("end-of-stream", {
    title: "the server's FIN: a bare client closes without any frame",
    reqs: ["QWH-CLOSE-009"],
    steps: [send(textFrame("a")), expectData(utf8("a")), closeWrite(), silentClose()],
  }),
);
client.push(
  mk(A, "client", "default-sends-hello", {
    title: "a client without profile configuration sends a v1 hello",
    reqs: ["QWH-BARE-004", "QWH-HELLO-001"],
    config: { scenario: "mirror", features: ["control"] },
    steps: [expectHello({ type: "handshake", qwh: "1.0" }), silence()],
  }),
);
L.addResults(client, { "no-control-frames": { error: "E_FRAME_TOO_LARGE", received: [] } });

export default {
  area: A,
  description: "The bare profile (spec sections 6.4 and 6.5): no hello and no answer, every frame is data, and v1 as the default profile.",
  server,
  client,
};
