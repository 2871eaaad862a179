// hello: the v1 hello, strict JSON, the handshake limit, and what a client sends.
import * as L from "../lib.mjs";
const { mk, send, sendSlowly, expectAccept, expectHello, rejectClose, silence, hdr, utf8, frame, jsonFrame, helloFrame, QWH } = L;

const A = "hello";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const cli = (name, o) =>
  mk(A, "client", name, { config: { scenario: "mirror", features: ["control"], ...(o.cfg ?? {}) }, ...o, cfg: undefined });

const server = [];
const client = [];
const H = '{"type":"handshake","qwh":"1.0","features":["control"]'; // prefix of a valid hello, to append members to
const raw = (text) => utf8(text);

// ---------------------------------------------------------------- invalid hellos: reject E_INVALID_HANDSHAKE
// [name, payload hex, requirement ids, title]
const INVALID = [
  // not a hello at all
  ["not-json", raw("hello"), ["QWH-BARE-003", "QWH-HELLO-016"], "a first frame that is not JSON"],
  ["empty-payload", "", ["QWH-BARE-003", "QWH-HELLO-016"], "an empty first frame (00000000)"],
  ["json-array", raw("[1]"), ["QWH-BARE-003", "QWH-HELLO-016"], "a JSON array instead of an object"],
  ["json-string", raw('"handshake"'), ["QWH-BARE-003", "QWH-HELLO-016"], "a JSON string instead of an object"],
  ["json-null", raw("null"), ["QWH-BARE-003", "QWH-HELLO-016"], "JSON null"],
  ["type-missing", raw('{"qwh":"1.0","features":["control"]}'), ["QWH-BARE-003", "QWH-HELLO-003"], 'an object without "type"'],
  [
    "type-capitalised",
    raw('{"type":"Handshake","qwh":"1.0","features":["control"]}'),
    ["QWH-BARE-003", "QWH-HELLO-003"],
    '"type":"Handshake" (case matters)',
  ],
  [
    "type-accept",
    raw('{"type":"accept","qwh":"1.0","features":["control"],"maxFrameLength":0}'),
    ["QWH-BARE-003", "QWH-HELLO-003"],
    "an accept sent as the first frame",
  ],
  ["type-number", raw('{"type":1,"qwh":"1.0","features":["control"]}'), ["QWH-BARE-003", "QWH-HELLO-003"], '"type" is a number'],
  // strict JSON
  ["bom", "efbbbf" + raw(H + "}"), ["QWH-HELLO-016", "QWH-HELLO-002"], "a byte order mark before the object"],
  ["two-objects", raw(H + "} {}"), ["QWH-HELLO-016"], "two JSON values"],
  ["trailing-garbage", raw(H + "}x"), ["QWH-HELLO-016"], "a byte after the object"],
  ["truncated-json", raw(H), ["QWH-HELLO-016"], "an object that never closes"],
  ["trailing-comma", raw(H + ",}"), ["QWH-HELLO-016"], "a trailing comma (not RFC 8259)"],
  ["single-quotes", raw("{'type':'handshake','qwh':'1.0','features':[]}"), ["QWH-HELLO-016"], "single-quoted strings"],
  ["invalid-utf8-byte", raw(H + ',"x":"') + "ff" + raw('"}'), ["QWH-HELLO-015"], "the byte ff inside a string"],
  ["overlong-utf8", raw(H + ',"x":"') + "c0af" + raw('"}'), ["QWH-HELLO-015"], "an overlong encoding (c0 af) inside a string"],
  [
    "encoded-surrogate-utf8",
    raw(H + ',"x":"') + "eda080" + raw('"}'),
    ["QWH-HELLO-015"],
    "an encoded surrogate (ed a0 80) inside a string",
  ],
  ["f5-byte", raw(H + ',"x":"') + "f5808080" + raw('"}'), ["QWH-HELLO-015"], "a lead byte f5 (above U+10FFFF)"],
  ["lone-high-surrogate-escape", raw(H + ',"x":"\\ud800"}'), ["QWH-HELLO-015"], "a lone high-surrogate escape \\ud800"],
  ["lone-low-surrogate-escape", raw(H + ',"x":"\\udc00"}'), ["QWH-HELLO-015"], "a lone low-surrogate escape \\udc00"],
  ["high-surrogate-then-letter", raw(H + ',"x":"\\ud83dA"}'), ["QWH-HELLO-015"], "a high-surrogate escape followed by a letter"],
  [
    "duplicate-type",
    raw('{"type":"handshake","type":"handshake","qwh":"1.0","features":[]}'),
    ["QWH-HELLO-014"],
    '"type" twice with the same value',
  ],
  [
    "duplicate-qwh",
    raw('{"type":"handshake","qwh":"2.0","qwh":"1.0","features":[]}'),
    ["QWH-HELLO-014", "QWH-SEC-001"],
    '"qwh" twice ("2.0" then "1.0"): two parsers could see different versions',
  ],
  [
    "duplicate-via-escape",
    raw('{"type":"handshake","qwh":"1.0","features":[],"version":"1","\\u0076ersion":"2"}'),
    ["QWH-HELLO-014", "QWH-SEC-001"],
    '"version" and "\\u0076ersion" are the same name',
  ],
  ["duplicate-in-tags", raw(H + ',"tags":{"a":"1","a":"2"}}'), ["QWH-HELLO-014"], 'a duplicate name inside "tags"'],
  ["duplicate-in-unknown-member", raw(H + ',"x-ext":{"k":1,"k":1}}'), ["QWH-HELLO-014"], "a duplicate name inside an unknown member"],
  ["float-max-frame-length", raw(H + ',"maxFrameLength":1024.0}'), ["QWH-HELLO-013"], "maxFrameLength written 1024.0"],
  ["exponent-max-frame-length", raw(H + ',"maxFrameLength":1e3}'), ["QWH-HELLO-013"], "maxFrameLength written 1e3"],
  ["negative-zero", raw(H + ',"tags":{"n":-0}}'), ["QWH-HELLO-013"], "-0 in a tag value"],
  ["integer-above-2p53", raw(H + ',"x-ext":9007199254740992}'), ["QWH-HELLO-013"], "9007199254740992 (2^53) in an unknown member"],
  ["integer-below-minus-2p53", raw(H + ',"x-ext":-9007199254740992}'), ["QWH-HELLO-013"], "-9007199254740992 in an unknown member"],
  [
    "float-in-unknown-member",
    raw(H + ',"x-ext":0.5}'),
    ["QWH-HELLO-013", "QWH-HELLO-002"],
    "a fraction in an unknown member (strict JSON covers every member)",
  ],
  ["leading-zero-number", raw(H + ',"maxFrameLength":01024}'), ["QWH-HELLO-013", "QWH-HELLO-016"], "a number with a leading zero"],
  // qwh
  [
    "qwh-missing",
    raw('{"type":"handshake","features":["control"],"version":"1"}').replace(raw('"version":"1"'), raw('"x":1')),
    ["QWH-HELLO-004"],
    "placeholder",
  ],
];
// qwh-missing: a hello with "features" but no "qwh" (classification by "features" says v1, so the v1 shape fails).
INVALID[INVALID.length - 1] = [
  "qwh-missing",
  raw('{"type":"handshake","features":["control"]}'),
  ["QWH-HELLO-004"],
  'a v1 hello (it has "features") without "qwh"',
];
const bad = (name, obj, reqs, title) => INVALID.push([name, utf8(JSON.stringify(obj)), reqs, title]);
const hv = (x) => ({ type: "handshake", qwh: QWH, features: ["control"], ...x });
bad("qwh-number", hv({ qwh: 1 }), ["QWH-HELLO-004"], '"qwh" is the number 1');
bad("qwh-no-minor", hv({ qwh: "1" }), ["QWH-HELLO-004"], '"qwh":"1" (no minor)');
bad("qwh-three-parts", hv({ qwh: "1.0.0" }), ["QWH-HELLO-004"], '"qwh":"1.0.0"');
bad("qwh-leading-zero", hv({ qwh: "01.0" }), ["QWH-HELLO-004"], '"qwh":"01.0" (leading zero)');
bad("qwh-five-digit-minor", hv({ qwh: "1.10000" }), ["QWH-HELLO-004"], '"qwh":"1.10000" (minor of 5 digits)');
bad("qwh-prefixed-v", hv({ qwh: "v1.0" }), ["QWH-HELLO-004"], '"qwh":"v1.0"');
bad("qwh-empty", hv({ qwh: "" }), ["QWH-HELLO-004"], '"qwh":""');
// features
bad("features-null", hv({ features: null }), ["QWH-HELLO-005"], '"features":null (still a v1 hello, invalid)');
bad("features-string", hv({ features: "control" }), ["QWH-HELLO-005"], '"features":"control" (not an array)');
bad("features-number-item", hv({ features: [1] }), ["QWH-HELLO-005"], 'a number in "features"');
bad("features-uppercase", hv({ features: ["Control"] }), ["QWH-HELLO-005"], "a feature name with a capital letter");
bad("features-duplicate", hv({ features: ["control", "control"] }), ["QWH-HELLO-005"], "the same feature twice");
bad("features-33-items", hv({ features: Array.from({ length: 33 }, (_, i) => `x-f${i}`) }), ["QWH-HELLO-005"], "33 features (at most 32)");
bad("features-name-33-chars", hv({ features: ["x" + "a".repeat(32)] }), ["QWH-HELLO-005"], "a feature name of 33 characters");
bad("features-leading-digit", hv({ features: ["1x"] }), ["QWH-HELLO-005"], "a feature name starting with a digit");
bad("features-empty-name", hv({ features: [""] }), ["QWH-HELLO-005"], "an empty feature name");
// version
bad("version-empty", hv({ version: "" }), ["QWH-HELLO-006"], '"version":""');
bad("version-65-code-points", hv({ version: "\u{1F600}".repeat(65) }), ["QWH-HELLO-006"], '"version" of 65 code points (astral)');
bad("version-number", hv({ version: 1 }), ["QWH-HELLO-006"], '"version" is a number');
bad("version-null", hv({ version: null }), ["QWH-HELLO-006"], '"version":null');
// tags
bad("tags-array", hv({ tags: ["a"] }), ["QWH-HELLO-007"], '"tags" is an array');
bad("tags-null", hv({ tags: null }), ["QWH-HELLO-007"], '"tags":null');
bad(
  "tags-65-members",
  hv({ tags: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`t${i}`, i])) }),
  ["QWH-HELLO-007"],
  "65 tags (at most 64)",
);
bad("tag-name-space", hv({ tags: { "a b": "x" } }), ["QWH-HELLO-007"], "a tag name with a space");
bad("tag-name-65-chars", hv({ tags: { ["n".repeat(65)]: "x" } }), ["QWH-HELLO-007"], "a tag name of 65 characters");
bad("tag-name-empty", hv({ tags: { "": "x" } }), ["QWH-HELLO-007"], "an empty tag name");
bad("tag-value-513-code-points", hv({ tags: { a: "\u00e9".repeat(513) } }), ["QWH-HELLO-007"], "a tag value of 513 code points");
bad("tag-value-boolean", hv({ tags: { a: true } }), ["QWH-HELLO-007"], "a boolean tag value");
bad("tag-value-object", hv({ tags: { a: { b: "c" } } }), ["QWH-HELLO-007"], "an object tag value");
bad("tag-value-null", hv({ tags: { a: null } }), ["QWH-HELLO-007"], "a null tag value");
INVALID.push([
  "tag-value-float",
  raw(H + ',"tags":{"a":1.5}}'),
  ["QWH-HELLO-007", "QWH-HELLO-013"],
  "a tag value 1.5 (v1 tags are integers or strings)",
]);
// maxFrameLength
bad("max-frame-length-negative", hv({ maxFrameLength: -1 }), ["QWH-HELLO-008"], "maxFrameLength -1");
bad("max-frame-length-2p31", hv({ maxFrameLength: 2147483648 }), ["QWH-HELLO-008", "QWH-FRAME-006"], "maxFrameLength 2147483648 (2^31)");
bad("max-frame-length-string", hv({ maxFrameLength: "1024" }), ["QWH-HELLO-008"], "maxFrameLength as a string");
bad("max-frame-length-null", hv({ maxFrameLength: null }), ["QWH-HELLO-008"], "maxFrameLength null");
// sig that is not an object: shape error, not a signature error
bad("sig-not-object", hv({ sig: "abc" }), ["QWH-SIG-010"], '"sig" is a string: a shape error (E_INVALID_HANDSHAKE), not a signature error');
bad("sig-null", hv({ sig: null }), ["QWH-SIG-010"], '"sig":null: a shape error');

