// kind "negotiate": the server's decision for a hello (spec section 8.1 order of checks).
import { buildFile, T } from "./file.mjs";
import { b64url, pattern, unhex, utf8hex } from "./util.mjs";
import { payload } from "./hello.mjs";
import { EXPORTER1, EXPORTER2, KA, KB, NOW, signHello } from "./sign.mjs";

const SERVER = {
  qwh: "1.0",
  features: ["control"],
  maxFrameLength: 4194304,
  framing: "length-prefixed",
  legacyAllowed: false,
  requireSignature: false,
  policy: "accept",
  now: NOW,
  signatureWindowMs: 30000,
  tls: false,
};
const srv = (over) => {
  const s = { ...SERVER, ...over };
  // keep a stable member order with the optional version after maxFrameLength
  const { qwh, features, maxFrameLength, version, ...rest } = s;
  return version === undefined ? { qwh, features, maxFrameLength, ...rest } : { qwh, features, maxFrameLength, version, ...rest };
};

const acc = (qwh, features, maxFrameLength = 4194304, version) =>
  version === undefined ? { type: "accept", qwh, features, maxFrameLength } : { type: "accept", qwh, features, maxFrameLength, version };
/** Negotiate test. want: {accept} object | "legacy" | ["reject", code] | ["close", code]. */
function N(comment, reqs, flags, hello, want, { replayCache } = {}) {
  const h = typeof hello === "string" ? utf8hex(hello) : utf8hex(JSON.stringify(hello));
  const inputs = payload(h);
  if (replayCache) inputs.replayCache = replayCache;
  if (want === "legacy") return T(comment, reqs, flags, inputs, "valid", { answer: { type: "legacy" } });
  if (Array.isArray(want)) {
    const [kind, code] = want;
    return T(comment, reqs, flags, inputs, "invalid", {
      error: code,
      answer: kind === "reject" ? { type: "reject", code } : { type: "close" },
    });
  }
  return T(comment, reqs, flags, inputs, "valid", { answer: want });
}
const H = (over = {}) => ({ type: "handshake", qwh: "1.0", features: ["control"], ...over });
const L = (over = {}) => ({ type: "handshake", ...over }); // 0.3 hello
const rej = (code) => ["reject", code];
const cls = (code) => ["close", code];

