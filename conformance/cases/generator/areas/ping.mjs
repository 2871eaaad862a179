// ping: PING, PONG and heartbeats (spec sections 10.3, 10.4).
import * as L from "../lib.mjs";
const {
  mk,
  open,
  clientOpen,
  send,
  wait,
  sendSlowly,
  expectBytes,
  expectData,
  expectPong,
  expectCtrl,
  silence,
  textFrame,
  utf8,
  pattern,
  ping,
  pong,
  PING,
} = L;

const A = "ping";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const server = [];
const client = [];
const both = (name, o) => {
  server.push(mk(A, "server", name, { config: S(o.x), ...o, steps: [...open(), ...o.steps] }));
  client.push(mk(A, "client", name, { config: C(o.x), ...o, steps: [...clientOpen(), ...o.steps] }));
};

const BODIES = [
  ["empty-body", "", "an empty PING (80000001 01) is answered 80000001 02"],
  ["eight-byte-body", pattern(8), "the PING of spec A.3 is answered with the identical body"],
  ["one-byte-body", "ff", "a 1-byte body"],
  ["binary-body", "00ff00fe0a0d", "a body with NUL, CR and LF bytes is echoed exactly"],
  ["max-body-1023", pattern(1023, 3), "a 1023-byte body (the largest) is echoed exactly"],
  ["text-body", utf8("are you there?"), "a text body"],
];
for (const [name, body, title] of BODIES)
  both(name, { title: `PONG with the identical body: ${title}`, reqs: ["QWH-PING-001"], steps: [send(ping(body)), expectPong(body)] });
both("byte-by-byte", {
  title: "a PING sent byte by byte is answered",
  reqs: ["QWH-PING-001", "QWH-FRAME-008"],
  steps: [sendSlowly(ping("0a0b0c"), 5), expectPong("0a0b0c")],
});
both("three-pings-one-write", {
  title: "three PINGs in one write get three PONGs, in order",
  reqs: ["QWH-PING-001", "QWH-FRAME-008"],
  steps: [send(ping("01") + ping("0202") + ping("030303")), expectBytes(pong("01") + pong("0202") + pong("030303"))],
});
both("ping-between-messages", {
  title: "message, PING, message (separate writes): echo, PONG, echo",
  reqs: ["QWH-PING-001", "QWH-CTRL-006"],
  steps: [send(textFrame("a")), expectData(utf8("a")), send(ping("aa")), expectPong("aa"), send(textFrame("b")), expectData(utf8("b"))],
});
both("ping-not-delivered", {
  title: "a PING is never delivered as a message: only the PONG comes back",
  reqs: ["QWH-CTRL-006"],
  steps: [send(ping(utf8("x"))), expectPong(utf8("x")), silence(200)],
});
both("unsolicited-pong", {
  title: "an unsolicited PONG is ignored: the connection stays up",
  reqs: ["QWH-PING-002"],
  steps: [send(pong(pattern(8))), silence(150), send(textFrame("ok")), expectData(utf8("ok"))],
});
both("unsolicited-pong-empty", {
  title: "an unsolicited empty PONG is ignored",
  reqs: ["QWH-PING-002"],
  steps: [send(pong()), send(ping("01")), expectPong("01")],
});
both("unsolicited-pong-max", {
  title: "an unsolicited PONG with a 1023-byte body is ignored",
  reqs: ["QWH-PING-002", "QWH-CTRL-006"],
  steps: [send(pong(pattern(1023))), send(textFrame("ok")), expectData(utf8("ok"))],
});

// Heartbeats: PING every interval; E_HEARTBEAT_TIMEOUT when unanswered.
const HB = { heartbeatIntervalMs: 100, heartbeatMissedLimit: 2 };
for (const [role, list, pre, cfg] of [
  ["server", server, open, S],
  ["client", client, clientOpen, C],
]) {
  list.push(
    mk(A, role, "heartbeat-sends-ping", {
      title: "heartbeat interval 100 ms: a PING arrives within 500 ms of the handshake",
      reqs: ["QWH-PING-003"],
      config: cfg(HB),
      steps: [...pre(), expectCtrl(PING, undefined, { withinMs: 500 })],
    }),
  );
  list.push(
    mk(A, role, "heartbeat-timeout", {
      title: "heartbeat 100 ms, missed limit 2, no PONG: PINGs, then CLOSE E_HEARTBEAT_TIMEOUT",
      reqs: ["QWH-PING-003"],
      config: cfg(HB),
      steps: [
        ...pre(),
        expectCtrl(PING, undefined, { withinMs: 500 }),
        { expectClose: { code: "E_HEARTBEAT_TIMEOUT", via: "close", withinMs: 1500, skipControl: true } },
      ],
    }),
  );
  list.push(
    mk(A, role, "heartbeat-answered-keeps-open", {
      title: "heartbeat 100 ms, every PING answered: the connection stays open for 800 ms and still works",
      reqs: ["QWH-PING-003", "QWH-PING-004"],
      config: cfg(HB),
      autoPong: true,
      steps: [...pre(), silence(800), send(L.textFrame("alive")), expectData(utf8("alive"))],
    }),
  );
  list.push(
    mk(A, role, "heartbeat-distinct-pongs-ignored", {
      title: "heartbeat 100 ms: PONGs with bodies it never sent do not count as answers (E_HEARTBEAT_TIMEOUT)",
      reqs: ["QWH-PING-003", "QWH-PING-002"],
      config: cfg(HB),
      steps: [
        ...pre(),
        send(pong("ffffffffffffffff")),
        wait(120),
        send(pong("fffffffffffffffe")),
        wait(120),
        send(pong("")),
        { expectClose: { code: "E_HEARTBEAT_TIMEOUT", via: "close", withinMs: 1500, skipControl: true } },
      ],
    }),
  );
  list.push(
    mk(A, role, "heartbeat-no-ping-when-off", {
      title: "without a heartbeat interval no PING is sent",
      reqs: ["QWH-PING-003", "QWH-CTRL-001"],
      config: cfg(),
      steps: [...pre(), silence(400)],
    }),
  );
}
L.addResults(client, {
  "heartbeat-timeout": { error: "E_HEARTBEAT_TIMEOUT" },
  "heartbeat-distinct-pongs-ignored": { error: "E_HEARTBEAT_TIMEOUT" },
});

export default {
  area: A,
  description: "PING and PONG (spec sections 10.3 and 10.4): identical bodies, unsolicited PONGs, heartbeats and the heartbeat timeout.",
  server,
  client,
};
