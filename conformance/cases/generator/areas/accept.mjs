// accept: the server's answer (accept or reject), and how a client processes it.
import * as L from "../lib.mjs";
const {
  mk,
  send,
  sendSlowly,
  expectAccept,
  expectHello,
  silentClose,
  silence,
  closeWrite,
  hdr,
  utf8,
  frame,
  jsonFrame,
  helloFrame,
  accept,
  acceptFrame,
  reject,
  rejectFrame,
  QWH,
} = L;

const A = "accept";
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const cli = (name, o) => mk(A, "client", name, { config: C(), ...o });
const srv = (name, o) => mk(A, "server", name, { config: { scenario: "echo", features: ["control"] }, ...o });
const HELLO = expectHello({ type: "handshake", qwh: QWH, features: ["control"] });
const probe = L.textFrame("probe"); // a data frame sent after the answer: a client that opened echoes it

const server = [];
const client = [];

// ---------------------------------------------------------------- the server's answer
server.push(
  srv("accept-shape", {
    title: "the accept is the first frame: type accept, qwh 1.0, the negotiated features, maxFrameLength",
    reqs: ["QWH-ACCEPT-001", "QWH-ACCEPT-002", "QWH-NEG-006"],
    steps: [
      send(helloFrame()),
      expectAccept({ type: "accept", qwh: QWH, features: ["control"], maxFrameLength: L.DEFAULT_MAX }),
      silence(),
    ],
  }),
);
server.push(
  srv("accept-exactly-one-answer", {
    title: "exactly one answer frame: after the accept nothing more arrives unprompted",
    reqs: ["QWH-ACCEPT-001", "QWH-STATE-002"],
    steps: [send(helloFrame()), expectAccept({ type: "accept" }), silence(300)],
  }),
);
server.push(
  srv("no-feature-not-offered", {
    title: "a server with control enabled does not list it when the client offered nothing",
    reqs: ["QWH-ACCEPT-003", "QWH-NEG-003"],
    steps: [send(helloFrame([])), expectAccept({ type: "accept", features: [] })],
  }),
);
server.push(
  srv("no-feature-not-offered-unknown", {
    title: "offered x-foo only: the accept lists neither control nor x-foo",
    reqs: ["QWH-ACCEPT-003", "QWH-HELLO-012"],
    steps: [send(helloFrame(["x-foo"])), expectAccept({ type: "accept", features: [] })],
  }),
);
server.push(
  srv("reject-then-close", {
    title: "after a reject the server closes and sends nothing more, even when more bytes arrive",
    reqs: ["QWH-ACCEPT-005", "QWH-ACCEPT-004", "QWH-STATE-005"],
    steps: [send(frame(utf8("junk"))), L.expectReject("E_INVALID_HANDSHAKE"), send(helloFrame()), silentClose()],
  }),
);
server.push(
  srv("reject-shape", {
    title: "a reject is type reject with a code matching ^E_[A-Z0-9_]{1,62}$",
    reqs: ["QWH-ACCEPT-004", "QWH-ERR-002"],
    steps: [send(frame(utf8("[]"))), L.expectReject("E_INVALID_HANDSHAKE"), silentClose()],
  }),
);
server.push(
  srv("accept-max-frame-length-configured", {
    title: "the accept carries the server's own receive maximum (1000), whatever the client announced (50)",
    reqs: ["QWH-NEG-006", "QWH-ACCEPT-002"],
    config: { scenario: "echo", features: ["control"], maxFrameLength: 1000 },
    steps: [send(helloFrame(["control"], { maxFrameLength: 50 })), expectAccept({ type: "accept", maxFrameLength: 1000 })],
  }),
);