for (const [name, payload, reqs, title] of INVALID) {
  server.push(
    srv(`invalid-${name}`, {
      title: `rejected with E_INVALID_HANDSHAKE: ${title}`,
      reqs: [...reqs, "QWH-HELLO-011"].filter((r, i, a) => a.indexOf(r) === i && (r !== "QWH-HELLO-011" || !reqs.includes("QWH-BARE-003"))),
      steps: [send(frame(payload)), rejectClose("E_INVALID_HANDSHAKE")],
    }),
  );
}

// ---------------------------------------------------------------- valid hellos: accepted
const acc = (features = ["control"], x = {}) => expectAccept({ type: "accept", qwh: QWH, features, ...x });
const VALID = [
  [
    "unknown-top-level-member",
    jsonFrame(hv({ "x-ext": { a: [1, "b", null, true] } })),
    ["QWH-HELLO-009"],
    "an unknown top-level member is ignored",
    acc(),
  ],
  [
    "unknown-feature-ignored",
    jsonFrame(hv({ features: ["x-unknown", "control"] })),
    ["QWH-HELLO-012", "QWH-NEG-003"],
    "an unknown feature is ignored and not listed in the accept",
    acc(["control"]),
  ],
  [
    "only-unknown-features",
    jsonFrame(hv({ features: ["x-a", "x-b"] })),
    ["QWH-HELLO-012"],
    "only unknown features: the accept lists none",
    acc([]),
  ],
  [
    "features-empty",
    jsonFrame(hv({ features: [] })),
    ["QWH-HELLO-005", "QWH-NEG-003"],
    '"features":[] is valid: the accept lists none',
    acc([]),
  ],
  [
    "features-32-items",
    jsonFrame(hv({ features: ["control", ...Array.from({ length: 31 }, (_, i) => `x-f${i}`)] })),
    ["QWH-HELLO-005"],
    "32 features (the maximum)",
    acc(["control"]),
  ],
  [
    "feature-name-32-chars",
    jsonFrame(hv({ features: ["control", "x" + "a".repeat(31)] })),
    ["QWH-HELLO-005"],
    "a feature name of 32 characters",
    acc(["control"]),
  ],
  [
    "whitespace-around",
    frame(utf8(" \t\r\n" + JSON.stringify(hv({}), null, 2) + "\n ")),
    ["QWH-HELLO-016"],
    "JSON whitespace before, inside and after the object",
    acc(),
  ],
  [
    "escaped-type",
    frame(utf8('{"type":"\\u0068andshake","qwh":"1.0","features":["control"]}')),
    ["QWH-HELLO-003", "QWH-HELLO-016"],
    '"type" written with a \\u escape',
    acc(),
  ],
  [
    "surrogate-pair-escape",
    frame(utf8(H + ',"tags":{"e":"\\ud83d\\ude00"}}')),
    ["QWH-HELLO-015"],
    "a surrogate pair escape (one code point) in a tag value",
    acc(),
  ],
  ["astral-utf8", jsonFrame(hv({ tags: { e: "\u{1F600}" } })), ["QWH-HELLO-015"], "a 4-byte UTF-8 character in a tag value", acc()],
  [
    "max-safe-integer",
    frame(utf8(H + ',"x-a":9007199254740991,"x-b":-9007199254740991}')),
    ["QWH-HELLO-013"],
    "2^53-1 and -(2^53-1) are valid integers",
    acc(),
  ],
  [
    "version-64-code-points",
    jsonFrame(hv({ version: "\u{1F600}".repeat(64) })),
    ["QWH-HELLO-006"],
    '"version" of 64 code points (astral, 256 bytes)',
    acc(),
  ],
  [
    "tags-64-members",
    jsonFrame(hv({ tags: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`t.${i}:x-_`, i % 2 ? i : `v${i}`])) })),
    ["QWH-HELLO-007"],
    "64 tags with every allowed name character",
    acc(),
  ],
  [
    "tag-value-512-code-points",
    jsonFrame(hv({ tags: { a: "\u{1F600}".repeat(512) } })),
    ["QWH-HELLO-007"],
    "a tag value of 512 code points (2048 bytes)",
    acc(),
  ],
  ["tag-name-64-chars", jsonFrame(hv({ tags: { ["n".repeat(64)]: "x" } })), ["QWH-HELLO-007"], "a tag name of 64 characters", acc()],
  ["max-frame-length-zero", jsonFrame(hv({ maxFrameLength: 0 })), ["QWH-HELLO-008"], "maxFrameLength 0 is valid", acc()],
  [
    "max-frame-length-2p31-minus-1",
    jsonFrame(hv({ maxFrameLength: 2147483647 })),
    ["QWH-HELLO-008", "QWH-FRAME-006"],
    "maxFrameLength 2147483647 is valid",
    acc(),
  ],
  [
    "members-in-any-order",
    frame(utf8('{"features":["control"],"maxFrameLength":100,"qwh":"1.0","type":"handshake"}')),
    ["QWH-HELLO-009", "QWH-HELLO-003"],
    "members in another order",
    acc(),
  ],
  [
    "nested-depth-20",
    frame(utf8(H + ',"x-deep":' + "[".repeat(20) + "]".repeat(20) + "}")),
    ["QWH-SEC-002", "QWH-HELLO-009"],
    "an unknown member nested 20 levels deep is accepted",
    acc(),
  ],
];
{
  // A hello of exactly 16384 bytes, padded with an unknown member.
  const base = JSON.stringify(hv({ "x-pad": "" }));
  const padded = JSON.stringify(hv({ "x-pad": "p".repeat(16384 - Buffer.byteLength(base)) }));
  if (Buffer.byteLength(padded) !== 16384) throw new Error("pad");
  VALID.push([
    "exactly-16384-bytes",
    frame(utf8(padded)),
    ["QWH-HELLO-010"],
    "a hello of exactly 16384 bytes (the handshake limit) is read",
    acc(),
  ]);
}
for (const [name, bytes, reqs, title, expect] of VALID)
  server.push(srv(`valid-${name}`, { title: `accepted: ${title}`, reqs, steps: [send(bytes), expect] }));

