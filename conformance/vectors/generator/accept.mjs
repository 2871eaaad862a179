// kind "accept": client-side validation of the server's first frame payload (accept or reject).
import { buildFile, T } from "./file.mjs";
import { cat, utf8hex } from "./util.mjs";
import { payload } from "./hello.mjs";
import { parseStrict, StrictJsonError } from "./strict-json.mjs";

const EIH = "E_INVALID_HANDSHAKE";
const EUV = "E_UNSUPPORTED_VERSION";
const EPE = "E_PROTOCOL_ERROR";
const JSON_FLAGS = ["StrictJson", "DuplicateNames", "InvalidUtf8", "LoneSurrogate", "NumberFormat"];
const J = (o) => utf8hex(JSON.stringify(o));

function acceptOut(o) {
  const a = { qwh: o.qwh, features: o.features, maxFrameLength: o.maxFrameLength };
  if ("tags" in o) a.tags = o.tags;
  if ("version" in o) a.version = o.version;
  return a;
}
const rejectOut = (o) => ("reason" in o ? { code: o.code, reason: o.reason } : { code: o.code });

const okA = (comment, reqs, flags, o, h = J(o)) =>
  T(comment, reqs, flags, payload(h), "valid", { outcome: "accept", accept: acceptOut(o) });
const okR = (comment, reqs, flags, o, h = J(o)) =>
  T(comment, reqs, flags, payload(h), "valid", { outcome: "reject", reject: rejectOut(o) });
const bad = (comment, reqs, flags, h, error = EIH) => T(comment, reqs, flags, payload(h), "invalid", { error });
const badO = (comment, reqs, flags, o, error = EIH) => bad(comment, reqs, flags, J(o), error);
const badS = (comment, reqs, flags, s, error = EIH) => bad(comment, reqs, flags, utf8hex(s), error);

function check(t) {
  let ok = true;
  try {
    parseStrict(t.hex);
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    ok = false;
  }
  const jsonFlag = t.flags.some((f) => JSON_FLAGS.includes(f));
  if (t.result === "valid" && !ok) throw new Error("valid entry is not strict JSON");
  if (t.result === "invalid" && jsonFlag !== !ok) throw new Error(`JSON flag (${jsonFlag}) disagrees with strict-JSON reading (${ok})`);
}

