// neg: negotiation (spec section 8): QWH version, features, application version, maximum, order of checks.
import * as L from "../lib.mjs";
const { mk, send, expectAccept, expectData, rejectClose, silence, utf8, frame, jsonFrame, hello, helloFrame, pattern } = L;

const A = "neg";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const hv = (x) => hello(["control"], x);
const acc = (x = {}) => expectAccept({ type: "accept", ...x });

const server = [];
const client = [];

// QWH version
for (const [v, want] of [
  ["1.0", "1.0"],
  ["1.3", "1.0"],
  ["1.10", "1.0"],
  ["1.9999", "1.0"],
]) {
  server.push(
    srv(`qwh-${v.replace(".", "-")}-accepted`, {
      title: `a hello with qwh ${v} is accepted with qwh ${want}`,
      reqs: ["QWH-NEG-002"],
      steps: [send(jsonFrame(hv({ qwh: v }))), acc({ qwh: want })],
    }),
  );
}
for (const v of ["2.0", "0.9", "0.0", "10.0", "11.0", "9999.9999"]) {
  server.push(
    srv(`qwh-${v.replace(".", "-")}-rejected`, {
      title: `a hello with qwh ${v} (another major) is rejected with E_UNSUPPORTED_VERSION`,
      reqs: ["QWH-NEG-001"],
      steps: [send(jsonFrame(hv({ qwh: v }))), rejectClose("E_UNSUPPORTED_VERSION")],
    }),
  );
}
server.push(
  srv("qwh-2-0-reject-lists-versions", {
    title: 'the E_UNSUPPORTED_VERSION reject lists the versions the server speaks (qwh ["1.0"])',
    reqs: ["QWH-NEG-011"],
    level: "SHOULD",
    description: "Checks QWH-NEG-011 (the rejection itself is QWH-NEG-001, checked by the cases above).",
    steps: [
      send(jsonFrame(hv({ qwh: "2.0" }))),
      L.expectFrame({ kind: "reject", json: { type: "reject", code: "E_UNSUPPORTED_VERSION", qwh: ["1.0"] } }),
    ],
  }),
);
server.push(
  srv("qwh-2-0-with-unknown-shape", {
    title: "a 2.0 hello with members 1.0 does not know is still answered with E_UNSUPPORTED_VERSION",
    reqs: ["QWH-NEG-001", "QWH-HELLO-009"],
    steps: [send(jsonFrame(hv({ qwh: "2.0", "x-v2": { anything: [1] } }))), rejectClose("E_UNSUPPORTED_VERSION")],
  }),
);

// Features
const FEAT = [
  ["control-offered-enabled", ["control"], ["control"], {}, "control offered and enabled: listed"],
  ["control-offered-disabled", ["control"], [], { features: [] }, "control offered, not enabled on the server: not listed"],
  ["nothing-offered", [], [], {}, "nothing offered: nothing listed"],
  ["resume-offered", ["resume"], [], {}, "resume offered: never listed by a 1.0 server"],
  ["resume-and-control-offered", ["resume", "control"], ["control"], {}, "resume and control offered: control only"],
  ["unknown-and-control-offered", ["x-zip", "control", "x-fast"], ["control"], {}, "unknown features around control: control only"],
];
for (const [name, offer, listed, x, title] of FEAT) {
  const reqs = name.startsWith("resume") ? ["QWH-NEG-004", "QWH-NEG-003"] : ["QWH-NEG-003", "QWH-ACCEPT-003"];
  server.push(srv(`features-${name}`, { title, reqs, config: S(x), steps: [send(helloFrame(offer)), acc({ features: listed })] }));
}

