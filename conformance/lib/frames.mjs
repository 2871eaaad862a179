// QWH/1 frame bytes by construction (spec section 4): a 4-byte big-endian header, then the
// payload; bit 31 set marks a control frame, whose first payload byte is its type. Hex strings
// for the generators, Buffers for the wire engine; the one copy of both.

export const CTRL = { PING: 0x01, PONG: 0x02, CLOSE: 0x03 };
export const CONTROL_BIT = 0x80000000;
/** The largest handshake frame (hello, accept, reject), QWH-HS. */
export const HANDSHAKE_LIMIT = 16384;

/** Number of bytes in a hex string. */
export const byteLen = (h) => h.length / 2;

/** The 4-byte big-endian header of the 32-bit value h, as hex. */
export function hdr(h) {
  if (!Number.isInteger(h) || h < 0 || h > 0xffffffff) throw new Error(`hdr: out of range ${h}`);
  return h.toString(16).padStart(8, "0");
}

/** A data frame (or handshake frame): header L, then the payload (hex). */
export const dataFrame = (payloadHex) => hdr(byteLen(payloadHex)) + payloadHex;

/** A control frame: header 0x80000000 | (1 + body length), the type byte, the body (hex). */
export const ctrlFrame = (type, bodyHex = "") =>
  hdr((CONTROL_BIT | (1 + byteLen(bodyHex))) >>> 0) + type.toString(16).padStart(2, "0") + bodyHex;

/** The 4-byte header of the 32-bit value h. */
export function headerBytes(h) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(h >>> 0);
  return b;
}

/**
 * A frame from a step's description {hex | text | json, controlType?, length?}: a data frame, or a
 * control frame when controlType is given; `length` replaces the length the header announces (a
 * lying header). json is serialised with JSON.stringify (no whitespace).
 */
export function frameBytes(spec) {
  const body =
    spec.hex !== undefined
      ? Buffer.from(spec.hex, "hex")
      : spec.text !== undefined
        ? Buffer.from(spec.text, "utf8")
        : spec.json !== undefined
          ? Buffer.from(JSON.stringify(spec.json), "utf8")
          : Buffer.alloc(0);
  if (spec.controlType !== undefined)
    return Buffer.concat([headerBytes(CONTROL_BIT | (spec.length ?? 1 + body.length)), Buffer.from([spec.controlType]), body]);
  return Buffer.concat([headerBytes(spec.length ?? body.length), body]);
}
