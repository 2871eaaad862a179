// ctrl: control-frame layout, lengths and types (spec sections 10.1, 10.2).
import * as L from "../lib.mjs";
const {
  mk,
  open,
  clientOpen,
  send,
  sendSlowly,
  expectBytes,
  expectData,
  expectPong,
  ctrlClose,
  silentClose,
  silence,
  ctrl,
  hdr,
  utf8,
  textFrame,
  pattern,
  ping,
} = L;

const A = "ctrl";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const server = [];
const client = [];
const both = (name, o) => {
  server.push(mk(A, "server", name, { config: S(o.x), ...o, steps: [...open(), ...o.steps] }));
  client.push(mk(A, "client", name, { config: C(o.x), ...o, steps: [...clientOpen(), ...o.steps] }));
};
const after = textFrame("after");
const afterEcho = expectData(utf8("after"));

// Invalid lengths: checked on the header.
both("length-zero", {
  title: "a control header with L = 0 (80000000) fails with E_INVALID_CONTROL_FRAME",
  reqs: ["QWH-CTRL-002"],
  steps: [send("80000000"), ctrlClose("E_INVALID_CONTROL_FRAME")],
});
both("length-1025-header-only", {
  title: "a control header with L = 1025 fails at once, before any payload byte",
  reqs: ["QWH-CTRL-002"],
  steps: [send(hdr(0x80000401)), ctrlClose("E_INVALID_CONTROL_FRAME")],
});
both("length-7fffffff-header-only", {
  title: "a control header with L = 0x7fffffff fails at once",
  reqs: ["QWH-CTRL-002"],
  steps: [send("ffffffff"), ctrlClose("E_INVALID_CONTROL_FRAME")],
});
both("length-1025-complete", {
  title: "a complete 1025-byte PING fails with E_INVALID_CONTROL_FRAME",
  reqs: ["QWH-CTRL-002"],
  steps: [send(ping(pattern(1024))), ctrlClose("E_INVALID_CONTROL_FRAME")],
});
server.push(
  mk(A, "server", "length-zero-byte-by-byte", {
    title: "80000000 sent byte by byte fails once the header is complete",
    reqs: ["QWH-CTRL-002", "QWH-FRAME-008"],
    config: S(),
    steps: [...open(), sendSlowly("80000000", 40), ctrlClose("E_INVALID_CONTROL_FRAME")],
  }),
);
// Length 1024 is fine: an ignorable type with a 1023-byte body, then a PING.
both("length-1024-accepted", {
  title: "a control frame of L = 1024 (ignorable type, 1023-byte body) is accepted and ignored",
  reqs: ["QWH-CTRL-002", "QWH-CTRL-004"],
  steps: [send(ctrl(0x80, pattern(1023))), send(after), afterEcho],
});
// The data maximum does not apply to control frames.
server.push(
  mk(A, "server", "not-limited-by-data-max", {
    title: "receive maximum 16: a PING with a 100-byte body is still answered",
    reqs: ["QWH-CTRL-006"],
    config: S({ maxFrameLength: 16 }),
    steps: [...open(["control"], { acceptJson: { maxFrameLength: 16 } }), send(ping(pattern(100))), expectPong(pattern(100))],
  }),
);
client.push(
  mk(A, "client", "not-limited-by-data-max", {
    title: "receive maximum 16: a PING with a 100-byte body is still answered",
    reqs: ["QWH-CTRL-006"],
    config: C({ maxFrameLength: 16 }),
    steps: [...clientOpen(["control"], { helloJson: { maxFrameLength: 16 } }), send(ping(pattern(100))), expectPong(pattern(100))],
  }),
);
server.push(
  mk(A, "server", "not-limited-by-data-max-zero", {
    title: "receive maximum 0: a PING is still answered",
    reqs: ["QWH-CTRL-006"],
    config: S({ maxFrameLength: 0 }),
    steps: [...open(["control"], { acceptJson: { maxFrameLength: 0 } }), send(ping("01")), expectPong("01")],
  }),
);

