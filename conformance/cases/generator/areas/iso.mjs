// iso: a misbehaving connection does not disturb another connection to the same server.
import * as L from "../lib.mjs";
const {
  mk,
  open,
  on,
  send,
  wait,
  expectData,
  rejectClose,
  ctrlClose,
  silentClose,
  silence,
  closeWrite,
  textFrame,
  helloFrame,
  frame,
  hdr,
  utf8,
  closeFrame,
} = L;

const A = "iso";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const b = (steps) => on("b", steps);
const server = [];
const client = [];
const aWorks = (t = "a") => [send(textFrame(t)), expectData(utf8(t))];

const CASES = [
  [
    "oversize-on-other",
    "a connection failing with E_FRAME_TOO_LARGE",
    ["QWH-FRAME-005", "QWH-STATE-005"],
    S({ maxFrameLength: 16 }),
    [...open(["control"], { acceptJson: { maxFrameLength: 16 } }), send(hdr(17)), ctrlClose("E_FRAME_TOO_LARGE")],
  ],
  [
    "invalid-hello-on-other",
    "a connection rejected for an invalid hello",
    ["QWH-HELLO-011"],
    S(),
    [send(frame(utf8("{"))), rejectClose("E_INVALID_HANDSHAKE")],
  ],
  [
    "truncation-on-other",
    "a connection ending inside a frame",
    ["QWH-FRAME-009"],
    S(),
    [...open(), send(hdr(10) + "0102"), closeWrite(), silentClose()],
  ],
  [
    "invalid-control-on-other",
    "a connection failing on an unknown critical control type",
    ["QWH-CTRL-003"],
    S(),
    [...open(), send(L.ctrl(0x04)), ctrlClose("E_INVALID_CONTROL_FRAME")],
  ],
  [
    "close-on-other",
    "a connection closed gracefully",
    ["QWH-CLOSE-003"],
    S(),
    [...open(), send(closeFrame("E_NORMAL_CLOSE")), L.expectCtrl(L.CLOSE), silentClose()],
  ],
  [
    "too-large-hello-on-other",
    "a connection rejected for a too-large hello",
    ["QWH-HELLO-010"],
    S(),
    [send(hdr(0x7fffffff)), rejectClose("E_HANDSHAKE_TOO_LARGE")],
  ],
  [
    "protocol-error-on-other",
    "a connection sending data while the server verifies",
    ["QWH-STATE-003"],
    S({ verifyDelayMs: 200 }),
    [send(helloFrame() + textFrame("x")), rejectClose("E_PROTOCOL_ERROR")],
  ],
];
for (const [name, what, reqs, config, bad] of CASES) {
  server.push(
    srv(name, {
      title: `${what} does not disturb an open connection to the same server`,
      reqs,
      config,
      steps: [...open(), ...b(bad), ...aWorks()],
    }),
  );
}
server.push(
  srv("timeout-of-other", {
    title: "a connection timed out in the handshake does not disturb an open one",
    reqs: ["QWH-TIME-001"],
    config: S({ handshakeTimeoutMs: 300 }),
    steps: [...open(), ...b([rejectClose("E_HANDSHAKE_TIMEOUT", 1500)]), ...aWorks()],
  }),
);
server.push(
  srv("slow-hello-does-not-block", {
    title: "a connection that sent half a hello does not block another connection's handshake",
    reqs: ["QWH-TIME-004", "QWH-FRAME-008"],
    steps: [
      ...b([send(helloFrame().slice(0, 30))]),
      ...open(),
      ...aWorks(),
      ...b([send(helloFrame().slice(30)), L.expectAccept({ type: "accept" })]),
    ],
  }),
);
server.push(
  srv("messages-not-crossed", {
    title: "messages of two connections are delivered on their own connection only",
    reqs: ["QWH-FRAME-008", "QWH-FRAME-011"],
    steps: [
      ...open(),
      ...b(open()),
      send(textFrame("to-a")),
      ...b([send(textFrame("to-b")), expectData(utf8("to-b"))]),
      expectData(utf8("to-a")),
      silence(100),
      ...b([silence(100)]),
    ],
  }),
);
{
  const depth = 8000;
  const deep = frame(
    utf8('{"type":"handshake","qwh":"1.0","features":["control"],"x-deep":' + "[".repeat(depth) + "]".repeat(depth) + "}"),
  );
  server.push(
    srv("deep-nesting-no-crash", {
      title: `a hello nested ${depth} levels deep (accepted or rejected) does not crash the server: a new connection is served`,
      reqs: ["QWH-SEC-002"],
      steps: [...b([send(deep)]), wait(300), ...open(), ...aWorks()],
    }),
  );
  server.push(
    srv("deep-nesting-close-body-no-crash", {
      title: "a CLOSE body nested 450 levels deep does not crash the server: another connection is served",
      reqs: ["QWH-SEC-002"],
      steps: [
        ...b([...open(), send(L.ctrl(L.CLOSE, utf8('{"code":"E_NORMAL_CLOSE","x":' + "[".repeat(450) + "]".repeat(450) + "}")))]),
        wait(300),
        ...open(),
        ...aWorks(),
      ],
    }),
  );
}

export default {
  area: A,
  description: "Connection isolation: one misbehaving connection never disturbs another connection to the same server.",
  server,
  client,
};
