// Small statistics helpers (no dependency).

/** Median of numbers (the middle value; the mean of the two middle ones for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Quantile q (0..1) of an ascending-sorted array, nearest-rank. */
export function quantileSorted(sorted, q) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** Summary of round-trip samples in nanoseconds, in microseconds. */
export function summarizeRtts(rttsNs) {
  const s = Float64Array.from(rttsNs).sort();
  const us = (ns) => round(ns / 1000, 2);
  let sum = 0;
  for (const v of s) sum += v;
  const fractions = [0];
  for (let i = 1; i <= 99; i++) fractions.push(i / 100);
  fractions.push(0.995, 0.999, 0.9999, 1);
  return {
    medianUs: us(quantileSorted(s, 0.5)),
    p90Us: us(quantileSorted(s, 0.9)),
    p99Us: us(quantileSorted(s, 0.99)),
    p999Us: us(quantileSorted(s, 0.999)),
    minUs: us(s[0]),
    maxUs: us(s[s.length - 1]),
    meanUs: us(sum / s.length),
    samples: s.length,
    cdfUs: fractions.map((f) => [f, us(f === 0 ? s[0] : quantileSorted(s, f))]),
  };
}

export function round(x, digits = 0) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** 3.60M, 431k, 950 */
export function fmtRate(n) {
  if (!Number.isFinite(n)) return "-";
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

/** 16 B, 1 KiB, 64 KiB, 1 MiB */
export function fmtSize(bytes) {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

export function fmtBytes(bytes) {
  const a = Math.abs(bytes);
  if (a >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
  if (a >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (a >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}