// ---------------------------------------------------------------- the handshake limit, on the header
const BIG = [
  ["too-large-header-only", hdr(16385), "header 00004001 alone: rejected before any payload byte"],
  ["too-large-bit31-header", "80000010", "header 80000010: bit 31 is part of the length in the handshake"],
  ["too-large-ffffffff", "ffffffff", "header ffffffff"],
  ["too-large-7fffffff", "7fffffff", "header 7fffffff"],
];
for (const [name, bytes, title] of BIG)
  server.push(
    srv(name, {
      title: `E_HANDSHAKE_TOO_LARGE on the header: ${title}`,
      reqs: ["QWH-HELLO-010"],
      steps: [send(bytes), rejectClose("E_HANDSHAKE_TOO_LARGE")],
    }),
  );
server.push(
  srv("too-large-with-payload", {
    title: "a complete 16385-byte first frame is rejected with E_HANDSHAKE_TOO_LARGE",
    reqs: ["QWH-HELLO-010"],
    steps: [send(hdr(16385) + L.fill(16385, 0x20)), rejectClose("E_HANDSHAKE_TOO_LARGE")],
  }),
);
server.push(
  srv("too-large-despite-big-max", {
    title: "receive maximum 1 MiB: the hello still may not exceed 16384 bytes",
    reqs: ["QWH-HELLO-010"],
    config: S({ maxFrameLength: 1048576 }),
    steps: [send(hdr(20000)), rejectClose("E_HANDSHAKE_TOO_LARGE")],
  }),
);
server.push(
  srv("small-max-does-not-limit-hello", {
    title: "receive maximum 10: a 50-byte hello is still read (the handshake limit applies, not the maximum)",
    reqs: ["QWH-HELLO-010"],
    config: S({ maxFrameLength: 10 }),
    steps: [send(helloFrame(["control"])), acc(["control"], { maxFrameLength: 10 })],
  }),
);
server.push(
  srv("too-large-header-byte-by-byte", {
    title: "header 00004001 sent byte by byte: rejected once its 4th byte is in",
    reqs: ["QWH-HELLO-010", "QWH-FRAME-008"],
    steps: [sendSlowly(hdr(16385), 40), rejectClose("E_HANDSHAKE_TOO_LARGE")],
  }),
);
server.push(
  srv("hello-byte-by-byte", {
    title: "a hello sent one byte at a time is read whole",
    reqs: ["QWH-FRAME-008", "QWH-HELLO-011"],
    steps: [sendSlowly(helloFrame(), 2), acc()],
  }),
);
server.push(
  srv("hello-in-chunks-of-5", {
    title: "a hello sent in 5-byte pieces is read whole",
    reqs: ["QWH-FRAME-008"],
    steps: [sendSlowly(helloFrame(), 3, 5), acc()],
  }),
);

