// legacy: 0.3 hellos (spec section 6.3) on listeners with and without "legacy allowed", and legacy clients.
import * as L from "../lib.mjs";
const {
  mk,
  send,
  expectBytes,
  expectData,
  expectFrame,
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

const A = "legacy";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], allowLegacy: true, ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const server = [];
const client = [];

const H03 = { type: "handshake", version: "1.0.0", tags: { service: "a" } };
const h03 = jsonFrame(H03);
const data = textFrame("legacy data");
const dataEcho = expectData(utf8("legacy data"));

// Served 0.3 hellos: no answer, then data delivered (echoed).
const SERVED = [
  [
    "served-silently",
    h03,
    {},
    ["QWH-LEGACY-001", "QWH-LEGACY-003"],
    "the 0.3 hello of spec 7.6: no frame comes back, data frames are then delivered",
  ],
  [
    "served-minimal",
    jsonFrame({ type: "handshake" }),
    {},
    ["QWH-LEGACY-004", "QWH-LEGACY-003"],
    '{"type":"handshake"} alone is a valid 0.3 hello',
  ],
  [
    "served-with-qwh-but-no-features",
    jsonFrame({ type: "handshake", qwh: "1.0", version: "1.0.0" }),
    {},
    ["QWH-LEGACY-001"],
    "a hello with qwh but no features is a 0.3 hello (qwh ignored)",
  ],
  [
    "served-with-03-members",
    jsonFrame({
      type: "handshake",
      version: "1.0.0",
      sid: "s1",
      caps: ["a"],
      nv: 2,
      ts: 1764028800000,
      sig: "c2ln",
      nIndex: 3,
      negHash: "ab",
      entropyMetrics: { h: 1 },
    }),
    {},
    ["QWH-LEGACY-004"],
    "0.3's extra members (sid, caps, nv, ts, sig, nIndex, negHash, entropyMetrics) are ignored",
  ],
  [
    "served-floats",
    frame(utf8('{"type":"handshake","version":"1.0.0","tags":{"load":0.75,"big":1e21},"ts":1.7640288e12,"nv":-0}')),
    {},
    ["QWH-LEGACY-007"],
    "fractions, exponents and -0 are accepted in a 0.3 hello",
  ],
  [
    "served-tag-numbers-and-strings",
    jsonFrame({ type: "handshake", tags: { a: "x", b: 2, "weird name!": "ok" } }),
    {},
    ["QWH-LEGACY-004"],
    "0.3 tags: any names, string and number values",
  ],
  [
    "served-no-version-server-has-one",
    jsonFrame({ type: "handshake", tags: { a: "b" } }),
    { protocolVersion: "1.0.0" },
    ["QWH-LEGACY-008"],
    "a server with a version does not refuse a 0.3 hello only because it has none",
  ],
  [
    "served-compatible-version",
    jsonFrame({ type: "handshake", version: "1.4.2" }),
    { protocolVersion: "1.0.0" },
    ["QWH-LEGACY-008", "QWH-NEG-009"],
    "server 1.0.0, 0.3 hello 1.4.2: compatible",
  ],
  [
    "served-tls-tags-not-checked",
    jsonFrame({ type: "handshake", tags: { tlsFingerprint256: "AB", tlsSessionKey: "x" } }),
    {},
    ["QWH-LEGACY-004"],
    "0.3 tls tags are just tags (never checked, never trusted): served",
  ],
];
for (const [name, h, x, reqs, title] of SERVED) {
  server.push(srv(name, { title, reqs, config: S(x), steps: [send(h), silence(200), send(data), dataEcho] }));
}
server.push(
  srv("hello-and-data-one-write", {
    title: "a 0.3 client sends its data right behind the hello: it is held, then delivered",
    reqs: ["QWH-LEGACY-011", "QWH-LEGACY-003"],
    steps: [send(h03 + data + textFrame("second")), expectBytes(data + textFrame("second"))],
  }),
);
server.push(
  srv("held-while-verifying", {
    title: "data behind the hello while a slow policy decides (200 ms): delivered afterwards, nothing sent before",
    reqs: ["QWH-LEGACY-011"],
    config: S({ verifyDelayMs: 200 }),
    steps: [send(h03 + data), dataEcho],
  }),
);
server.push(
  srv("next-hello-is-data", {
    title: "a v1 hello sent after a 0.3 hello is a message, not a hello",
    reqs: ["QWH-LEGACY-011"],
    steps: [send(h03 + helloFrame()), expectData(helloFrame().slice(8))],
  }),
);
server.push(
  srv("empty-message-after-hello", {
    title: "an empty data frame after a 0.3 hello is an empty message",
    reqs: ["QWH-LEGACY-011", "QWH-FRAME-003"],
    steps: [send(h03 + frame("")), expectData("")],
  }),
);
server.push(
  srv("no-control-frames", {
    title: "a legacy connection has no control frames: 80000009 is E_FRAME_TOO_LARGE, nothing sent",
    reqs: ["QWH-LEGACY-006", "QWH-FRAME-010"],
    steps: [send(h03), silence(100), send(L.ping(pattern(8))), silentClose()],
  }),
);
server.push(
  srv("no-heartbeat", {
    title: "heartbeats configured: never a PING on a legacy connection",
    reqs: ["QWH-LEGACY-006"],
    config: S({ heartbeatIntervalMs: 50 }),
    steps: [send(h03), silence(400)],
  }),
);
server.push(
  srv("own-maximum", {
    title: "on a legacy connection the server enforces its own maximum (16): 00000011 closes, no frame",
    reqs: ["QWH-FRAME-005", "QWH-LEGACY-006"],
    config: S({ maxFrameLength: 16 }),
    steps: [send(h03), silence(100), send(hdr(17)), silentClose()],
  }),
);
server.push(
  srv("end-of-stream", {
    title: "a legacy client's FIN after data: echoed, then the server closes without a frame",
    reqs: ["QWH-CLOSE-009", "QWH-LEGACY-006"],
    steps: [send(h03 + data), dataEcho, closeWrite(), silentClose()],
  }),
);
server.push(
  srv("server-messages-after-hello", {
    title: "the server application's messages go out after the 0.3 hello passed, with no frame before them",
    reqs: ["QWH-LEGACY-003"],
    config: S({ messages: [utf8("greet")] }),
    steps: [silence(150), send(h03), expectData(utf8("greet"))],
  }),
);

