// tls: the TLS binding (spec section 12): versions, no QWH byte outside TLS, certificate pins on both
// sides, and the TLS tags of a v1 hello checked against the session (tags over plain TCP fail, tags
// the client sends state the session's facts, unverified tags never reach the server application).
// TLS cases use the certificates the runner generates for each run; "@cert-sha256" in a config is
// replaced by the SHA-256 of that certificate (the runner presents it on both sides).
import * as L from "../lib.mjs";
const { mk, send, expectAccept, rejectClose, jsonFrame, hello } = L;

const A = "tls";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const FP = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).toUpperCase().padStart(2, "0")).join(":");
const server = [];
const client = [];
const CASES = [
  ["fingerprint-tag-without-tls", { tlsFingerprint256: FP }, "a hello with tlsFingerprint256 over plain TCP"],
  ["alpn-tag-without-tls", { tlsAlpn: "myproto/1" }, "a hello with tlsAlpn over plain TCP"],
  ["both-tags-without-tls", { tlsFingerprint256: FP, tlsAlpn: "h2" }, "a hello with both TLS tags over plain TCP"],
  ["lowercase-fingerprint-without-tls", { tlsFingerprint256: FP.toLowerCase() }, "a lowercase tlsFingerprint256 over plain TCP"],
  ["fingerprint-with-other-tags", { service: "a", tlsFingerprint256: FP, n: 1 }, "tlsFingerprint256 among ordinary tags over plain TCP"],
];
for (const [name, tags, title] of CASES)
  server.push(
    srv(name, {
      title: `E_TLS_PIN_MISMATCH: ${title}`,
      reqs: ["QWH-TLS-007"],
      steps: [send(jsonFrame(hello(["control"], { tags }))), rejectClose("E_TLS_PIN_MISMATCH")],
    }),
  );
server.push(
  srv("tls-like-name-not-reserved", {
    title: 'a tag named "tl" or "xtls" is not reserved: accepted over plain TCP',
    reqs: ["QWH-TLS-007", "QWH-HELLO-007"],
    steps: [send(jsonFrame(hello(["control"], { tags: { tl: "x", xtlsAlpn: "y" } }))), expectAccept({ type: "accept" })],
  }),
);

// ---------------------------------------------------------------- over TLS
const { open, clientOpen, expectData, textFrame, utf8, helloFrame, acceptFrame, silentClose, expectFrame, expectClose, result } = L;
const T = { transport: "tls" };
const WRONG_PIN = "00".repeat(32);
const echoX = [send(textFrame("x")), expectData(utf8("x"))];
const tlsSrv = (name, o) => srv(name, { ...T, ...o });
const tlsCli = (name, o) =>
  mk(A, "client", name, { ...T, config: { scenario: "mirror", features: ["control"], ...(o.cfg ?? {}) }, ...o, cfg: undefined });

