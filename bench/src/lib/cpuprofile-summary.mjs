#!/usr/bin/env node
// Summarises .cpuprofile files (from --cpu-prof / QWH_BENCH_PROFILE): self time per function,
// the top N, with the file and line.   node bench/src/lib/cpuprofile-summary.mjs dir-or-files... [--top 25]
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const ti = args.indexOf("--top");
const top = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 25;
const files = args.flatMap((a) =>
  statSync(a).isDirectory()
    ? readdirSync(a)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => join(a, f))
    : [a],
);

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const d = dt[i] ?? 0;
    total += d;
    const cf = n.callFrame;
    const key =
      `${cf.functionName || "(anonymous)"} ${cf.url ? `${cf.url.replace(/^file:\/\//, "").replace(/.*\/(impl-ts|bench|node_modules)\//, "$1/")}:${cf.lineNumber + 1}` : ""}`.trim();
    self.set(key, (self.get(key) ?? 0) + d);
  }
  const idle = ["(idle)", "(program)", "(garbage collector)"].map((k) => [k, self.get(k) ?? 0]);
  console.log(
    `\n${file}: ${(total / 1e3).toFixed(0)} ms sampled; ${idle.map(([k, v]) => `${k} ${((100 * v) / total).toFixed(1)}%`).join(", ")}`,
  );
  const busy = total - (self.get("(idle)") ?? 0);
  for (const [k, v] of [...self]
    .filter(([k]) => k !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)) {
    console.log(`  ${((100 * v) / busy).toFixed(1).padStart(5)}% of busy  ${k}`);
  }
}