// Refused 0.3 hellos on a legacy listener: close without any byte; data held behind them discarded.
const REFUSED = [
  [
    "refused-version-mismatch",
    jsonFrame({ type: "handshake", version: "2.0.0" }),
    { protocolVersion: "1.0.0" },
    ["QWH-LEGACY-008", "QWH-LEGACY-010"],
    "server 1.0.0, 0.3 hello 2.0.0: incompatible",
  ],
  [
    "refused-version-number",
    jsonFrame({ type: "handshake", version: 1 }),
    {},
    ["QWH-LEGACY-004", "QWH-LEGACY-010"],
    '"version" is a number',
  ],
  ["refused-tags-array", jsonFrame({ type: "handshake", tags: ["a"] }), {}, ["QWH-LEGACY-004", "QWH-LEGACY-010"], '"tags" is an array'],
  [
    "refused-tag-value-boolean",
    jsonFrame({ type: "handshake", tags: { a: true } }),
    {},
    ["QWH-LEGACY-004", "QWH-LEGACY-010"],
    "a boolean tag value",
  ],
  [
    "refused-tag-value-object",
    jsonFrame({ type: "handshake", tags: { a: {} } }),
    {},
    ["QWH-LEGACY-004", "QWH-LEGACY-010"],
    "an object tag value",
  ],
  ["refused-tags-null", jsonFrame({ type: "handshake", tags: null }), {}, ["QWH-LEGACY-004", "QWH-LEGACY-010"], '"tags":null'],
  [
    "refused-signature-required",
    jsonFrame({ type: "handshake", version: "1.0.0", sig: "c2lnbmF0dXJl", nv: 1 }),
    { requireSignature: true },
    ["QWH-LEGACY-009", "QWH-LEGACY-010"],
    "a server requiring signatures refuses a 0.3 hello, whatever signature-like members it carries",
  ],
  [
    "refused-signature-required-plain",
    h03,
    { requireSignature: true },
    ["QWH-LEGACY-009", "QWH-LEGACY-010"],
    "a server requiring signatures refuses a plain 0.3 hello",
  ],
  ["refused-policy", h03, { policy: "reject" }, ["QWH-LEGACY-010", "QWH-NEG-008"], "the policy refuses the 0.3 client"],
];
for (const [name, h, x, reqs, title] of REFUSED) {
  server.push(
    srv(name, {
      title: `refused without any byte, data behind it discarded: ${title}`,
      reqs: [...reqs, "QWH-LEGACY-011"],
      config: S(x),
      steps: [send(h + data), silentClose()],
    }),
  );
}
// The code of that refusal is E_SIGNATURE_REQUIRED, reported locally (QWH-LEGACY-012).
const sigRefused = (name, h, title) =>
  server.push(
    srv(name, {
      title,
      reqs: ["QWH-LEGACY-012", "QWH-LEGACY-010"],
      config: S({ requireSignature: true }),
      steps: [send(h), { expectServerEvent: { match: { event: "rejected", code: "E_SIGNATURE_REQUIRED" } } }, silentClose()],
    }),
  );