// ---------------------------------------------------------------- what the client sends
client.push(
  cli("first-frame-is-hello", {
    title: "the client's first bytes are a framed v1 hello with type, qwh 1.0 and features",
    reqs: ["QWH-HELLO-001", "QWH-HELLO-003", "QWH-HELLO-004", "QWH-HELLO-005"],
    steps: [expectHello({ type: "handshake", qwh: QWH, features: ["control"] }), silence()],
  }),
);
client.push(
  cli("no-control-offered", {
    title: 'a client configured without control offers "features":[]',
    reqs: ["QWH-HELLO-005", "QWH-HELLO-018"],
    cfg: { features: [] },
    steps: [expectHello({ type: "handshake", qwh: QWH, features: [] }), silence()],
  }),
);
client.push(
  cli("announces-max-frame-length", {
    title: "a client with receive maximum 1000 announces it",
    reqs: ["QWH-HELLO-017", "QWH-HELLO-008"],
    cfg: { maxFrameLength: 1000 },
    steps: [expectHello({ type: "handshake", features: ["control"], maxFrameLength: 1000 }), silence()],
  }),
);
client.push(
  cli("announces-max-frame-length-zero", {
    title: "a client with receive maximum 0 announces it",
    reqs: ["QWH-HELLO-017"],
    cfg: { maxFrameLength: 0 },
    steps: [expectHello({ type: "handshake", features: ["control"], maxFrameLength: 0 }), silence()],
  }),
);
client.push(
  cli("announces-max-frame-length-large", {
    title: "a client with receive maximum 2147483647 announces it",
    reqs: ["QWH-HELLO-017"],
    cfg: { maxFrameLength: 2147483647 },
    steps: [expectHello({ type: "handshake", features: ["control"], maxFrameLength: 2147483647 }), silence()],
  }),
);
client.push(
  cli("sends-version", {
    title: 'a client with an application version sends it as "version"',
    reqs: ["QWH-HELLO-006", "QWH-HELLO-001"],
    cfg: { protocolVersion: "2.1.0" },
    steps: [expectHello({ type: "handshake", features: ["control"], version: "2.1.0" }), silence()],
  }),
);
client.push(
  cli("sends-tags", {
    title: 'a client with tags sends them as "tags"',
    reqs: ["QWH-HELLO-007"],
    cfg: { tags: { service: "a", n: 1 } },
    steps: [expectHello({ type: "handshake", features: ["control"], tags: { service: "a", n: 1 } }), silence()],
  }),
);
client.push(
  cli("hello-before-anything", {
    title: "a client with queued messages sends its hello first and nothing else",
    reqs: ["QWH-HELLO-001", "QWH-STATE-001"],
    cfg: { messages: [utf8("m")] },
    steps: [expectHello({ type: "handshake", features: ["control"] }), silence(200)],
  }),
);
client.push(
  cli("never-offers-resume", {
    title: 'a QWH/1.0 client offers exactly its configured features, never "resume"',
    reqs: ["QWH-HELLO-018"],
    steps: [expectHello({ type: "handshake", features: ["control"] }), silence()],
  }),
);

