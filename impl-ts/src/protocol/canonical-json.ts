/**
 * RFC 8785 (JCS) canonical JSON for the value domain QWH/1 allows: objects,
 * arrays, strings, booleans, null and safe integers. Signed hellos are signed
 * over this form, so it has to match every other implementation byte for byte.
 * @packageDocumentation
 */
import { JsonNonInteger, type JsonValue } from "./strict-json.js";

/** Thrown for values outside the canonicalisable domain (non-integer numbers). */
export class CanonicalJsonError extends Error {}

/** Returns the RFC 8785 canonical text of `value`. */
export function canonicalJson(value: JsonValue | undefined): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
        throw new CanonicalJsonError(`number ${value} is not a safe integer`);
      }
      return String(value);
    case "string":
      // JSON.stringify escapes exactly as RFC 8785 section 3.2.2.2 requires.
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new CanonicalJsonError(`cannot canonicalise ${typeof value}`);
  }
  if (value instanceof JsonNonInteger) throw new CanonicalJsonError(`number ${value.text} is not a safe integer`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  // Default sort compares UTF-16 code units, which is the order RFC 8785 requires.
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) out += ",";
    out += `${JSON.stringify(k)}:${canonicalJson(value[k])}`;
  }
  return `${out}}`;
}

/** UTF-8 bytes of {@link canonicalJson}. */
export function canonicalJsonBytes(value: JsonValue): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}