sigRefused(
  "refused-signature-required-code",
  h03,
  "a server requiring signatures refuses a 0.3 hello without any byte and reports E_SIGNATURE_REQUIRED",
);
sigRefused(
  "refused-signature-required-code-sig-object",
  jsonFrame({ type: "handshake", version: "1.0.0", sig: { alg: "ed25519", key: "x", nonce: "y", ts: 1, value: "z" } }),
  "a 0.3 hello with a sig object, signatures required: refused without any byte, E_SIGNATURE_REQUIRED (not a signature failure)",
);
// Strict JSON still applies: such a frame is not a 0.3 hello, and a v1 listener answers it with a reject.
server.push(
  srv("duplicate-names-rejected", {
    title: "legacy allowed, but a first frame with duplicate names is not strict JSON: reject E_INVALID_HANDSHAKE",
    reqs: ["QWH-LEGACY-007", "QWH-BARE-003"],
    steps: [send(frame(utf8('{"type":"handshake","version":"1","version":"2"}'))), rejectClose("E_INVALID_HANDSHAKE")],
  }),
);
server.push(
  srv("lone-surrogate-rejected", {
    title: "legacy allowed, but a lone surrogate escape is not strict JSON: reject E_INVALID_HANDSHAKE",
    reqs: ["QWH-LEGACY-007", "QWH-HELLO-015"],
    steps: [send(frame(utf8('{"type":"handshake","version":"\\ud800"}'))), rejectClose("E_INVALID_HANDSHAKE")],
  }),
);
server.push(
  srv("features-null-is-v1", {
    title: 'legacy allowed: "features":null makes it an (invalid) v1 hello, not a 0.3 one',
    reqs: ["QWH-LEGACY-001", "QWH-HELLO-005"],
    steps: [send(jsonFrame({ type: "handshake", features: null })), rejectClose("E_INVALID_HANDSHAKE")],
  }),
);
server.push(
  srv("v1-hello-still-v1", {
    title: "legacy allowed: a v1 hello is still answered with an accept",
    reqs: ["QWH-LEGACY-001", "QWH-ACCEPT-001"],
    steps: [send(helloFrame()), L.expectAccept({ type: "accept", features: ["control"] })],
  }),
);

