/**
 * Message codecs. A serializer turns what the application sends into bytes;
 * a deserializer turns a received payload into what the application gets.
 * The handshake is always JSON, whatever codec carries the messages.
 * @packageDocumentation
 */
import { createRequire } from "node:module";
import { QWormholeError } from "./protocol/errors.js";

/** Turns an outgoing value into bytes (or a string, sent as UTF-8). */
export type Serializer<T = unknown> = (value: T) => Uint8Array | string;
/** Turns a received payload into a value. The buffer may be a view of a larger receive buffer. */
export type Deserializer<T = unknown> = (payload: Buffer) => T;

/**
 * Default serializer (as in 0.3): bytes pass through, strings are UTF-8,
 * anything else is JSON.
 */
export const defaultSerializer: Serializer<unknown> = (value) => {
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return jsonSerializer(value);
};

/** What {@link deserializeOrReport} returns when the deserializer threw. */
export const UNDECODABLE: unique symbol = Symbol("qwormhole.undecodable");

/**
 * Runs a deserializer on a received payload; a failure is reported (as
 * E_CODEC unless it is already coded) and the message dropped, the
 * connection unaffected.
 */
export function deserializeOrReport<T>(deserialize: Deserializer<T>, payload: Buffer, report: (error: QWormholeError) => void): T | typeof UNDECODABLE {
  try {
    return deserialize(payload);
  } catch (err) {
    report(err instanceof QWormholeError ? err : new QWormholeError("E_CODEC", `deserializer failed: ${(err as Error).message}`, { cause: err }));
    return UNDECODABLE;
  }
}

/** Delivers the payload as a Buffer (default). */
export const bufferDeserializer: Deserializer<Buffer> = (payload) => payload;

/** Delivers the payload decoded as UTF-8 text. */
export const textDeserializer: Deserializer<string> = (payload) => payload.toString("utf8");

/** Serializes with JSON.stringify. */
export const jsonSerializer: Serializer<unknown> = (value) => {
  const text = JSON.stringify(value);
  if (text === undefined) throw new QWormholeError("E_CODEC", `value of type ${typeof value} has no JSON form`);
  return text;
};

/**
 * Parses the payload as JSON; a payload that is not JSON raises E_CODEC.
 * Generic so that it can stand for any `Deserializer<T>` (no runtime check of T).
 */
export const jsonDeserializer = <T = unknown>(payload: Buffer): T => {
  try {
    return JSON.parse(payload.toString("utf8"));
  } catch (err) {
    throw new QWormholeError("E_CODEC", "received payload is not JSON", { cause: err });
  }
};

interface CborModule {
  Encoder: new (options?: object) => { encode(value: unknown): Buffer };
  Decoder: new (options?: object) => { decode(bytes: Uint8Array): unknown };
}

let cbor: CborModule | null | undefined;
function loadCbor(): CborModule {
  if (cbor === undefined) {
    try {
      cbor = createRequire(import.meta.url)("cbor-x") as CborModule;
    } catch {
      cbor = null;
    }
  }
  if (cbor === null) {
    throw new QWormholeError("E_CODEC_UNAVAILABLE", "the CBOR codec needs the optional dependency cbor-x: npm install cbor-x");
  }
  return cbor;
}

/** A CBOR serializer through the optional `cbor-x` package (E_CODEC_UNAVAILABLE when absent). */
export function createCborSerializer(options?: object): Serializer<unknown> {
  const encoder = new (loadCbor().Encoder)(options);
  return (value) => encoder.encode(value);
}

/** A CBOR deserializer through the optional `cbor-x` package (E_CODEC_UNAVAILABLE when absent). */
export function createCborDeserializer<T = unknown>(options?: object): Deserializer<T> {
  const decoder = new (loadCbor().Decoder)(options);
  return (payload) => {
    try {
      return decoder.decode(payload) as T;
    } catch (err) {
      throw new QWormholeError("E_CODEC", "received payload is not CBOR", { cause: err });
    }
  };
}
