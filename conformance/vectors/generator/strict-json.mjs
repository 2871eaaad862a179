// A small strict-JSON reader used ONLY as a cross-check of the hand-written case tables (the
// generator throws when a table says "valid JSON" and this reader disagrees, or the reverse).
// Expected outcomes are never taken from it.

export class StrictJsonError extends Error {}

/**
 * Parse bytes (hex) as QWH strict JSON. Options: anyNumber (legacy: any JSON number allowed),
 * anyTop (top-level value need not be an object).
 */
export function parseStrict(h, { anyNumber = false, anyTop = false } = {}) {
  const buf = Buffer.from(h, "hex");
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) throw new StrictJsonError("BOM");
  let s;
  try {
    s = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    throw new StrictJsonError("invalid UTF-8");
  }
  let i = 0;
  const fail = (m) => {
    throw new StrictJsonError(m + " at " + i);
  };
  const ws = () => {
    while (i < s.length && " \t\n\r".includes(s[i])) i++;
  };
  const str = () => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= s.length) fail("unterminated string");
      const c = s[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c.charCodeAt(0) < 0x20) fail("control character in string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      i += 2;
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e in simple) {
        out += simple[e];
        continue;
      }
      if (e !== "u") fail("bad escape");
      const u4 = () => {
        const t = s.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(t)) fail("bad \\u escape");
        i += 4;
        return parseInt(t, 16);
      };
      const u = u4();
      if (u >= 0xd800 && u <= 0xdbff) {
        if (s[i] !== "\\" || s[i + 1] !== "u") fail("lone high surrogate");
        i += 2;
        const lo = u4();
        if (lo < 0xdc00 || lo > 0xdfff) fail("high surrogate without low");
        out += String.fromCharCode(u, lo);
      } else if (u >= 0xdc00 && u <= 0xdfff) fail("lone low surrogate");
      else out += String.fromCharCode(u);
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(s.slice(i));
    if (!m) fail("bad number");
    i += m[0].length;
    if (anyNumber) return Number(m[0]);
    if (m[2] || m[3]) fail("fraction or exponent");
    if (m[0] === "-0") fail("-0");
    const n = Number(m[0]);
    if (!Number.isSafeInteger(n)) fail("integer out of range");
    return n;
  };
  const val = () => {
    ws();
    const c = s[i];
    if (c === "{") {
      i++;
      const o = {};
      const seen = new Set();
      ws();
      if (s[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail("expected name");
        const k = str();
        if (seen.has(k)) fail("duplicate name " + k);
        seen.add(k);
        ws();
        if (s[i] !== ":") fail("expected :");
        i++;
        Object.defineProperty(o, k, { value: val(), enumerable: true, writable: true, configurable: true });
        ws();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === "}") {
          i++;
          return o;
        }
        fail("expected , or }");
      }
    }
    if (c === "[") {
      i++;
      const a = [];
      ws();
      if (s[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(val());
        ws();
        if (s[i] === ",") {
          i++;
          continue;
        }
        if (s[i] === "]") {
          i++;
          return a;
        }
        fail("expected , or ]");
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) return num();
    for (const [lit, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ]) {
      if (s.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    fail("unexpected character");
  };
  const v = val();
  ws();
  if (i !== s.length) fail("trailing bytes");
  if (!anyTop && (v === null || typeof v !== "object" || Array.isArray(v))) throw new StrictJsonError("top level is not an object");
  return v;
}

/** True when parseStrict accepts the bytes. */
export function isStrictJson(h, opts) {
  try {
    parseStrict(h, opts);
    return true;
  } catch (e) {
    if (e instanceof StrictJsonError) return false;
    throw e;
  }
}
