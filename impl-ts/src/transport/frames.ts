/**
 * One-off frame encoding for handshake frames (not on the hot path).
 * @packageDocumentation
 */
import { FRAME_HEADER_LENGTH } from "../protocol/constants.js";

/** `payload` with its 4-byte big-endian length header. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_LENGTH);
  return frame;
}
