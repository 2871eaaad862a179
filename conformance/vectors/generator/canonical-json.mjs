// kind "canonical-json": RFC 8785 on strict-JSON input. Expected outputs are written by hand;
// the generator only checks them against its own JCS helper.
import { buildFile, T } from "./file.mjs";
import { cat, jcs, utf8hex } from "./util.mjs";
import { parseStrict, StrictJsonError } from "./strict-json.mjs";
import { payload } from "./hello.mjs";

const EIH = "E_INVALID_HANDSHAKE";
const R = ["QWH-SIG-007"];

function check(t) {
  let v;
  try {
    v = parseStrict(t.hex);
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    if (t.result !== "invalid") throw new Error("input is not strict JSON: " + e.message, { cause: e });
    return;
  }
  if (t.result === "invalid") throw new Error("input flagged invalid is strict JSON");
  if (utf8hex(jcs(v)) !== t.canonicalHex) throw new Error("hand-written canonical form differs from the JCS helper: " + jcs(v));
}

const ok = (comment, flags, input, canonical) =>
  T(comment, R, flags, payload(utf8hex(input)), "valid", { canonicalHex: utf8hex(canonical) });
const bad = (comment, flags, inputHex, reqs = R) =>
  T(comment, [...R, ...reqs.filter((r) => !R.includes(r))], flags, payload(inputHex), "invalid", { error: EIH });
const badS = (comment, flags, input, reqs) => bad(comment, flags, utf8hex(input), reqs);

