// Ed25519 keys from fixed 32-byte seeds, and the prefix of the signed bytes of a hello
// (QWH-SIG-002), for the generators and the wire engine.
import { createPrivateKey, createPublicKey, sign } from "node:crypto";

const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** "QWH/1 hello\n", the first bytes of what a hello signature covers. */
export const SIG_PREFIX = Buffer.from("QWH/1 hello\n", "ascii");

/** The key pair of a seed (hex): {seedHex, privateKey, publicHex, publicB64}. */
export function edKey(seedHex) {
  if (seedHex.length !== 64) throw new Error("edKey: the seed must be 32 bytes");
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, Buffer.from(seedHex, "hex")]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const pub = spki.subarray(spki.length - 32);
  return { seedHex, privateKey, publicHex: pub.toString("hex"), publicB64: pub.toString("base64url") };
}

/** The deterministic Ed25519 signature of bytes by a key of edKey. */
export const edSignBytes = (key, bytes) => Buffer.from(sign(null, bytes, key.privateKey));
