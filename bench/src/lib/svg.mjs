// A small SVG line-chart writer (no plotting dependency): linear or log axes,
// one polyline with markers per series, a legend. Output is deterministic text.

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#637939",
  "#843c39",
  "#7b4173",
];
const colorCache = new Map();
/** A stable color per series name (first come, first served, across plots of one run). */
export function colorOf(name) {
  if (!colorCache.has(name)) colorCache.set(name, PALETTE[colorCache.size % PALETTE.length]);
  return colorCache.get(name);
}

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const num = (x) => (Math.round(x * 10) / 10).toString();

function scale({ log, min, max }, lo, hi) {
  if (log) {
    const a = Math.log10(min);
    const b = Math.log10(max);
    return (v) => lo + ((Math.log10(v) - a) / (b - a || 1)) * (hi - lo);
  }
  return (v) => lo + ((v - min) / (max - min || 1)) * (hi - lo);
}

function decadeTicks(min, max) {
  const out = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) out.push(v);
    }
  }
  return out;
}

function linearTicks(min, max, n = 6) {
  const step0 = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(step0 || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}

/**
 * chart: { title, subtitle?, width?, height?, x: { label, log?, ticks?, format? },
 *          y: { label, log?, format?, min?, max? },
 *          series: [{ name, points: [[x, y], ...], dashed?, dash? (SVG dasharray), colorKey?, noMarkers? }] }
 */
export function lineChart(chart) {
  const W = chart.width ?? 940;
  const H = chart.height ?? 500;
  const m = { left: 78, right: 300, top: 52, bottom: 58 };
  const series = chart.series.filter((s) => s.points.length > 0);
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter((v) => !chart.x.log || v > 0);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => !chart.y.log || v > 0);
  const fmtX = chart.x.format ?? ((v) => String(v));
  const fmtY = chart.y.format ?? ((v) => String(v));
  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${W / 2 - m.right / 2 + m.left / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  );
  if (chart.subtitle)
    parts.push(`<text x="${W / 2 - m.right / 2 + m.left / 2}" y="40" text-anchor="middle" fill="#555">${esc(chart.subtitle)}</text>`);
  if (xs.length === 0 || ys.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return parts.join("\n") + "\n";
  }
  const xr = { log: chart.x.log, min: Math.min(...xs), max: Math.max(...xs) };
  if (chart.x.log && !chart.x.ticks) {
    // Widen to 1-2-5 values so both ends carry a tick.
    const nice = [1, 2, 5, 10];
    const e0 = Math.floor(Math.log10(xr.min));
    xr.min = Math.max(...nice.map((m) => m * 10 ** e0).filter((v) => v <= xr.min));
    const e1 = Math.floor(Math.log10(xr.max));
    xr.max = Math.min(...nice.map((m) => m * 10 ** e1).filter((v) => v >= xr.max));
  }
  let yMin = chart.y.min ?? Math.min(...ys);
  let yMax = chart.y.max ?? Math.max(...ys);
  if (chart.y.log) {
    yMin = 10 ** Math.floor(Math.log10(yMin));
    yMax = 10 ** Math.ceil(Math.log10(yMax));
  } else if (chart.y.min === undefined) yMin = Math.min(0, yMin);
  const yr = { log: chart.y.log, min: yMin, max: yMax };
  const X = scale(xr, m.left, W - m.right);
  const Y = scale(yr, H - m.bottom, m.top);
  // Grid and ticks.
  const xTicks = chart.x.ticks ?? (chart.x.log ? decadeTicks(xr.min, xr.max) : linearTicks(xr.min, xr.max));
  const yTicks = chart.y.log ? decadeTicks(yr.min, yr.max) : linearTicks(yr.min, yr.max);
  for (const t of xTicks) {
    parts.push(`<line x1="${num(X(t))}" y1="${m.top}" x2="${num(X(t))}" y2="${H - m.bottom}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${num(X(t))}" y="${H - m.bottom + 16}" text-anchor="middle">${esc(fmtX(t))}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${m.left}" y1="${num(Y(t))}" x2="${W - m.right}" y2="${num(Y(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${num(Y(t) + 4)}" text-anchor="end">${esc(fmtY(t))}</text>`);
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#333"/>`,
  );
  parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 16}" text-anchor="middle">${esc(chart.x.label)}</text>`);
  parts.push(`<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(chart.y.label)}</text>`);
  // Series.
  series.forEach((s, i) => {
    const color = s.color ?? colorOf(s.colorKey ?? s.name);
    const dash = s.dash ?? (s.dashed ? "6 4" : null);
    const pts = s.points.filter((p) => (!chart.x.log || p[0] > 0) && (!chart.y.log || p[1] > 0));
    const d = pts.map((p) => `${num(X(p[0]))},${num(Y(p[1]))}`).join(" ");
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${d}"><title>${esc(s.name)}</title></polyline>`,
    );
    if (!s.noMarkers)
      for (const p of pts)
        parts.push(
          `<circle cx="${num(X(p[0]))}" cy="${num(Y(p[1]))}" r="3" fill="${color}"><title>${esc(`${s.name}: ${fmtX(p[0])}, ${fmtY(p[1])}`)}</title></circle>`,
        );
    const ly = m.top + 8 + i * 18;
    parts.push(
      `<line x1="${W - m.right + 14}" y1="${ly}" x2="${W - m.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
    );
    parts.push(`<text x="${W - m.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
