// limit: admission and idle limits (spec section 13), with one connection per case.
import * as L from "../lib.mjs";
const { mk, open, clientOpen, send, wait, expectData, rejectClose, ctrlClose, silentClose, silence, textFrame, helloFrame, utf8 } = L;

const A = "limit";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const server = [];
const client = [];

server.push(
  srv("allow-connection-refuses", {
    title: "allowConnection refuses: reject E_POLICY_REJECTED before any byte is read",
    reqs: ["QWH-LIMIT-003", "QWH-LIMIT-004"],
    config: S({ allowConnection: false }),
    steps: [rejectClose("E_POLICY_REJECTED")],
  }),
);
server.push(
  srv("allow-connection-refuses-despite-hello", {
    title: "allowConnection refuses: a hello sent at once does not change the answer",
    reqs: ["QWH-LIMIT-003", "QWH-LIMIT-004"],
    config: S({ allowConnection: false }),
    steps: [send(helloFrame()), rejectClose("E_POLICY_REJECTED")],
  }),
);
server.push(
  srv("max-clients-zero", {
    title: "maxClients 0: every connection is refused with E_MAX_CLIENTS",
    reqs: ["QWH-LIMIT-001", "QWH-LIMIT-004"],
    config: S({ maxClients: 0 }),
    steps: [rejectClose("E_MAX_CLIENTS")],
  }),
);
server.push(
  srv("max-pending-handshakes-zero", {
    title: "maxPendingHandshakes 0: every connection is refused with E_MAX_PENDING_HANDSHAKES",
    reqs: ["QWH-LIMIT-002", "QWH-LIMIT-004"],
    config: S({ maxPendingHandshakes: 0 }),
    steps: [rejectClose("E_MAX_PENDING_HANDSHAKES")],
  }),
);
server.push(
  srv("max-clients-one-first-served", {
    title: "maxClients 1: the first connection is served",
    reqs: ["QWH-LIMIT-001"],
    config: S({ maxClients: 1 }),
    steps: [...open(), send(textFrame("x")), expectData(utf8("x"))],
  }),
);
server.push(
  srv("idle-timeout", {
    title: "idle timeout 300 ms: a silent open connection is closed with E_IDLE_TIMEOUT",
    reqs: ["QWH-LIMIT-007"],
    config: S({ idleTimeoutMs: 300 }),
    steps: [...open(), silence(150), ctrlClose("E_IDLE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("idle-timeout-no-control", {
    title: "idle timeout 300 ms without control: closed without a frame",
    reqs: ["QWH-LIMIT-007", "QWH-ERR-004"],
    config: S({ idleTimeoutMs: 300, features: [] }),
    steps: [...open([]), silentClose(1500)],
  }),
);
server.push(
  srv("idle-timeout-reset-by-traffic", {
    title: "idle timeout 400 ms: a message every 200 ms keeps the connection open",
    reqs: ["QWH-LIMIT-007"],
    config: S({ idleTimeoutMs: 400 }),
    steps: [...open(), ...[1, 2, 3, 4].flatMap((i) => [wait(200), send(textFrame(`t${i}`)), expectData(utf8(`t${i}`))]), silence(100)],
  }),
);
server.push(
  srv("idle-zero-means-none", {
    title: "idle timeout 0 means none: 800 ms of silence do not close",
    reqs: ["QWH-LIMIT-007"],
    config: S({ idleTimeoutMs: 0 }),
    steps: [...open(), silence(800), send(textFrame("x")), expectData(utf8("x"))],
  }),
);
client.push(
  mk(A, "client", "idle-timeout", {
    title: "idle timeout 300 ms: a silent client connection is closed with E_IDLE_TIMEOUT",
    reqs: ["QWH-LIMIT-007"],
    config: C({ idleTimeoutMs: 300 }),
    steps: [...clientOpen(), silence(150), ctrlClose("E_IDLE_TIMEOUT", 1500)],
  }),
);
client.push(
  mk(A, "client", "idle-timeout-no-control", {
    title: "idle timeout 300 ms without control: the client closes without a frame",
    reqs: ["QWH-LIMIT-007", "QWH-ERR-004"],
    config: C({ idleTimeoutMs: 300, features: [] }),
    steps: [...clientOpen([]), silentClose(1500)],
  }),
);
client.push(
  mk(A, "client", "idle-timeout-reset-by-traffic", {
    title: "idle timeout 400 ms: a message every 200 ms keeps the client connection open",
    reqs: ["QWH-LIMIT-007"],
    config: C({ idleTimeoutMs: 400 }),
    steps: [
      ...clientOpen(),
      ...[1, 2, 3, 4].flatMap((i) => [wait(200), send(textFrame(`t${i}`)), expectData(utf8(`t${i}`))]),
      silence(100),
    ],
  }),
);
// Several connections to one server.
const b = (steps) => L.on("b", steps);
server.push(
  srv("max-clients-one-second-refused", {
    title: "maxClients 1: with one connection open, a second is refused with E_MAX_CLIENTS",
    reqs: ["QWH-LIMIT-001", "QWH-LIMIT-004"],
    config: S({ maxClients: 1 }),
    steps: [...open(), ...b([rejectClose("E_MAX_CLIENTS")]), send(textFrame("a")), expectData(utf8("a"))],
  }),
);
server.push(
  srv("max-clients-slot-freed", {
    title: "maxClients 1: once the first connection has closed, a new one is served",
    reqs: ["QWH-LIMIT-001"],
    config: S({ maxClients: 1 }),
    steps: [
      ...open(),
      L.closeWrite(),
      L.expectClose({ withinMs: 1000 }),
      wait(100),
      ...b([...open(), send(textFrame("b")), expectData(utf8("b"))]),
    ],
  }),
);
server.push(
  srv("max-clients-counts-pending", {
    title: "maxClients 1: a connection still in the handshake counts, a second is refused",
    reqs: ["QWH-LIMIT-001"],
    config: S({ maxClients: 1 }),
    steps: [silence(100), ...b([rejectClose("E_MAX_CLIENTS")])],
  }),
);
server.push(
  srv("max-pending-one-second-refused", {
    title: "maxPendingHandshakes 1: while one connection has not sent its hello, a second is refused with E_MAX_PENDING_HANDSHAKES",
    reqs: ["QWH-LIMIT-002", "QWH-LIMIT-004"],
    config: S({ maxPendingHandshakes: 1 }),
    steps: [silence(100), ...b([rejectClose("E_MAX_PENDING_HANDSHAKES")]), ...open()],
  }),
);
server.push(
  srv("max-pending-open-not-counted", {
    title: "maxPendingHandshakes 1: an open connection does not count, a second is served",
    reqs: ["QWH-LIMIT-002"],
    config: S({ maxPendingHandshakes: 1 }),
    steps: [...open(), ...b([...open(), send(textFrame("b")), expectData(utf8("b"))])],
  }),
);
server.push(
  srv("max-pending-partial-hello-counts", {
    title: "maxPendingHandshakes 1: half a hello still counts as pending",
    reqs: ["QWH-LIMIT-002"],
    config: S({ maxPendingHandshakes: 1 }),
    steps: [send(helloFrame().slice(0, 20)), silence(100), ...b([rejectClose("E_MAX_PENDING_HANDSHAKES")])],
  }),
);

// Output backpressure (spec 13.2). The runner stops reading and floods an echo server: past its
// high-water mark (64 KiB) the server must stop reading (the runner's writes stall, and with a
// maxBackpressureBytes of 1 MiB a server that kept reading would have given up) and must resume
// once the runner reads again: every echo arrives and the connection is still open.
const FLOOD = { size: 65536, count: 1024 }; // 64 MiB: more than the kernel buffers of both directions
server.push(
  srv("backpressure-stops-and-resumes-reading", {
    title: "a client that does not read: the server stops reading past its high-water mark and resumes when its queue drains",
    reqs: ["QWH-LIMIT-005"],
    timeoutMs: 60000,
    config: S({ highWaterMarkBytes: 65536, maxBackpressureBytes: 1048576 }),
    steps: [
      ...open(),
      { stopReading: true },
      { sendFlood: FLOOD },
      { expectWriteStall: { stallMs: 300, withinMs: 20000 } },
      { resumeReading: true },
      { expectFlood: { ...FLOOD, withinMs: 40000 } },
      send(textFrame("after")),
      expectData(utf8("after")),
    ],
  }),
);
// Past maxBackpressureBytes the server closes, discards what is queued and reports E_BACKPRESSURE.
const PUSH = { count: 64, size: 524288 }; // 32 MiB pushed at once after the handshake
server.push(
  srv("backpressure-closes-and-discards", {
    title: "more than maxBackpressureBytes (1 MiB) queued for a client that does not read: closed with E_BACKPRESSURE, the queue discarded",
    reqs: ["QWH-LIMIT-006"],
    timeoutMs: 30000,
    config: S({ scenario: "push-on-connect", pushCount: PUSH.count, pushSize: PUSH.size, maxBackpressureBytes: 1048576 }),
    steps: [
      { stopReading: true },
      send(helloFrame()),
      { expectServerEvent: { match: { event: "closed", error: "E_BACKPRESSURE" }, withinMs: 10000 } },
      { resumeReading: true },
      L.expectAccept({ type: "accept" }),
      L.expectClose({ withinMs: 10000, comment: "data frames, maybe a CLOSE E_BACKPRESSURE, then the close" }),
    ],
  }),
);
// maxBytes: at least maxBackpressureBytes of the pushed data was discarded, never delivered.
server.at(-1).steps.at(-1).expectClose.maxBytes = PUSH.count * (PUSH.size + 4) - 1048576 + 128; // + room for a CLOSE frame

L.addResults(client, {
  "idle-timeout": { error: "E_IDLE_TIMEOUT" },
  "idle-timeout-no-control": { error: "E_IDLE_TIMEOUT" },
});

export default {
  area: A,
  description:
    "Server resource limits (spec section 13): admission (allowConnection, maxClients, maxPendingHandshakes) answered with a reject, and the idle timeout.",
  server,
  client,
};