export default function accept() {
  const A = (over = {}) => ({ type: "accept", qwh: "1.0", features: ["control"], maxFrameLength: 4194304, ...over });
  const without = (m) => {
    const o = A();
    delete o[m];
    return o;
  };
  const RA = ["QWH-ACCEPT-002", "QWH-ACCEPT-006"];
  const RJ = ["QWH-ACCEPT-004", "QWH-ACCEPT-009"];
  const g1 = [
    okA("valid accept echoing control", RA, [], A()),
    okA("accept with no features (server did not enable control)", RA, [], A({ features: [] })),
    okA("accept with tags and version", [...RA, "QWH-NEG-006"], [], A({ tags: { node: "eu-1", slots: 3 }, version: "1.4.2" })),
    okA("unknown members in accept are ignored", [...RA, "QWH-ACCEPT-008"], ["ForwardCompat"], A({ sessionId: "abc", x: { y: [1] } })),
    okA(
      "members in another order, JSON whitespace",
      RA,
      ["StrictJson"],
      A(),
      utf8hex(' {\n "maxFrameLength": 4194304,\n "features": [ "control" ],\n "qwh": "1.0",\n "type": "accept"\n}\n'),
    ),
    okA("accept maxFrameLength 0", [...RA, "QWH-NEG-006"], ["Boundary"], A({ maxFrameLength: 0 })),
    okA("accept maxFrameLength 2147483647", [...RA, "QWH-NEG-006"], ["Boundary"], A({ maxFrameLength: 2147483647 })),
    badO("accept maxFrameLength -1", RA, ["Boundary"], A({ maxFrameLength: -1 })),
    badO("accept maxFrameLength 2147483648", RA, ["Boundary"], A({ maxFrameLength: 2147483648 })),
    badO("accept maxFrameLength as a string", RA, ["WrongType"], A({ maxFrameLength: "4194304" })),
    badS(
      "accept maxFrameLength 4194304.0",
      RA,
      ["NumberFormat"],
      '{"type":"accept","qwh":"1.0","features":["control"],"maxFrameLength":4194304.0}',
    ),
    badO("accept without maxFrameLength", RA, ["MissingMember"], without("maxFrameLength")),
    badO("accept without qwh", RA, ["MissingMember"], without("qwh")),
    badO("accept without features", RA, ["MissingMember"], without("features")),
    badO("accept without type", ["QWH-ACCEPT-007"], ["MissingMember"], without("type")),
    okA("accept qwh 1.0 for offered 1.0", RA, ["VersionNegotiation"], A()),
    badO("accept qwh 1.1: minor higher than offered", RA, ["VersionNegotiation"], A({ qwh: "1.1" }), EUV),
    badO("accept qwh 2.0: other major", RA, ["VersionNegotiation"], A({ qwh: "2.0" }), EUV),
    badO("accept qwh 0.0: other major", RA, ["VersionNegotiation"], A({ qwh: "0.0" }), EUV),
    badO('accept qwh "1.00" does not match the version pattern', RA, ["Pattern"], A({ qwh: "1.00" })),
    badO('accept qwh "1" does not match the version pattern', RA, ["Pattern"], A({ qwh: "1" })),
    badO("accept qwh is a number", RA, ["WrongType"], A({ qwh: 1 })),
    badO("accept lists raw, not offered", [...RA, "QWH-ACCEPT-003"], ["FeatureNegotiation"], A({ features: ["control", "raw"] }), EPE),
    badO(
      "accept lists resume, not offered",
      [...RA, "QWH-ACCEPT-003", "QWH-NEG-004"],
      ["FeatureNegotiation"],
      A({ features: ["resume"] }),
      EPE,
    ),
    badO(
      "accept lists an unknown feature, not offered",
      [...RA, "QWH-ACCEPT-003"],
      ["FeatureNegotiation"],
      A({ features: ["x-new"] }),
      EPE,
    ),
    badO("accept features with a duplicate", RA, [], A({ features: ["control", "control"] })),
    badO("accept feature name not matching the pattern", RA, ["Pattern"], A({ features: ["Control"] })),
    badO("accept features is a string", RA, ["WrongType"], A({ features: "control" })),
    badO("accept tags is an array", RA, ["WrongType"], A({ tags: ["a"] })),
    badO("accept version is empty", RA, ["Boundary"], A({ version: "" })),
    badO("accept version is a number", RA, ["WrongType"], A({ version: 1 })),
    badO(
      "two failures: qwh 2.0 and maxFrameLength -1 -> shape first, E_INVALID_HANDSHAKE",
      [...RA, "QWH-ACCEPT-007"],
      ["CheckOrder"],
      A({ qwh: "2.0", maxFrameLength: -1 }),
    ),
    badO(
      "two failures: qwh 2.0 and raw not offered -> version first, E_UNSUPPORTED_VERSION",
      RA,
      ["CheckOrder"],
      A({ qwh: "2.0", features: ["raw"] }),
      EUV,
    ),
    badO("two failures: qwh 1.1 and unknown feature -> version first", RA, ["CheckOrder"], A({ qwh: "1.1", features: ["x-new"] }), EUV),
    badO('type "handshake" from the server', ["QWH-ACCEPT-007"], [], { type: "handshake", qwh: "1.0", features: ["control"] }),
    badO('type "Accept" (case differs)', ["QWH-ACCEPT-007"], ["Pattern"], A({ type: "Accept" })),
    badO('type "close"', ["QWH-ACCEPT-007"], [], { type: "close", code: "E_NORMAL_CLOSE" }),
    badO("type is null", ["QWH-ACCEPT-007"], ["WrongType"], A({ type: null })),
    badS("not JSON: plain text OK", ["QWH-ACCEPT-007"], ["StrictJson"], "OK"),
    bad("empty payload", ["QWH-ACCEPT-007"], ["StrictJson"], ""),
    bad("BOM before the accept", ["QWH-ACCEPT-007"], ["StrictJson"], "efbbbf" + J(A())),
    badS("accept inside an array", ["QWH-ACCEPT-007"], ["StrictJson"], "[" + JSON.stringify(A()) + "]"),
    badS(
      "trailing bytes after the accept (an accept and a second frame glued together)",
      ["QWH-ACCEPT-007"],
      ["StrictJson"],
      JSON.stringify(A()) + "\u0000",
    ),
    badS(
      "duplicate member type",
      ["QWH-ACCEPT-007"],
      ["DuplicateNames"],
      '{"type":"accept","type":"reject","qwh":"1.0","features":[],"maxFrameLength":1}',
    ),
    badS(
      "duplicate member features",
      ["QWH-ACCEPT-007"],
      ["DuplicateNames"],
      '{"type":"accept","qwh":"1.0","features":[],"features":["control"],"maxFrameLength":1}',
    ),
    badS(
      "lone surrogate escape in version",
      ["QWH-ACCEPT-007"],
      ["LoneSurrogate"],
      '{"type":"accept","qwh":"1.0","features":[],"maxFrameLength":1,"version":"\\udead"}',
    ),
    bad(
      "invalid UTF-8 in version",
      ["QWH-ACCEPT-007"],
      ["InvalidUtf8"],
      cat(utf8hex('{"type":"accept","qwh":"1.0","features":[],"maxFrameLength":1,"version":"'), "eda080", utf8hex('"}')),
    ),
    badS(
      "float in an unknown member",
      ["QWH-ACCEPT-007"],
      ["NumberFormat"],
      '{"type":"accept","qwh":"1.0","features":[],"maxFrameLength":1,"load":0.5}',
    ),
    // reject
    okR("reject with a known code", RJ, [], { type: "reject", code: "E_VERSION_MISMATCH" }),
    okR("reject with code and reason", RJ, [], { type: "reject", code: "E_POLICY_REJECTED", reason: "not today" }),
    okR("reject with an unknown code is accepted", [...RJ, "QWH-ACCEPT-008"], ["ForwardCompat"], {
      type: "reject",
      code: "E_SOMETHING_NEW_IN_1_9",
    }),
    okR("reject E_UNSUPPORTED_VERSION with the server's qwh list", [...RJ, "QWH-NEG-001"], [], {
      type: "reject",
      code: "E_UNSUPPORTED_VERSION",
      qwh: ["1.0", "2.3"],
    }),
    okR("reject with unknown members", [...RJ, "QWH-ACCEPT-008"], ["ForwardCompat"], {
      type: "reject",
      code: "E_MAX_CLIENTS",
      retryAfterMs: 500,
      features: ["x"],
    }),
    okR("reject with empty reason", RJ, ["Boundary"], { type: "reject", code: "E_INTERNAL", reason: "" }),
    okR("reject reason of 256 astral code points", RJ, ["Boundary", "CodePoints"], {
      type: "reject",
      code: "E_INTERNAL",
      reason: "\u{1f6ab}".repeat(256),
    }),
    okR("reject code with 62 characters after E_", RJ, ["Boundary", "Pattern"], { type: "reject", code: "E_" + "Z".repeat(62) }),
    badO("reject reason of 257 code points", RJ, ["Boundary", "CodePoints"], {
      type: "reject",
      code: "E_INTERNAL",
      reason: "r".repeat(257),
    }),
    badO("reject without code", [...RJ, "QWH-ACCEPT-007"], ["MissingMember"], { type: "reject", reason: "no" }),
    badO("reject code in lowercase", RJ, ["Pattern"], { type: "reject", code: "e_internal" }),
    badO("reject code E_ alone", RJ, ["Pattern", "Boundary"], { type: "reject", code: "E_" }),
    badO("reject code with 63 characters after E_", RJ, ["Pattern", "Boundary"], { type: "reject", code: "E_" + "Z".repeat(63) }),
    badO("reject code is a number", RJ, ["WrongType"], { type: "reject", code: 4 }),
    badO("reject reason is a number", RJ, ["WrongType"], { type: "reject", code: "E_INTERNAL", reason: 1 }),
    badS("reject with duplicate code", RJ, ["DuplicateNames"], '{"type":"reject","code":"E_INTERNAL","code":"E_MAX_CLIENTS"}'),
  ];
  const RV = [...RA, "QWH-NEG-002"];
  const B2 = (over) => A({ qwh: "1.3", features: ["control", "x-ext"], ...over });
  const g2 = [
    okA("offered 1.3, accept 1.3", RV, ["VersionNegotiation"], B2({})),
    okA("offered 1.3, accept 1.2 (lower minor)", RV, ["VersionNegotiation"], B2({ qwh: "1.2" })),
    okA("offered 1.3, accept 1.0", RV, ["VersionNegotiation"], B2({ qwh: "1.0" })),
    badO("offered 1.3, accept 1.4", RV, ["VersionNegotiation"], B2({ qwh: "1.4" }), EUV),
    badO("offered 1.3, accept 1.10: minors compare as numbers (10 > 3)", RV, ["VersionNegotiation", "Boundary"], B2({ qwh: "1.10" }), EUV),
    okA(
      "accept lists the offered unknown feature x-ext",
      [...RA, "QWH-ACCEPT-003"],
      ["FeatureNegotiation", "ForwardCompat"],
      B2({ features: ["x-ext"] }),
    ),
    okA(
      "accept lists offered features in another order",
      [...RA, "QWH-ACCEPT-003"],
      ["FeatureNegotiation"],
      B2({ features: ["x-ext", "control"] }),
    ),
  ];
  const g3 = [
    badO("nothing offered, accept lists control", [...RA, "QWH-ACCEPT-003"], ["FeatureNegotiation"], A(), EPE),
    okA("nothing offered, accept lists nothing", RA, [], A({ features: [] })),
  ];
  const g4 = [
    okA("offered 1.10, accept 1.9 (numeric: 9 < 10)", RV, ["VersionNegotiation", "Boundary"], A({ qwh: "1.9", features: [] })),
    okA("offered 1.10, accept 1.10", RV, ["VersionNegotiation"], A({ qwh: "1.10", features: [] })),
    badO("offered 1.10, accept 1.11", RV, ["VersionNegotiation"], A({ qwh: "1.11", features: [] }), EUV),
  ];
  const g5 = [
    okA("offered raw, accept lists raw", [...RA, "QWH-RAW-005"], ["Raw"], A({ features: ["raw"] })),
    okA("offered raw and x-ext, accept lists both", [...RA], ["Raw", "FeatureNegotiation"], A({ features: ["x-ext", "raw"] })),
    badO(
      "offered raw, accept without raw: the server is framed",
      [...RA, "QWH-RAW-005"],
      ["Raw"],
      A({ features: [] }),
      "E_FRAMING_MISMATCH",
    ),
  ];
  // The client's order of checks (QWH-ACCEPT-011): a feature not offered (E_PROTOCOL_ERROR) before "raw" missing (E_FRAMING_MISMATCH).
  const ORD = ["QWH-ACCEPT-011", "QWH-ACCEPT-006"];
  const g6 = [
    badO(
      "offered raw only, accept lists control and not raw: E_PROTOCOL_ERROR (feature not offered) before E_FRAMING_MISMATCH",
      ORD,
      ["Raw", "CheckOrder"],
      A({ features: ["control"] }),
      EPE,
    ),
    badO(
      "offered raw only, accept lists control and raw: E_PROTOCOL_ERROR",
      [...ORD, "QWH-ACCEPT-003"],
      ["Raw", "FeatureNegotiation"],
      A({ features: ["raw", "control"] }),
      EPE,
    ),
    badO(
      "offered raw only, accept 2.0 listing control: E_UNSUPPORTED_VERSION first",
      ORD,
      ["Raw", "CheckOrder", "VersionNegotiation"],
      A({ qwh: "2.0", features: ["control"] }),
      EUV,
    ),
  ];
  const g7 = [
    badO(
      "offered raw and control, accept lists control only: every feature offered, raw missing: E_FRAMING_MISMATCH",
      ORD,
      ["Raw", "CheckOrder"],
      A({ features: ["control"] }),
      "E_FRAMING_MISMATCH",
    ),
    badO(
      "offered raw and control, accept lists control and x-ext: E_PROTOCOL_ERROR (x-ext not offered) before E_FRAMING_MISMATCH",
      ORD,
      ["Raw", "CheckOrder"],
      A({ features: ["control", "x-ext"] }),
      EPE,
    ),
  ];
  return {
    "accept-reject": buildFile({
      kind: "accept",
      description:
        'Client side: validation of the server\'s first frame. An accept must have type, qwh (same major, minor <= offered, compared as numbers), features (valid names, no duplicates, a subset of the offer) and maxFrameLength (0..2147483647); tags and version optional; unknown members ignored. Check order: strict JSON and shape (E_INVALID_HANDSHAKE), then version (E_UNSUPPORTED_VERSION), then features not offered (E_PROTOCOL_ERROR), then, for a client that offered "raw", an accept that does not list it (E_FRAMING_MISMATCH). A reject needs a code matching ^E_[A-Z0-9_]{1,62}$ (unknown codes accepted) and an optional reason of at most 256 code points.',
      groups: [
        { params: { offered: { qwh: "1.0", features: ["control"] } }, tests: g1 },
        { params: { offered: { qwh: "1.3", features: ["control", "x-ext"] } }, tests: g2 },
        { params: { offered: { qwh: "1.0", features: [] } }, tests: g3 },
        { params: { offered: { qwh: "1.10", features: [] } }, tests: g4 },
        { params: { offered: { qwh: "1.0", features: ["raw", "x-ext"] } }, tests: g5 },
        { params: { offered: { qwh: "1.0", features: ["raw"] } }, tests: g6 },
        { params: { offered: { qwh: "1.0", features: ["raw", "control"] } }, tests: g7 },
      ],
      check,
    }),
  };
}
