// kind "hello": server-side parse, validation and classification of the first frame's payload.
import { buildFile, T } from "./file.mjs";
import { b64url, cat, pattern, textOf, unhex, utf8hex } from "./util.mjs";
import { parseStrict, StrictJsonError } from "./strict-json.mjs";

const EIH = "E_INVALID_HANDSHAKE";
const ELNA = "E_LEGACY_NOT_ALLOWED";
const JSON_FLAGS = ["StrictJson", "DuplicateNames", "InvalidUtf8", "LoneSurrogate", "NumberFormat"];

/** Test inputs for a payload given as hex. */
export const payload = (h) => {
  const text = textOf(h);
  return text === undefined ? { hex: h } : { hex: h, text };
};

/** Expected "hello" output of a valid v1 hello, by construction from the object that was serialised. */
export function v1Out(o) {
  const h = { qwh: o.qwh, features: o.features };
  if ("version" in o) h.version = o.version;
  if ("tags" in o) h.tags = o.tags;
  if ("maxFrameLength" in o) h.maxFrameLength = o.maxFrameLength;
  h.signed = "sig" in o;
  return h;
}
export function legacyOut(o) {
  const h = {};
  if ("version" in o) h.version = o.version;
  if ("tags" in o) h.tags = o.tags;
  h.signed = false;
  return h;
}

const base = () => ({ type: "handshake", qwh: "1.0", features: ["control"] });
const J = (o) => utf8hex(JSON.stringify(o));

/** A well-formed sig object (not verifying anything; signatures are in the signature vectors). */
export const dummySig = (over = {}) => ({
  alg: "ed25519",
  key: b64url(unhex(pattern(32, 0xa0))),
  nonce: b64url(unhex(pattern(16, 0x10))),
  ts: 1767225600000,
  value: b64url(unhex(pattern(64, 0x40))),
  ...over,
});

// Test constructors: valid v1 from an object, valid legacy from an object, invalid from hex or object.
const okV1 = (comment, reqs, flags, o) => T(comment, reqs, flags, payload(J(o)), "valid", { profile: "v1", hello: v1Out(o) });
const okV1hex = (comment, reqs, flags, h, o) => T(comment, reqs, flags, payload(h), "valid", { profile: "v1", hello: v1Out(o) });
const okLeg = (comment, reqs, flags, h, o) => T(comment, reqs, flags, payload(h), "valid", { profile: "legacy", hello: legacyOut(o) });
const bad = (comment, reqs, flags, h, error = EIH) => T(comment, reqs, flags, payload(h), "invalid", { error });
const badO = (comment, reqs, flags, o, error = EIH) => bad(comment, reqs, flags, J(o), error);
const badS = (comment, reqs, flags, s, error = EIH) => bad(comment, reqs, flags, utf8hex(s), error);

/** Cross-check: JSON validity of every table entry agrees with the strict-JSON reader. */
function check(t) {
  const legacy = t.profile === "legacy" || (t.flags.includes("Legacy") && t.result === "valid") || t.error === ELNA;
  let ok = true;
  let why = "";
  try {
    parseStrict(t.hex, { anyNumber: legacy });
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    ok = false;
    why = e.message;
  }
  const jsonFlag = t.flags.some((f) => JSON_FLAGS.includes(f));
  if (t.result === "valid" && !ok) throw new Error("valid entry is not strict JSON: " + why);
  if (t.result === "invalid" && jsonFlag && ok && t.error === EIH) throw new Error("entry flagged as a JSON error parses as strict JSON");
  if (t.result === "invalid" && !jsonFlag && !ok) throw new Error("shape error entry is not even strict JSON: " + why);
}