// The adapter contract (spec Appendix D.3): a refused handshake gets a "rejected" line and then a
// "closed" line like every other connection; the hello-info scenario's message.
server.push(
  srv("rejected-then-closed-event", {
    title:
      "a hello that is not JSON: reject E_INVALID_HANDSHAKE, then the serve process prints rejected and a closed line (0 messages, error E_INVALID_HANDSHAKE)",
    reqs: ["QWH-HELLO-011"],
    description: "Adapter contract (Appendix D.3): every connection ends with a closed line, a refused one too, after its rejected line.",
    steps: [
      send(frame(utf8("{"))),
      { expectServerEvent: { match: { event: "rejected", code: "E_INVALID_HANDSHAKE" } } },
      { expectServerEvent: { match: { event: "closed", messages: 0, bytes: 0, error: "E_INVALID_HANDSHAKE" } } },
      rejectClose("E_INVALID_HANDSHAKE"),
    ],
  }),
);
server.push(
  srv("hello-info-message", {
    title:
      "scenario hello-info: the first message is the JSON of what the application was given (profile, version, tags, negotiated features, maxFrameLength, signed)",
    reqs: ["QWH-HELLO-007"],
    description: "Adapter contract (Appendix D.3): the hello-info message's members and values.",
    config: S({ scenario: "hello-info" }),
    steps: [
      send(helloFrame(["control"], { version: "3.1.4", tags: { service: "cases", shard: 7 }, maxFrameLength: 65536 })),
      expectAccept({ type: "accept", features: ["control"] }),
      L.expectFrame({
        kind: "data",
        json: {
          profile: "v1",
          version: "3.1.4",
          tags: { service: "cases", shard: 7 },
          features: ["control"],
          maxFrameLength: 65536,
          signed: false,
        },
      }),
    ],
  }),
);

export default {
  area: A,
  description:
    "The hello (spec sections 7.1, 7.2, 4.4): strict JSON, every member's constraints, the handshake limit on the header, and the client's hello.",
  server,
  client,
};