// Application version (server configured with one)
const APP = [
  // server version, hello version (undefined = absent), compatible?
  ["1.2.0", "1.0.7", true],
  ["1.2.0", "1.2.0", true],
  ["1.2.0", "1", true],
  ["1.2.0", "01.5", true],
  ["1.2.0", "2.0.0", false],
  ["1.2.0", "10.0", false],
  ["1.2.0", "1a.0", false],
  ["1.2.0", "v1.2.0", false],
  ["1.2.0", undefined, false],
  ["10", "10.4", true],
  ["10", "1.0", false],
  ["v2", "v2", true],
  ["v2", "V2", false],
  ["v2", "2.0", false],
  ["2024-01", "2024-01", true],
  ["2024-01", "2024-02", false],
];
const slug = (s) => (s === undefined ? "none" : s.replace(/[A-Z]/g, (c) => "up" + c.toLowerCase()).replace(/[^a-z0-9.]+/g, "_"));
for (const [sv, cv, ok] of APP) {
  const name = `app-version-${slug(sv)}-vs-${slug(cv)}`;
  const h = jsonFrame(hv(cv === undefined ? {} : { version: cv }));
  const title = `server version ${sv}, hello ${cv === undefined ? "without version" : `version ${cv}`}: ${ok ? "accepted" : "rejected with E_VERSION_MISMATCH"}`;
  server.push(
    srv(name, {
      title,
      reqs: ["QWH-NEG-005", "QWH-NEG-009"],
      config: S({ protocolVersion: sv }),
      steps: [send(h), ok ? acc() : rejectClose("E_VERSION_MISMATCH")],
    }),
  );
}
server.push(
  srv("app-version-none-accepts-any", {
    title: "a server without an application version accepts any hello version",
    reqs: ["QWH-NEG-005"],
    steps: [send(jsonFrame(hv({ version: "77.0-weird" }))), acc()],
  }),
);

// The maximum (NEG-006): the server never sends more than the client announced.
server.push(
  srv("respects-client-max", {
    title: "client maximum 10: the server does not echo an 11-byte message, and still echoes a 3-byte one",
    reqs: ["QWH-NEG-006", "QWH-FRAME-007"],
    steps: [
      send(helloFrame(["control"], { maxFrameLength: 10 })),
      acc(),
      send(frame(pattern(11)) + frame(pattern(3))),
      expectData(pattern(3)),
      silence(),
    ],
  }),
);
server.push(
  srv("respects-client-max-zero", {
    title: "client maximum 0: only empty messages come back",
    reqs: ["QWH-NEG-006", "QWH-FRAME-007"],
    steps: [send(helloFrame(["control"], { maxFrameLength: 0 })), acc(), send(frame("61") + frame("")), expectData(""), silence()],
  }),
);
server.push(
  srv("respects-client-max-own-messages", {
    title: "client maximum 4: of the server's own messages (5 bytes, 4 bytes) only the second is sent",
    reqs: ["QWH-NEG-006", "QWH-FRAME-007"],
    config: S({ messages: [pattern(5), pattern(4)] }),
    steps: [send(helloFrame(["control"], { maxFrameLength: 4 })), acc(), expectData(pattern(4)), silence()],
  }),
);
server.push(
  srv("own-max-whatever-client-says", {
    title: "the accept carries the server's maximum (64) even when the client announced 2147483647",
    reqs: ["QWH-NEG-006"],
    config: S({ maxFrameLength: 64 }),
    steps: [send(helloFrame(["control"], { maxFrameLength: 2147483647 })), acc({ maxFrameLength: 64 })],
  }),
);

// Policy
server.push(
  srv("policy-rejects", {
    title: "a policy that refuses the hello: reject E_POLICY_REJECTED",
    reqs: ["QWH-NEG-008"],
    config: S({ policy: "reject" }),
    steps: [send(helloFrame()), rejectClose("E_POLICY_REJECTED")],
  }),
);
server.push(
  srv("policy-throws", {
    title: "a policy hook that fails to decide (throws): reject E_POLICY_REJECTED",
    reqs: ["QWH-NEG-008"],
    config: S({ policy: "throw" }),
    steps: [send(helloFrame()), rejectClose("E_POLICY_REJECTED")],
  }),
);
server.push(
  srv("policy-slow-then-accepts", {
    title: "a policy that takes 200 ms, then accepts: the accept follows",
    reqs: ["QWH-NEG-007"],
    config: S({ verifyDelayMs: 200 }),
    steps: [send(helloFrame()), acc({ features: ["control"] })],
  }),
);

