// The interop scenarios of the matrix. Each one names the server's `serve` config, the client's
// `connect` scenario and config, how many clients run at once, and what the runner checks in the
// client's result (and, for dedicated servers, in the server's event lines).
import { digestOf, expandMessages } from "../lib/messages.mjs";

export { digestOf, expandMessages };

/**
 * What a receiver's runs of numbers (`receivedRuns`, see NumberRuns in lib/messages.mjs) say about
 * a stream of `expected` numbered messages, numbers 0 to expected - 1: `lost` never arrived,
 * `duplicated` arrived again, `outOfOrder` arrived for the first time after a higher number,
 * `unexpected` carried a number outside the stream (or none). Null when `runs` is not a list of
 * [first, last] integer pairs; counting stops (`truncated`) past 4 times the expected messages.
 */
export function tallyRuns(runs, expected) {
  if (!Array.isArray(runs)) return null;
  const seen = new Uint8Array(expected);
  const t = { expected, received: 0, lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 };
  const budget = 4 * expected + 1000;
  let distinct = 0;
  let highest = -1;
  for (const run of runs) {
    if (!Array.isArray(run) || run.length !== 2 || !Number.isSafeInteger(run[0]) || !Number.isSafeInteger(run[1]) || run[1] < run[0])
      return null;
    for (let n = run[0]; n <= run[1]; n++) {
      if (++t.received > budget) {
        t.truncated = true;
        t.lost = expected - distinct;
        return t;
      }
      if (n < 0 || n >= expected) t.unexpected++;
      else if (seen[n]) t.duplicated++;
      else {
        seen[n] = 1;
        distinct++;
        if (n < highest) t.outOfOrder++;
        else highest = n;
      }
    }
  }
  t.lost = expected - distinct;
  return t;
}

const echoOf = (messages) => (r) => {
  const want = expandMessages(messages);
  if (r.received !== want.length) return `received ${r.received} messages, expected ${want.length}`;
  if (r.receivedSha256 !== digestOf(want)) return "the echoed messages differ from those sent";
  return null;
};

const rawEchoOf = (messages) => (r) => {
  const want = Buffer.concat(expandMessages(messages));
  return r.receivedSha256 === digestOf([want], true) ? null : "the echoed byte stream differs from the one sent";
};

const acceptHas = (fn, what) => (r) => (r.accept && fn(r.accept) ? null : `accept ${JSON.stringify(r.accept)}: expected ${what}`);

const all =
  (...checks) =>
  (r, extra) => {
    for (const c of checks) {
      const why = c(r, extra);
      if (why) return why;
    }
    return null;
  };

