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
 * E_CODEC unless it is already coded, with `context` as the second argument)
 * and the message dropped, the connection unaffected.
 */
export function deserializeOrReport<T, C = undefined>(
  deserialize: Deserializer<T>,
  payload: Buffer,
  report: (error: QWormholeError, context: C) => void,
  context?: C,
): T | typeof UNDECODABLE {
  try {
    return deserialize(payload);
  } catch (err) {
    report(
      err instanceof QWormholeError ? err : new QWormholeError("E_CODEC", `deserializer failed: ${(err as Error).message}`, { cause: err }),
      context as C,
    );
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
    throw new QWormholeError("E_CODEC_UNAVAILABLE", "the CBOR codec needs the optional peer dependency cbor-x: npm install cbor-x");
  }
  return cbor;
}

/**
 * Encoder settings of {@link createCborSerializer} unless overridden: plain
 * CBOR that any decoder reads as the same value. Objects are maps with the
 * shortest length header (no cbor-x record extension, tags 57343/57344),
 * byte arrays are byte strings (no typed-array tag 64).
 */
export const CBOR_INTEROPERABLE_ENCODER_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  useRecords: false,
  variableMapSize: true,
  tagUint8Array: false,
});

/** Decoder settings of {@link createCborDeserializer} unless overridden: maps as plain objects. */
export const CBOR_INTEROPERABLE_DECODER_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  useRecords: false,
  mapsAsObjects: true,
});

/**
 * A CBOR serializer through the optional peer dependency `cbor-x`
 * (`npm install cbor-x`; E_CODEC_UNAVAILABLE when absent). By default it writes plain CBOR (RFC 8949) that other
 * decoders (npm `cbor`, Python `cbor2`, Go `fxamacker/cbor`) read as the same
 * value: {@link CBOR_INTEROPERABLE_ENCODER_OPTIONS}. `options` are cbor-x
 * Encoder options laid over those; `{ useRecords: true }` opts into cbor-x's
 * record extension, smaller and faster for repeated object shapes but read
 * correctly only by cbor-x decoders with records on.
 */
export function createCborSerializer(options?: object): Serializer<unknown> {
  const encoder = new (loadCbor().Encoder)({ ...CBOR_INTEROPERABLE_ENCODER_OPTIONS, ...options });
  return (value) => encoder.encode(value);
}

/** True when `payload` may hold a 64-bit integer or a bignum (the bytes that introduce one). */
function mayHoldBigInt(payload: Buffer): boolean {
  return payload.includes(0x1b) || payload.includes(0x3b) || payload.includes(0xc2) || payload.includes(0xc3);
}

/** Integers that cbor-x decoded as BigInt but fit a safe JS number become numbers, in place. */
function safeBigIntsToNumbers(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint")
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  if (value === null || typeof value !== "object" || depth > 64 || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = safeBigIntsToNumbers(value[i], depth + 1);
  } else if (value instanceof Map) {
    for (const [k, v] of value) value.set(k, safeBigIntsToNumbers(v, depth + 1));
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = safeBigIntsToNumbers(o[k], depth + 1);
  }
  return value;
}

/**
 * A CBOR deserializer through the optional `cbor-x` package (E_CODEC_UNAVAILABLE
 * when absent). By default maps become plain objects and integers numbers
 * when they are safe integers (BigInt beyond 2^53 - 1):
 * {@link CBOR_INTEROPERABLE_DECODER_OPTIONS}. `options` are cbor-x Decoder
 * options laid over those (`{ useRecords: true }` to read cbor-x records,
 * `{ mapsAsObjects: false }` for `Map`s); `{ bigIntsAsNumbers: false }`
 * keeps every 64-bit integer a BigInt as cbor-x decodes it.
 */
export function createCborDeserializer<T = unknown>(options?: {
  bigIntsAsNumbers?: boolean;
  [decoderOption: string]: unknown;
}): Deserializer<T> {
  const { bigIntsAsNumbers = true, ...rest } = options ?? {};
  const decoder = new (loadCbor().Decoder)({ ...CBOR_INTEROPERABLE_DECODER_OPTIONS, ...rest });
  return (payload) => {
    let value: unknown;
    try {
      value = decoder.decode(payload);
    } catch (err) {
      throw new QWormholeError("E_CODEC", "received payload is not CBOR", { cause: err });
    }
    return (bigIntsAsNumbers && mayHoldBigInt(payload) ? safeBigIntsToNumbers(value) : value) as T;
  };
}