// Order of checks (the first failing check decides the code)
const ORDER = [
  [
    "too-large-beats-invalid",
    L.hdr(16385) + L.fill(10, 0x7b),
    {},
    "E_HANDSHAKE_TOO_LARGE",
    "a 16385-byte frame of garbage: too large comes first",
  ],
  [
    "json-beats-version",
    frame(utf8('{"type":"handshake","qwh":"2.0","features":[],"features":[]}')),
    {},
    "E_INVALID_HANDSHAKE",
    "duplicate names and qwh 2.0: strict JSON (step 2) before the version (step 5)",
  ],
  [
    "shape-beats-version",
    jsonFrame(hv({ qwh: "2.0", maxFrameLength: -5 })),
    {},
    "E_INVALID_HANDSHAKE",
    "an invalid maxFrameLength and qwh 2.0: shape (step 3) before the version (step 5)",
  ],
  [
    "shape-beats-legacy",
    jsonFrame({ type: "handshake", version: 3 }),
    {},
    "E_INVALID_HANDSHAKE",
    "a malformed 0.3 hello on a listener without legacy: shape (step 3) before profile (step 4)",
  ],
  [
    "legacy-beats-app-version",
    jsonFrame({ type: "handshake", version: "9.0.0" }),
    { protocolVersion: "1.0.0" },
    "E_LEGACY_NOT_ALLOWED",
    "a 0.3 hello with an incompatible version: profile (step 4) before application version (step 7)",
  ],
  [
    "version-beats-framing",
    jsonFrame(hello(["raw"], { qwh: "2.0" })),
    {},
    "E_UNSUPPORTED_VERSION",
    "qwh 2.0 and raw offered to a framed server: version (step 5) before framing (step 6)",
  ],
  [
    "framing-beats-app-version",
    jsonFrame(hello(["raw"], { version: "9.0" })),
    { protocolVersion: "1.0" },
    "E_FRAMING_MISMATCH",
    "raw offered and an incompatible version: framing (step 6) before application version (step 7)",
  ],
  [
    "app-version-beats-tls-tags",
    jsonFrame(hv({ version: "9.0", tags: { tlsAlpn: "x" } })),
    { protocolVersion: "1.0" },
    "E_VERSION_MISMATCH",
    "incompatible version and a TLS tag without TLS: application version (step 7) before TLS tags (step 8)",
  ],
  [
    "tls-tags-beat-signature",
    jsonFrame(hv({ tags: { tlsAlpn: "x" } })),
    { requireSignature: true },
    "E_TLS_PIN_MISMATCH",
    "a TLS tag without TLS on a server requiring signatures: TLS tags (step 8) before the signature (step 9)",
  ],
  [
    "app-version-beats-signature",
    jsonFrame(hv({ version: "9.0" })),
    { protocolVersion: "1.0", requireSignature: true },
    "E_VERSION_MISMATCH",
    "incompatible version, no sig, signatures required: step 7 before step 9",
  ],
  [
    "signature-beats-policy",
    jsonFrame(hv({})),
    { requireSignature: true, policy: "reject" },
    "E_SIGNATURE_REQUIRED",
    "no sig on a server requiring one, and a refusing policy: step 9 before step 10",
  ],
  [
    "app-version-beats-policy",
    jsonFrame(hv({ version: "9.0" })),
    { protocolVersion: "1.0", policy: "reject" },
    "E_VERSION_MISMATCH",
    "incompatible version and a refusing policy: step 7 before step 10",
  ],
];
for (const [name, bytes, x, code, title] of ORDER) {
  server.push(srv(`order-${name}`, { title, reqs: ["QWH-NEG-007"], config: S(x), steps: [send(bytes), rejectClose(code)] }));
}

export default {
  area: A,
  description:
    "Negotiation (spec section 8): QWH version, features, application version, maximum frame length, policy and the order of checks.",
  server,
  client,
};
