/**
 * A broadcast message: serialized and framed once, sent on many channels.
 * @packageDocumentation
 */
import { encodeDataFrame } from "../protocol/frame-encoder.js";

/** A message serialized and framed once, for many channels (broadcast). */
export interface SharedMessage {
  /** The payload (what a raw-stream channel sends). */
  payload: Buffer;
  /** The payload as one data frame (what a framed channel sends). */
  frame: Buffer;
}

/** A serialized message framed once, for every channel of a broadcast. */
export function sharedMessage(serialized: Uint8Array | string): SharedMessage {
  const payload =
    typeof serialized === "string"
      ? Buffer.from(serialized, "utf8")
      : Buffer.isBuffer(serialized)
        ? serialized
        : Buffer.from(serialized.buffer, serialized.byteOffset, serialized.length);
  return { payload, frame: encodeDataFrame(payload) };
}
