// tls: the TLS tags of a v1 hello checked against the session (spec section 12.3), over plain TCP.
// Cases over TLS need the runner's TLS support and fixed test certificates; see CASE-FORMAT-REQUESTS.md.
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
for (const [name, tags, title] of CASES) server.push(srv(name, { title: `E_TLS_PIN_MISMATCH: ${title}`, reqs: ["QWH-TLS-007"], steps: [send(jsonFrame(hello(["control"], { tags }))), rejectClose("E_TLS_PIN_MISMATCH")] }));
server.push(srv("tls-like-name-not-reserved", { title: "a tag named \"tl\" or \"xtls\" is not reserved: accepted over plain TCP", reqs: ["QWH-TLS-007", "QWH-HELLO-007"], steps: [send(jsonFrame(hello(["control"], { tags: { tl: "x", xtlsAlpn: "y" } }))), expectAccept({ type: "accept" })] }));

export default { area: A, description: "TLS binding (spec section 12): TLS tags are checked against the TLS session, so over plain TCP they fail with E_TLS_PIN_MISMATCH.", server, client };
