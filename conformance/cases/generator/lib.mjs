// Helpers of the wire-case generator: bytes, frames, hellos, steps and case assembly.
// Everything is built by construction from tables; no hex is typed by hand except short
// deliberately malformed byte strings, which carry a comment.
import { createPrivateKey, createPublicKey, sign as edSign } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const here = dirname(fileURLToPath(import.meta.url));
export const casesDir = join(here, "..");
export const repoDir = join(here, "..", "..", "..");

// ------------------------------------------------------------------ bytes
/** Lowercase hex of a Buffer or of a JS string's UTF-8 bytes. */
export const hex = (x) => (typeof x === "string" ? Buffer.from(x, "utf8") : Buffer.from(x)).toString("hex");
/** UTF-8 hex of a string (refuses lone surrogates: use raw hex for those). */
export function utf8(s) {
  if (!s.isWellFormed()) throw new Error("utf8: lone surrogate in " + JSON.stringify(s));
  return Buffer.from(s, "utf8").toString("hex");
}
export const byteLen = (h) => h.length / 2;
/** n bytes of the counting pattern start, start+1, ... (mod 256). */
export function pattern(n, start = 0) {
  let s = "";
  for (let i = 0; i < n; i++) s += ((start + i) & 0xff).toString(16).padStart(2, "0");
  return s;
}
/** n bytes of one value. */
export const fill = (n, byte = 0x61) => byte.toString(16).padStart(2, "0").repeat(n);
/** 4-byte big-endian header value. */
export function hdr(h) {
  if (!Number.isInteger(h) || h < 0 || h > 0xffffffff) throw new Error("hdr: out of range " + h);
  return h.toString(16).padStart(8, "0");
}
/** A data frame (or handshake frame): header L then the payload. */
export const frame = (payloadHex) => hdr(byteLen(payloadHex)) + payloadHex;
/** A frame whose payload is the UTF-8 of a string. */
export const textFrame = (s) => frame(utf8(s));
/** A frame whose payload is JSON.stringify(obj). */
export const jsonFrame = (obj) => frame(utf8(JSON.stringify(obj)));
/** A control frame: header 0x80000000 | (1 + body), the type byte, the body. */
export function ctrl(type, bodyHex = "") {
  return hdr((0x80000000 | (1 + byteLen(bodyHex))) >>> 0) + type.toString(16).padStart(2, "0") + bodyHex;
}
export const PING = 0x01;
export const PONG = 0x02;
export const CLOSE = 0x03;
export const ping = (body = "") => ctrl(PING, body);
export const pong = (body = "") => ctrl(PONG, body);
/** A CLOSE frame with the RFC 8785 body {"code","reason"?}. */
export const closeFrame = (code, reason) => ctrl(CLOSE, utf8(jcs(reason === undefined ? { code } : { code, reason })));
export const closeBody = (code, reason) => utf8(jcs(reason === undefined ? { code } : { code, reason }));

// ------------------------------------------------------------------ JSON
// RFC 8785 for strict-JSON data (safe integers only): the one copy in conformance/lib.
import { jcs } from "../../lib/jcs.mjs";
export { jcs };

