// sig: signed hellos (spec section 11), verified by the server.
//
// Timestamps: a static file cannot hold a hello signed "now". Cases whose signed bytes are fixed in
// the file sign with ts = 2030-01-01T00:00:00Z and configure
// the server with a signature window of 10 years (315576000000 ms), so they hold from 2020 to
// 2040; "expired" cases put ts 30 years away from that. Every case uses its own nonce (derived from
// its name) so that a server process shared between cases never sees a replay by accident. The
// others are signed by the runner at run time (sendSignedHello, a fresh ts).
import { createHash } from "node:crypto";
import * as L from "../lib.mjs";
const { mk, send, expectAccept, rejectClose, utf8, frame, jcs, hello, edKey, edSignHex, SIG_PREFIX, pattern, expectFrame } = L;

const A = "sig";
const TS = Date.UTC(2030, 0, 1);
const WINDOW = 315576000000; // 10 years (365.25 days)
const S = (x = {}) => ({ scenario: "echo", features: ["control"], signatureWindowMs: WINDOW, ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const KA = edKey(pattern(32, 0x40));
const nonceFor = (name, n = 16) =>
  createHash("sha256")
    .update("qwh-case-nonce:" + name)
    .digest()
    .subarray(0, n);
const b64 = (buf) => Buffer.from(buf).toString("base64url");

/**
 * A signed hello. o: key, signer, ts, alg, cb, nonce (Buffer), extraSig, sigOverride (members
 * replacing the computed ones after signing), tamper(signedHex) -> hex actually signed,
 * afterSign(obj) -> obj (modify the hello after signing), text(obj) -> JSON text.
 */
function signed(name, o = {}) {
  const key = o.key ?? KA;
  const sig = { alg: o.alg ?? "ed25519", key: key.publicB64, nonce: b64(o.nonce ?? nonceFor(name)), ts: o.ts ?? TS };
  if (o.cb !== undefined) sig.cb = o.cb;
  Object.assign(sig, o.extraSig ?? {});
  let obj = { ...hello(["control"], o.extra ?? {}), sig };
  let signedHex = SIG_PREFIX + utf8(jcs(obj));
  if (o.tamper) signedHex = o.tamper(signedHex, obj);
  let valueHex = edSignHex(o.signer ?? key, signedHex);
  if (o.value) valueHex = o.value(valueHex);
  obj = { ...obj, sig: { ...sig, value: b64(Buffer.from(valueHex, "hex")), ...(o.sigOverride ?? {}) } };
  if (o.afterSign) obj = o.afterSign(obj);
  return frame(utf8(o.text ? o.text(obj) : JSON.stringify(obj)));
}
const nonCanonical = (s) => {
  const A64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return s.slice(0, -1) + A64[A64.indexOf(s[s.length - 1]) | 1];
};
const accepted = expectAccept({ type: "accept", features: ["control"] });
const server = [];
const client = [];
const BAD = "E_INVALID_HANDSHAKE_SIGNATURE";
const SEED_A = pattern(32, 0x40);
const SEED_B = pattern(32, 0x90);
const hexNonce = (name, n = 16) => nonceFor(name, n).toString("hex");
/** A sendSignedHello step signed by the runner at run time (fresh ts). */
const live = (name, o = {}, conn) => {
  const step = {
    sendSignedHello: {
      seed: o.seed ?? SEED_A,
      nonce: o.nonce ?? hexNonce(name),
      tsOffsetMs: o.tsOffsetMs ?? 0,
      ...(o.hello ? { hello: o.hello } : {}),
      ...(o.alg ? { alg: o.alg } : {}),
      ...(o.cb ? { cb: o.cb } : {}),
      ...(o.tamper ? { tamper: o.tamper } : {}),
      ...(o.keyText ? { keyText: o.keyText } : {}),
      ...(o.nonceText ? { nonceText: o.nonceText } : {}),
      ...(o.valueText ? { valueText: o.valueText } : {}),
      ...(o.extraAfterSigning ? { extraAfterSigning: o.extraAfterSigning } : {}),
    },
  };
  if (conn) step.conn = conn;
  return step;
};
const D = (x = {}) => ({ scenario: "echo", features: ["control"], ...x }); // default window (30 s)
const ok = (name, title, reqs, o = {}, x = {}) =>
  server.push(mk(A, "server", name, { title: `accepted: ${title}`, reqs, config: D(x), steps: [live(name, o), accepted] }));
const no = (name, title, reqs, code, o = {}, x = {}) =>
  server.push(mk(A, "server", name, { title: `${code}: ${title}`, reqs, config: D(x), steps: [live(name, o), rejectClose(code)] }));
/** Static (generator-signed) hellos, for defects decided before the time check (9b to 9d): no clock involved. */
const noStatic = (name, title, reqs, code, o = {}, x = {}) =>
  server.push(srv(name, { title: `${code}: ${title}`, reqs, config: D(x), steps: [send(signed(name, o)), rejectClose(code)] }));
const H1 = hello(["control"]);

ok("valid", "a hello signed now, on a server that does not require signatures (it is verified anyway)", [
  "QWH-SIG-013",
  "QWH-SIG-002",
  "QWH-SIG-003",
]);
ok(
  "valid-required",
  "a hello signed now, on a server that requires signatures",
  ["QWH-SIG-006", "QWH-SIG-002"],
  {},
  { requireSignature: true },
);
ok(
  "valid-with-tags-and-version",
  "a signed hello with tags, version and an unknown member, all covered by the signature",
  ["QWH-SIG-002"],
  { hello: { ...H1, version: "1.0.0", tags: { service: "a", n: 1 }, "x-ext": [1, "2"] } },
);
ok("valid-32-byte-nonce", "a 32-byte nonce (43 characters)", ["QWH-SIG-001"], { nonce: hexNonce("valid-32-byte-nonce", 32) });
ok("valid-ts-20s-behind", "ts 20 s behind the server's clock (window 30 s)", ["QWH-SIG-004"], { tsOffsetMs: -20000 });
ok("valid-ts-20s-ahead", "ts 20 s ahead of the server's clock (window 30 s)", ["QWH-SIG-004"], { tsOffsetMs: 20000 });
ok(
  "valid-non-ascii-tags",
  "a signed hello with non-ASCII and astral tag values (JCS escapes nothing but what JSON must)",
  ["QWH-SIG-002", "QWH-SIG-007"],
  { hello: { ...H1, tags: { city: "Z\u00fcrich", e: "\u{1F600}", q: 'a"b\\c' } } },
);
server.push(
  srv("valid-non-canonical-text", {
    title: "accepted: the hello sent with whitespace, reversed member order and escapes; the signature is over its JCS form",
    description:
      "Signed by the generator with ts = 2030-01-01 and a server window of 10 years (valid 2020 to 2040): the runner cannot send a re-serialised hello it signed itself.",
    reqs: ["QWH-SIG-007"],
    config: S(),
    steps: [send(signed("valid-non-canonical-text", { text: (obj) => looseJson(obj) })), accepted],
  }),
);
server.push(
  srv("required-missing", {
    title: "E_SIGNATURE_REQUIRED: an unsigned hello on a server that requires signatures",
    reqs: ["QWH-SIG-006"],
    config: D({ requireSignature: true }),
    steps: [send(L.helloFrame()), rejectClose("E_SIGNATURE_REQUIRED")],
  }),
);
server.push(
  srv("required-missing-with-tags", {
    title: "E_SIGNATURE_REQUIRED: an unsigned hello with tags and version",
    reqs: ["QWH-SIG-006"],
    config: D({ requireSignature: true }),
    steps: [send(L.helloFrame(["control"], { version: "1", tags: { a: "b" } })), rejectClose("E_SIGNATURE_REQUIRED")],
  }),
);

no("bad-value-bit", "one bit of the signature value flipped", ["QWH-SIG-003"], BAD, { tamper: "flip-value-bit" });
no(
  "bad-value-bit-required",
  "one bit flipped, on a server requiring signatures",
  ["QWH-SIG-003", "QWH-SIG-006"],
  BAD,
  { tamper: "flip-value-bit" },
  { requireSignature: true },
);
no("other-key", "signed by another key than sig.key", ["QWH-SIG-003"], BAD, { tamper: "other-key" });
no("s-plus-l", "S replaced by S + L (not reduced modulo the group order)", ["QWH-SIG-003"], BAD, { tamper: "s-plus-l" });
no("signed-without-prefix", "signed over the JCS form without the 12-byte prefix", ["QWH-SIG-002"], BAD, { tamper: "no-prefix" });
no("signed-over-sent-bytes", "signed over the hello's bytes as sent instead of its JCS form", ["QWH-SIG-007"], BAD, {
  tamper: "sign-received-bytes",
});
no("tag-changed-after-signing", "a tag value changed after signing", ["QWH-SIG-002", "QWH-SIG-003"], BAD, {
  hello: { ...H1, tags: { role: "user" } },
  extraAfterSigning: { tags: { role: "admin" } },
});
no("member-added-after-signing", "an unknown member added after signing (every member is signed)", ["QWH-SIG-002"], BAD, {
  extraAfterSigning: { "x-late": 1 },
});
no("feature-added-after-signing", "a feature added after signing", ["QWH-SIG-002"], BAD, {
  extraAfterSigning: { features: ["control", "x-more"] },
});
no("version-added-after-signing", "a version added after signing", ["QWH-SIG-002"], BAD, { extraAfterSigning: { version: "2.0" } });
no("value-of-other-hello", "a valid signature value of another hello (different nonce)", ["QWH-SIG-003"], BAD, {
  valueText: b64(Buffer.from(edSignHex(KA, SIG_PREFIX + utf8("{}")), "hex")),
});
no("alg-unknown", 'alg "ES256"', ["QWH-SIG-009"], BAD, { alg: "ES256" });
no("alg-uppercase", 'alg "Ed25519" (case matters)', ["QWH-SIG-009"], BAD, { alg: "Ed25519" });
no("cb-without-tls", 'cb "tls-exporter" on a plain TCP connection', ["QWH-SIG-008"], BAD, { cb: "tls-exporter" });
no("cb-unknown", 'cb "tls-unique"', ["QWH-SIG-008"], BAD, { cb: "tls-unique" });
no("expired-past", "ts one hour behind the server's clock (window 30 s)", ["QWH-SIG-004"], "E_HANDSHAKE_EXPIRED", { tsOffsetMs: -3600000 });
no("expired-future", "ts one hour ahead of the server's clock", ["QWH-SIG-004"], "E_HANDSHAKE_EXPIRED", { tsOffsetMs: 3600000 });
no("expired-just-outside", "ts 60 s behind (twice the default window)", ["QWH-SIG-004"], "E_HANDSHAKE_EXPIRED", { tsOffsetMs: -60000 });
no(
  "expired-small-window",
  "window 1000 ms configured, ts 10 s behind",
  ["QWH-SIG-004"],
  "E_HANDSHAKE_EXPIRED",
  { tsOffsetMs: -10000 },
  { signatureWindowMs: 1000 },
);
noStatic("expired-ts-zero", "ts 0 (1970)", ["QWH-SIG-004"], "E_HANDSHAKE_EXPIRED", { ts: 0 });
no(
  "order-expired-before-bad-signature",
  "expired and a bad signature: the time check (9e) before verification (9f)",
  ["QWH-SIG-013", "QWH-SIG-004"],
  "E_HANDSHAKE_EXPIRED",
  { tsOffsetMs: -3600000, tamper: "flip-value-bit" },
);
no("order-alg-before-expired", "unknown alg and expired: alg (9c) before time (9e)", ["QWH-SIG-013", "QWH-SIG-009"], BAD, {
  tsOffsetMs: -3600000,
  alg: "rsa",
});
no("order-cb-before-expired", "cb without TLS and expired: cb (9d) before time (9e)", ["QWH-SIG-013", "QWH-SIG-008"], BAD, {
  tsOffsetMs: -3600000,
  cb: "tls-exporter",
});
no("order-shape-before-expired", "a malformed key and expired: shape (9b) before time (9e)", ["QWH-SIG-013", "QWH-SIG-010"], BAD, {
  tsOffsetMs: -3600000,
  keyText: "short",
});
no(
  "order-present-sig-checked-when-required",
  "signatures required and the sig malformed: 9b applies (a sig is present)",
  ["QWH-SIG-013"],
  BAD,
  { valueText: "x" },
  { requireSignature: true },
);

// Malformed sig members (QWH-SIG-001, QWH-SIG-010): E_INVALID_HANDSHAKE_SIGNATURE, not E_INVALID_HANDSHAKE.
const TEXT = [
  ["key-42-chars", { keyText: KA.publicB64.slice(0, 42) }, "key of 42 characters"],
  ["key-non-canonical", { keyText: nonCanonical(KA.publicB64) }, "key with non-zero unused bits in its last character"],
  ["key-padded", { keyText: KA.publicB64 + "=" }, "key with = padding"],
  ["key-standard-alphabet", { keyText: "+" + KA.publicB64.slice(1) }, "key using the standard base64 alphabet (+)"],
  ["nonce-15-bytes", { nonceText: b64(nonceFor("n15", 15)) }, "nonce of 15 bytes (20 characters)"],
  ["nonce-33-bytes", { nonceText: b64(nonceFor("n33", 33)) }, "nonce of 33 bytes (44 characters)"],
  ["value-85-chars", { valueText: "A".repeat(85) }, "value of 85 characters"],
  ["value-non-canonical", { valueText: "A".repeat(85) + "B" }, "value with non-zero unused bits in its last character"],
];
for (const [name, over, title] of TEXT)
  no(`malformed-${name}`, `a malformed sig member: ${title}`, ["QWH-SIG-001", "QWH-SIG-010"], BAD, over);
const STATIC_SHAPE = [
  ["ts-negative", { ts: -1 }, "ts -1"],
  ["ts-above-2p53", { ts: 9007199254740991 }, "ts 2^53-1 is well formed but expired"],
  ["ts-string", { ts: String(TS) }, "ts as a string"],
  ["alg-number", { alg: 1 }, "alg as a number"],
  ["cb-number", { cb: 1 }, "cb as a number"],
  ["key-number", { key: 5 }, "key as a number"],
];
for (const [name, over, title] of STATIC_SHAPE) {
  if (name === "ts-above-2p53")
    noStatic(
      `expired-ts-max`,
      `ts 9007199254740991 (2^53-1): well formed, far in the future`,
      ["QWH-SIG-004", "QWH-SIG-001"],
      "E_HANDSHAKE_EXPIRED",
      { ts: 9007199254740991 },
    );
  else noStatic(`malformed-${name}`, `a malformed sig member: ${title}`, ["QWH-SIG-001", "QWH-SIG-010"], BAD, { sigOverride: over });
}
for (const m of ["alg", "key", "nonce", "ts", "value"]) {
  noStatic(`malformed-missing-${m}`, `sig without "${m}"`, ["QWH-SIG-001", "QWH-SIG-010"], BAD, {
    afterSign: (o) => {
      const sig = { ...o.sig };
      delete sig[m];
      return { ...o, sig };
    },
  });
}
noStatic("malformed-sig-empty-object", '"sig":{}', ["QWH-SIG-001", "QWH-SIG-010"], BAD, { afterSign: (o) => ({ ...o, sig: {} }) });
server.push(
  srv("ts-float-is-shape-error", {
    title: "E_INVALID_HANDSHAKE: sig.ts written 1.5 breaks strict JSON (integers only)",
    reqs: ["QWH-HELLO-013"],
    config: D(),
    steps: [
      send(
        frame(utf8(JSON.stringify(JSON.parse(Buffer.from(signed("ts-float").slice(8), "hex").toString())).replace(/"ts":\d+/, '"ts":1.5'))),
      ),
      rejectClose("E_INVALID_HANDSHAKE"),
    ],
  }),
);

// Replay (two connections to the same server).
{
  const n = hexNonce("replay");
  server.push(
    mk(A, "server", "replay-second-connection", {
      title: "E_HANDSHAKE_REPLAY: the same key and nonce on a second connection within the window",
      reqs: ["QWH-SIG-005", "QWH-SIG-015"],
      config: D(),
      steps: [
        live("replay", { nonce: n }),
        accepted,
        live("replay", { nonce: n }, "b"),
        { ...rejectClose("E_HANDSHAKE_REPLAY"), conn: "b" },
      ],
    }),
  );
  const n2 = hexNonce("replay-required");
  server.push(
    mk(A, "server", "replay-second-connection-required", {
      title: "E_HANDSHAKE_REPLAY on a server requiring signatures",
      reqs: ["QWH-SIG-005", "QWH-SIG-015"],
      config: D({ requireSignature: true }),
      steps: [live("r", { nonce: n2 }), accepted, live("r", { nonce: n2 }, "b"), { ...rejectClose("E_HANDSHAKE_REPLAY"), conn: "b" }],
    }),
  );
  const n3 = hexNonce("replay-after-first-closed");
  server.push(
    mk(A, "server", "replay-after-first-closed", {
      title: "E_HANDSHAKE_REPLAY even after the first connection has closed",
      reqs: ["QWH-SIG-005", "QWH-SIG-015"],
      config: D(),
      steps: [
        live("r", { nonce: n3 }),
        accepted,
        L.closeWrite(),
        L.expectClose({ withinMs: 1000 }),
        live("r", { nonce: n3 }, "b"),
        { ...rejectClose("E_HANDSHAKE_REPLAY"), conn: "b" },
      ],
    }),
  );
  const n4 = hexNonce("forged-does-not-poison");
  server.push(
    mk(A, "server", "forged-does-not-poison-cache", {
      title: "a forged hello with nonce N is refused and does not block the key holder's hello with nonce N",
      reqs: ["QWH-SIG-013", "QWH-SIG-015"],
      config: D(),
      steps: [
        live("f", { nonce: n4, tamper: "flip-value-bit" }),
        rejectClose(BAD),
        live("f", { nonce: n4 }, "b"),
        { ...accepted, conn: "b" },
      ],
    }),
  );
  const n5 = hexNonce("same-nonce-other-key");
  server.push(
    mk(A, "server", "same-nonce-other-key", {
      title: "the same nonce under another key is not a replay",
      reqs: ["QWH-SIG-005"],
      config: D(),
      steps: [live("k", { nonce: n5 }), accepted, live("k", { nonce: n5, seed: SEED_B }, "b"), { ...accepted, conn: "b" }],
    }),
  );
  const n6 = hexNonce("expired-replay");
  server.push(
    mk(A, "server", "order-expired-before-replay", {
      title: "a replayed nonce with an expired ts: E_HANDSHAKE_EXPIRED (9e before 9g)",
      reqs: ["QWH-SIG-013", "QWH-SIG-004"],
      config: D(),
      steps: [
        live("e", { nonce: n6 }),
        accepted,
        live("e", { nonce: n6, tsOffsetMs: -3600000 }, "b"),
        { ...rejectClose("E_HANDSHAKE_EXPIRED"), conn: "b" },
      ],
    }),
  );
  const n7 = hexNonce("bad-replay");
  server.push(
    mk(A, "server", "order-bad-signature-before-replay", {
      title: "a replayed nonce with a bad signature: E_INVALID_HANDSHAKE_SIGNATURE (9f before 9g)",
      reqs: ["QWH-SIG-013", "QWH-SIG-003"],
      config: D(),
      steps: [
        live("b", { nonce: n7 }),
        accepted,
        live("b", { nonce: n7, tamper: "flip-value-bit" }, "b"),
        { ...rejectClose(BAD), conn: "b" },
      ],
    }),
  );
}

/** The hello with whitespace, reversed member order and \u escapes for letters of "handshake". */
function looseJson(v, ind = "") {
  if (typeof v === "string") return '"' + JSON.stringify(v).slice(1, -1).replace(/a/g, "\\u0061") + '"';
  if (Array.isArray(v)) return "[ " + v.map((x) => looseJson(x, ind + "  ")).join(" , ") + " ]";
  if (v && typeof v === "object")
    return (
      "{\n" +
      Object.keys(v)
        .reverse()
        .map((k) => ind + "  " + looseJson(k) + " : " + looseJson(v[k], ind + "  "))
        .join(",\n") +
      "\n" +
      ind +
      "}"
    );
  return JSON.stringify(v);
}

// Key trust (QWH-SIG-014): a valid signature only proves possession of the key; a policy that relies
// on signatures (adapter config trustedKeys) refuses other keys, and unsigned hellos, at step 10.
const PUB_A = L.edKey(SEED_A).publicB64;
const PUB_B = L.edKey(SEED_B).publicB64;
no(
  "untrusted-key-policy-rejected",
  "a valid signature by a key the policy does not trust",
  ["QWH-SIG-014"],
  "E_POLICY_REJECTED",
  {},
  { trustedKeys: [PUB_B] },
);
no(
  "untrusted-key-required-policy-rejected",
  "a valid signature by an untrusted key on a server that requires signatures",
  ["QWH-SIG-014"],
  "E_POLICY_REJECTED",
  {},
  { trustedKeys: [PUB_B], requireSignature: true },
);
ok("trusted-key", "a valid signature by a trusted key", ["QWH-SIG-014"], {}, { trustedKeys: [PUB_B, PUB_A] });
server.push(
  mk(A, "server", "unsigned-policy-rejected", {
    title: "E_POLICY_REJECTED: an unsigned hello when the policy trusts only signing keys",
    reqs: ["QWH-SIG-014"],
    config: D({ trustedKeys: [PUB_A] }),
    steps: [send(L.helloFrame()), rejectClose("E_POLICY_REJECTED")],
  }),
);
no(
  "trusted-key-bad-signature",
  "a broken signature by a trusted key is a signature failure (step 9), not a policy decision",
  ["QWH-SIG-014", "QWH-SIG-003"],
  BAD,
  { tamper: "flip-value-bit" },
  { trustedKeys: [PUB_A] },
);
// A full replay cache (QWH-SIG-016): with room for one pair, a second fresh pair cannot be recorded.
server.push(
  mk(A, "server", "replay-cache-full", {
    title: "E_RATE_LIMITED: the replay cache (1 entry) is full, a second valid hello is not accepted",
    reqs: ["QWH-SIG-016"],
    config: D({ replayCacheMaxEntries: 1 }),
    steps: [
      live("cache-1"),
      accepted,
      live("cache-2", {}, "b"),
      { ...rejectClose("E_RATE_LIMITED"), conn: "b" },
      live("cache-1", {}, "c"),
      { ...rejectClose("E_HANDSHAKE_REPLAY"), conn: "c" },
    ],
  }),
);

// The client's signed hello (QWH-SIG-012): verified by the runner over the hello as received.
const signedOk = expectFrame({ kind: "hello", verifySignature: true, json: { type: "handshake", qwh: L.QWH } });
const mirrorX = [send(L.acceptFrame()), send(L.textFrame("x")), L.expectData(L.utf8("x"))];
const signCli = (name, o) =>
  client.push(mk(A, "client", name, { ...o, config: { scenario: "mirror", features: ["control"], sign: true, ...(o.config ?? {}) } }));
signCli("signed-hello-verifies", {
  title: "the client's signed hello verifies over every member as sent",
  reqs: ["QWH-SIG-012", "QWH-SIG-002", "QWH-SIG-007"],
  steps: [signedOk, ...mirrorX],
});
signCli("signed-hello-with-tags-verifies", {
  title: "a signed hello with tags and a version: every member is covered",
  reqs: ["QWH-SIG-012", "QWH-SIG-002"],
  config: { tags: { service: "a", n: 7 }, protocolVersion: "1.2.3" },
  steps: [expectFrame({ kind: "hello", verifySignature: true, json: { version: "1.2.3", tags: { service: "a", n: 7 } } }), ...mirrorX],
});
signCli("signed-hello-verifies-tls", {
  title: "over TLS with a client certificate, the signed hello (tls tags, channel binding) verifies with this session's exporter",
  reqs: ["QWH-SIG-012", "QWH-SIG-002"],
  transport: "tls",
  steps: [expectFrame({ kind: "hello", verifySignature: true, tlsTags: true }), ...mirrorX],
});
signCli("signed-hello-verifies-tls-alpn", {
  title: "over TLS with ALPN, tlsAlpn is added before signing: the signature covers it",
  reqs: ["QWH-SIG-012"],
  transport: "tls",
  tlsPeer: { alpn: ["qwh-test/1"] },
  config: { alpn: ["qwh-test/1"] },
  steps: [expectFrame({ kind: "hello", verifySignature: true, tlsTags: true }), ...mirrorX],
});

export default {
  area: A,
  description:
    "Signed hellos (spec section 11): verification, malformed sig members, the signed bytes, expiry and the order of the signature checks.",
  server,
  client,
};