// ------------------------------------------------------------------ v1 shape
function v1() {
  const tests = [];
  const R = (...ids) => ids;
  tests.push(
    okV1("minimal hello: type, qwh, empty features", R("QWH-HELLO-003", "QWH-HELLO-004", "QWH-HELLO-005"), [], {
      type: "handshake",
      qwh: "1.0",
      features: [],
    }),
    okV1("hello with control", R("QWH-HELLO-005"), [], base()),
    okV1(
      "hello with every member",
      R("QWH-HELLO-003", "QWH-HELLO-004", "QWH-HELLO-005", "QWH-HELLO-006", "QWH-HELLO-007", "QWH-HELLO-008"),
      [],
      {
        type: "handshake",
        qwh: "1.0",
        features: ["control", "raw"],
        version: "1.2.3",
        tags: { service: "billing", n: 1 },
        maxFrameLength: 1048576,
        sig: dummySig(),
      },
    ),
    okV1("members in another order", R("QWH-HELLO-003"), [], {
      maxFrameLength: 65536,
      features: [],
      version: "2.0.0",
      qwh: "1.0",
      type: "handshake",
    }),
  );
  // unknown members
  tests.push(
    okV1hex(
      "unknown top-level members are ignored and dropped from the output",
      R("QWH-HELLO-009"),
      ["ForwardCompat"],
      J({ ...base(), sid: "abc", caps: ["x"], nIndex: 3, "x-future": { a: [1, 2, { b: null }] } }),
      base(),
    ),
    okV1hex(
      "unknown member named __proto__ is an ordinary unknown member",
      R("QWH-HELLO-009"),
      ["ForwardCompat"],
      utf8hex('{"type":"handshake","qwh":"1.0","features":[],"__proto__":{"type":"accept","features":1}}'),
      { type: "handshake", qwh: "1.0", features: [] },
    ),
    okV1hex(
      'member "Type" differs from "type" by case: unknown, not a duplicate',
      R("QWH-HELLO-009", "QWH-HELLO-014"),
      ["ForwardCompat", "DuplicateNames"],
      utf8hex('{"type":"handshake","Type":"x","qwh":"1.0","features":[]}'),
      { type: "handshake", qwh: "1.0", features: [] },
    ),
    okV1hex(
      "unknown member with boolean and null values",
      R("QWH-HELLO-009"),
      ["ForwardCompat"],
      J({ ...base(), resumeToken: null, compress: true }),
      base(),
    ),
  );
  // type
  tests.push(
    badO("type missing", R("QWH-HELLO-003", "QWH-HELLO-011"), ["MissingMember"], { qwh: "1.0", features: [] }),
    badO('type "Handshake" (case differs)', R("QWH-HELLO-003"), ["Pattern"], { type: "Handshake", qwh: "1.0", features: [] }),
    badO('type "accept"', R("QWH-HELLO-003", "QWH-BARE-003"), [], { type: "accept", qwh: "1.0", features: [], maxFrameLength: 1 }),
    badO('type "handshake " with trailing space', R("QWH-HELLO-003"), ["Pattern"], { type: "handshake ", qwh: "1.0", features: [] }),
    badO("type is a number", R("QWH-HELLO-003"), ["WrongType"], { type: 1, qwh: "1.0", features: [] }),
    badO("type is null", R("QWH-HELLO-003"), ["WrongType"], { type: null, qwh: "1.0", features: [] }),
  );
  // qwh
  for (const q of ["1.0", "1.10", "0.0", "0.1", "9999.9999", "2.0", "1.9999"])
    tests.push(okV1(`qwh "${q}" matches the version pattern`, R("QWH-HELLO-004"), ["Pattern", "Boundary"], { ...base(), qwh: q }));
  for (const q of [
    "01.0",
    "1.00",
    "1.01",
    "1",
    "1.",
    ".0",
    "1.0.0",
    "10000.0",
    "1.10000",
    "",
    " 1.0",
    "1.0 ",
    "v1.0",
    "1,0",
    "-1.0",
    "1.a",
    "\uff11.0",
  ])
    tests.push(
      badO(`qwh ${JSON.stringify(q)} does not match the version pattern`, R("QWH-HELLO-004"), ["Pattern", "Boundary"], {
        ...base(),
        qwh: q,
      }),
    );
  tests.push(
    badO("qwh missing", R("QWH-HELLO-004"), ["MissingMember"], { type: "handshake", features: [] }),
    badO("qwh is a number", R("QWH-HELLO-004"), ["WrongType"], { ...base(), qwh: 1 }),
    badO("qwh is null", R("QWH-HELLO-004"), ["WrongType"], { ...base(), qwh: null }),
    badO("qwh is an array", R("QWH-HELLO-004"), ["WrongType"], { ...base(), qwh: ["1.0"] }),
  );
  // features
  const f32 = Array.from({ length: 32 }, (_, i) => `f${i}`);
  tests.push(
    okV1("features with every known name, resume included (listed as offered)", R("QWH-HELLO-005"), [], {
      ...base(),
      features: ["control", "raw", "resume"],
    }),
    okV1("unknown feature names are valid and listed as offered", R("QWH-HELLO-005", "QWH-HELLO-012"), ["ForwardCompat"], {
      ...base(),
      features: ["x-compress", "control", "zstd"],
    }),
    okV1("32 features (maximum)", R("QWH-HELLO-005"), ["Boundary"], { ...base(), features: f32 }),
    badO("33 features", R("QWH-HELLO-005"), ["Boundary"], { ...base(), features: [...f32, "f32"] }),
    badO("duplicate feature", R("QWH-HELLO-005"), [], { ...base(), features: ["control", "raw", "control"] }),
    okV1("feature name of 32 characters (maximum)", R("QWH-HELLO-005"), ["Boundary", "Pattern"], {
      ...base(),
      features: ["a" + "b".repeat(31)],
    }),
    badO("feature name of 33 characters", R("QWH-HELLO-005"), ["Boundary", "Pattern"], { ...base(), features: ["a" + "b".repeat(32)] }),
    okV1("feature names with digits and hyphens, also trailing", R("QWH-HELLO-005"), ["Pattern"], {
      ...base(),
      features: ["a", "a1-b2", "z-"],
    }),
  );
  for (const f of ["Control", "1x", "-x", "x_y", "", "c\u00f6ntrol", "a b", "x.y"])
    tests.push(
      badO(`feature name ${JSON.stringify(f)} does not match ^[a-z][a-z0-9-]{0,31}$`, R("QWH-HELLO-005"), ["Pattern"], {
        ...base(),
        features: ["control", f],
      }),
    );
  tests.push(
    badO("feature is a number", R("QWH-HELLO-005"), ["WrongType"], { ...base(), features: [1] }),
    badO("feature is null", R("QWH-HELLO-005"), ["WrongType"], { ...base(), features: [null] }),
    badO("features is a string", R("QWH-HELLO-005"), ["WrongType"], { ...base(), features: "control" }),
    badO("features is an object", R("QWH-HELLO-005"), ["WrongType"], { ...base(), features: {} }),
    badO(
      "features is null (the member is present, so this is a v1 hello, not a 0.3 one)",
      R("QWH-HELLO-005", "QWH-LEGACY-001"),
      ["WrongType"],
      { ...base(), features: null },
    ),
  );
  // version
  tests.push(
    okV1("version of 1 code point", R("QWH-HELLO-006"), ["Boundary"], { ...base(), version: "1" }),
    okV1("version of 64 code points", R("QWH-HELLO-006"), ["Boundary", "CodePoints"], { ...base(), version: "v".repeat(64) }),
    badO("version of 65 code points", R("QWH-HELLO-006"), ["Boundary", "CodePoints"], { ...base(), version: "v".repeat(65) }),
    okV1("version of 64 astral code points (128 UTF-16 units)", R("QWH-HELLO-006"), ["Boundary", "CodePoints"], {
      ...base(),
      version: "\u{1d7d9}".repeat(64),
    }),
    badO("version of 65 astral code points", R("QWH-HELLO-006"), ["Boundary", "CodePoints"], {
      ...base(),
      version: "\u{1d7d9}".repeat(65),
    }),
    okV1("version of 40 astral code points (80 UTF-16 units, 160 bytes) counts as 40", R("QWH-HELLO-006"), ["CodePoints"], {
      ...base(),
      version: "\u{1f600}".repeat(40),
    }),
    badO("version empty", R("QWH-HELLO-006"), ["Boundary"], { ...base(), version: "" }),
    badO("version is a number", R("QWH-HELLO-006"), ["WrongType"], { ...base(), version: 1 }),
    badO("version is null", R("QWH-HELLO-006"), ["WrongType"], { ...base(), version: null }),
    badO("version is an object", R("QWH-HELLO-006"), ["WrongType"], { ...base(), version: { major: 1 } }),
  );
  // tags
  const tagsN = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, i]));
  tests.push(
    okV1("tags empty object", R("QWH-HELLO-007"), [], { ...base(), tags: {} }),
    okV1("tags with string and integer values", R("QWH-HELLO-007"), [], { ...base(), tags: { service: "a", shard: 7, neg: -1, zero: 0 } }),
    okV1("64 tags (maximum)", R("QWH-HELLO-007"), ["Boundary"], { ...base(), tags: tagsN(64) }),
    badO("65 tags", R("QWH-HELLO-007"), ["Boundary"], { ...base(), tags: tagsN(65) }),
    okV1("tag key of 64 characters", R("QWH-HELLO-007"), ["Boundary", "Pattern"], { ...base(), tags: { ["k".repeat(64)]: "v" } }),
    badO("tag key of 65 characters", R("QWH-HELLO-007"), ["Boundary", "Pattern"], { ...base(), tags: { ["k".repeat(65)]: "v" } }),
    okV1("tag key using every allowed character class A-Z a-z 0-9 _ . : -", R("QWH-HELLO-007"), ["Pattern"], {
      ...base(),
      tags: { "Az09_.:-": "v", 0: "digit first", tlsAlpn: "h2" },
    }),
    okV1("tag value empty string", R("QWH-HELLO-007"), ["Boundary"], { ...base(), tags: { a: "" } }),
    okV1("tag value of 512 ASCII code points", R("QWH-HELLO-007"), ["Boundary", "CodePoints"], { ...base(), tags: { a: "x".repeat(512) } }),
    badO("tag value of 513 ASCII code points", R("QWH-HELLO-007"), ["Boundary", "CodePoints"], { ...base(), tags: { a: "x".repeat(513) } }),
    okV1("tag value of 512 astral code points (1024 UTF-16 units, 2048 bytes)", R("QWH-HELLO-007"), ["Boundary", "CodePoints"], {
      ...base(),
      tags: { a: "\u{1f600}".repeat(512) },
    }),
    badO("tag value of 513 astral code points", R("QWH-HELLO-007"), ["Boundary", "CodePoints"], {
      ...base(),
      tags: { a: "\u{1f600}".repeat(513) },
    }),
    okV1("tag value of 512 two-byte code points", R("QWH-HELLO-007"), ["Boundary", "CodePoints"], {
      ...base(),
      tags: { a: "\u00e9".repeat(512) },
    }),
    badO("tag value of 513 three-byte code points", R("QWH-HELLO-007"), ["Boundary", "CodePoints"], {
      ...base(),
      tags: { a: "\u20ac".repeat(513) },
    }),
    okV1("tag values at +-(2^53-1)", R("QWH-HELLO-007", "QWH-HELLO-013"), ["Boundary", "NumberFormat"], {
      ...base(),
      tags: { max: 9007199254740991, min: -9007199254740991 },
    }),
    badO("tag value true", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: { a: true } }),
    badO("tag value null", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: { a: null } }),
    badO("tag value array", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: { a: ["x"] } }),
    badO("tag value object", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: { a: { b: 1 } } }),
    badS(
      "tag value 1.5 (floats are invalid in v1)",
      R("QWH-HELLO-007", "QWH-HELLO-013"),
      ["NumberFormat"],
      '{"type":"handshake","qwh":"1.0","features":[],"tags":{"a":1.5}}',
    ),
    badO("tags is an array", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: [["a", "b"]] }),
    badO("tags is a string", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: "a=b" }),
    badO("tags is null", R("QWH-HELLO-007"), ["WrongType"], { ...base(), tags: null }),
  );
  for (const k of ["", "a b", "a/b", "k\u00e9y", "a@b", "a+b", "a=b"])
    tests.push(
      badO(`tag key ${JSON.stringify(k)} does not match ^[A-Za-z0-9_.:-]{1,64}$`, R("QWH-HELLO-007"), ["Pattern"], {
        ...base(),
        tags: { ok: "v", [k]: "v" },
      }),
    );
  // maxFrameLength
  for (const m of [0, 1, 16384, 4194304, 2147483647])
    tests.push(okV1(`maxFrameLength ${m}`, R("QWH-HELLO-008", "QWH-FRAME-006"), ["Boundary"], { ...base(), maxFrameLength: m }));
  for (const m of [-1, 2147483648, 4294967295, 9007199254740991])
    tests.push(
      badO(`maxFrameLength ${m} is out of range`, R("QWH-HELLO-008", "QWH-FRAME-006"), ["Boundary"], { ...base(), maxFrameLength: m }),
    );
  tests.push(
    badO("maxFrameLength is a string", R("QWH-HELLO-008"), ["WrongType"], { ...base(), maxFrameLength: "4194304" }),
    badO("maxFrameLength is null", R("QWH-HELLO-008"), ["WrongType"], { ...base(), maxFrameLength: null }),
    badO("maxFrameLength is true", R("QWH-HELLO-008"), ["WrongType"], { ...base(), maxFrameLength: true }),
    badS(
      "maxFrameLength 4194304.0",
      R("QWH-HELLO-008", "QWH-HELLO-013"),
      ["NumberFormat"],
      '{"type":"handshake","qwh":"1.0","features":[],"maxFrameLength":4194304.0}',
    ),
  );
  // sig shape
  const S = (over) => ({ ...base(), sig: dummySig(over) });
  const noMember = (m) => {
    const s = dummySig();
    delete s[m];
    return { ...base(), sig: s };
  };
  tests.push(
    okV1("well-formed sig: signed true (verification is not part of parsing)", R("QWH-SIG-001"), [], S({})),
    okV1("well-formed sig with cb tls-exporter", R("QWH-SIG-001"), ["ChannelBinding"], S({ cb: "tls-exporter" })),
    okV1(
      "sig with nonce of 32 bytes (43 characters)",
      R("QWH-SIG-001"),
      ["Boundary", "SigShape"],
      S({ nonce: b64url(unhex(pattern(32, 1))) }),
    ),
    okV1("sig with nonce of 24 bytes (32 characters)", R("QWH-SIG-001"), ["SigShape"], S({ nonce: b64url(unhex(pattern(24, 1))) })),
    okV1(
      'sig with alg "rsa": well formed; the verifier refuses it (signature vectors)',
      R("QWH-SIG-001", "QWH-SIG-009"),
      ["UnknownAlgorithm"],
      S({ alg: "rsa" }),
    ),
    okV1(
      "sig with an unknown cb value: well formed; the verifier refuses it (signature vectors)",
      R("QWH-SIG-001"),
      ["ChannelBinding"],
      S({ cb: "tls-unique" }),
    ),
  );
  // Malformed members inside a sig object are checked at the signature step (spec 11.4, 9b:
  // E_INVALID_HANDSHAKE_SIGNATURE, see the signature and negotiate vectors); for parsing the hello
  // is well formed and signed. Only a sig that is not an object fails the shape check.
  const SS = (comment, flags, o) =>
    okV1(
      comment + ": not a shape error of the hello (checked at signature step 9b)",
      R("QWH-SIG-001", "QWH-HELLO-009"),
      ["SigShape", ...flags],
      o,
    );
  for (const m of ["alg", "key", "nonce", "ts", "value"]) tests.push(SS(`sig without ${m}`, ["MissingMember"], noMember(m)));
  tests.push(
    SS("sig key of 31 bytes (42 characters)", ["Boundary"], S({ key: b64url(unhex(pattern(31, 0xa0))) })),
    SS("sig nonce of 15 bytes (20 characters)", ["Boundary"], S({ nonce: b64url(unhex(pattern(15, 1))) })),
    SS("sig value with '==' padding (88 characters)", [], S({ value: b64url(unhex(pattern(64, 0x40))) + "==" })),
    SS("sig ts is a string", ["WrongType"], S({ ts: "1767225600000" })),
    SS("sig alg is a number", ["WrongType"], S({ alg: 25519 })),
    badO("sig is a string", R("QWH-SIG-001"), ["SigShape", "WrongType"], { ...base(), sig: "c2lnbmF0dXJl" }),
    badO("sig is null", R("QWH-SIG-001"), ["SigShape", "WrongType"], { ...base(), sig: null }),
    badO("sig is an array", R("QWH-SIG-001"), ["SigShape", "WrongType"], { ...base(), sig: [dummySig()] }),
  );
  const legacyTrue = [
    okV1("legacyAllowed does not change how a v1 hello is read", R("QWH-HELLO-005", "QWH-LEGACY-001"), [], base()),
    badO(
      "legacyAllowed: a v1 hello with an invalid qwh is still invalid (not reread as legacy)",
      R("QWH-HELLO-004", "QWH-LEGACY-001"),
      ["Pattern"],
      { ...base(), qwh: "1" },
    ),
    badO("legacyAllowed: features null is still a v1 hello, invalid", R("QWH-HELLO-005", "QWH-LEGACY-001"), ["WrongType"], {
      ...base(),
      features: null,
    }),
  ];
  return buildFile({
    kind: "hello",
    description:
      'v1 hello validation (brief sections 3 and 5): required type/qwh/features, optional version/tags/maxFrameLength/sig with their patterns and limits (lengths in code points), unknown members ignored. The "hello" output lists the features as offered (unknown ones included) and drops unknown members. A "sig" that is not an object is E_INVALID_HANDSHAKE; malformed members inside a sig object and signature verification belong to the signature step (spec section 11.4: E_INVALID_HANDSHAKE_SIGNATURE), so here they give a valid, signed hello.',
    groups: [
      { params: { legacyAllowed: false }, tests },
      { params: { legacyAllowed: true }, tests: legacyTrue },
    ],
    check,
  });
}

