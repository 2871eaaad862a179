/**
 * Validators for the members shared by hello, accept and reject. One copy,
 * used by both roles. Each returns a reason string when the value is invalid.
 * @packageDocumentation
 */
import {
  ERROR_CODE_PATTERN,
  FEATURE_NAME_PATTERN,
  HelloLimits,
  MAX_FRAME_LENGTH_LIMIT,
  QWH_VERSION_PATTERN,
  TAG_KEY_PATTERN,
} from "./constants.js";
import { JsonNonInteger, codePointLength, isJsonObject, type JsonValue } from "./strict-json.js";

/** Handshake tags: names to strings or numbers. */
export type Tags = Record<string, string | number>;

/** A parsed `major.minor` QWH version. */
export interface QwhVersion {
  major: number;
  minor: number;
}

/** Parses a `qwh` member; `null` when it does not match the version pattern. */
export function parseQwhVersion(v: JsonValue | undefined): QwhVersion | null {
  if (typeof v !== "string") return null;
  const m = QWH_VERSION_PATTERN.exec(v);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** Checks a `features` array: valid unique names, at most 32. */
export function checkFeatures(v: JsonValue | undefined): string | null {
  if (!Array.isArray(v)) return "features is not an array";
  if (v.length > HelloLimits.maxFeatures) return `more than ${HelloLimits.maxFeatures} features`;
  const seen = new Set<string>();
  for (const f of v) {
    if (typeof f !== "string" || !FEATURE_NAME_PATTERN.test(f)) return `invalid feature name ${JSON.stringify(f)}`;
    if (seen.has(f)) return `duplicate feature ${f}`;
    seen.add(f);
  }
  return null;
}

/** Checks an application `version`: a string of 1..64 code points. */
export function checkAppVersion(v: JsonValue | undefined): string | null {
  if (typeof v !== "string") return "version is not a string";
  const n = codePointLength(v);
  if (n < 1 || n > HelloLimits.maxVersionCodePoints) return `version length ${n} outside 1..${HelloLimits.maxVersionCodePoints}`;
  return null;
}

/**
 * Checks `tags`: at most 64 members, names matching the key pattern, values
 * strings of at most 512 code points or integers (v1). With `legacy`, 0.3's
 * looser form: any number, no count or length limits.
 */
export function checkTags(v: JsonValue | undefined, legacy = false): string | null {
  if (!isJsonObject(v)) return "tags is not an object";
  const keys = Object.keys(v);
  if (!legacy && keys.length > HelloLimits.maxTags) return `more than ${HelloLimits.maxTags} tags`;
  for (const k of keys) {
    if (!legacy && !TAG_KEY_PATTERN.test(k)) return `invalid tag name ${JSON.stringify(k)}`;
    const value = v[k];
    if (typeof value === "string") {
      if (!legacy && codePointLength(value) > HelloLimits.maxTagValueCodePoints)
        return `tag ${k} longer than ${HelloLimits.maxTagValueCodePoints} code points`;
    } else if (typeof value === "number") {
      // safe integer by construction of the strict parser
    } else if (value instanceof JsonNonInteger) {
      if (!legacy) return `tag ${k} is not an integer`;
    } else {
      return `tag ${k} is neither a string nor a number`;
    }
  }
  return null;
}

/** Copies validated tags into a plain object, turning 0.3 floats into numbers. */
export function toTags(v: { [key: string]: JsonValue }): Tags {
  const out: Tags = {};
  for (const k of Object.keys(v)) {
    const value = v[k];
    const plain = value instanceof JsonNonInteger ? value.value : (value as string | number);
    Object.defineProperty(out, k, { value: plain, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Checks a maximum frame length: an integer in 0..2^31-1. */
export function checkMaxFrameLength(v: JsonValue | undefined): string | null {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_FRAME_LENGTH_LIMIT) {
    return `maxFrameLength is not an integer in 0..${MAX_FRAME_LENGTH_LIMIT}`;
  }
  return null;
}

/** Checks a registry-shaped error code. */
export function checkErrorCode(v: JsonValue | undefined): string | null {
  return typeof v === "string" && ERROR_CODE_PATTERN.test(v) ? null : "code is not an E_... code";
}

/** Checks an optional reason: a string of at most 256 code points. */
export function checkReason(v: JsonValue | undefined): string | null {
  if (v === undefined) return null;
  if (typeof v !== "string" || codePointLength(v) > HelloLimits.maxReasonCodePoints)
    return "reason is not a string of at most 256 code points";
  return null;
}
