// kind "signature": verification of the sig of a v1 hello (spec section 11.4 order 9b..9g).
import { buildFile, T } from "./file.mjs";
import { b64url, pattern, SIG_PREFIX_HEX, unhex, utf8hex, jcs } from "./util.mjs";
import { payload } from "./hello.mjs";
import { EXPORTER1, EXPORTER2, expectedSignedHex, KA, KB, KC, loose, NONCE16, nonCanonical, NOW, signHello, verifies } from "./sign.mjs";

const EIHS = "E_INVALID_HANDSHAKE_SIGNATURE";
const EXP = "E_HANDSHAKE_EXPIRED";
const REP = "E_HANDSHAKE_REPLAY";
const EIH = "E_INVALID_HANDSHAKE";
const W = 30000;

const H0 = { type: "handshake", qwh: "1.0", features: ["control"] };
const EXAMPLE = { type: "handshake", qwh: "1.0", features: ["control"], version: "1.0.0", tags: { service: "a", n: 1 } };

/**
 * A signature test from the received object (serialised with JSON.stringify unless text is given).
 * signedHex is computed from the received object by QWH-SIG-002; `sigOk` says whether the
 * Ed25519 check (9f) passes, and is asserted against node:crypto as a self-check.
 */
function S(comment, reqs, flags, obj, error, { tls = false, text, replayCache, sigOk, noSigned = false } = {}) {
  const h = text !== undefined ? utf8hex(text) : utf8hex(JSON.stringify(obj));
  const inputs = payload(h);
  if (replayCache) inputs.replayCache = replayCache;
  const outputs = {};
  const sh = noSigned ? undefined : expectedSignedHex(obj, tls);
  if (sh !== undefined) outputs.signedHex = sh;
  outputs.error = error;
  if (sigOk !== undefined && verifies(obj, sh) !== sigOk)
    throw new Error(`self-check: "${comment}" expected Ed25519 verification ${sigOk}`);
  return T(comment, reqs, flags, inputs, error ? "invalid" : "valid", outputs);
}