// ---------------------------------------------------------------- the client opens on a valid accept
const OPENS = [
  [
    "valid-accept-opens",
    acceptFrame(),
    ["QWH-ACCEPT-002", "QWH-STATE-004"],
    "a valid accept opens the connection: a message after it is delivered",
  ],
  [
    "accept-unknown-members",
    jsonFrame(accept(["control"], { "x-ext": { a: [1, 2] }, note: "hi" })),
    ["QWH-ACCEPT-008"],
    "unknown members of the accept are ignored",
  ],
  [
    "accept-with-tags-and-version",
    jsonFrame(accept(["control"], { tags: { region: "eu", n: 3 }, version: "9.9" })),
    ["QWH-ACCEPT-002"],
    "an accept with tags and a version is valid",
  ],
  [
    "accept-member-order",
    frame(utf8('{"maxFrameLength":4194304,"features":["control"],"qwh":"1.0","type":"accept"}')),
    ["QWH-ACCEPT-002"],
    "members of the accept in another order",
  ],
  [
    "accept-whitespace",
    frame(utf8(JSON.stringify(accept(), null, 1))),
    ["QWH-ACCEPT-002", "QWH-HELLO-016"],
    "an accept with JSON whitespace",
  ],
  ["accept-fewer-features", acceptFrame([]), ["QWH-ACCEPT-006"], "an accept listing fewer features than offered (none) is valid"],
  ["accept-max-zero", acceptFrame(["control"], { maxFrameLength: 0 }), ["QWH-ACCEPT-002"], "an accept with maxFrameLength 0 is valid"],
];
for (const [name, acc, reqs, title] of OPENS) {
  // with maxFrameLength 0 the client cannot echo "probe": send an empty probe instead
  const pr = name === "accept-max-zero" ? frame("") : probe;
  client.push(cli(name, { title, reqs, steps: [HELLO, send(acc), send(pr), L.expectBytes(pr)] }));
}
client.push(
  cli("accept-and-data-same-write", {
    title: "a data frame in the same write as the accept is the first message",
    reqs: ["QWH-FRAME-008", "QWH-STATE-004"],
    steps: [HELLO, send(acceptFrame() + probe), L.expectBytes(probe)],
  }),
);
client.push(
  cli("accept-byte-by-byte", {
    title: "an accept sent one byte at a time",
    reqs: ["QWH-FRAME-008", "QWH-ACCEPT-002"],
    steps: [HELLO, sendSlowly(acceptFrame(), 2), send(probe), L.expectBytes(probe)],
  }),
);
{
  const base = JSON.stringify(accept(["control"], { "x-pad": "" }));
  const padded = JSON.stringify(accept(["control"], { "x-pad": "p".repeat(16384 - base.length) }));
  client.push(
    cli("accept-exactly-16384-bytes", {
      title: "an accept of exactly 16384 bytes is read",
      reqs: ["QWH-ACCEPT-010"],
      steps: [HELLO, send(frame(utf8(padded))), send(probe), L.expectBytes(probe)],
    }),
  );
}

