// RFC 8785 canonical JSON (JCS) for the strict JSON of QWH/1 (spec: signed content): object
// members sorted by UTF-16 code units, no whitespace, strings as ECMAScript JSON.stringify writes
// them, numbers only safe integers. The one copy used by the vector and case generators, the
// wire engine (signing and verifying hellos) and the runner.

/** The canonical form of a strict-JSON value; throws on a number outside +-(2^53-1), -0, or a lone surrogate. */
export function jcs(v) {
  if (v === null || v === true || v === false) return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) throw new Error(`jcs: number outside QWH strict JSON: ${v}`);
    return String(v);
  }
  if (typeof v === "string") {
    if (!v.isWellFormed()) throw new Error("jcs: lone surrogate");
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(jcs).join(",")}]`;
  if (typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`)
      .join(",")}}`;
  throw new Error(`jcs: unsupported value ${typeof v}`);
}

// Self-check against the ordering example of RFC 8785 (UTF-16 code unit order).
{
  const got = jcs({ "\u20ac": 1, "\r": 2, "\ufb33": 3, 1: 4, "\ud83d\ude00": 5, "\u0080": 6, "\u00f6": 7 });
  const want = '{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\ud83d\ude00":5,"\ufb33":3}';
  if (got !== want) throw new Error(`jcs self-check: ${got}`);
}