// Unknown critical types fail; reserved resume types fail.
for (const t of [0x00, 0x04, 0x0f, 0x12, 0x7f]) {
  const h = t.toString(16).padStart(2, "0");
  both(`critical-type-${h}`, {
    title: `control type 0x${h} (critical, unknown) fails with E_INVALID_CONTROL_FRAME`,
    reqs: ["QWH-CTRL-003"],
    steps: [send(ctrl(t, "")), ctrlClose("E_INVALID_CONTROL_FRAME")],
  });
}
both("critical-type-05-with-body", {
  title: "control type 0x05 with a body fails with E_INVALID_CONTROL_FRAME",
  reqs: ["QWH-CTRL-003"],
  steps: [send(ctrl(0x05, pattern(10))), ctrlClose("E_INVALID_CONTROL_FRAME")],
});
for (const [t, n] of [
  [0x10, "resume"],
  [0x11, "ack"],
]) {
  const h = t.toString(16);
  both(`reserved-${n}-type-${h}`, {
    title: `control type 0x${h} (${n.toUpperCase()}, reserved) without "resume" fails with E_INVALID_CONTROL_FRAME`,
    reqs: ["QWH-CTRL-005", "QWH-CTRL-003"],
    steps: [send(ctrl(t, pattern(8))), ctrlClose("E_INVALID_CONTROL_FRAME")],
  });
}
// Unknown ignorable types are dropped silently; not delivered; the connection goes on.
for (const t of [0x80, 0x81, 0xa5, 0xfe, 0xff]) {
  const h = t.toString(16);
  both(`ignorable-type-${h}`, {
    title: `control type 0x${h} (ignorable) is silently ignored and never delivered`,
    reqs: ["QWH-CTRL-004", "QWH-CTRL-006"],
    steps: [send(ctrl(t, pattern(5))), silence(150), send(after), afterEcho],
  });
}
both("ignorable-type-empty-body", {
  title: "an ignorable type with an empty body (80000001 80) is ignored",
  reqs: ["QWH-CTRL-004"],
  steps: [send(ctrl(0x80)), send(after), afterEcho],
});
both("ignorable-between-data", {
  title: "data, ignorable control, data in one write: both messages delivered, in order",
  reqs: ["QWH-CTRL-004", "QWH-CTRL-007", "QWH-FRAME-008"],
  steps: [send(textFrame("a") + ctrl(0x90, "00") + textFrame("b")), expectBytes(textFrame("a") + textFrame("b"))],
});
both("ignorable-then-ping", {
  title: "after an ignorable frame a PING is still answered",
  reqs: ["QWH-CTRL-004", "QWH-PING-001"],
  steps: [send(ctrl(0xc0, "aa") + ping("0102")), expectPong("0102")],
});
both("ignorable-byte-by-byte", {
  title: "an ignorable control frame sent byte by byte is ignored",
  reqs: ["QWH-CTRL-004", "QWH-FRAME-008"],
  steps: [sendSlowly(ctrl(0x80, pattern(6)), 5), send(after), afterEcho],
});

// Control frames only after control was negotiated (sender side): heartbeats without control.
server.push(
  mk(A, "server", "no-ping-without-control", {
    title: "heartbeats configured but control not negotiated: the server never sends a PING",
    reqs: ["QWH-CTRL-001"],
    config: S({ heartbeatIntervalMs: 50 }),
    steps: [...open([]), silence(400)],
  }),
);
client.push(
  mk(A, "client", "no-ping-without-control", {
    title: "heartbeats configured but the accept lists no control: the client never sends a PING",
    reqs: ["QWH-CTRL-001"],
    config: C({ heartbeatIntervalMs: 50 }),
    steps: [...clientOpen(["control"], { acceptFrame: L.acceptFrame([]) }), silence(400)],
  }),
);
server.push(
  mk(A, "server", "close-not-negotiated", {
    title: "a CLOSE frame when control was not negotiated is a too-large data frame: closed, nothing sent",
    reqs: ["QWH-CTRL-001", "QWH-FRAME-010"],
    config: S({ features: [] }),
    steps: [...open([]), send(L.closeFrame("E_NORMAL_CLOSE")), silentClose()],
  }),
);
L.addResults(
  client,
  Object.fromEntries(
    client
      .filter((c) => c.steps.some((s) => s.expectClose?.code === "E_INVALID_CONTROL_FRAME"))
      .map((c) => [c.id.split("/").pop(), { error: "E_INVALID_CONTROL_FRAME" }]),
  ),
);

export default {
  area: A,
  description:
    "Control frames (spec sections 10.1 and 10.2): the length checked on the header against 1..1024, critical, reserved and ignorable types, and control frames only with control negotiated.",
  server,
  client,
};
