// The generated messages of the adapter contract (spec Appendix D): a `messages` list holds hex
// strings or {size, count}; byte j of generated message i is (i + j) mod 256, i counting every
// message of the list. And the digest the connect result carries over what a client received.
import { createHash } from "node:crypto";

/** Message i of the counting pattern, `size` bytes. */
export function patternMessage(i, size) {
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (i + j) & 0xff;
  return b;
}

/** The messages of a `messages` list, as Buffers. */
export function expandMessages(list = []) {
  const out = [];
  for (const item of list) {
    if (typeof item === "string") out.push(Buffer.from(item, "hex"));
    else for (let k = 0; k < (item.count ?? 1); k++) out.push(patternMessage(out.length, item.size));
  }
  return out;
}

/** SHA-256 over the messages, each preceded by its 4-byte big-endian length (raw: over the bytes alone). */
export function digestOf(messages, raw = false) {
  const h = createHash("sha256");
  for (const m of messages) {
    if (!raw) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(m.length);
      h.update(len);
    }
    h.update(m);
  }
  return h.digest("hex");
}