// ---------------------------------------------------------------- the client fails on a bad answer
// Each: no frame sent, the connection closed, and the probe sent after the bad answer never echoed.
const FAILS = [
  // [name, answer bytes, reqs, title]
  [
    "answer-too-large-header-only",
    hdr(16385),
    ["QWH-ACCEPT-010"],
    "an answer header 00004001 fails at once (E_HANDSHAKE_TOO_LARGE), before any payload",
  ],
  [
    "answer-bit31-header",
    "80000010",
    ["QWH-ACCEPT-010"],
    "an answer header 80000010 is a length, not a control frame: E_HANDSHAKE_TOO_LARGE",
  ],
  ["answer-is-ping", L.ping(L.pattern(8)), ["QWH-ACCEPT-010"], "a PING before the answer is a 2^31+9-byte first frame"],
  ["answer-not-json", frame(utf8("hi")), ["QWH-ACCEPT-007"], "an answer that is not JSON"],
  ["answer-empty", frame(""), ["QWH-ACCEPT-007"], "an empty answer frame"],
  ["answer-array", frame(utf8("[]")), ["QWH-ACCEPT-007"], "an answer that is a JSON array"],
  [
    "answer-type-unknown",
    jsonFrame({ type: "accepted", qwh: QWH, features: ["control"], maxFrameLength: 1 }),
    ["QWH-ACCEPT-007"],
    'type "accepted"',
  ],
  ["answer-is-hello", helloFrame(), ["QWH-ACCEPT-007"], "the server echoes a hello"],
  [
    "accept-qwh-missing",
    jsonFrame({ type: "accept", features: ["control"], maxFrameLength: 1 }),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    "an accept without qwh",
  ],
  [
    "accept-features-missing",
    jsonFrame({ type: "accept", qwh: QWH, maxFrameLength: 1 }),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    "an accept without features",
  ],
  [
    "accept-max-missing",
    jsonFrame({ type: "accept", qwh: QWH, features: ["control"] }),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    "an accept without maxFrameLength",
  ],
  [
    "accept-max-negative",
    jsonFrame(accept(["control"], { maxFrameLength: -1 })),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    "an accept with maxFrameLength -1",
  ],
  [
    "accept-max-2p31",
    jsonFrame(accept(["control"], { maxFrameLength: 2147483648 })),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    "an accept with maxFrameLength 2^31",
  ],
  [
    "accept-max-float",
    frame(utf8('{"type":"accept","qwh":"1.0","features":["control"],"maxFrameLength":1024.0}')),
    ["QWH-ACCEPT-007", "QWH-HELLO-013"],
    "an accept with maxFrameLength 1024.0",
  ],
  ["accept-qwh-bad-pattern", jsonFrame(accept(["control"], { qwh: "1" })), ["QWH-ACCEPT-007"], 'an accept with qwh "1"'],
  [
    "accept-features-string",
    jsonFrame(accept(["control"], { features: "control" })),
    ["QWH-ACCEPT-007"],
    "an accept whose features is a string",
  ],
  ["accept-features-duplicate", jsonFrame(accept(["control", "control"])), ["QWH-ACCEPT-007"], "an accept listing control twice"],
  [
    "accept-duplicate-names",
    frame(utf8('{"type":"accept","qwh":"1.0","features":[],"features":["control"],"maxFrameLength":4194304}')),
    ["QWH-ACCEPT-007", "QWH-HELLO-014"],
    'an accept with "features" twice',
  ],
  [
    "accept-bom",
    "" + hdr(3 + Buffer.byteLength(JSON.stringify(accept()))) + "efbbbf" + utf8(JSON.stringify(accept())),
    ["QWH-ACCEPT-007", "QWH-HELLO-016"],
    "an accept preceded by a byte order mark",
  ],
  [
    "accept-invalid-utf8",
    frame(utf8('{"type":"accept","qwh":"1.0","features":["control"],"maxFrameLength":4194304,"x":"') + "c0af" + utf8('"}')),
    ["QWH-ACCEPT-007", "QWH-HELLO-015"],
    "an accept with an overlong UTF-8 sequence",
  ],
  [
    "accept-lone-surrogate",
    frame(utf8('{"type":"accept","qwh":"1.0","features":["control"],"maxFrameLength":4194304,"x":"\\udfff"}')),
    ["QWH-ACCEPT-007", "QWH-HELLO-015"],
    "an accept with a lone surrogate escape",
  ],
  [
    "accept-version-empty",
    jsonFrame(accept(["control"], { version: "" })),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    'an accept with version ""',
  ],
  [
    "accept-tags-invalid",
    jsonFrame(accept(["control"], { tags: { "bad name": "x" } })),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-002"],
    "an accept with an invalid tag name",
  ],
  [
    "reject-code-bad-pattern",
    jsonFrame({ type: "reject", code: "bad" }),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-004"],
    "a reject whose code does not match the pattern",
  ],
  ["reject-code-missing", jsonFrame({ type: "reject", reason: "no" }), ["QWH-ACCEPT-007", "QWH-ACCEPT-004"], "a reject without a code"],
  [
    "reject-reason-257",
    jsonFrame(reject("E_INTERNAL", { reason: "r".repeat(257) })),
    ["QWH-ACCEPT-007", "QWH-ACCEPT-004"],
    "a reject with a 257-code-point reason",
  ],
  // version and features of the accept
  [
    "accept-minor-above-offered",
    jsonFrame(accept(["control"], { qwh: "1.1" })),
    ["QWH-ACCEPT-006"],
    "an accept with qwh 1.1 when 1.0 was offered (E_UNSUPPORTED_VERSION)",
  ],
  ["accept-major-2", jsonFrame(accept(["control"], { qwh: "2.0" })), ["QWH-ACCEPT-006"], "an accept with qwh 2.0 (E_UNSUPPORTED_VERSION)"],
  ["accept-major-0", jsonFrame(accept(["control"], { qwh: "0.9" })), ["QWH-ACCEPT-006"], "an accept with qwh 0.9 (E_UNSUPPORTED_VERSION)"],
  [
    "accept-feature-not-offered",
    acceptFrame(["control", "x-extra"]),
    ["QWH-ACCEPT-006"],
    "an accept listing x-extra, which was not offered (E_PROTOCOL_ERROR)",
  ],
  ["accept-raw-not-offered", acceptFrame(["control", "raw"]), ["QWH-ACCEPT-006"], "an accept listing raw, which was not offered"],
  ["accept-resume-not-offered", acceptFrame(["control", "resume"]), ["QWH-ACCEPT-006"], "an accept listing resume"],
];
for (const [name, bytes, reqs, title] of FAILS) {
  client.push(
    cli(name, {
      title: `the client fails without sending a frame: ${title}`,
      reqs: [...new Set([...reqs, "QWH-ERR-004"])],
      steps: [HELLO, send(bytes), send(probe), silentClose()],
    }),
  );
}
client.push(
  cli("accept-control-not-offered", {
    title: "a client offering nothing gets an accept listing control: fails, nothing sent",
    reqs: ["QWH-ACCEPT-006", "QWH-ERR-004"],
    config: C({ features: [] }),
    steps: [expectHello({ type: "handshake", features: [] }), send(acceptFrame(["control"])), send(probe), silentClose()],
  }),
);