export default function canonicalJson() {
  const tests = [
    ok("already canonical", ["Jcs"], '{"a":1,"b":"x"}', '{"a":1,"b":"x"}'),
    ok("empty object", ["Jcs"], " { } ", "{}"),
    ok("members sorted", ["Jcs"], '{"b":1,"a":2,"c":3}', '{"a":2,"b":1,"c":3}'),
    ok("whitespace removed everywhere", ["Jcs"], ' {\n\t"a" : [ 1 , 2 ,\r\n 3 ] ,  "b" : { } \n} ', '{"a":[1,2,3],"b":{}}'),
    ok(
      "nested objects sorted at every level, arrays keep their order",
      ["Jcs"],
      '{"z":{"y":[{"b":1,"a":0},3,{"d":{"f":1,"e":2}}],"x":null},"a":[3,1,2]}',
      '{"a":[3,1,2],"z":{"x":null,"y":[{"a":0,"b":1},3,{"d":{"e":2,"f":1}}]}}',
    ),
    ok(
      "names sorted by UTF-16 code units: capitals before lower case, digits before letters",
      ["Jcs"],
      '{"b":1,"B":2,"a":3,"A":4,"1":5,"_":6,"-":7}',
      '{"-":7,"1":5,"A":4,"B":2,"_":6,"a":3,"b":1}',
    ),
    ok('prefix sorts first: "a" < "aa" < "ab" < "b"', ["Jcs"], '{"ab":1,"b":2,"aa":3,"a":4}', '{"a":4,"aa":3,"ab":1,"b":2}'),
    ok("empty name sorts first", ["Jcs"], '{"a":1,"":0}', '{"":0,"a":1}'),
    ok(
      'UTF-16 order: "a" < "\\u20ac" < "\\ud83d\\ude00" < "\\ufb01" (code point order would put U+1F600 last)',
      ["Jcs"],
      '{"\\ufb01":4,"\\ud83d\\ude00":3,"\\u20ac":2,"a":1}',
      '{"a":1,"\u20ac":2,"\u{1f600}":3,"\ufb01":4}',
    ),
    ok(
      "RFC 8785 section 3.2.3 example names",
      ["Jcs"],
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\u{1f600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ),
    ok('escapes \\" and \\\\ kept; \\/ becomes /', ["Jcs"], '{"s":"a\\"b\\\\c\\/d"}', '{"s":"a\\"b\\\\c/d"}'),
    ok("short escapes \\b \\f \\n \\r \\t; \\u0008 becomes \\b", ["Jcs"], '{"s":"\\u0008\\f\\n\\r\\t\\b"}', '{"s":"\\b\\f\\n\\r\\t\\b"}'),
    ok(
      "other control characters as lowercase \\u00xx: \\u001F becomes \\u001f, \\u0000 and \\u000b kept",
      ["Jcs"],
      '{"s":"\\u001F\\u0000\\u000B\\u0001"}',
      '{"s":"\\u001f\\u0000\\u000b\\u0001"}',
    ),
    ok("DEL (U+007F) is written literally", ["Jcs"], '{"s":"\\u007f"}', '{"s":"\u007f"}'),
    ok("\\u2028 and \\u2029 are written literally (UTF-8 e2 80 a8 / e2 80 a9)", ["Jcs"], '{"s":"\\u2028\\u2029"}', '{"s":"\u2028\u2029"}'),
    ok("non-ASCII escapes become literal UTF-8", ["Jcs"], '{"s":"\\u00e9\\u20ac\\ud83d\\ude00"}', '{"s":"\u00e9\u20ac\u{1f600}"}'),
    ok("literal non-ASCII stays literal", ["Jcs"], '{"s":"\u00e9\u20ac\u{1f600}\u{10ffff}"}', '{"s":"\u00e9\u20ac\u{1f600}\u{10ffff}"}'),
    ok("ASCII escapes become literal: \\u0041 is A", ["Jcs"], '{"\\u0041":"\\u0042"}', '{"A":"B"}'),
    ok(
      "integers at +-(2^53-1), zero and small negatives",
      ["Jcs", "Boundary", "NumberFormat"],
      '{"max":9007199254740991,"min":-9007199254740991,"z":0,"n":-7}',
      '{"max":9007199254740991,"min":-9007199254740991,"n":-7,"z":0}',
    ),
    ok("literals true, false, null", ["Jcs"], '{"t":true,"f":false,"n":null}', '{"f":false,"n":null,"t":true}'),
    ok("arrays of arrays and empty arrays", ["Jcs"], '{"a":[[],[[]],[{}]]}', '{"a":[[],[[]],[{}]]}'),
    ok(
      "a hello without sig.value in canonical form",
      ["Jcs"],
      '{"type":"handshake","qwh":"1.0","features":["control"],"sig":{"ts":1764028800000,"alg":"ed25519"}}',
      '{"features":["control"],"qwh":"1.0","sig":{"alg":"ed25519","ts":1764028800000},"type":"handshake"}',
    ),
    badS("float 1.5", ["NumberFormat"], '{"a":1.5}', ["QWH-HELLO-013"]),
    badS("1.0 (integer value written with a fraction)", ["NumberFormat"], '{"a":1.0}', ["QWH-HELLO-013"]),
    badS("exponent 1e2", ["NumberFormat"], '{"a":1e2}', ["QWH-HELLO-013"]),
    badS("-0", ["NumberFormat"], '{"a":-0}', ["QWH-HELLO-013"]),
    badS("2^53", ["NumberFormat", "Boundary"], '{"a":9007199254740992}', ["QWH-HELLO-013"]),
    badS("-(2^53)", ["NumberFormat", "Boundary"], '{"a":-9007199254740992}', ["QWH-HELLO-013"]),
    badS("duplicate names", ["DuplicateNames"], '{"a":1,"a":1}', ["QWH-HELLO-014"]),
    badS('duplicate names after unescaping ("a" and "\\u0061")', ["DuplicateNames"], '{"a":1,"\\u0061":2}', ["QWH-HELLO-014"]),
    badS("lone surrogate escape", ["LoneSurrogate"], '{"a":"\\ud800"}', ["QWH-HELLO-015"]),
    bad("invalid UTF-8 (encoded surrogate)", ["InvalidUtf8"], cat(utf8hex('{"a":"'), "eda080", utf8hex('"}')), ["QWH-HELLO-015"]),
    bad("BOM", ["StrictJson"], "efbbbf" + utf8hex('{"a":1}'), ["QWH-HELLO-002"]),
    badS("trailing bytes", ["StrictJson"], '{"a":1}x', ["QWH-HELLO-002"]),
    badS("top level array", ["StrictJson"], "[1]", ["QWH-HELLO-002"]),
  ];
  return {
    "canonical-json": buildFile({
      kind: "canonical-json",
      description:
        'RFC 8785 (JCS) canonical form of strict-JSON objects as used for signed hellos and CLOSE bodies: members sorted by the UTF-16 code units of their names at every level, arrays in order, no whitespace, strings written as ECMAScript JSON.stringify writes them (\\b \\t \\n \\f \\r, other controls as lowercase \\u00xx, \\" and \\\\ escaped, everything else literal UTF-8, including / DEL U+2028 U+2029), integers in plain decimal. Input that is not strict JSON is E_INVALID_HANDSHAKE.',
      groups: [{ params: {}, tests }],
      check,
    }),
  };
}