const HELLO = ["68656c6c6f"];
const SIZES = [0, 1, 2, 3, 4, 5, 127, 128, 255, 256, 1023, 1024, 4095, 4096, 65535, 65536, 65537, 262144].map((size) => ({ size }));
const MIXED = [
  { size: 0, count: 10 },
  { size: 1000, count: 100 },
  { size: 10, count: 1000 },
  { size: 70000, count: 3 },
];
const ALL_BYTES = [Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex")];
const MANY = [{ size: 64, count: 5000 }];
// resume-under-cuts: numbered streams both ways; the server's last message (number 5000) is its end
// mark, sent once all 20,000 of the client's have arrived.
const UP = [{ size: 64, count: 20000, numbered: true }];
const DOWN = [{ size: 64, count: 5000, numbered: true }];
const DOWN_WITH_END = [{ size: 64, count: 5001, numbered: true }];

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {string} title
 * @property {object} server  serve --config
 * @property {string} client  connect --scenario
 * @property {object} config  connect --config
 * @property {number} [clients]  clients at once (default 1)
 * @property {boolean} [dedicated]  a server process of its own (its event lines are checked)
 * @property {boolean} [restart]  stop and restart the server at the client's checkpoint
 * @property {string} [feature]  an optional feature both agents must offer (info mode); without it the cell is UNSUPPORTED, not a failure
 * @property {{cuts: number, minCuts: number, minBytes: number, maxBytes: number}} [proxy]  the client reaches the server through the cutting proxy
 * @property {{toServer: object[], toClient: object[]}} [stream]  the numbered streams a proxy scenario grades (tallyRuns)
 * @property {(result: object, extra: {serverEvents: object[]}) => string | null} [check]
 * @property {(events: object[]) => string | null} [checkServer]
 */

/**
 * The grade of a stream scenario (one with `proxy`): what each side received of the other's
 * numbered stream, the proxy's cuts, and whether it all arrived once, in order and unchanged.
 * `closed` is the server's closed line (null when none came). Resolves {why, faults, summary}:
 * `why` null for a pass, `faults` for matrix.json, `summary` the counts in one line.
 */
export function gradeStream(scenario, { result, closed, cuts, connections, seed }) {
  const expect = (list) => {
    const messages = expandMessages(list);
    return { count: messages.length, sha: digestOf(messages) };
  };
  const up = expect(scenario.stream.toServer);
  const down = expect(scenario.stream.toClient);
  const toServer = closed ? tallyRuns(closed.receivedRuns, up.count) : null;
  const toClient = result ? tallyRuns(result.receivedRuns, down.count) : null;
  const faults = { seed, cuts, connections, resumes: result?.resumes ?? null, toServer, toClient };
  const side = (name, t) =>
    t
      ? `${name} ${t.expected - t.lost}/${t.expected} (lost ${t.lost}, duplicated ${t.duplicated}, out of order ${t.outOfOrder}${t.unexpected ? `, unexpected ${t.unexpected}` : ""})`
      : `${name} not reported`;
  const summary = `${side("to server", toServer)}, ${side("to client", toClient)}; ${cuts} cuts over ${connections} connections, ${result?.resumes ?? "?"} resumes; seed ${seed}`;
  const clean = (t) => t && !t.truncated && t.lost + t.duplicated + t.outOfOrder + t.unexpected === 0;
  let why = null;
  if (!result) why = "no result line from the client";
  else if (!toClient) why = "the client's result has no valid receivedRuns";
  else if (!closed) why = "the server printed no closed line for the session";
  else if (!toServer) why = "the server's closed line has no valid receivedRuns";
  else if (!clean(toServer) || !clean(toClient)) why = "messages lost, duplicated or out of order";
  else if (closed.receivedSha256 !== up.sha) why = "the server received other bytes than the client sent";
  else if (result.receivedSha256 !== down.sha) why = "the client received other bytes than the server sent";
  else if (result.sessionLost) why = `the client reported ${result.sessionLost} messages of a lost session`;
  else if (!result.ok) why = `the client reports failure: ${result.message ?? result.error ?? "not ok"}`;
  else if (closed.error !== null) why = `the server's session ended with ${closed.error}`;
  else if (cuts < scenario.proxy.minCuts) why = `only ${cuts} cuts (at least ${scenario.proxy.minCuts} expected)`;
  return { why, faults, summary };
}

/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    name: "handshake-basic",
    title: "default v1 handshake with control, one message echoed",
    server: {},
    client: "echo",
    config: { messages: HELLO },
    check: all(
      echoOf(HELLO),
      acceptHas((a) => a.qwh === "1.0" && a.features.includes("control"), "qwh 1.0 with control"),
    ),
  },
  {
    name: "handshake-no-control",
    title: "client offers no feature: accept lists none",
    server: {},
    client: "echo",
    config: { features: [], messages: HELLO },
    check: all(
      echoOf(HELLO),
      acceptHas((a) => a.features.length === 0, "no feature"),
    ),
  },
  {
    name: "server-without-control",
    title: "server enables no feature: accept lists none",
    server: { features: [] },
    client: "echo",
    config: { messages: HELLO },
    check: all(
      echoOf(HELLO),
      acceptHas((a) => a.features.length === 0, "no feature"),
    ),
  },
  {
    name: "unknown-feature",
    title: "an unknown x- feature is left out of the accept",
    server: {},
    client: "echo",
    config: { features: ["control", "x-interop"], messages: HELLO },
    check: all(
      echoOf(HELLO),
      acceptHas((a) => a.features.length === 1 && a.features[0] === "control", "exactly control"),
    ),
  },
  {
    name: "app-version-compatible",
    title: "application versions 1.2.0 (server) and 1.0.7 (client) are compatible",
    server: { protocolVersion: "1.2.0" },
    client: "echo",
    config: { protocolVersion: "1.0.7", messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "app-version-mismatch",
    title: "application versions 2.0.0 and 1.0.0: reject E_VERSION_MISMATCH",
    server: { protocolVersion: "2.0.0" },
    client: "expect-reject",
    config: { protocolVersion: "1.0.0", expectError: "E_VERSION_MISMATCH" },
    check: (r) => (r.error === "E_VERSION_MISMATCH" ? null : `error ${r.error}, expected E_VERSION_MISMATCH`),
  },
  {
    name: "client-tags",
    title: "the client's tags and version reach the server application",
    server: { scenario: "hello-info" },
    client: "receive",
    config: { protocolVersion: "3.1.4", tags: { service: "matrix", shard: 7 }, expectCount: 1 },
    check: (r) => {
      let info;
      try {
        info = JSON.parse(Buffer.from(r.receivedHex?.[0] ?? "", "hex").toString("utf8"));
      } catch {
        return "the server's hello-info message is not JSON";
      }
      return info.tags?.service === "matrix" && info.tags?.shard === 7 && info.version === "3.1.4"
        ? null
        : `the server saw ${JSON.stringify(info)}`;
    },
  },
  {
    name: "accept-tags",
    title: "the server's tags and version reach the client in the accept",
    server: { tags: { region: "eu-1" }, protocolVersion: "1.0.0" },
    client: "echo",
    config: { protocolVersion: "1.0.0", messages: HELLO },
    check: all(
      echoOf(HELLO),
      acceptHas((a) => a.tags?.region === "eu-1" && a.version === "1.0.0", "tags.region eu-1 and version 1.0.0"),
    ),
  },
  {
    name: "empty-message",
    title: "an empty message is delivered as such",
    server: {},
    client: "echo",
    config: { messages: [""] },
    check: echoOf([""]),
  },
  {
    name: "sizes",
    title: "message sizes 0 to 256 KiB around every boundary",
    server: {},
    client: "echo",
    config: { messages: SIZES, timeoutMs: 20000 },
    check: echoOf(SIZES),
  },
  {
    name: "size-at-maximum",
    title: "a message of exactly the default maximum (4 MiB) both ways",
    server: {},
    client: "echo",
    config: { messages: [{ size: 4194304 }], timeoutMs: 30000 },
    check: echoOf([{ size: 4194304 }]),
  },
  {
    name: "custom-maximum",
    title: "both sides announce 64 KiB: messages of 65536 bytes pass",
    server: { maxFrameLength: 65536 },
    client: "echo",
    config: { maxFrameLength: 65536, messages: [{ size: 65536 }, { size: 1 }] },
    check: all(
      echoOf([{ size: 65536 }, { size: 1 }]),
      acceptHas((a) => a.maxFrameLength === 65536, "maxFrameLength 65536"),
    ),
  },
  {
    name: "over-peer-maximum",
    title: "a message over the server's maximum is refused locally, the connection stays up",
    server: { maxFrameLength: 1024 },
    client: "oversize",
    config: { size: 1025, messages: ["6f6b"] },
    check: (r) => (r.localError === "E_FRAME_TOO_LARGE" && r.received === 1 ? null : `local error ${r.localError}, ${r.received} echoed`),
  },
  {
    name: "binary-all-bytes",
    title: "every byte value 00..ff is delivered unchanged",
    server: {},
    client: "echo",
    config: { messages: ALL_BYTES },
    check: echoOf(ALL_BYTES),
  },
  {
    name: "many-messages",
    title: "5000 pipelined messages of 64 bytes, in order",
    server: {},
    client: "echo",
    config: { messages: MANY, timeoutMs: 30000 },
    check: echoOf(MANY),
  },
  {
    name: "mixed-pipeline",
    title: "1113 pipelined messages of mixed sizes (0 B to 70 kB)",
    server: {},
    client: "echo",
    config: { messages: MIXED, timeoutMs: 30000 },
    check: echoOf(MIXED),
  },
  {
    name: "concurrent-clients",
    title: "8 clients at once, 200 messages each",
    server: {},
    client: "echo",
    clients: 8,
    config: { messages: [{ size: 256, count: 200 }], timeoutMs: 30000 },
    check: echoOf([{ size: 256, count: 200 }]),
  },
  {
    name: "heartbeat",
    title: "heartbeats every 50 ms on both sides keep an idle connection open",
    server: { heartbeatIntervalMs: 50 },
    client: "heartbeat",
    config: { heartbeatIntervalMs: 50, holdMs: 400, messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "graceful-close-client",
    title: "the client sends 200 messages and closes at once: the server gets all of them, then a clean close",
    server: { scenario: "sink" },
    dedicated: true,
    client: "close",
    config: { messages: [{ size: 100, count: 200 }] },
    check: (r) => (r.error ? `client error ${r.error}` : null),
    checkServer: (events) => {
      const c = events.find((e) => e.event === "closed");
      if (!c) return "the server reported no closed connection";
      return c.messages === 200 && c.error === null ? null : `the server got ${c.messages} messages, close error ${c.error}`;
    },
  },
  {
    name: "graceful-close-server",
    title: "the server closes after 3 messages: the client gets the 3 echoes, then E_NORMAL_CLOSE",
    server: { scenario: "close-after", closeAfter: 3 },
    client: "await-close",
    config: { messages: [{ size: 8, count: 3 }] },
    check: all(echoOf([{ size: 8, count: 3 }]), (r) =>
      r.closedByPeer && r.closeCode === "E_NORMAL_CLOSE" ? null : `close code ${r.closeCode}`,
    ),
  },
  {
    name: "server-close-code",
    title: "the server closes with E_GOING_AWAY: the client reports that code",
    server: { scenario: "close-after", closeAfter: 1, closeCode: "E_GOING_AWAY" },
    client: "await-close",
    config: { messages: HELLO },
    check: (r) => (r.closeCode === "E_GOING_AWAY" ? null : `close code ${r.closeCode}, expected E_GOING_AWAY`),
  },
  {
    name: "server-push",
    title: "the server sends 50 messages right after the handshake",
    server: { scenario: "push-on-connect", pushCount: 50, pushSize: 100 },
    client: "receive",
    config: { expectCount: 50 },
    check: echoOf([{ size: 100, count: 50 }]),
  },
  {
    name: "broadcast",
    title: "3 clients; every message is broadcast to all of them",
    server: { scenario: "broadcast", groupSize: 3 },
    dedicated: true,
    client: "broadcast",
    clients: 3,
    config: { messages: HELLO, expectCount: 3 },
    check: (r) => (r.received >= 3 ? null : `received ${r.received} broadcasts, expected 3`),
  },
  {
    name: "reconnect-after-restart",
    title: "the server restarts: the client reconnects on its own and the next message is echoed",
    server: {},
    dedicated: true,
    restart: true,
    client: "reconnect",
    config: { messages: ["01", "02"], timeoutMs: 20000 },
    check: (r) => (r.reconnected ? echoOf(["01", "02"])(r) : "the client did not reconnect"),
  },
  {
    name: "legacy-profile",
    title: "a 0.3 client (legacy profile) served by a listener that allows it",
    server: { profile: "legacy" },
    client: "echo",
    config: { profile: "legacy", protocolVersion: "1.0.0", messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "legacy-not-allowed",
    title: "a 0.3 client at a v1-only listener gets a reject frame (E_LEGACY_NOT_ALLOWED) and the close",
    server: {},
    client: "hold",
    config: { profile: "legacy", protocolVersion: "1.0.0", holdMs: 3000 },
    check: (r) => {
      const first = Buffer.from(r.receivedHex?.[0] ?? "", "hex").toString("utf8");
      if (!/"E_LEGACY_NOT_ALLOWED"/.test(first))
        return `expected the reject frame as the 0.3 client's first message, got ${JSON.stringify(first)}`;
      return r.closedByPeer ? null : "the server did not close";
    },
  },
  {
    name: "bare-profile",
    title: "bare profile on both sides: data frames from the first byte",
    server: { profile: "bare" },
    client: "echo",
    config: { profile: "bare", messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "raw-framing",
    title: "framing none (raw byte streams after the handshake)",
    server: { framing: "none" },
    client: "echo",
    config: { framing: "none", messages: [{ size: 1000, count: 10 }] },
    check: all(
      rawEchoOf([{ size: 1000, count: 10 }]),
      acceptHas((a) => a.features.includes("raw"), "raw"),
    ),
  },
  {
    name: "signed-hello",
    title: "a server requiring signatures accepts a signed hello",
    server: { requireSignature: true },
    client: "echo",
    config: { sign: true, messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "server-auth-only",
    title: "the client presents no certificate (TLS: server authentication only); the hello carries no certificate tag it cannot prove",
    server: { requestClientCert: false },
    client: "echo",
    config: { clientCert: false, messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "client-cert-not-requested",
    title: "the client has a certificate the server does not ask for (TLS): its hello must not claim it (QWH-TLS-006)",
    server: { requestClientCert: false },
    client: "echo",
    config: { messages: HELLO },
    check: echoOf(HELLO),
  },
  {
    name: "signature-required",
    title: "a server requiring signatures rejects an unsigned hello (E_SIGNATURE_REQUIRED)",
    server: { requireSignature: true },
    client: "expect-reject",
    config: { expectError: "E_SIGNATURE_REQUIRED" },
    check: (r) => (r.error === "E_SIGNATURE_REQUIRED" ? null : `error ${r.error}`),
  },
  {
    name: "resume-under-cuts",
    title:
      "resume: 20,000 numbered messages to the server and 5,000 back through a proxy that resets both sides after a random number of bytes (24 times): each delivered once, in order",
    feature: "resume",
    server: { scenario: "sequence", resume: true, messages: DOWN, expectCount: 20000 },
    dedicated: true,
    proxy: { cuts: 24, minCuts: 20, minBytes: 8192, maxBytes: 49152 },
    client: "sequence",
    config: { resume: true, messages: UP, expectCount: 5001, timeoutMs: 60000 },
    stream: { toServer: UP, toClient: DOWN_WITH_END },
  },
];