// Listener without legacy.
const N = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const NOT = [
  [
    "not-allowed",
    h03,
    "E_LEGACY_NOT_ALLOWED",
    ["QWH-LEGACY-002", "QWH-BARE-004"],
    "the 0.3 hello of spec 7.6 on a default listener: reject E_LEGACY_NOT_ALLOWED",
  ],
  [
    "not-allowed-minimal",
    jsonFrame({ type: "handshake" }),
    "E_LEGACY_NOT_ALLOWED",
    ["QWH-LEGACY-002"],
    '{"type":"handshake"}: reject E_LEGACY_NOT_ALLOWED',
  ],
  [
    "not-allowed-qwh-without-features",
    jsonFrame({ type: "handshake", qwh: "1.0" }),
    "E_LEGACY_NOT_ALLOWED",
    ["QWH-LEGACY-002", "QWH-LEGACY-001"],
    "qwh without features is a 0.3 hello: E_LEGACY_NOT_ALLOWED",
  ],
  [
    "not-allowed-floats",
    frame(utf8('{"type":"handshake","tags":{"x":1.5}}')),
    "E_LEGACY_NOT_ALLOWED",
    ["QWH-LEGACY-002", "QWH-LEGACY-007"],
    "a 0.3 hello with a float tag is still a valid 0.3 shape: E_LEGACY_NOT_ALLOWED",
  ],
  [
    "not-allowed-invalid-shape",
    jsonFrame({ type: "handshake", version: 1 }),
    "E_INVALID_HANDSHAKE",
    ["QWH-NEG-007"],
    "a malformed 0.3 hello: shape before profile, E_INVALID_HANDSHAKE",
  ],
];
for (const [name, h, code, reqs, title] of NOT)
  server.push(mk(A, "server", name, { title, reqs, config: N(), steps: [send(h), rejectClose(code)] }));
server.push(
  mk(A, "server", "not-allowed-data-not-delivered", {
    title: "a 0.3 hello with data behind it on a default listener: reject, data never delivered",
    reqs: ["QWH-LEGACY-002", "QWH-STATE-004"],
    config: N(),
    steps: [send(h03 + data), L.expectReject("E_LEGACY_NOT_ALLOWED"), silentClose()],
  }),
);

// Legacy clients.
const LC = (x = {}) => ({ scenario: "mirror", profile: "legacy", protocolVersion: "1.0.0", ...x });
const lcli = (name, o) => mk(A, "client", name, { config: LC(), ...o });
const legacyHello = (json) => expectFrame({ kind: "hello", json, absent: ["qwh", "features"] });
client.push(
  lcli("sends-03-hello-then-data", {
    title: "a legacy client sends a 0.3 hello (type, version) and its data right after, without waiting",
    reqs: ["QWH-LEGACY-005"],
    config: LC({ messages: [utf8("m1")] }),
    steps: [legacyHello({ type: "handshake", version: "1.0.0" }), expectData(utf8("m1"))],
  }),
);
client.push(
  lcli("sends-tags", {
    title: "a legacy client sends its tags in the 0.3 hello",
    reqs: ["QWH-LEGACY-005"],
    config: LC({ tags: { service: "a" } }),
    steps: [legacyHello({ type: "handshake", version: "1.0.0", tags: { service: "a" } }), silence()],
  }),
);
client.push(
  lcli("delivers-server-data", {
    title: "a legacy client delivers the server's data frames (no answer frame expected)",
    reqs: ["QWH-LEGACY-005", "QWH-FRAME-003"],
    steps: [legacyHello({ type: "handshake" }), send(frame("") + data), expectBytes(frame("") + data)],
  }),
);
client.push(
  lcli("no-heartbeat", {
    title: "heartbeats configured: a legacy client never sends a PING",
    reqs: ["QWH-LEGACY-006"],
    config: LC({ heartbeatIntervalMs: 50 }),
    steps: [legacyHello({ type: "handshake" }), silence(400)],
  }),
);
client.push(
  lcli("no-control-frames", {
    title: "a legacy client treats 80000001 as a too-large data frame: closes, no frame sent",
    reqs: ["QWH-LEGACY-006", "QWH-FRAME-010"],
    steps: [legacyHello({ type: "handshake" }), send(L.ping()), silentClose()],
  }),
);
client.push(
  lcli("close-is-transport-close", {
    title: "a legacy client closing gracefully sends no CLOSE frame, only ends the stream",
    reqs: ["QWH-LEGACY-006"],
    config: LC({ scenario: "close" }),
    steps: [legacyHello({ type: "handshake" }), silentClose()],
  }),
);
L.addResults(client, { "no-control-frames": { error: "E_FRAME_TOO_LARGE", received: [] } });

export default {
  area: A,
  description:
    "The legacy profile (spec section 6.3): 0.3 hellos served silently or refused without a frame, listeners without legacy, and legacy clients.",
  server,
  client,
};