export default function signature() {
  const R = ["QWH-SIG-002", "QWH-SIG-003"];
  const g1 = [];
  const ex = signHello(EXAMPLE);
  g1.push(
    S("the worked example of spec 11.7 (RFC 8032 TEST 1 key, nonce 000102..0f, ts = now)", [...R, "QWH-SIG-007"], ["Jcs"], ex, null, {
      sigOk: true,
    }),
    S("minimal hello, features []", R, [], signHello({ type: "handshake", qwh: "1.0", features: [] }, { key: KB }), null, { sigOk: true }),
  );
  const full = signHello(
    {
      type: "handshake",
      qwh: "1.0",
      features: ["control", "raw", "x-ext"],
      version: "2.4.1",
      maxFrameLength: 1048576,
      tags: { max: 9007199254740991, min: -9007199254740991, zero: 0, s: "v" },
    },
    { key: KC, nonceHex: pattern(32, 0x80) },
  );
  g1.push(
    S("every member, integers at +-(2^53-1) in tags, 32-byte nonce", [...R, "QWH-SIG-007"], ["Jcs", "Boundary"], full, null, {
      sigOk: true,
    }),
  );
  g1.push(S("24-byte nonce", R, ["Boundary"], signHello(H0, { nonceHex: pattern(24, 0x33) }), null, { sigOk: true }));
  const unk = signHello({ ...H0, "x-trace": { id: "abc", hops: [1, 2] } }, { extraSig: { kid: "k1" } });
  g1.push(
    S(
      "unknown top-level member and unknown sig member are covered by the signature",
      [...R, "QWH-HELLO-009"],
      ["ForwardCompat"],
      unk,
      null,
      { sigOk: true },
    ),
  );
  const esc = signHello({ ...H0, tags: { q: 'q"b\\s\n\u0001\u001f/\u007f\u2028\u00e9\u{1f600}' } });
  g1.push(
    S(
      "JCS string escaping in signed content: quote, backslash, \\n, \\u0001, \\u001f escaped; /, DEL, U+2028 and non-ASCII literal",
      [...R, "QWH-SIG-007"],
      ["Jcs"],
      esc,
      null,
      { sigOk: true },
    ),
  );
  const order = signHello({
    ...H0,
    tags: { a: 1, B: 2, _: 3, "-": 4, ".": 5, ":": 6, 0: 7 },
    x: { "\ufb01": 1, "\u{1f600}": 2, "\u20ac": 3, a: 4, "": 5 },
  });
  g1.push(
    S(
      'JCS member order by UTF-16 code units ("" < - < . < 0 < : < B < _ < a; U+20AC < U+1F600 (d83d) < U+FB01)',
      [...R, "QWH-SIG-007"],
      ["Jcs"],
      order,
      null,
      { sigOk: true },
    ),
  );
  g1.push(
    S(
      "received text not canonical (reversed member order, whitespace, \\u and \\/ escapes): the verifier canonicalises the parsed value",
      [...R, "QWH-SIG-007"],
      ["Jcs", "NonCanonicalInput"],
      esc,
      null,
      { text: loose(esc), sigOk: true },
    ),
  );
  g1.push(
    S("worked example received with reversed members and whitespace", [...R, "QWH-SIG-007"], ["NonCanonicalInput"], ex, null, {
      text: loose(ex),
      sigOk: true,
    }),
  );
  // time window
  for (const [d, what, err] of [
    [-W, "now - window", null],
    [-W - 1, "now - window - 1", EXP],
    [W, "now + window", null],
    [W + 1, "now + window + 1", EXP],
    [-3600000, "one hour old", EXP],
  ])
    g1.push(
      S(
        `ts = ${what}`,
        ["QWH-SIG-004"],
        ["Expiry", "Boundary"],
        signHello(H0, { ts: NOW + d, nonceHex: pattern(16, 0x40 + (d & 0x3f)) }),
        err,
        { sigOk: true },
      ),
    );
  g1.push(S("ts = 0 (1970)", ["QWH-SIG-004"], ["Expiry"], signHello(H0, { ts: 0 }), EXP, { sigOk: true }));
  // modified content
  const t1 = signHello({ ...H0, tags: { role: "reader" } });
  g1.push(S("tag changed after signing", R, ["ModifiedSignedContent"], { ...t1, tags: { role: "admin" } }, EIHS, { sigOk: false }));
  g1.push(
    S(
      "ts changed by 1 ms after signing (still inside the window)",
      R,
      ["ModifiedSignedContent"],
      { ...t1, sig: { ...t1.sig, ts: NOW + 1 } },
      EIHS,
      { sigOk: false },
    ),
  );
  g1.push(
    S(
      "nonce changed after signing",
      R,
      ["ModifiedSignedContent"],
      { ...t1, sig: { ...t1.sig, nonce: b64url(unhex(pattern(16, 0x01))) } },
      EIHS,
      { sigOk: false },
    ),
  );
  g1.push(S("unknown member added after signing", R, ["ModifiedSignedContent"], { ...t1, extra: 1 }, EIHS, { sigOk: false }));
  g1.push(
    S("unknown member removed after signing", R, ["ModifiedSignedContent"], (({ "x-trace": _x, ...rest }) => rest)(unk), EIHS, {
      sigOk: false,
    }),
  );
  const fr = signHello({ ...H0, features: ["control", "raw"] });
  g1.push(
    S(
      "features reordered after signing (array order is significant)",
      R,
      ["ModifiedSignedContent"],
      { ...fr, features: ["raw", "control"] },
      EIHS,
      { sigOk: false },
    ),
  );
  g1.push(
    S("key replaced: signed by key A, sig.key is key B", R, ["ModifiedSignedContent"], signHello(H0, { key: KB, signer: KA }), EIHS, {
      sigOk: false,
    }),
  );
  const flip = Buffer.from(t1.sig.value, "base64url");
  flip[10] ^= 0x01;
  g1.push(
    S("one bit of value flipped", R, ["ModifiedSignedContent"], { ...t1, sig: { ...t1.sig, value: b64url(flip) } }, EIHS, { sigOk: false }),
  );
  g1.push(
    S(
      "value taken from another hello signed by the same key",
      R,
      ["ModifiedSignedContent"],
      { ...t1, sig: { ...t1.sig, value: ex.sig.value } },
      EIHS,
      { sigOk: false },
    ),
  );
  g1.push(
    S("value of 64 zero bytes", R, ["ModifiedSignedContent"], { ...t1, sig: { ...t1.sig, value: b64url(Buffer.alloc(64)) } }, EIHS, {
      sigOk: false,
    }),
  );
  // signer signed the wrong bytes
  const wrong = (comment, over) => S(comment, R, ["WrongSignedBytes"], signHello(H0, { signedOverride: over }), EIHS, { sigOk: false });
  g1.push(
    wrong("signed the JCS form without the prefix", (s) => s.slice(SIG_PREFIX_HEX.length)),
    wrong(
      'signed with the prefix "QWH/1 hello" without the line feed',
      (s) => s.slice(0, SIG_PREFIX_HEX.length - 2) + s.slice(SIG_PREFIX_HEX.length),
    ),
    wrong("signed with the prefix ending in CR LF", (s) => s.slice(0, SIG_PREFIX_HEX.length - 2) + "0d0a" + s.slice(SIG_PREFIX_HEX.length)),
    wrong("signed the hello without its sig member", () => SIG_PREFIX_HEX + utf8hex(jcs(H0))),
    wrong('signed with "value":"" left in sig', (s, o) => SIG_PREFIX_HEX + utf8hex(jcs({ ...o, sig: { ...o.sig, value: "" } }))),
    wrong("signed JSON.stringify order (type, qwh, features, sig) instead of JCS", (s, o) => SIG_PREFIX_HEX + utf8hex(JSON.stringify(o))),
  );
  const nc = signHello(H0);
  const ncText = JSON.stringify(nc, null, 1);
  const ncSigned = signHello(H0, { signedOverride: (s, o) => SIG_PREFIX_HEX + utf8hex(JSON.stringify(o, null, 1)) });
  g1.push(
    S(
      "signed the received (non-canonical, indented) text instead of its JCS form",
      [...R, "QWH-SIG-007"],
      ["WrongSignedBytes", "NonCanonicalInput"],
      ncSigned,
      EIHS,
      { text: JSON.stringify(ncSigned, null, 1), sigOk: false },
    ),
  );
  void ncText;
  // algorithm, channel binding
  for (const alg of ["Ed25519", "ED25519", "rsa", "EdDSA", ""])
    g1.push(
      S(
        `alg ${JSON.stringify(alg)} (only exactly "ed25519" is known)`,
        ["QWH-SIG-009"],
        ["UnknownAlgorithm"],
        signHello(H0, { alg }),
        EIHS,
        { sigOk: true },
      ),
    );
  g1.push(
    S(
      "cb tls-exporter on a connection without TLS (no signed bytes can be formed)",
      ["QWH-SIG-008"],
      ["ChannelBinding"],
      signHello(H0, { cb: "tls-exporter", exporterHex: EXPORTER1 }),
      EIHS,
    ),
  );
  g1.push(
    S('cb "tls-unique" (unknown binding type)', ["QWH-SIG-008"], ["ChannelBinding"], signHello(H0, { cb: "tls-unique" }), EIHS, {
      sigOk: true,
    }),
  );
  // replay
  const rp = signHello(H0, { nonceHex: pattern(16, 0x90) });
  g1.push(
    S("(key, nonce) already in the replay cache", ["QWH-SIG-005"], ["Replay"], rp, REP, {
      replayCache: [{ key: rp.sig.key, nonce: rp.sig.nonce }],
      sigOk: true,
    }),
  );
  g1.push(
    S("replay cache holds the same key with another nonce", ["QWH-SIG-005"], ["Replay"], rp, null, {
      replayCache: [{ key: rp.sig.key, nonce: b64url(unhex(pattern(16, 0x91))) }],
      sigOk: true,
    }),
  );
  g1.push(
    S("replay cache holds the same nonce with another key", ["QWH-SIG-005"], ["Replay"], rp, null, {
      replayCache: [{ key: KB.publicB64, nonce: rp.sig.nonce }],
      sigOk: true,
    }),
  );
  // malformed members inside sig: step 9b, E_INVALID_HANDSHAKE_SIGNATURE
  const shape = (comment, over, extra = {}) =>
    S(
      `${comment}: malformed sig member (9b)`,
      ["QWH-SIG-001"],
      ["SigShape", ...(extra.flags ?? [])],
      { ...t1, sig: { ...t1.sig, ...over } },
      EIHS,
    );
  const kk = t1.sig.key;
  g1.push(
    shape("key of 42 characters", { key: kk.slice(0, 42) }, { flags: ["Boundary"] }),
    shape("key of 44 characters", { key: kk + "A" }, { flags: ["Boundary"] }),
    shape("key with a non-canonical last character (unused bits set)", { key: nonCanonical(kk) }),
    shape("key in standard base64 alphabet with padding", { key: Buffer.from(kk, "base64url").toString("base64") }),
    shape("nonce of 15 bytes", { nonce: b64url(unhex(pattern(15, 0))) }, { flags: ["Boundary"] }),
    shape("nonce of 33 bytes", { nonce: b64url(unhex(pattern(33, 0))) }, { flags: ["Boundary"] }),
    shape("nonce with a non-canonical last character", { nonce: nonCanonical(t1.sig.nonce) }),
    shape("value of 85 characters", { value: t1.sig.value.slice(0, 85) }, { flags: ["Boundary"] }),
    shape("value of 87 characters", { value: t1.sig.value + "A" }, { flags: ["Boundary"] }),
    shape("value with == padding", { value: t1.sig.value + "==" }),
    shape("ts negative (-1)", { ts: -1 }, { flags: ["Boundary"] }),
    shape("ts as a string", { ts: String(NOW) }, { flags: ["WrongType"] }),
    shape("alg as a number", { alg: 1 }, { flags: ["WrongType"] }),
    shape("cb as a number", { cb: 1 }, { flags: ["WrongType"] }),
  );
  {
    const s = { ...t1.sig };
    delete s.value;
    g1.push(S("sig without value: malformed sig member (9b)", ["QWH-SIG-001"], ["SigShape", "MissingMember"], { ...t1, sig: s }, EIHS));
  }
  g1.push(
    S(
      "sig is not an object: the hello fails its shape check (E_INVALID_HANDSHAKE)",
      ["QWH-SIG-001", "QWH-HELLO-011"],
      ["SigShape", "WrongType"],
      { ...H0, sig: t1.sig.value },
      EIH,
      { noSigned: true },
    ),
    T(
      "hello that is not strict JSON (duplicate sig): E_INVALID_HANDSHAKE, no signed bytes",
      ["QWH-HELLO-014", "QWH-SIG-001"],
      ["DuplicateNames"],
      payload(utf8hex(JSON.stringify(t1).slice(0, -1) + ',"sig":' + JSON.stringify(t1.sig) + "}")),
      "invalid",
      { error: EIH },
    ),
  );
  // order inside step 9
  const exBad = signHello(H0, { ts: NOW - W - 1 });
  g1.push(
    S(
      "expired and signature invalid: the window check (9e) comes before verification (9f)",
      ["QWH-SIG-004"],
      ["CheckOrder", "Expiry"],
      { ...exBad, sig: { ...exBad.sig, value: t1.sig.value } },
      EXP,
      { sigOk: false },
    ),
    S(
      "in the replay cache and signature invalid: verification (9f) comes before the replay check (9g)",
      ["QWH-SIG-003"],
      ["CheckOrder", "Replay"],
      { ...rp, tags: { forged: "yes" } },
      EIHS,
      { replayCache: [{ key: rp.sig.key, nonce: rp.sig.nonce }], sigOk: false },
    ),
    S("expired and in the replay cache: expired (9e before 9g)", ["QWH-SIG-004"], ["CheckOrder", "Replay", "Expiry"], exBad, EXP, {
      replayCache: [{ key: exBad.sig.key, nonce: exBad.sig.nonce }],
      sigOk: true,
    }),
    S(
      "alg rsa and expired: alg (9c) first",
      ["QWH-SIG-009"],
      ["CheckOrder", "UnknownAlgorithm"],
      signHello(H0, { alg: "rsa", ts: NOW - W - 1 }),
      EIHS,
      { sigOk: true },
    ),
    S(
      "cb without TLS and expired: cb (9d) first",
      ["QWH-SIG-008"],
      ["CheckOrder", "ChannelBinding"],
      signHello(H0, { cb: "tls-exporter", exporterHex: EXPORTER1, ts: NOW + W + 1 }),
      EIHS,
    ),
    S(
      "key of 42 characters and expired: shape (9b) first",
      ["QWH-SIG-001"],
      ["CheckOrder", "SigShape"],
      { ...exBad, sig: { ...exBad.sig, key: exBad.sig.key.slice(0, 42) } },
      EIHS,
    ),
  );
  const TLS1 = { exporterHex: EXPORTER1 };
  const g2 = [
    S(
      "cb tls-exporter, signed with this connection's exporter",
      ["QWH-SIG-002", "QWH-SIG-008"],
      ["ChannelBinding"],
      signHello(H0, { cb: "tls-exporter", exporterHex: EXPORTER1 }),
      null,
      { tls: TLS1, sigOk: true },
    ),
    S(
      "cb tls-exporter, signed with another connection's exporter (relayed hello)",
      ["QWH-SIG-008"],
      ["ChannelBinding"],
      signHello(H0, { cb: "tls-exporter", exporterHex: EXPORTER2 }),
      EIHS,
      { tls: TLS1, sigOk: false },
    ),
    S(
      "cb tls-exporter, but the signer did not append the exporter",
      ["QWH-SIG-002", "QWH-SIG-008"],
      ["ChannelBinding", "WrongSignedBytes"],
      signHello(H0, { cb: "tls-exporter", exporterHex: "" }),
      EIHS,
      { tls: TLS1, sigOk: false },
    ),
    S(
      "no cb, but the signer appended the exporter",
      ["QWH-SIG-002"],
      ["ChannelBinding", "WrongSignedBytes"],
      signHello(H0, { forceExporter: true, exporterHex: EXPORTER1 }),
      EIHS,
      { tls: TLS1, sigOk: false },
    ),
    S("no cb over TLS: the exporter is not part of the signed bytes", ["QWH-SIG-002"], ["ChannelBinding"], signHello(H0), null, {
      tls: TLS1,
      sigOk: true,
    }),
    S(
      "cb tls-exporter and expired",
      ["QWH-SIG-004"],
      ["ChannelBinding", "Expiry"],
      signHello(H0, { cb: "tls-exporter", exporterHex: EXPORTER1, ts: NOW - W - 1 }),
      EXP,
      { tls: TLS1, sigOk: true },
    ),
    S(
      "cb tls-exporter and replayed",
      ["QWH-SIG-005"],
      ["ChannelBinding", "Replay"],
      signHello(H0, { cb: "tls-exporter", exporterHex: EXPORTER1, nonceHex: pattern(16, 0xc0) }),
      REP,
      { tls: TLS1, replayCache: [{ key: KA.publicB64, nonce: b64url(unhex(pattern(16, 0xc0))) }], sigOk: true },
    ),
  ];
  const g3 = [
    S("window 0: ts = now", ["QWH-SIG-004"], ["Expiry", "Boundary"], signHello(H0), null, { sigOk: true }),
    S("window 0: ts = now - 1", ["QWH-SIG-004"], ["Expiry", "Boundary"], signHello(H0, { ts: NOW - 1 }), EXP, { sigOk: true }),
    S("window 0: ts = now + 1", ["QWH-SIG-004"], ["Expiry", "Boundary"], signHello(H0, { ts: NOW + 1 }), EXP, { sigOk: true }),
  ];
  void NONCE16;
  return {
    signature: buildFile({
      kind: "signature",
      description:
        'Signed hello verification with real Ed25519 signatures (keys from fixed seeds; key A is RFC 8032 TEST 1). Signed bytes = "QWH/1 hello\\n" || JCS(hello with sig.value removed) || exporter (only with cb "tls-exporter"); "signedHex" gives them for debugging whenever the hello parses with a sig object and they can be formed (not for cb tls-exporter without TLS). Checks in the order of spec section 11.4: 9b sig members well formed (canonical base64url, exact lengths, ts 0..2^53-1) -> E_INVALID_HANDSHAKE_SIGNATURE; 9c alg exactly "ed25519"; 9d cb; 9e |now - ts| <= window -> else E_HANDSHAKE_EXPIRED; 9f Ed25519 verification; 9g (key, nonce) in replayCache -> E_HANDSHAKE_REPLAY. A sig that is not an object, or a hello that is not strict JSON, is E_INVALID_HANDSHAKE.',
      groups: [
        { params: { now: NOW, windowMs: W, tls: false }, tests: g1 },
        { params: { now: NOW, windowMs: W, tls: TLS1 }, tests: g2 },
        { params: { now: NOW, windowMs: 0, tls: false }, tests: g3 },
      ],
    }),
  };
}
