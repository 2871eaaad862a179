/**
 * The client hello: building it (client) and parsing, validating and
 * classifying it as v1 or 0.3 legacy (server).
 * @packageDocumentation
 */
import { canonicalJson } from "./canonical-json.js";
import { QWH_VERSION } from "./constants.js";
import { InvalidHelloError } from "./errors.js";
import {
  checkAppVersion,
  checkFeatures,
  checkMaxFrameLength,
  checkTags,
  parseQwhVersion,
  toTags,
  type QwhVersion,
  type Tags,
} from "./fields.js";
import { parseSignatureMember, type HelloSignature } from "./signature.js";
import { containsNonInteger, isJsonObject, parseStrictJsonObject, type JsonValue } from "./strict-json.js";

/** A validated v1 hello. */
export interface HelloV1 {
  profile: "v1";
  qwh: string;
  qwhVersion: QwhVersion;
  /** Features as offered, in order (unknown names included). */
  features: string[];
  version?: string;
  tags?: Tags;
  maxFrameLength?: number;
  /** The well-formed signature, when the hello carries one. */
  sig?: HelloSignature;
  /** Why a present "sig" object is malformed (reported at the signature step, not as a shape error). */
  sigMalformed?: string;
  /** The hello object exactly as received, for signature verification. */
  raw: { [key: string]: JsonValue };
}

/** A validated 0.3 hello (no `features` member). */
export interface HelloLegacy {
  profile: "legacy";
  version?: string;
  tags?: Tags;
  raw: { [key: string]: JsonValue };
}

/** A validated hello of either profile. */
export type ParsedHello = HelloV1 | HelloLegacy;

function invalid(reason: string, legacy = false): never {
  throw new InvalidHelloError("E_INVALID_HANDSHAKE", `invalid hello: ${reason}`, legacy);
}

/**
 * Parses the payload of the first frame a server receives. Throws a
 * {@link ProtocolError}: E_INVALID_HANDSHAKE, or E_LEGACY_NOT_ALLOWED for a
 * well-formed 0.3 hello when `legacyAllowed` is false.
 */
export function parseHello(payload: Uint8Array, options: { legacyAllowed: boolean }): ParsedHello {
  const obj = parseStrictJsonObject(payload);
  if (typeof obj === "string") invalid(obj);
  if (obj["type"] !== "handshake") invalid('type is not "handshake"');
  if (!Object.hasOwn(obj, "features")) return parseLegacy(obj, options.legacyAllowed);

  if (containsNonInteger(obj)) invalid("a number is not a safe integer");
  const qwhVersion = parseQwhVersion(obj["qwh"]);
  if (!qwhVersion) invalid("qwh is missing or malformed");
  const reason =
    checkFeatures(obj["features"]) ??
    (obj["version"] !== undefined ? checkAppVersion(obj["version"]) : null) ??
    (obj["tags"] !== undefined ? checkTags(obj["tags"]) : null) ??
    (obj["maxFrameLength"] !== undefined ? checkMaxFrameLength(obj["maxFrameLength"]) : null);
  if (reason) invalid(reason);
  const hello: HelloV1 = {
    profile: "v1",
    qwh: obj["qwh"] as string,
    qwhVersion,
    features: [...(obj["features"] as string[])],
    raw: obj,
  };
  if (obj["version"] !== undefined) hello.version = obj["version"] as string;
  if (obj["tags"] !== undefined) hello.tags = toTags(obj["tags"] as { [key: string]: JsonValue });
  if (obj["maxFrameLength"] !== undefined) hello.maxFrameLength = obj["maxFrameLength"] as number;
  if (obj["sig"] !== undefined) {
    if (!isJsonObject(obj["sig"])) invalid("sig is not an object");
    const sig = parseSignatureMember(obj["sig"]);
    if (typeof sig === "string") hello.sigMalformed = sig;
    else hello.sig = sig;
  }
  return hello;
}

function parseLegacy(obj: { [key: string]: JsonValue }, legacyAllowed: boolean): HelloLegacy {
  const version = obj["version"];
  if (version !== undefined && typeof version !== "string") invalid("version is not a string", true);
  const tags = obj["tags"];
  if (tags !== undefined) {
    const reason = checkTags(tags, true);
    if (reason) invalid(reason, true);
  }
  if (!legacyAllowed)
    throw new InvalidHelloError("E_LEGACY_NOT_ALLOWED", "0.3 hello (no features member) and the legacy profile is not enabled", true);
  const hello: HelloLegacy = { profile: "legacy", raw: obj };
  if (version !== undefined) hello.version = version;
  if (tags !== undefined) hello.tags = toTags(tags as { [key: string]: JsonValue });
  return hello;
}

/** What a client puts in its hello. */
export interface HelloOptions {
  features?: readonly string[];
  version?: string;
  tags?: Tags;
  maxFrameLength?: number;
  /** Extra members (extensions); they are sent as given. */
  extra?: Record<string, JsonValue>;
}

/** Builds a v1 hello object (not yet signed). */
export function buildHello(options: HelloOptions = {}): { [key: string]: JsonValue } {
  const hello: { [key: string]: JsonValue } = {
    ...options.extra,
    type: "handshake",
    qwh: QWH_VERSION,
    features: [...(options.features ?? [])],
  };
  if (options.version !== undefined) hello["version"] = options.version;
  if (options.tags !== undefined) hello["tags"] = { ...options.tags };
  if (options.maxFrameLength !== undefined) hello["maxFrameLength"] = options.maxFrameLength;
  return hello;
}

/** Builds a 0.3-shaped hello for the legacy profile (no qwh, no features). */
export function buildLegacyHello(options: { version?: string; tags?: Tags } = {}): { [key: string]: JsonValue } {
  const hello: { [key: string]: JsonValue } = { type: "handshake" };
  if (options.version !== undefined) hello["version"] = options.version;
  if (options.tags !== undefined) hello["tags"] = { ...options.tags };
  return hello;
}

/** Serialises a handshake object (hello, accept, reject) as sent: its canonical JSON in UTF-8. */
export function encodeHandshakeJson(obj: { [key: string]: JsonValue }): Buffer {
  return Buffer.from(canonicalJson(obj), "utf8");
}
