/**
 * Outgoing messages once serialized: their size, the serializer call with
 * its error coding, and the check against the peer's maximum frame length,
 * shared by the client and the server connection.
 * @packageDocumentation
 */
import type { Serializer } from "./codecs.js";
import { QWormholeError } from "./protocol/errors.js";

/** A serialized message: bytes, or a string sent as UTF-8. */
export type Payload = Uint8Array | string;

/** The bytes `payload` takes on the wire. */
export function payloadLength(payload: Payload): number {
  return typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
}

/** Runs a serializer on an outgoing value; a failure throws (as E_CODEC unless it is already coded). */
export function serializeOrThrow<T>(serialize: Serializer<T>, data: T): Payload {
  try {
    return serialize(data);
  } catch (err) {
    throw err instanceof QWormholeError
      ? err
      : new QWormholeError("E_CODEC", `serializer failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Throws E_FRAME_TOO_LARGE when a message of `bytes` exceeds `peer`'s maximum frame length `max`. */
export function checkMessageSize(bytes: number, max: number, peer: string): void {
  if (bytes > max) {
    throw new QWormholeError("E_FRAME_TOO_LARGE", `message of ${bytes} bytes exceeds the ${peer}'s maximum frame length ${max}`);
  }
}