// ---------------------------------------------------------------- rejects
const REJECTS = [
  ["reject-known-code", rejectFrame("E_VERSION_MISMATCH"), ["QWH-ACCEPT-009"], "a reject E_VERSION_MISMATCH"],
  [
    "reject-with-reason-and-qwh",
    rejectFrame("E_UNSUPPORTED_VERSION", { reason: "speak 1.0", qwh: ["1.0"] }),
    ["QWH-ACCEPT-009", "QWH-ACCEPT-004"],
    "a reject with reason and a qwh list",
  ],
  [
    "reject-unknown-code",
    rejectFrame("E_SOMETHING_NEW"),
    ["QWH-ACCEPT-008", "QWH-ERR-006"],
    "a reject with a code not in the registry (still a valid reject)",
  ],
  [
    "reject-unknown-members",
    jsonFrame(reject("E_POLICY_REJECTED", { "x-retry-after": 5 })),
    ["QWH-ACCEPT-008"],
    "a reject with an unknown member",
  ],
  [
    "reject-then-data",
    rejectFrame("E_INTERNAL") + probe,
    ["QWH-ACCEPT-009", "QWH-STATE-004"],
    "a reject followed by a data frame in the same write: the data is never delivered",
  ],
];
for (const [name, bytes, reqs, title] of REJECTS) {
  client.push(
    cli(name, {
      title: `the client closes on ${title}, sending nothing`,
      reqs: [...new Set([...reqs, "QWH-ERR-004"])],
      steps: [HELLO, send(bytes), send(probe), silentClose()],
    }),
  );
}
client.push(
  cli("server-closes-before-answer", {
    title: "the server ends the stream after the hello: the client closes without sending anything",
    reqs: ["QWH-ERR-004", "QWH-STATE-001"],
    steps: [HELLO, closeWrite(), silentClose()],
  }),
);
{
  const codeOf = (name) => {
    if (name.startsWith("answer-too-large") || name === "answer-bit31-header" || name === "answer-is-ping") return "E_HANDSHAKE_TOO_LARGE";
    if (["accept-minor-above-offered", "accept-major-2", "accept-major-0"].includes(name)) return "E_UNSUPPORTED_VERSION";
    if (["accept-feature-not-offered", "accept-raw-not-offered", "accept-resume-not-offered"].includes(name)) return "E_PROTOCOL_ERROR";
    return "E_INVALID_HANDSHAKE";
  };
  const table = {};
  for (const [name] of FAILS) table[name] = { error: codeOf(name), received: [] };
  table["accept-control-not-offered"] = { error: "E_PROTOCOL_ERROR", received: [] };
  Object.assign(table, {
    "reject-known-code": { error: "E_VERSION_MISMATCH", received: [] },
    "reject-with-reason-and-qwh": { error: "E_UNSUPPORTED_VERSION", received: [] },
    "reject-unknown-code": { error: "E_SOMETHING_NEW", received: [] },
    "reject-unknown-members": { error: "E_POLICY_REJECTED", received: [] },
    "reject-then-data": { error: "E_INTERNAL", received: [] },
    "server-closes-before-answer": { error: "E_CLOSED", received: [] },
  });
  L.addResults(client, table);
}

export default {
  area: A,
  description:
    "The answer (spec sections 7.3 to 7.5): what the server's accept and reject look like, and how a client processes the first frame it receives.",
  server,
  client,
};