export default function negotiate() {
  const groups = [];
  const add = (server, tests) => groups.push({ params: { server }, tests });

  // 1. default server, no application version
  const bad = signHello(H({ tags: { a: "1" } }));
  const badSig = { ...bad, tags: { a: "2" } };
  const rp = signHello(H(), { nonceHex: pattern(16, 0x99) });
  add(srv({}), [
    N(
      "minimal hello, no features: accept with none",
      ["QWH-NEG-002", "QWH-NEG-003", "QWH-ACCEPT-001"],
      [],
      H({ features: [] }),
      acc("1.0", []),
    ),
    N("hello offering control: accepted", ["QWH-NEG-003", "QWH-ACCEPT-001"], ["FeatureNegotiation"], H(), acc("1.0", ["control"])),
    N(
      "unknown features and resume dropped, control kept",
      ["QWH-NEG-003", "QWH-NEG-004", "QWH-HELLO-012"],
      ["FeatureNegotiation", "ForwardCompat"],
      H({ features: ["x-zip", "resume", "control"] }),
      acc("1.0", ["control"]),
    ),
    N("client 1.5, server 1.0: accept 1.0", ["QWH-NEG-002"], ["VersionNegotiation"], H({ qwh: "1.5" }), acc("1.0", ["control"])),
    N(
      "client 1.9999, server 1.0: accept 1.0",
      ["QWH-NEG-002"],
      ["VersionNegotiation", "Boundary"],
      H({ qwh: "1.9999" }),
      acc("1.0", ["control"]),
    ),
    N("client 2.0: E_UNSUPPORTED_VERSION", ["QWH-NEG-001"], ["VersionNegotiation"], H({ qwh: "2.0" }), rej("E_UNSUPPORTED_VERSION")),
    N("client 0.9: E_UNSUPPORTED_VERSION", ["QWH-NEG-001"], ["VersionNegotiation"], H({ qwh: "0.9" }), rej("E_UNSUPPORTED_VERSION")),
    N(
      "client 9999.0: E_UNSUPPORTED_VERSION",
      ["QWH-NEG-001"],
      ["VersionNegotiation", "Boundary"],
      H({ qwh: "9999.0" }),
      rej("E_UNSUPPORTED_VERSION"),
    ),
    N(
      "server without application version accepts any client version",
      ["QWH-NEG-005"],
      ["AppVersion"],
      H({ version: "7.0.0" }),
      acc("1.0", ["control"]),
    ),
    N(
      "the client's maxFrameLength does not change the server's in the accept",
      ["QWH-NEG-006"],
      [],
      H({ maxFrameLength: 0 }),
      acc("1.0", ["control"]),
    ),
    N("unknown members ignored", ["QWH-HELLO-009"], ["ForwardCompat"], H({ sid: "x", future: { a: 1 } }), acc("1.0", ["control"])),
    N(
      "invalid hello (feature name with capital): reject E_INVALID_HANDSHAKE",
      ["QWH-HELLO-011"],
      ["Pattern"],
      H({ features: ["Control"] }),
      rej("E_INVALID_HANDSHAKE"),
    ),
    N("not JSON: reject E_INVALID_HANDSHAKE", ["QWH-HELLO-011", "QWH-BARE-003"], ["StrictJson"], "hello", rej("E_INVALID_HANDSHAKE")),
    N(
      "first frame of type accept: reject E_INVALID_HANDSHAKE",
      ["QWH-BARE-003"],
      [],
      { type: "accept", qwh: "1.0", features: [], maxFrameLength: 1 },
      rej("E_INVALID_HANDSHAKE"),
    ),
    N(
      "float in the hello: reject E_INVALID_HANDSHAKE",
      ["QWH-HELLO-013", "QWH-HELLO-011"],
      ["NumberFormat"],
      '{"type":"handshake","qwh":"1.0","features":[],"maxFrameLength":1e6}',
      rej("E_INVALID_HANDSHAKE"),
    ),
    N(
      "0.3 hello, legacy not allowed: reject E_LEGACY_NOT_ALLOWED",
      ["QWH-LEGACY-002"],
      ["Legacy"],
      L({ version: "1.0.0" }),
      rej("E_LEGACY_NOT_ALLOWED"),
    ),
    N(
      "client offers raw to a length-prefixed server: E_FRAMING_MISMATCH",
      ["QWH-RAW-005"],
      ["Raw"],
      H({ features: ["raw"] }),
      rej("E_FRAMING_MISMATCH"),
    ),
    N("valid signature, signatures not required: accepted", ["QWH-SIG-003"], [], signHello(H()), acc("1.0", ["control"])),
    N(
      "signature present but invalid, even though not required: E_INVALID_HANDSHAKE_SIGNATURE",
      ["QWH-SIG-003"],
      ["ModifiedSignedContent"],
      badSig,
      rej("E_INVALID_HANDSHAKE_SIGNATURE"),
    ),
    N("signed hello expired", ["QWH-SIG-004"], ["Expiry"], signHello(H(), { ts: NOW - 30001 }), rej("E_HANDSHAKE_EXPIRED")),
    N("signed hello replayed", ["QWH-SIG-005"], ["Replay"], rp, rej("E_HANDSHAKE_REPLAY"), {
      replayCache: [{ key: rp.sig.key, nonce: rp.sig.nonce }],
    }),
    N(
      "malformed sig member (nonce 15 bytes): E_INVALID_HANDSHAKE_SIGNATURE at the signature step",
      ["QWH-SIG-001"],
      ["SigShape"],
      { ...rp, sig: { ...rp.sig, nonce: b64url(unhex(pattern(15, 0))) } },
      rej("E_INVALID_HANDSHAKE_SIGNATURE"),
    ),
    N(
      "sig not an object: E_INVALID_HANDSHAKE at the shape step",
      ["QWH-SIG-001", "QWH-HELLO-011"],
      ["SigShape", "WrongType"],
      H({ sig: "x" }),
      rej("E_INVALID_HANDSHAKE"),
    ),
    N(
      "cb tls-exporter on a server without TLS",
      ["QWH-SIG-008"],
      ["ChannelBinding"],
      signHello(H(), { cb: "tls-exporter", exporterHex: EXPORTER1 }),
      rej("E_INVALID_HANDSHAKE_SIGNATURE"),
    ),
  ]);

  // 2. server with application version 1.2.0
  const V = "1.2.0";
  const ok2 = (v, c) =>
    N(
      `server ${V}, client version ${JSON.stringify(v)}: ${c}`,
      ["QWH-NEG-005"],
      ["AppVersion"],
      H({ version: v }),
      acc("1.0", ["control"], 4194304, V),
    );
  const no2 = (v, c) =>
    N(
      `server ${V}, client version ${JSON.stringify(v)}: ${c}`,
      ["QWH-NEG-005"],
      ["AppVersion"],
      H({ version: v }),
      rej("E_VERSION_MISMATCH"),
    );
  add(srv({ version: V }), [
    ok2("1.2.0", "same version"),
    ok2("1.0.0", "same major"),
    ok2("1.99.7-beta", "same major"),
    ok2("1", "major 1 without a dot"),
    ok2("01.5", "major compared as an integer (01 = 1)"),
    no2("2.0.0", "major 2"),
    no2("0.3.1", "major 0"),
    no2("10.0.0", "major 10 (not a prefix match)"),
    no2("v1.2.0", "no numeric major, strings differ"),
    no2("1a.0", "no numeric major (digits not followed by . or end)"),
    N(
      "server 1.2.0, v1 client without version: E_VERSION_MISMATCH",
      ["QWH-NEG-005"],
      ["AppVersion", "MissingMember"],
      H(),
      rej("E_VERSION_MISMATCH"),
    ),
  ]);
  // 3. server with a non-numeric version
  const ok3 = (v, c) =>
    N(
      `server "alpha", client ${JSON.stringify(v)}: ${c}`,
      ["QWH-NEG-005"],
      ["AppVersion"],
      H({ version: v }),
      acc("1.0", ["control"], 4194304, "alpha"),
    );
  const no3 = (v, c) =>
    N(`server "alpha", client ${JSON.stringify(v)}: ${c}`, ["QWH-NEG-005"], ["AppVersion"], H({ version: v }), rej("E_VERSION_MISMATCH"));
  add(srv({ version: "alpha" }), [
    ok3("alpha", "identical strings"),
    no3("beta", "different strings"),
    no3("Alpha", "case differs"),
    no3("1.0.0", "one side without numeric major"),
  ]);

  // 4. server 1.3 with extension features
  const S4 = srv({ qwh: "1.3", features: ["control", "x-b", "x-a"] });
  add(S4, [
    N("client 1.1, server 1.3: accept 1.1", ["QWH-NEG-002"], ["VersionNegotiation"], H({ qwh: "1.1" }), acc("1.1", ["control"])),
    N("client 1.3, server 1.3: accept 1.3", ["QWH-NEG-002"], ["VersionNegotiation"], H({ qwh: "1.3" }), acc("1.3", ["control"])),
    N(
      "client 1.10, server 1.3: accept 1.3 (minors compared as numbers)",
      ["QWH-NEG-002"],
      ["VersionNegotiation", "Boundary"],
      H({ qwh: "1.10" }),
      acc("1.3", ["control"]),
    ),
    N("client 1.0, server 1.3: accept 1.0", ["QWH-NEG-002"], ["VersionNegotiation"], H({ qwh: "1.0" }), acc("1.0", ["control"])),
    N(
      "features listed in the client's order",
      ["QWH-NEG-003"],
      ["FeatureNegotiation"],
      H({ features: ["x-a", "control", "x-b"] }),
      acc("1.0", ["x-a", "control", "x-b"]),
    ),
    N(
      "only the enabled subset",
      ["QWH-NEG-003", "QWH-ACCEPT-003"],
      ["FeatureNegotiation"],
      H({ features: ["x-c", "x-b"] }),
      acc("1.0", ["x-b"]),
    ),
    N("resume offered, not enabled", ["QWH-NEG-004"], ["FeatureNegotiation"], H({ features: ["resume", "x-a"] }), acc("1.0", ["x-a"])),
    N("client 3.1 against server 1.3", ["QWH-NEG-001"], ["VersionNegotiation"], H({ qwh: "3.1" }), rej("E_UNSUPPORTED_VERSION")),
  ]);
  // 5. a (mis)configured server listing resume
  add(srv({ features: ["control", "resume"] }), [
    N(
      "server lists resume, client offers it: never accepted in 1.0",
      ["QWH-NEG-004"],
      ["FeatureNegotiation"],
      H({ features: ["resume", "control"] }),
      acc("1.0", ["control"]),
    ),
  ]);
  // 6. raw server
  add(srv({ framing: "none", features: ["control"] }), [
    N("raw server, client offers raw: accept lists raw", ["QWH-RAW-005"], ["Raw"], H({ features: ["raw"] }), acc("1.0", ["raw"])),
    N(
      "raw server, client offers raw and control: control is not listed with raw",
      ["QWH-RAW-005"],
      ["Raw", "FeatureNegotiation"],
      H({ features: ["raw", "control"] }),
      acc("1.0", ["raw"]),
    ),
    N(
      "raw server, client offers raw and an unknown feature",
      ["QWH-RAW-005", "QWH-HELLO-012"],
      ["Raw", "ForwardCompat"],
      H({ features: ["x-zip", "raw"] }),
      acc("1.0", ["raw"]),
    ),
    N(
      "raw server, client offers control only: E_FRAMING_MISMATCH",
      ["QWH-RAW-005"],
      ["Raw"],
      H({ features: ["control"] }),
      rej("E_FRAMING_MISMATCH"),
    ),
    N("raw server, client offers nothing: E_FRAMING_MISMATCH", ["QWH-RAW-005"], ["Raw"], H({ features: [] }), rej("E_FRAMING_MISMATCH")),
    N(
      "raw server, client 2.0 without raw: version checked before framing",
      ["QWH-NEG-007", "QWH-NEG-001"],
      ["Raw", "CheckOrder"],
      H({ qwh: "2.0", features: [] }),
      rej("E_UNSUPPORTED_VERSION"),
    ),
  ]);
  // 7. legacy allowed, version 1.2.0
  add(srv({ legacyAllowed: true, version: V }), [
    N(
      "0.3 hello with a compatible version: served, no frame",
      ["QWH-LEGACY-003", "QWH-LEGACY-004"],
      ["Legacy", "ServedLegacy"],
      L({ version: "1.0.0" }),
      "legacy",
    ),
    N(
      "0.3 hello without version: served (missing version allowed for 0.3)",
      ["QWH-LEGACY-003", "QWH-NEG-005"],
      ["Legacy", "ServedLegacy", "AppVersion"],
      L(),
      "legacy",
    ),
    N(
      "0.3 hello with float tags and extra 0.3 fields: served",
      ["QWH-LEGACY-004"],
      ["Legacy", "ServedLegacy", "NumberFormat"],
      '{"type":"handshake","version":"1.4.0","tags":{"w":0.5},"sid":"s","nIndex":2,"entropyMetrics":{"h":1.25}}',
      "legacy",
    ),
    N(
      "0.3 hello with version 2.0.0: closed without a frame, E_VERSION_MISMATCH",
      ["QWH-LEGACY-003", "QWH-NEG-005"],
      ["Legacy", "ServedLegacy", "AppVersion"],
      L({ version: "2.0.0" }),
      cls("E_VERSION_MISMATCH"),
    ),
    N(
      "malformed 0.3 hello (version a number): closed without a frame, E_INVALID_HANDSHAKE",
      ["QWH-LEGACY-003", "QWH-LEGACY-004"],
      ["Legacy", "ServedLegacy"],
      L({ version: 1 }),
      cls("E_INVALID_HANDSHAKE"),
    ),
    N(
      "0.3 hello with a boolean tag: closed without a frame",
      ["QWH-LEGACY-003", "QWH-LEGACY-004"],
      ["Legacy", "ServedLegacy"],
      L({ version: "1.0.0", tags: { a: false } }),
      cls("E_INVALID_HANDSHAKE"),
    ),
    N(
      "not JSON at a legacy-allowing server: a reject frame (not classifiable as 0.3)",
      ["QWH-HELLO-011", "QWH-BARE-003"],
      ["Legacy", "StrictJson"],
      "{",
      rej("E_INVALID_HANDSHAKE"),
    ),
    N(
      "v1 hello at a legacy-allowing server: normal accept",
      ["QWH-LEGACY-001", "QWH-ACCEPT-001"],
      [],
      H({ version: "1.0.0" }),
      acc("1.0", ["control"], 4194304, V),
    ),
    N(
      "v1 hello without version at a legacy-allowing server: E_VERSION_MISMATCH (only 0.3 hellos may omit it)",
      ["QWH-NEG-005"],
      ["AppVersion", "MissingMember"],
      H(),
      rej("E_VERSION_MISMATCH"),
    ),
  ]);
  // 8. legacy allowed, policy refuses
  add(srv({ legacyAllowed: true, policy: "reject" }), [
    N(
      "0.3 hello refused by policy: closed without a frame, E_POLICY_REJECTED",
      ["QWH-LEGACY-003", "QWH-NEG-008"],
      ["Legacy", "ServedLegacy"],
      L({ version: "1.0.0" }),
      cls("E_POLICY_REJECTED"),
    ),
    N("v1 hello refused by policy: reject E_POLICY_REJECTED", ["QWH-NEG-008"], [], H(), rej("E_POLICY_REJECTED")),
  ]);
  // 9. legacy allowed, signatures required
  add(srv({ legacyAllowed: true, requireSignature: true }), [
    N(
      "0.3 hello on a server requiring signatures: closed, E_SIGNATURE_REQUIRED",
      ["QWH-SIG-006", "QWH-LEGACY-003", "QWH-LEGACY-012"],
      ["Legacy", "ServedLegacy", "SignatureRequired"],
      L({ version: "1.0.0" }),
      cls("E_SIGNATURE_REQUIRED"),
    ),
    N(
      "0.3 hello carrying a 0.3 sig string: still E_SIGNATURE_REQUIRED",
      ["QWH-SIG-006", "QWH-LEGACY-012"],
      ["Legacy", "ServedLegacy", "SignatureRequired"],
      L({ version: "1.0.0", sig: "bmVnZW50cm9waWM" }),
      cls("E_SIGNATURE_REQUIRED"),
    ),
  ]);
  // 10. signatures required
  add(srv({ requireSignature: true }), [
    N("unsigned hello: E_SIGNATURE_REQUIRED", ["QWH-SIG-006"], ["SignatureRequired"], H(), rej("E_SIGNATURE_REQUIRED")),
    N(
      "signed hello: accepted",
      ["QWH-SIG-006", "QWH-SIG-003"],
      ["SignatureRequired"],
      signHello(H(), { key: KB }),
      acc("1.0", ["control"]),
    ),
    N(
      "signed hello with a bad signature",
      ["QWH-SIG-003"],
      ["SignatureRequired", "ModifiedSignedContent"],
      badSig,
      rej("E_INVALID_HANDSHAKE_SIGNATURE"),
    ),
  ]);
  // 11. every check configured to fail: the order of spec 8.1
  const S11 = srv({ version: V, requireSignature: true, policy: "reject" });
  const vOk = { version: "1.0.0" };
  const good = signHello(H(vOk), { nonceHex: pattern(16, 0x70) });
  const goodBad = { ...good, tags: { x: "tampered" } };
  add(S11, [
    N(
      "qwh 2.0 and an invalid tag: shape first, E_INVALID_HANDSHAKE",
      ["QWH-NEG-007", "QWH-HELLO-011"],
      ["CheckOrder"],
      H({ qwh: "2.0", tags: { a: true } }),
      rej("E_INVALID_HANDSHAKE"),
    ),
    N(
      "0.3 hello with an incompatible version, legacy not allowed: E_LEGACY_NOT_ALLOWED",
      ["QWH-NEG-007", "QWH-LEGACY-002"],
      ["CheckOrder", "Legacy"],
      L({ version: "9.0.0" }),
      rej("E_LEGACY_NOT_ALLOWED"),
    ),
    N(
      "qwh 2.0, raw, version 2, unsigned: E_UNSUPPORTED_VERSION",
      ["QWH-NEG-007", "QWH-NEG-001"],
      ["CheckOrder"],
      H({ qwh: "2.0", features: ["raw"], version: "2.0.0" }),
      rej("E_UNSUPPORTED_VERSION"),
    ),
    N(
      "raw, version 2, unsigned: E_FRAMING_MISMATCH",
      ["QWH-NEG-007", "QWH-RAW-005"],
      ["CheckOrder", "Raw"],
      H({ features: ["raw"], version: "2.0.0" }),
      rej("E_FRAMING_MISMATCH"),
    ),
    N(
      "version 2, unsigned: E_VERSION_MISMATCH",
      ["QWH-NEG-007", "QWH-NEG-005"],
      ["CheckOrder", "AppVersion"],
      H({ version: "2.0.0" }),
      rej("E_VERSION_MISMATCH"),
    ),
    N(
      "version missing, bad signature: E_VERSION_MISMATCH",
      ["QWH-NEG-007", "QWH-NEG-005"],
      ["CheckOrder", "AppVersion"],
      (({ version: _v, ...r }) => r)(goodBad),
      rej("E_VERSION_MISMATCH"),
    ),
    N(
      "compatible version, unsigned: E_SIGNATURE_REQUIRED",
      ["QWH-NEG-007", "QWH-SIG-006"],
      ["CheckOrder", "SignatureRequired"],
      H(vOk),
      rej("E_SIGNATURE_REQUIRED"),
    ),
    N(
      "compatible version, bad signature: E_INVALID_HANDSHAKE_SIGNATURE",
      ["QWH-NEG-007", "QWH-SIG-003"],
      ["CheckOrder"],
      goodBad,
      rej("E_INVALID_HANDSHAKE_SIGNATURE"),
    ),
    N(
      "compatible version, expired signature: E_HANDSHAKE_EXPIRED",
      ["QWH-NEG-007", "QWH-SIG-004"],
      ["CheckOrder", "Expiry"],
      signHello(H(vOk), { ts: NOW + 30001 }),
      rej("E_HANDSHAKE_EXPIRED"),
    ),
    N(
      "compatible version, valid signature, policy refuses: E_POLICY_REJECTED",
      ["QWH-NEG-007", "QWH-NEG-008"],
      ["CheckOrder"],
      good,
      rej("E_POLICY_REJECTED"),
    ),
  ]);
  // 12. TLS server
  add(srv({ tls: { exporterHex: EXPORTER1 } }), [
    N(
      "TLS, cb tls-exporter with this session's exporter: accepted",
      ["QWH-SIG-008", "QWH-SIG-002"],
      ["ChannelBinding"],
      signHello(H(), { cb: "tls-exporter", exporterHex: EXPORTER1 }),
      acc("1.0", ["control"]),
    ),
    N(
      "TLS, cb tls-exporter signed for another session: E_INVALID_HANDSHAKE_SIGNATURE",
      ["QWH-SIG-008"],
      ["ChannelBinding"],
      signHello(H(), { cb: "tls-exporter", exporterHex: EXPORTER2 }),
      rej("E_INVALID_HANDSHAKE_SIGNATURE"),
    ),
  ]);
  // 13. server with maximum 0 and no control
  add(srv({ features: [], maxFrameLength: 0 }), [
    N(
      "server maximum 0 and no features: accept carries maxFrameLength 0 and no control",
      ["QWH-NEG-006", "QWH-NEG-003"],
      ["Boundary", "FeatureNegotiation"],
      H({ features: ["control"], maxFrameLength: 2147483647 }),
      acc("1.0", [], 0),
    ),
  ]);
  // 14. a 0.3 hello refused because signatures are required: always E_SIGNATURE_REQUIRED (QWH-LEGACY-012).
  const v1sig = signHello(H(), { nonceHex: pattern(16, 0x41) }).sig;
  add(srv({ legacyAllowed: true, requireSignature: true, policy: "reject" }), [
    N(
      "0.3 hello with a well-formed QWH/1 sig object: still E_SIGNATURE_REQUIRED (a 0.3 hello cannot be signed), closed",
      ["QWH-LEGACY-012", "QWH-LEGACY-003"],
      ["Legacy", "ServedLegacy", "SignatureRequired"],
      L({ version: "1.0.0", sig: v1sig }),
      cls("E_SIGNATURE_REQUIRED"),
    ),
    N(
      "0.3 hello with a malformed sig object: E_SIGNATURE_REQUIRED, not E_INVALID_HANDSHAKE_SIGNATURE",
      ["QWH-LEGACY-012", "QWH-LEGACY-003"],
      ["Legacy", "ServedLegacy", "SignatureRequired", "CheckOrder"],
      L({ sig: { alg: "rsa" } }),
      cls("E_SIGNATURE_REQUIRED"),
    ),
    N(
      "0.3 hello, policy refusing too: E_SIGNATURE_REQUIRED (step 9) before E_POLICY_REJECTED (step 10)",
      ["QWH-LEGACY-012", "QWH-NEG-007"],
      ["Legacy", "ServedLegacy", "SignatureRequired", "CheckOrder"],
      L({ version: "1.0.0" }),
      cls("E_SIGNATURE_REQUIRED"),
    ),
  ]);
  void KA;
  return {
    negotiate: buildFile({
      kind: "negotiate",
      description:
        'Server decisions for a first frame, in the order of spec section 8.1: size (frame-decode vectors), strict JSON and shape (E_INVALID_HANDSHAKE), profile (E_LEGACY_NOT_ALLOWED), qwh version (E_UNSUPPORTED_VERSION), framing (E_FRAMING_MISMATCH), application version (E_VERSION_MISMATCH), signature (E_SIGNATURE_REQUIRED, E_INVALID_HANDSHAKE_SIGNATURE, E_HANDSHAKE_EXPIRED, E_HANDSHAKE_REPLAY), policy (E_POLICY_REJECTED). The accept carries qwh "1.<min minor>", the offered features the server enables in the client\'s order (never resume; raw exactly when framing is "none", and then without control), the server\'s maxFrameLength, and the server\'s version when it has one. A 0.3 hello on a legacy-allowing server is served ({"type":"legacy"}) or refused by closing without a frame ({"type":"close"}).',
      groups,
    }),
  };
}