// ------------------------------------------------------------------ strict JSON
function strictJson() {
  const B = '{"type":"handshake","qwh":"1.0","features":[]'; // without the closing brace
  const baseO = { type: "handshake", qwh: "1.0", features: [] };
  const wrapV = (bytesHex) => cat(utf8hex(B + ',"version":"'), bytesHex, utf8hex('"}')); // bytes inside the version string
  const tagN = (num) => `${B},"tags":{"n":${num}}}`;
  const R = ["QWH-HELLO-002"];
  const t = [
    okV1hex(
      "whitespace before, between and after tokens (space, tab, CR, LF)",
      R,
      ["StrictJson"],
      utf8hex(' \t\r\n{ "type" :\t"handshake" ,\r\n"qwh":"1.0", "features" : [ ] }\n\r\t '),
      baseO,
    ),
    okV1hex(
      "type written with an escape \\u0068andshake",
      [...R, "QWH-HELLO-003"],
      ["StrictJson"],
      utf8hex('{"type":"\\u0068andshake","qwh":"1.0","features":[]}'),
      baseO,
    ),
    okV1hex(
      'escaped solidus in version: 1.0\\/x is "1.0/x"',
      [...R, "QWH-HELLO-006"],
      ["StrictJson"],
      utf8hex(`${B},"version":"1.0\\/x"}`),
      { ...baseO, version: "1.0/x" },
    ),
    okV1hex(
      "escaped surrogate pair in a tag value is one code point",
      [...R, "QWH-HELLO-015"],
      ["LoneSurrogate"],
      utf8hex(`${B},"tags":{"e":"\\ud83d\\ude00"}}`),
      { ...baseO, tags: { e: "\u{1f600}" } },
    ),
    okV1hex(
      "escaped surrogate pair with uppercase hex digits",
      [...R, "QWH-HELLO-015"],
      ["LoneSurrogate"],
      utf8hex(`${B},"tags":{"e":"\\uD83D\\uDE00"}}`),
      { ...baseO, tags: { e: "\u{1f600}" } },
    ),
    okV1hex(
      "non-ASCII UTF-8 literal in version (2, 3 and 4-byte sequences)",
      [...R, "QWH-HELLO-015"],
      ["InvalidUtf8"],
      utf8hex(`${B},"version":"\u00e9\u20ac\u{1f600}"}`),
      { ...baseO, version: "\u00e9\u20ac\u{1f600}" },
    ),
    okV1hex(
      "U+FFFF and U+10FFFF (highest code point) literal are valid UTF-8",
      [...R, "QWH-HELLO-015"],
      ["InvalidUtf8", "Boundary"],
      utf8hex(`${B},"version":"\uffff\u{10ffff}"}`),
      { ...baseO, version: "\uffff\u{10ffff}" },
    ),
    okV1hex(
      "integers -1 and 0 and 2^53-1 in tags",
      [...R, "QWH-HELLO-013"],
      ["NumberFormat", "Boundary"],
      utf8hex(`${B},"tags":{"a":-1,"b":0,"c":9007199254740991}}`),
      { ...baseO, tags: { a: -1, b: 0, c: 9007199254740991 } },
    ),
    okV1hex(
      "nested unknown member with empty names and arrays",
      [...R, "QWH-HELLO-009"],
      ["ForwardCompat"],
      utf8hex(`${B},"x":{"":[[],{},[{"":0}]]}}`),
      baseO,
    ),
    bad("UTF-8 BOM before the object", [...R], ["StrictJson"], "efbbbf" + utf8hex(`${B}}`)),
    bad("empty payload", R, ["StrictJson"], ""),
    badS("whitespace only", R, ["StrictJson"], " \n"),
    badS("trailing garbage after the object", R, ["StrictJson"], `${B}}x`),
    bad("trailing NUL byte after the object", R, ["StrictJson"], utf8hex(`${B}}`) + "00"),
    badS("two objects", R, ["StrictJson"], `${B}}${B}}`),
    badS("array at the top level", R, ["StrictJson"], `[${B}}]`),
    badS("string at the top level", R, ["StrictJson"], '"handshake"'),
    badS("number at the top level", R, ["StrictJson"], "1"),
    badS("null at the top level", R, ["StrictJson"], "null"),
    badS("object not closed", R, ["StrictJson"], B),
    badS("extra closing brace", R, ["StrictJson"], `${B}}}`),
    badS("trailing comma in the object", R, ["StrictJson"], `${B},}`),
    badS("trailing comma in an array", R, ["StrictJson"], '{"type":"handshake","qwh":"1.0","features":["control",]}'),
    badS("single-quoted strings", R, ["StrictJson"], "{'type':'handshake','qwh':'1.0','features':[]}"),
    badS("unquoted member name", R, ["StrictJson"], '{type:"handshake","qwh":"1.0","features":[]}'),
    badS("block comment", R, ["StrictJson"], `/* hi */${B}}`),
    badS("line comment", R, ["StrictJson"], `${B}} // hi`),
    badS("raw newline inside a string", R, ["StrictJson"], `${B},"version":"1\n0"}`),
    badS("raw tab inside a string", R, ["StrictJson"], `${B},"version":"1\t0"}`),
    bad("raw NUL inside a string", R, ["StrictJson"], wrapV("00")),
    badS("invalid escape \\x41", R, ["StrictJson"], `${B},"version":"\\x41"}`),
    badS("short \\u escape", R, ["StrictJson"], `${B},"version":"\\u12"}`),
    badS("literal TRUE in capitals", R, ["StrictJson"], `${B},"x":TRUE}`),
    badS("form feed is not JSON whitespace", R, ["StrictJson"], `{\f"type":"handshake","qwh":"1.0","features":[]}`),
    badS("vertical tab is not JSON whitespace", R, ["StrictJson"], `{\u000b"type":"handshake","qwh":"1.0","features":[]}`),
    badS("no-break space U+00A0 is not JSON whitespace", R, ["StrictJson"], `{\u00a0"type":"handshake","qwh":"1.0","features":[]}`),
    // duplicates
    badS(
      "duplicate top-level member type with identical values",
      [...R, "QWH-HELLO-014"],
      ["DuplicateNames"],
      '{"type":"handshake","type":"handshake","qwh":"1.0","features":[]}',
    ),
    badS(
      "duplicate top-level member features",
      [...R, "QWH-HELLO-014"],
      ["DuplicateNames"],
      '{"type":"handshake","qwh":"1.0","features":["raw"],"features":[]}',
    ),
    badS(
      "duplicate top-level member qwh",
      [...R, "QWH-HELLO-014"],
      ["DuplicateNames"],
      '{"type":"handshake","qwh":"2.0","qwh":"1.0","features":[]}',
    ),
    badS(
      "duplicate name written with an escape (typ\\u0065)",
      [...R, "QWH-HELLO-014"],
      ["DuplicateNames"],
      '{"type":"handshake","typ\\u0065":"handshake","qwh":"1.0","features":[]}',
    ),
    badS("duplicate unknown member", [...R, "QWH-HELLO-014"], ["DuplicateNames"], `${B},"x":1,"x":1}`),
    badS("duplicate key inside tags", [...R, "QWH-HELLO-014"], ["DuplicateNames"], `${B},"tags":{"a":"1","a":"2"}}`),
    badS(
      "duplicate key inside sig",
      [...R, "QWH-HELLO-014"],
      ["DuplicateNames"],
      `${B},"sig":${JSON.stringify(dummySig()).slice(0, -1)},"ts":1}}`,
    ),
    badS("duplicate key deep inside an unknown member", [...R, "QWH-HELLO-014"], ["DuplicateNames"], `${B},"x":{"y":[{"z":1,"z":2}]}}`),
    // lone surrogates
    badS("lone high surrogate escape \\ud800 in version", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"version":"\\ud800"}`),
    badS("lone low surrogate escape \\udc00 in version", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"version":"\\udc00"}`),
    badS("high surrogate escape followed by \\u0041", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"version":"\\ud83d\\u0041"}`),
    badS("surrogate escapes in reversed order", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"version":"\\ude00\\ud83d"}`),
    badS("high surrogate escape at the end of the string", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"version":"1.0\\udbff"}`),
    badS("lone surrogate escape in a member name", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"\\ud800":1}`),
    badS("lone surrogate escape in an unknown member's value", [...R, "QWH-HELLO-015"], ["LoneSurrogate"], `${B},"x":["\\udfff"]}`),
  ];
  // invalid UTF-8 inside the version string
  for (const [what, h] of [
    ["overlong 2-byte form of '/' (c0 af)", "c0af"],
    ["overlong 2-byte form c1 bf", "c1bf"],
    ["overlong 3-byte form (e0 80 af)", "e080af"],
    ["overlong 4-byte form (f0 80 80 af)", "f08080af"],
    ["UTF-8 encoded high surrogate U+D800 (ed a0 80)", "eda080"],
    ["UTF-8 encoded low surrogate U+DFFF (ed bf bf)", "edbfbf"],
    ["UTF-8 encoded surrogate pair (ed a0 bd ed b8 80)", "eda0bdedb880"],
    ["truncated 3-byte sequence (e2 82) before the quote", "e282"],
    ["truncated 2-byte sequence (c3) before the quote", "c3"],
    ["truncated 4-byte sequence (f0 9f 98) before the quote", "f09f98"],
    ["lone continuation byte 80", "80"],
    ["continuation byte bf after ASCII", "61bf"],
    ["byte fe", "fe"],
    ["byte ff", "ff"],
    ["lead byte f5 (beyond U+10FFFF)", "f5808080"],
    ["code point U+110000 (f4 90 80 80)", "f4908080"],
  ])
    t.push(bad(`invalid UTF-8 in version: ${what}`, [...R, "QWH-HELLO-015"], ["InvalidUtf8"], wrapV(h)));
  t.push(
    bad(
      "invalid UTF-8 in a member name (c0 af)",
      [...R, "QWH-HELLO-015"],
      ["InvalidUtf8"],
      cat(utf8hex(B + ',"'), "c0af", utf8hex('":1}')),
    ),
  );
  // numbers
  for (const [num, what] of [
    ["1.0", "fraction .0"],
    ["1.5", "fraction"],
    ["0.0", "fraction on zero"],
    ["1e3", "exponent"],
    ["1E3", "exponent E"],
    ["1e+3", "exponent e+"],
    ["1e-3", "negative exponent"],
    ["1.0e0", "fraction and exponent"],
    ["-0", "-0"],
    ["-0.0", "-0.0"],
    ["9007199254740992", "2^53"],
    ["-9007199254740992", "-(2^53)"],
    ["18446744073709551616", "2^64"],
  ])
    t.push(badS(`tag value ${num} (${what})`, [...R, "QWH-HELLO-013"], ["NumberFormat"], tagN(num)));
  for (const [num, what] of [
    ["+1", "plus sign"],
    ["01", "leading zero"],
    [".5", "no integer part"],
    ["5.", "no fraction digits"],
    ["0x10", "hex"],
    ["NaN", "NaN"],
    ["Infinity", "Infinity"],
    ["-", "lone minus"],
  ])
    t.push(badS(`tag value ${num} (${what}, not JSON)`, [...R, "QWH-HELLO-013"], ["NumberFormat", "StrictJson"], tagN(num)));
  t.push(
    badS("-0 as maxFrameLength", [...R, "QWH-HELLO-013", "QWH-HELLO-008"], ["NumberFormat"], `${B},"maxFrameLength":-0}`),
    badS(
      "float in an unknown member is invalid too (strict JSON covers the whole hello)",
      [...R, "QWH-HELLO-013", "QWH-HELLO-009"],
      ["NumberFormat"],
      `${B},"x":{"load":0.25}}`,
    ),
    badS(
      "exponent in the sig ts",
      [...R, "QWH-HELLO-013", "QWH-SIG-001"],
      ["NumberFormat"],
      `${B},"sig":${JSON.stringify(dummySig()).replace("1767225600000", "1.7672256e12")}}`,
    ),
  );
  return buildFile({
    kind: "hello",
    description:
      "Strict JSON for the hello (applies to the whole document, unknown members included): UTF-8 without BOM, exactly one object and nothing after it but JSON whitespace, no duplicate member names (compared after unescaping), no lone surrogate escapes, integers only (no fraction, exponent or -0) within +-(2^53-1). Every violation is E_INVALID_HANDSHAKE.",
    groups: [{ params: { legacyAllowed: false }, tests: t }],
    check,
  });
}

