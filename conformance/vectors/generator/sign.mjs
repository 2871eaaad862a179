// Signed hellos built by construction: keys from fixed seeds, signatures over the bytes of
// QWH-SIG-002 (or deliberately over something else, for the negative vectors).
import { createPublicKey, verify as edVerify } from "node:crypto";
import { b64url, edKey, edSignB64, jcs, pattern, SIG_PREFIX_HEX, unhex, utf8hex } from "./util.mjs";

/** RFC 8032 section 7.1 TEST 1 key (the spec's worked example) and two more fixed keys. */
export const KA = edKey("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
export const KB = edKey(pattern(32, 0x20));
export const KC = edKey(pattern(32, 0x77));
export const NOW = 1764028800000; // 2025-11-25T00:00:00Z, as in the spec's worked example
export const NONCE16 = pattern(16, 0x00); // 000102..0f
export const EXPORTER1 = pattern(32, 0xe0);
export const EXPORTER2 = pattern(32, 0x51);

const canonicalB64 = (s) => /^[A-Za-z0-9_-]*$/.test(s) && s.length % 4 !== 1 && b64url(Buffer.from(s, "base64url")) === s;

/**
 * A hello carrying a sig. Options: key (whose public key goes into sig.key), signer (whose private
 * key signs, default key), nonceHex, ts, alg, cb, exporterHex (appended when cb is "tls-exporter",
 * or when forceExporter), signedOverride(canonicalSignedHex, obj) -> the hex actually signed.
 */
export function signHello(hello, o = {}) {
  const key = o.key ?? KA;
  const sig = {
    alg: o.alg ?? "ed25519",
    key: o.keyText ?? key.publicB64,
    nonce: o.nonceText ?? b64url(unhex(o.nonceHex ?? NONCE16)),
    ts: o.ts ?? NOW,
  };
  if (o.cb !== undefined) sig.cb = o.cb;
  if (o.extraSig) Object.assign(sig, o.extraSig);
  const obj = { ...hello, sig };
  let signedHex = SIG_PREFIX_HEX + utf8hex(jcs(obj)) + (o.cb === "tls-exporter" || o.forceExporter ? o.exporterHex : "");
  if (o.signedOverride) signedHex = o.signedOverride(signedHex, obj);
  const value = edSignB64(o.signer ?? key, signedHex);
  return { ...hello, sig: { ...sig, value } };
}

/** The signed bytes a verifier builds from a received hello object (QWH-SIG-002), or undefined. */
export function expectedSignedHex(obj, tls) {
  const sig = { ...obj.sig };
  delete sig.value;
  const stripped = { ...obj, sig };
  if (sig.cb === "tls-exporter" && !tls) return undefined;
  return SIG_PREFIX_HEX + utf8hex(jcs(stripped)) + (sig.cb === "tls-exporter" ? tls.exporterHex : "");
}

/** Self-check only: does value verify under key over signedHex (lenient base64url decoding)? */
export function verifies(obj, signedHex) {
  if (signedHex === undefined) return false;
  try {
    const pub = createPublicKey({
      key: Buffer.concat([unhex("302a300506032b6570032100"), Buffer.from(obj.sig.key, "base64url")]),
      format: "der",
      type: "spki",
    });
    return edVerify(null, unhex(signedHex), pub, Buffer.from(obj.sig.value, "base64url"));
  } catch {
    return false;
  }
}

export { canonicalB64 };

/** Make a canonical base64url string non-canonical by setting an unused low bit of its last character. */
export function nonCanonical(s) {
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = A.indexOf(s[s.length - 1]);
  const out = s.slice(0, -1) + A[last | 1];
  if (canonicalB64(out) || Buffer.from(out, "base64url").toString("hex") !== Buffer.from(s, "base64url").toString("hex"))
    throw new Error("nonCanonical");
  return out;
}

/** Serialise a value with members in reverse order, whitespace and \u escapes for non-ASCII (same parsed value). */
export function loose(v, ind = "") {
  const esc = (s) =>
    '"' +
    [...JSON.stringify(s).slice(1, -1)]
      .map((c) =>
        c.codePointAt(0) > 0x7e
          ? [...c].map(() => "").join("") +
            c
              .split("")
              .map((u) => "\\u" + u.charCodeAt(0).toString(16).padStart(4, "0"))
              .join("")
          : c === "/"
            ? "\\/"
            : c,
      )
      .join("") +
    '"';
  if (typeof v === "string") return esc(v);
  if (Array.isArray(v)) return "[ " + v.map((x) => loose(x, ind + "  ")).join(" , ") + " ]";
  if (v && typeof v === "object") {
    const ks = Object.keys(v).reverse();
    return "{\n" + ks.map((k) => ind + "  " + esc(k) + " : " + loose(v[k], ind + "  ")).join(",\n") + "\n" + ind + "}";
  }
  return JSON.stringify(v);
}
