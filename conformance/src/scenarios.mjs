// The interop scenarios of the matrix. Each one names the server's `serve` config, the client's
// `connect` scenario and config, how many clients run at once, and what the runner checks in the
// client's result (and, for dedicated servers, in the server's event lines).
import { createHash } from "node:crypto";

/** The messages of a `messages` list (hex strings or {size, count}; byte j of message i is (i + j) mod 256). */
export function expandMessages(list = []) {
  const out = [];
  for (const item of list) {
    if (typeof item === "string") {
      out.push(Buffer.from(item, "hex"));
      continue;
    }
    for (let k = 0; k < (item.count ?? 1); k++) {
      const b = Buffer.allocUnsafe(item.size);
      for (let j = 0; j < item.size; j++) b[j] = (out.length + j) & 0xff;
      out.push(b);
    }
  }
  return out;
}

/** sha256 over the messages, each preceded by its 4-byte big-endian length (raw: over the bytes only). */
export function digestOf(messages, raw = false) {
  const h = createHash("sha256");
  for (const m of messages) {
    if (!raw) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(m.length);
      h.update(len);
    }
    h.update(m);
  }
  return h.digest("hex");
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
 * @property {(result: object, extra: {serverEvents: object[]}) => string | null} check
 * @property {(events: object[]) => string | null} [checkServer]
 */

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
];