// ------------------------------------------------------------------ Ed25519 from fixed seeds
const PKCS8_PREFIX = "302e020100300506032b657004220420";
export function edKey(seedHex) {
  const privateKey = createPrivateKey({ key: Buffer.from(PKCS8_PREFIX + seedHex, "hex"), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const pub = spki.subarray(spki.length - 32);
  return { seedHex, privateKey, publicB64: pub.toString("base64url"), publicHex: pub.toString("hex") };
}
export const edSignHex = (key, msgHex) => edSign(null, Buffer.from(msgHex, "hex"), key.privateKey).toString("hex");
export const SIG_PREFIX = utf8("QWH/1 hello\n");

// ------------------------------------------------------------------ hellos and answers
export const QWH = "1.0";
/** A v1 hello object (member order: type, qwh, features, then extra). */
export const hello = (features = ["control"], extra = {}) => ({ type: "handshake", qwh: QWH, features, ...extra });
export const helloFrame = (features = ["control"], extra = {}) => jsonFrame(hello(features, extra));
export const DEFAULT_MAX = 4194304;
export const accept = (features = ["control"], extra = {}) => ({
  type: "accept",
  qwh: QWH,
  features,
  maxFrameLength: DEFAULT_MAX,
  ...extra,
});
export const acceptFrame = (features = ["control"], extra = {}) => jsonFrame(accept(features, extra));
export const reject = (code, extra = {}) => ({ type: "reject", code, ...extra });
export const rejectFrame = (code, extra = {}) => jsonFrame(reject(code, extra));

// ------------------------------------------------------------------ steps
export const send = (h, comment) => (comment ? { send: h, comment } : { send: h });
export const sendSlowly = (h, delayMs, chunkSize, comment) => {
  const s = { sendSlowly: h, delayMs };
  if (chunkSize !== undefined && chunkSize !== 1) s.chunkSize = chunkSize;
  if (comment) s.comment = comment;
  return s;
};
export const expectBytes = (h, withinMs) => (withinMs ? { expect: h, withinMs } : { expect: h });
export const expectFrame = (m, comment) => (comment ? { expectFrame: m, comment } : { expectFrame: m });
export const expectData = (payloadHex, withinMs) => expectFrame({ kind: "data", hex: payloadHex, ...(withinMs ? { withinMs } : {}) });
export const expectDataLength = (length, withinMs) => expectFrame({ kind: "data", length, ...(withinMs ? { withinMs } : {}) });
export const expectCtrl = (controlType, bodyHex, extra = {}) =>
  expectFrame({ kind: "control", controlType, ...(bodyHex !== undefined ? { hex: bodyHex } : {}), ...extra });
export const expectPong = (bodyHex) => expectCtrl(PONG, bodyHex);
export const expectAccept = (json) => expectFrame({ kind: "accept", json });
export const expectReject = (code) => expectFrame({ kind: "reject", json: { type: "reject", code } });
export const expectHello = (json) => expectFrame({ kind: "hello", json });
/** The implementation closes: code (reject/CLOSE code), via (reject | close | none). */
export function expectClose(opts = {}) {
  const c = { withinMs: opts.withinMs ?? FAST };
  if (opts.code) c.code = opts.code;
  if (opts.via) c.via = opts.via;
  return opts.comment ? { expectClose: c, comment: opts.comment } : { expectClose: c };
}
export const rejectClose = (code, withinMs) => expectClose({ code, via: "reject", withinMs });
export const ctrlClose = (code, withinMs) => expectClose({ code, via: "close", withinMs });
export const silentClose = (withinMs) => expectClose({ via: "none", withinMs });
export const silence = (ms = QUIET, comment) => (comment ? { expectSilence: ms, comment } : { expectSilence: ms });
export const wait = (ms) => ({ wait: ms });
export const closeWrite = (comment) => (comment ? { closeWrite: true, comment } : { closeWrite: true });

/** Time allowed for a reaction that should be immediate. */
export const FAST = 1000;
/** How long "nothing happens" is watched. */
export const QUIET = 200;
/** Handshake timeout used by timeout cases (small so the suite stays fast). */
export const HS_TIMEOUT = 300;

// ------------------------------------------------------------------ requirements
const reqFile = JSON.parse(readFileSync(join(repoDir, "spec", "requirements.json"), "utf8"));
export const REQUIREMENTS = new Map(reqFile.requirements.map((r) => [r.id, r]));
/** MUST / SHOULD family of a requirement level. */
export const family = (level) => (level.startsWith("MUST") ? "MUST" : level.startsWith("SHOULD") ? "SHOULD" : "MAY");

// ------------------------------------------------------------------ cases
/**
 * Assemble one case. r: requirement ids (the first ones are what the case proves). Checks ids,
 * level, and that a role-specific requirement matches the role.
 */
export function mk(
  area,
  role,
  name,
  { title, reqs, level = "MUST", config = {}, steps, description, timeoutMs, feature, autoPong, transport, tlsPeer },
) {
  if (!Array.isArray(reqs) || reqs.length === 0) throw new Error(`${area}/${name}: no requirements`);
  for (const id of reqs) {
    const r = REQUIREMENTS.get(id);
    if (!r) throw new Error(`${area}/${role}/${name}: unknown requirement ${id}`);
    if (family(r.level) !== level && !(level === "SHOULD" && /\bSHOULD\b/.test(r.text)))
      throw new Error(`${area}/${role}/${name}: ${id} is ${r.level}, case level ${level}`);
    if (r.role !== "both" && r.role !== role) throw new Error(`${area}/${role}/${name}: ${id} binds the ${r.role}, case role ${role}`);
  }
  const c = { id: `${area}/${role}/${name}`, title };
  if (description) c.description = description;
  c.requirements = [...new Set(reqs)];
  c.role = role;
  c.level = level;
  if (feature) c.feature = feature;
  c.config = config;
  if (timeoutMs) c.timeoutMs = timeoutMs;
  if (transport) c.transport = transport;
  if (tlsPeer) c.tlsPeer = tlsPeer;
  if (autoPong) c.autoPong = true;
  c.steps = steps;
  return c;
}

// Preludes ----------------------------------------------------------------
/** Server role: send the hello and expect the accept (features = what the accept must list). */
export function open(features = ["control"], opts = {}) {
  const h = opts.helloFrame ?? helloFrame(opts.offer ?? features, opts.helloExtra ?? {});
  return [send(h), expectAccept({ type: "accept", qwh: QWH, features, ...(opts.acceptJson ?? {}) })];
}
/** Client role: expect the hello, answer with an accept. */
export function clientOpen(features = ["control"], opts = {}) {
  return [
    expectHello({ type: "handshake", qwh: QWH, features: opts.offer ?? features, ...(opts.helloJson ?? {}) }),
    send(opts.acceptFrame ?? acceptFrame(features, opts.acceptExtra ?? {})),
  ];
}

/** Client role: the adapter's connect result must carry these members (error, closeCode, received...). */
export const result = (x, withinMs) => ({ expectResult: withinMs ? { ...x, withinMs } : x });
/**
 * Append an expectResult step to client cases by name (the part of the id after "area/client/").
 * table: name -> result members. Throws on a name that matches no case, so tables stay in sync.
 */
export function addResults(list, table) {
  for (const [name, x] of Object.entries(table)) {
    const c = list.find((k) => k.id.endsWith(`/client/${name}`));
    if (!c) throw new Error(`addResults: no client case ${name}`);
    c.steps.push(result(x));
    if (x.requirements) throw new Error("addResults: requirements belong to the case");
  }
}

/** The same steps on connection `conn` (server role: a second connection to the same server). */
export const on = (conn, steps) => steps.map((s) => ({ ...s, conn }));
