/**
 * Signed hellos: Ed25519 over "QWH/1 hello\n" || JCS(hello without sig.value)
 * [|| RFC 9266 tls-exporter bytes], with a nonce and a timestamp window so a
 * replayed hello is refused.
 * @packageDocumentation
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from "node:crypto";
import { canonicalJsonBytes } from "./canonical-json.js";
import { DEFAULT_SIGNATURE_WINDOW_MS, SIGNATURE_CONTEXT } from "./constants.js";
import type { WireErrorCode } from "./error-codes.js";
import { isJsonObject, type JsonValue } from "./strict-json.js";

/** The `sig` member of a hello. */
export interface HelloSignature {
  alg: string;
  /** base64url (no padding) raw 32-byte Ed25519 public key. */
  key: string;
  /** base64url (no padding), 16..32 random bytes. */
  nonce: string;
  /** Milliseconds since the Unix epoch when the hello was signed. */
  ts: number;
  /** base64url (no padding) 64-byte signature. */
  value: string;
  /** Channel binding: "tls-exporter" binds the signature to the TLS session. */
  cb?: string;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes strict unpadded base64url (re-encoding must give the same text), or null. */
export function decodeBase64Url(text: string): Buffer | null {
  if (!B64URL.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : null;
}

/**
 * Checks the shape of a `sig` object. Returns the typed signature or a reason
 * (a malformed `sig` makes the hello invalid: E_INVALID_HANDSHAKE).
 */
export function parseSignatureMember(v: JsonValue | undefined): HelloSignature | string {
  if (!isJsonObject(v)) return "sig is not an object";
  const { alg, key, nonce, ts, value, cb } = v;
  if (typeof alg !== "string") return "sig.alg is not a string";
  if (typeof ts !== "number" || ts < 0) return "sig.ts is not a non-negative integer";
  const keyBytes = typeof key === "string" ? decodeBase64Url(key) : null;
  if (keyBytes?.length !== 32) return "sig.key is not 32 bytes of base64url";
  const nonceBytes = typeof nonce === "string" ? decodeBase64Url(nonce) : null;
  if (!nonceBytes || nonceBytes.length < 16 || nonceBytes.length > 32) return "sig.nonce is not 16..32 bytes of base64url";
  const valueBytes = typeof value === "string" ? decodeBase64Url(value) : null;
  if (valueBytes?.length !== 64) return "sig.value is not 64 bytes of base64url";
  if (cb !== undefined && typeof cb !== "string") return "sig.cb is not a string";
  const sig: HelloSignature = { alg, key: key as string, nonce: nonce as string, ts, value: value as string };
  if (cb !== undefined) sig.cb = cb;
  return sig;
}

/** The bytes a hello signature covers. `hello` is the whole hello object as received or built. */
export function helloSignedBytes(hello: { [key: string]: JsonValue }, exporter?: Uint8Array | null): Buffer {
  const sig = hello["sig"];
  if (!isJsonObject(sig)) throw new TypeError("hello has no sig object");
  const { value: _value, ...unsignedSig } = sig;
  const copy: { [key: string]: JsonValue } = {};
  for (const k of Object.keys(hello)) {
    Object.defineProperty(copy, k, { value: k === "sig" ? unsignedSig : hello[k], enumerable: true, writable: true, configurable: true });
  }
  const parts = [Buffer.from(SIGNATURE_CONTEXT, "ascii"), canonicalJsonBytes(copy)];
  if (sig["cb"] === "tls-exporter" && exporter) parts.push(Buffer.from(exporter));
  return Buffer.concat(parts);
}

/**
 * Remembers (key, nonce) pairs of verified hellos while their timestamp is
 * inside the window. Bounded: past `maxEntries` (after dropping expired
 * pairs) it refuses to record, and the hello is refused (E_RATE_LIMITED).
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs = DEFAULT_SIGNATURE_WINDOW_MS,
    private readonly maxEntries = 100_000,
  ) {}

  /** True when the pair was seen and is still remembered. */
  has(key: string, nonce: string, now: number): boolean {
    const expiry = this.seen.get(`${key}.${nonce}`);
    return expiry !== undefined && expiry >= now;
  }

  /** Records a pair until `ts + window` (past it, the timestamp check refuses the hello anyway). Returns false when full. */
  add(key: string, nonce: string, ts: number, now: number): boolean {
    if (this.seen.size >= this.maxEntries) {
      this.prune(now);
      if (this.seen.size >= this.maxEntries) return false;
    }
    this.seen.set(`${key}.${nonce}`, ts + this.windowMs);
    return true;
  }

  /** Number of remembered pairs. */
  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    for (const [k, expiry] of this.seen) if (expiry < now) this.seen.delete(k);
  }
}

