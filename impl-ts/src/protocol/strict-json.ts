/**
 * The strict JSON profile of QWH/1: UTF-8 without BOM, one value, no
 * duplicate member names, no lone surrogates, and numbers kept exact so that
 * the caller can insist on integers. JSON.parse cannot do this (it keeps the
 * last duplicate and rounds numbers), and a parser that differs from a peer's
 * on duplicates is a signature-bypass risk, so handshake JSON goes through here.
 * @packageDocumentation
 */
import { MAX_SAFE_JSON_INTEGER } from "./constants.js";

/**
 * A JSON number that is not a safe integer (it has a fraction or exponent, is
 * `-0`, or is beyond 2^53 - 1). Kept as text; `value` is the nearest double.
 */
export class JsonNonInteger {
  constructor(
    readonly text: string,
    readonly value: number,
  ) {}
}

/** A value produced by {@link parseStrictJson}. Objects are plain objects with own properties only. */
export type JsonValue = null | boolean | number | string | JsonNonInteger | JsonValue[] | { [key: string]: JsonValue };

/** Why a text is not strict JSON. Callers map it to their own registry code. */
export class StrictJsonError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly (no replacement characters); a BOM is kept, so the parser rejects it. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new StrictJsonError("invalid UTF-8", 0);
  }
}

/** Parses `bytes` as strict JSON. Throws {@link StrictJsonError}. */
export function parseStrictJson(bytes: Uint8Array): JsonValue {
  return parseStrictJsonText(decodeUtf8Strict(bytes));
}

/** Parses an already decoded text as strict JSON. Throws {@link StrictJsonError}. */
export function parseStrictJsonText(text: string): JsonValue {
  const parser = new Parser(text);
  parser.skipWs();
  const value = parser.value(0);
  parser.skipWs();
  if (parser.pos !== text.length) throw new StrictJsonError("trailing characters", parser.pos);
  return value;
}

const MAX_DEPTH = 64;
const INTEGER_RE = /^-?(0|[1-9][0-9]*)$/;
const NUMBER_RE = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  fail(message: string): never {
    throw new StrictJsonError(message, this.pos);
  }

  skipWs(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const c = this.s[this.pos];
    switch (c) {
      case "{":
        return this.object(depth);
      case "[":
        return this.array(depth);
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
        return this.fail(c === undefined ? "unexpected end" : "unexpected character");
    }
  }

  literal<T>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail("invalid literal");
    this.pos += word.length;
    return v;
  }

  number(): number | JsonNonInteger {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.s);
    if (!m) return this.fail("invalid number");
    const text = m[0];
    this.pos += text.length;
    const value = Number(text);
    if (INTEGER_RE.test(text) && text !== "-0" && Math.abs(value) <= MAX_SAFE_JSON_INTEGER) return value;
    return new JsonNonInteger(text, value);
  }

  string(): string {
    const s = this.s;
    this.pos++; // opening quote
    let out = "";
    let start = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.fail("unterminated string");
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        out += s.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 0x20) this.fail("control character in string");
      if (c >= 0xd800 && c <= 0xdfff) {
        // The text came from valid UTF-8, so surrogates here are always paired.
        this.pos += 2;
        continue;
      }
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += s.slice(start, this.pos);
      this.pos++;
      const e = s[this.pos++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const unit = this.hex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (s[this.pos] !== "\\" || s[this.pos + 1] !== "u") this.fail("lone high surrogate");
            this.pos += 2;
            const low = this.hex4();
            if (low < 0xdc00 || low > 0xdfff) this.fail("lone high surrogate");
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            this.fail("lone low surrogate");
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          this.pos--;
          this.fail("invalid escape");
      }
      start = this.pos;
    }
  }

  hex4(): number {
    const h = this.s.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail("invalid \\u escape");
    this.pos += 4;
    return parseInt(h, 16);
  }

  array(depth: number): JsonValue[] {
    this.pos++;
    const out: JsonValue[] = [];
    this.skipWs();
    if (this.s[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.value(depth + 1));
      this.skipWs();
      const c = this.s[this.pos++];
      if (c === "]") return out;
      if (c !== ",") {
        this.pos--;
        this.fail("expected , or ]");
      }
    }
  }

  object(depth: number): { [key: string]: JsonValue } {
    this.pos++;
    const out: { [key: string]: JsonValue } = {};
    const seen = new Set<string>();
    this.skipWs();
    if (this.s[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.s[this.pos] !== '"') this.fail("expected member name");
      const keyAt = this.pos;
      const key = this.string();
      if (seen.has(key)) {
        this.pos = keyAt;
        this.fail(`duplicate member name ${JSON.stringify(key)}`);
      }
      seen.add(key);
      this.skipWs();
      if (this.s[this.pos++] !== ":") {
        this.pos--;
        this.fail("expected :");
      }
      this.skipWs();
      // defineProperty: a member named "__proto__" must stay an ordinary member.
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.skipWs();
      const c = this.s[this.pos++];
      if (c === "}") return out;
      if (c !== ",") {
        this.pos--;
        this.fail("expected , or }");
      }
    }
  }
}

/** True when `v` (from {@link parseStrictJson}) contains a number that is not a safe integer. */
export function containsNonInteger(v: JsonValue): boolean {
  if (v instanceof JsonNonInteger) return true;
  if (Array.isArray(v)) return v.some(containsNonInteger);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsNonInteger);
  return false;
}

/** True when `v` is a JSON object (not an array, not null). */
export function isJsonObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof JsonNonInteger);
}

/** Number of Unicode code points in `s` (an astral character counts once). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      n--;
      i++;
    }
  }
  return n;
}

/**
 * Parses `bytes` as a strict-JSON object; returns the reason instead of
 * throwing when it is not one (callers turn it into their registry code).
 */
export function parseStrictJsonObject(bytes: Uint8Array): { [key: string]: JsonValue } | string {
  let value: JsonValue;
  try {
    value = parseStrictJson(bytes);
  } catch (err) {
    return (err as Error).message;
  }
  return isJsonObject(value) ? value : "not a JSON object";
}