// Versions (QWH-TLS-001): an old peer is refused, TLS 1.2 and 1.3 are served.
server.push(
  tlsSrv("tls11-only-client-refused", {
    title: "a client limited to TLS 1.1 cannot complete a TLS handshake",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { maxVersion: "TLSv1.1" },
    steps: [{ expectTlsRefused: { withinMs: 3000 } }],
  }),
);
server.push(
  tlsSrv("tls10-only-client-refused", {
    title: "a client limited to TLS 1.0 cannot complete a TLS handshake",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { maxVersion: "TLSv1" },
    steps: [{ expectTlsRefused: { withinMs: 3000 } }],
  }),
);
server.push(
  tlsSrv("tls12-client-served", {
    title: "a client limited to TLS 1.2 is served",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" },
    steps: [...open(), ...echoX],
  }),
);
server.push(
  tlsSrv("tls13-client-served", {
    title: "a client limited to TLS 1.3 is served",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { minVersion: "TLSv1.3", maxVersion: "TLSv1.3" },
    steps: [...open(), ...echoX],
  }),
);
client.push(
  tlsCli("tls11-only-server-refused", {
    title: "the client does not complete a TLS handshake with a server limited to TLS 1.1 (E_TLS_HANDSHAKE)",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { maxVersion: "TLSv1.1" },
    cfg: { scenario: "hold" },
    steps: [{ expectTlsRefused: { withinMs: 3000 } }, result({ ok: false, error: "E_TLS_HANDSHAKE" })],
  }),
);
client.push(
  tlsCli("tls10-only-server-refused", {
    title: "the client does not complete a TLS handshake with a server limited to TLS 1.0",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { maxVersion: "TLSv1" },
    cfg: { scenario: "hold" },
    steps: [{ expectTlsRefused: { withinMs: 3000 } }, result({ ok: false, error: "E_TLS_HANDSHAKE" })],
  }),
);
client.push(
  tlsCli("tls12-server-served", {
    title: "the client works with a server limited to TLS 1.2",
    reqs: ["QWH-TLS-001"],
    tlsPeer: { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" },
    steps: [...clientOpen(), ...echoX],
  }),
);

// No QWH byte outside TLS (QWH-TLS-002).
server.push(
  tlsSrv("plain-hello-to-tls-listener", {
    title: "a plain-TCP hello to a TLS listener is not answered with QWH bytes (at most a TLS alert), and the connection closes",
    reqs: ["QWH-TLS-002"],
    tlsPeer: { plain: true },
    steps: [send(helloFrame()), expectClose({ via: "tls-alert", withinMs: 3000 })],
  }),
);
client.push(
  tlsCli("speaks-tls-to-plain-server", {
    title: "a client configured for TLS sends a TLS ClientHello, not a QWH hello, to a plain-TCP server, and never falls back to plain QWH",
    reqs: ["QWH-TLS-002", "QWH-SEC-004"],
    tlsPeer: { plain: true },
    cfg: { scenario: "hold" },
    steps: [
      { expectTlsRecord: { contentType: 22, withinMs: 2000 } },
      send(acceptFrame(), "a plain QWH accept the client must not take"),
      expectClose({ via: "tls-alert", withinMs: 3000 }),
      { expectNoConnection: 300 },
      result({ ok: false, error: "E_TLS_HANDSHAKE" }),
    ],
  }),
);

// Client pins (QWH-TLS-004): checked after the TLS handshake, before any byte.
// TLS 1.2, so that the runner sees the client's handshake complete (in TLS 1.3 the client's last
// handshake flight may be cut by its close, and the runner could not tell the pin check from a TLS failure).
client.push(
  tlsCli("server-pin-mismatch", {
    title: "a server certificate matching no pin: the client closes after the TLS handshake without sending any byte (E_TLS_PIN_MISMATCH)",
    reqs: ["QWH-TLS-004", "QWH-TLS-002"],
    tlsPeer: { maxVersion: "TLSv1.2" },
    cfg: { scenario: "hold", pins: [WRONG_PIN] },
    steps: [silentClose(2000), result({ ok: false, error: "E_TLS_PIN_MISMATCH" })],
  }),
);
client.push(
  tlsCli("server-pin-match", {
    title: "a server certificate matching a pin: the hello follows",
    reqs: ["QWH-TLS-004"],
    cfg: { pins: [WRONG_PIN, "@cert-sha256"] },
    steps: [...clientOpen(), ...echoX],
  }),
);
// Server pins on client certificates (QWH-TLS-005): refused with a reject before the first frame is read.
server.push(
  tlsSrv("client-pin-mismatch", {
    title: "a client certificate matching no pin: reject E_TLS_PIN_MISMATCH before any byte is read",
    reqs: ["QWH-TLS-005", "QWH-LIMIT-004"],
    config: S({ pins: [WRONG_PIN] }),
    steps: [rejectClose("E_TLS_PIN_MISMATCH")],
  }),
);
server.push(
  tlsSrv("client-pin-mismatch-despite-hello", {
    title: "a client certificate matching no pin: a hello sent at once does not change the answer",
    reqs: ["QWH-TLS-005"],
    config: S({ pins: [WRONG_PIN] }),
    steps: [send(helloFrame()), rejectClose("E_TLS_PIN_MISMATCH")],
  }),
);
server.push(
  tlsSrv("client-pin-no-certificate", {
    title: "pins configured and no client certificate presented: reject E_TLS_PIN_MISMATCH",
    reqs: ["QWH-TLS-005", "QWH-LIMIT-004"],
    tlsPeer: { clientCert: false },
    config: S({ pins: ["@cert-sha256"] }),
    steps: [rejectClose("E_TLS_PIN_MISMATCH")],
  }),
);
server.push(
  tlsSrv("client-pin-match", {
    title: "a client certificate matching a pin is served",
    reqs: ["QWH-TLS-005"],
    config: S({ pins: [WRONG_PIN, "@cert-sha256"] }),
    steps: [...open(), ...echoX],
  }),
);

// TLS tags a client sends (QWH-TLS-006): only defined ones, each stating the session's fact.
const tagsOk = (json = {}) => expectFrame({ kind: "hello", tlsTags: true, json: { type: "handshake", qwh: L.QWH, ...json } });
client.push(
  mk(A, "client", "no-tls-tags-over-plain-tcp", {
    title: "over plain TCP the client's hello carries no tls-prefixed tag",
    reqs: ["QWH-TLS-006"],
    config: { scenario: "mirror", features: ["control"], tags: { service: "a" } },
    steps: [tagsOk(), send(acceptFrame()), ...echoX],
  }),
);
client.push(
  tlsCli("tls-tags-state-session", {
    title: "over TLS with a client certificate, every tls tag of the hello states this session's fact",
    reqs: ["QWH-TLS-006"],
    cfg: { tags: { service: "a" } },
    steps: [tagsOk(), send(acceptFrame()), ...echoX],
  }),
);
client.push(
  tlsCli("tls-tags-state-session-alpn", {
    title: "over TLS with ALPN selected, tlsAlpn (if sent) names the selected protocol",
    reqs: ["QWH-TLS-006"],
    tlsPeer: { alpn: ["qwh-test/1"] },
    cfg: { alpn: ["qwh-test/1"] },
    steps: [tagsOk(), send(acceptFrame()), ...echoX],
  }),
);
client.push(
  tlsCli("no-alpn-tag-without-selection", {
    title: "ALPN offered but none selected by the server: the hello carries no tlsAlpn",
    reqs: ["QWH-TLS-006"],
    cfg: { alpn: ["qwh-test/1"] },
    steps: [tagsOk(), send(acceptFrame()), ...echoX],
  }),
);
client.push(
  tlsCli("tls-tags-without-client-cert", {
    title: "over TLS without a client certificate: no tlsFingerprint256 in the hello",
    reqs: ["QWH-TLS-006"],
    tlsPeer: { requestCert: false },
    cfg: { clientCert: false },
    steps: [tagsOk(), send(acceptFrame()), ...echoX],
  }),
);

// Unverified tls tags never reach the server application as facts (QWH-TLS-008): the hello-info
// scenario sends back the tags the application was given.
const INFO = (x = {}) => S({ scenario: "hello-info", ...x });
const infoFrame = (absent, tags) => expectFrame({ kind: "data", json: { tags }, absent });
server.push(
  srv("unknown-tls-tag-not-reported", {
    title: "an unknown tls-prefixed tag in a v1 hello is accepted but not given to the application",
    reqs: ["QWH-TLS-008"],
    config: INFO(),
    steps: [
      send(jsonFrame(hello(["control"], { tags: { app: "y", tlsFoo: "x" } }))),
      expectAccept({ type: "accept" }),
      infoFrame(["tags.tlsFoo"], { app: "y" }),
    ],
  }),
);
server.push(
  tlsSrv("unknown-tls-tag-not-reported-over-tls", {
    title: "over TLS, an unknown tls-prefixed tag is not given to the application",
    reqs: ["QWH-TLS-008"],
    config: INFO(),
    steps: [
      send(jsonFrame(hello(["control"], { tags: { app: "y", tlsSessionId: "abc" } }))),
      expectAccept({ type: "accept" }),
      infoFrame(["tags.tlsSessionId"], { app: "y" }),
    ],
  }),
);
server.push(
  srv("legacy-tls-tags-not-reported", {
    title: "tls-prefixed tags of a 0.3 hello are never given to the application as facts",
    reqs: ["QWH-TLS-008"],
    config: INFO({ allowLegacy: true }),
    steps: [
      send(jsonFrame({ type: "handshake", version: "1.0.0", tags: { app: "y", tlsFingerprint256: FP, tlsAlpn: "h2" } })),
      infoFrame(["tags.tlsFingerprint256", "tags.tlsAlpn"], { app: "y" }),
    ],
  }),
);
// Clients do not send tlsFingerprint256, even over TLS with their certificate requested and presented (QWH-TLS-009).
client.push(
  tlsCli("no-fingerprint-tag-with-client-cert", {
    title: "over TLS with a client certificate requested and presented, the hello carries no tlsFingerprint256",
    reqs: ["QWH-TLS-009"],
    cfg: { tags: { service: "a" } },
    steps: [
      expectFrame({ kind: "hello", json: { type: "handshake", qwh: L.QWH, tags: { service: "a" } }, absent: ["tags.tlsFingerprint256"] }),
      send(acceptFrame()),
      ...echoX,
    ],
  }),
);

export default {
  area: A,
  description:
    "TLS binding (spec section 12): TLS versions, no QWH byte outside TLS, certificate pins, and TLS tags checked against the TLS session (over plain TCP they fail with E_TLS_PIN_MISMATCH).",
  server,
  client,
};