/** What a verifier needs besides the hello. */
export interface SignatureCheck {
  now: number;
  windowMs?: number;
  /** TLS exporter bytes (RFC 9266) of this connection; null without TLS. */
  exporter?: Uint8Array | null;
  replayCache?: ReplayCache | null;
}

/**
 * Verifies the "sig" of a v1 hello in the spec's order (section 11.4):
 * well-formed, algorithm, binding, freshness, signature, replay, record.
 * `sig` is the parsed member or, when malformed, the reason. Returns null
 * when it verifies, else the code to reject with.
 */
export function verifyHelloSignature(
  hello: { [key: string]: JsonValue },
  sig: HelloSignature | string,
  check: SignatureCheck,
): WireErrorCode | null {
  if (typeof sig === "string") return "E_INVALID_HANDSHAKE_SIGNATURE";
  if (sig.alg !== "ed25519") return "E_INVALID_HANDSHAKE_SIGNATURE";
  if (sig.cb !== undefined && (sig.cb !== "tls-exporter" || !check.exporter)) return "E_INVALID_HANDSHAKE_SIGNATURE";
  const windowMs = check.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  if (Math.abs(check.now - sig.ts) > windowMs) return "E_HANDSHAKE_EXPIRED";
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: sig.key }, format: "jwk" });
  } catch {
    return "E_INVALID_HANDSHAKE_SIGNATURE";
  }
  if (!verify(null, helloSignedBytes(hello, check.exporter), publicKey, Buffer.from(sig.value, "base64url"))) {
    return "E_INVALID_HANDSHAKE_SIGNATURE";
  }
  if (check.replayCache) {
    if (check.replayCache.has(sig.key, sig.nonce, check.now)) return "E_HANDSHAKE_REPLAY";
    if (!check.replayCache.add(sig.key, sig.nonce, sig.ts, check.now)) return "E_RATE_LIMITED";
  }
  return null;
}

/** An Ed25519 identity for signing hellos. */
export interface HelloSigner {
  privateKey: KeyObject;
  /** base64url raw public key, as put in `sig.key`. */
  publicKey: string;
}

/** Creates a signer from a KeyObject, a PEM/DER private key, or a raw 32-byte seed. */
export function createHelloSigner(key: KeyObject | string | Uint8Array): HelloSigner {
  let privateKey: KeyObject;
  if (typeof key === "object" && "asymmetricKeyType" in key) privateKey = key;
  else if (key instanceof Uint8Array && key.length === 32) {
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), key]);
    privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
  } else privateKey = createPrivateKey(key as string | Buffer);
  if (privateKey.asymmetricKeyType !== "ed25519") throw new TypeError("hello signing key must be Ed25519");
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  return { privateKey, publicKey: jwk.x as string };
}

/**
 * Adds a `sig` member to `hello` (a fresh object is returned). `cb` binds it
 * to the TLS session whose exporter bytes are given.
 */
export function signHello<T extends { [key: string]: JsonValue }>(
  hello: T,
  signer: HelloSigner,
  options: { now?: number; nonce?: Uint8Array; exporter?: Uint8Array | null } = {},
): T & { sig: HelloSignature } {
  const sig: { [key: string]: JsonValue } = {
    alg: "ed25519",
    key: signer.publicKey,
    nonce: Buffer.from(options.nonce ?? randomBytes(16)).toString("base64url"),
    ts: options.now ?? Date.now(),
  };
  if (options.exporter) sig["cb"] = "tls-exporter";
  const unsigned = { ...hello, sig } as { [key: string]: JsonValue };
  sig["value"] = sign(null, helloSignedBytes(unsigned, options.exporter), signer.privateKey).toString("base64url");
  return unsigned as unknown as T & { sig: HelloSignature };
}
