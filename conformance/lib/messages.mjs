// The generated messages of the adapter contract (spec Appendix D): a `messages` list holds hex
// strings or {size, count, numbered?}; byte j of generated message i is (i + j) mod 256, i counting
// every message of the list, and a numbered message carries i in its first 4 bytes. The digest the
// connect result carries over what a client received, and the runs of numbers a receiver reports.
import { createHash } from "node:crypto";

/** Message i of the counting pattern, `size` bytes. */
export function patternMessage(i, size) {
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (i + j) & 0xff;
  return b;
}

/**
 * Message i of the numbered pattern, `size` bytes (at least 4): bytes 0-3 are i as an unsigned
 * 32-bit big-endian integer, byte j from 4 on is (i + j) mod 256 as in the counting pattern.
 */
export function numberedMessage(i, size) {
  if (!(size >= 4)) throw new RangeError(`a numbered message has at least 4 bytes, not ${size}`);
  const b = patternMessage(i, size);
  b.writeUInt32BE(i >>> 0, 0);
  return b;
}

/** The messages of a `messages` list, as Buffers. */
export function expandMessages(list = []) {
  const out = [];
  for (const item of list) {
    if (typeof item === "string") out.push(Buffer.from(item, "hex"));
    else {
      const make = item.numbered ? numberedMessage : patternMessage;
      for (let k = 0; k < (item.count ?? 1); k++) out.push(make(out.length, item.size));
    }
  }
  return out;
}

/**
 * The numbers of received numbered messages as runs `[first, last]` of consecutive ascending
 * numbers, in the order they arrived: a stream delivered once and in order is one run. A message
 * shorter than 4 bytes has no number and counts as -1.
 */
export class NumberRuns {
  constructor() {
    /** @type {[number, number][]} */
    this.runs = [];
  }

  /** Records one received message. */
  take(message) {
    const n = message.length >= 4 ? message.readUInt32BE(0) : -1;
    const last = this.runs.at(-1);
    if (last && n >= 0 && last[1] >= 0 && n === last[1] + 1) last[1] = n;
    else this.runs.push([n, n]);
  }
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