// ------------------------------------------------------------------ legacy
function legacy() {
  const R = ["QWH-LEGACY-001"];
  const cases = [
    ["0.3 hello with version", { type: "handshake", version: "1.0.0" }],
    ["0.3 hello with version and string/integer tags", { type: "handshake", version: "2.1.0", tags: { service: "a", n: 3 } }],
    ["0.3 hello with only type", { type: "handshake" }],
    [
      "0.3 hello with the 0.3 extra fields (ignored)",
      {
        type: "handshake",
        version: "1.0.0",
        sid: "s-1",
        caps: ["batch"],
        nv: 1,
        ts: 1700000000000,
        sig: "bm90LWEtdjEtc2ln",
        nIndex: 4,
        negHash: "abcd",
      },
    ],
    ["hello with qwh but no features is a 0.3 hello; qwh is ignored", { type: "handshake", qwh: "1.0", version: "1.0.0" }],
  ];
  const txtCases = [
    [
      "0.3 hello with float tag values (0.3 allowed any number)",
      '{"type":"handshake","version":"1.0.0","tags":{"load":0.75,"neg":-2.5,"big":1e3}}',
      { type: "handshake", version: "1.0.0", tags: { load: 0.75, neg: -2.5, big: 1000 } },
    ],
    [
      "0.3 hello with entropyMetrics holding floats (ignored)",
      '{"type":"handshake","version":"1.0.0","entropyMetrics":{"h":0.5,"n":1.5e-3}}',
      { type: "handshake", version: "1.0.0" },
    ],
    ["0.3 hello with tag value 1.0", '{"type":"handshake","tags":{"w":1.0}}', { type: "handshake", tags: { w: 1 } }],
  ];
  const allowed = [];
  const refused = [];
  for (const [c, o] of cases) {
    allowed.push(okLeg(c + ": served under the legacy profile", [...R, "QWH-LEGACY-004"], ["Legacy"], J(o), o));
    refused.push(bad(c + ": legacy not allowed", [...R, "QWH-LEGACY-002"], ["Legacy"], J(o), ELNA));
  }
  for (const [c, s, o] of txtCases) {
    allowed.push(okLeg(c, [...R, "QWH-LEGACY-004"], ["Legacy", "NumberFormat"], utf8hex(s), o));
    refused.push(bad(c + ": legacy not allowed", [...R, "QWH-LEGACY-002"], ["Legacy", "NumberFormat"], utf8hex(s), ELNA));
  }
  const L = (comment, flags, s) => badS(comment, [...R, "QWH-LEGACY-004"], ["Legacy", ...flags], s);
  allowed.push(
    L("0.3 hello with version as a number", ["WrongType"], '{"type":"handshake","version":1}'),
    L("0.3 hello with tags as an array", ["WrongType"], '{"type":"handshake","tags":["a"]}'),
    L("0.3 hello with a boolean tag value", ["WrongType"], '{"type":"handshake","tags":{"a":true}}'),
    L("0.3 hello with a null tag value", ["WrongType"], '{"type":"handshake","tags":{"a":null}}'),
    L("0.3 hello with an object tag value", ["WrongType"], '{"type":"handshake","tags":{"a":{"b":1}}}'),
    L("0.3 hello without type", ["MissingMember"], '{"version":"1.0.0"}'),
    L('0.3 hello with type "hello"', ["Pattern"], '{"type":"hello","version":"1.0.0"}'),
    L(
      "0.3 hello with duplicate names (strict JSON still applies)",
      ["DuplicateNames"],
      '{"type":"handshake","version":"1.0.0","version":"2.0.0"}',
    ),
    L("0.3 hello with a lone surrogate escape", ["LoneSurrogate"], '{"type":"handshake","version":"\\ud800"}'),
    bad(
      "0.3 hello with invalid UTF-8 in version",
      [...R, "QWH-LEGACY-004"],
      ["Legacy", "InvalidUtf8"],
      cat(utf8hex('{"type":"handshake","version":"'), "c0af", utf8hex('"}')),
    ),
    bad(
      "0.3 hello with a BOM",
      [...R, "QWH-LEGACY-004"],
      ["Legacy", "StrictJson"],
      "efbbbf" + utf8hex('{"type":"handshake","version":"1.0.0"}'),
    ),
    L("0.3 hello with trailing garbage", ["StrictJson"], '{"type":"handshake"} {}'),
  );
  refused.push(
    badS(
      "malformed 0.3 hello (version a number), legacy not allowed: shape is checked first, E_INVALID_HANDSHAKE",
      [...R, "QWH-NEG-007", "QWH-LEGACY-004"],
      ["Legacy", "CheckOrder", "WrongType"],
      '{"type":"handshake","version":1}',
    ),
    badS(
      "0.3-looking object without type, legacy not allowed: not a hello at all",
      [...R, "QWH-HELLO-003"],
      ["Legacy", "MissingMember"],
      '{"version":"1.0.0"}',
    ),
  );
  return buildFile({
    kind: "hello",
    description:
      '0.3 hellos ("type":"handshake" and no "features" member): classified as profile "legacy". With legacyAllowed they are validated with the 0.3 rules (type, version a string, tags values strings or any JSON number; any JSON number is also accepted in the ignored 0.3 fields; the other strict-JSON rules still apply). Without legacyAllowed a well-formed 0.3 hello is E_LEGACY_NOT_ALLOWED; a malformed one is E_INVALID_HANDSHAKE (shape before profile).',
    groups: [
      { params: { legacyAllowed: true }, tests: allowed },
      { params: { legacyAllowed: false }, tests: refused },
    ],
    check,
  });
}

export default function hello() {
  return { "hello-v1": v1(), "hello-strict-json": strictJson(), "hello-legacy": legacy() };
}
