// Small byte, text, JSON and Ed25519 helpers shared by the vector modules.
// Everything here builds bytes by construction; nothing decodes QWH frames.
import { createPrivateKey, createPublicKey, sign as edSign } from "node:crypto";

/** Lowercase hex of a Buffer / Uint8Array. */
export const hex = (buf) => Buffer.from(buf).toString("hex");
/** Buffer from lowercase hex. */
export const unhex = (h) => Buffer.from(h, "hex");
/** UTF-8 bytes of a JS string, as hex. Lone surrogates are refused (use raw bytes instead). */
export function utf8hex(s) {
  if (!s.isWellFormed()) throw new Error("utf8hex: string is not well formed: " + JSON.stringify(s));
  return Buffer.from(s, "utf8").toString("hex");
}
/** Concatenate hex strings. */
export const cat = (...parts) => parts.join("");
/** n bytes of a repeated byte value, as hex. */
export const fill = (n, byte = 0x61) => byte.toString(16).padStart(2, "0").repeat(n);
/** n bytes of a counting pattern 00 01 02 .. ff 00 .., as hex. */
export const pattern = (n, start = 0) => {
  let s = "";
  for (let i = 0; i < n; i++) s += ((start + i) & 0xff).toString(16).padStart(2, "0");
  return s;
};
/** Number of bytes in a hex string. */
export const byteLen = (h) => h.length / 2;

// Frame headers, data and control frames: the one copy in conformance/lib.
export { CTRL, ctrlFrame, dataFrame, hdr } from "../../lib/frames.mjs";

/** True when the bytes are valid UTF-8 (a BOM counts as a character). */
export function isUtf8(h) {
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(unhex(h));
    return true;
  } catch {
    return false;
  }
}
/** Text of the bytes, when they are valid UTF-8 (for the informative "text" member). */
export const textOf = (h) => (isUtf8(h) ? new TextDecoder("utf-8", { ignoreBOM: true }).decode(unhex(h)) : undefined);

/** Number of Unicode code points of a well-formed string. */
export const codePoints = (s) => [...s].length;

/** base64url without padding. */
export const b64url = (buf) => Buffer.from(buf).toString("base64url");

// ---------------------------------------------------------------- JCS (RFC 8785)
// RFC 8785 for strict-JSON data (safe integers only): the one copy in conformance/lib.
export { jcs } from "../../lib/jcs.mjs";

// ---------------------------------------------------------------- Ed25519
const PKCS8_PREFIX = "302e020100300506032b657004220420";

/** Ed25519 key pair from a fixed 32-byte seed (hex). */
export function edKey(seedHex) {
  if (seedHex.length !== 64) throw new Error("edKey: seed must be 32 bytes");
  const privateKey = createPrivateKey({ key: unhex(PKCS8_PREFIX + seedHex), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const pub = spki.subarray(spki.length - 32);
  return { privateKey, publicHex: hex(pub), publicB64: b64url(pub) };
}
/** Ed25519 signature (deterministic) of the bytes given as hex, as base64url. */
export const edSignB64 = (key, msgHex) => b64url(edSign(null, unhex(msgHex), key.privateKey));

// Self-check against RFC 8032 section 7.1, TEST 1 (empty message).
{
  const k = edKey("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  if (k.publicHex !== "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a") throw new Error("Ed25519 self-check: public key");
  const sig = Buffer.from(edSignB64(k, ""), "base64url").toString("hex");
  if (
    sig !==
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
  )
    throw new Error("Ed25519 self-check: signature");
}
/** The signed-bytes prefix of QWH-SIG-002. */
export const SIG_PREFIX_HEX = utf8hex("QWH/1 hello\n");
