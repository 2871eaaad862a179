#!/usr/bin/env node
// Re-renders the Markdown table and the SVG plots of an existing results file
// (e.g. after a change to the report), next to it or into --out.
//   node bench/src/render.mjs bench/results/2025-01-31-full.json [--out dir]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { markdown, plots } from "./lib/report.mjs";
import { validateResults } from "./lib/validate.mjs";

const file = process.argv[2];
if (!file) {
  console.error("usage: node bench/src/render.mjs <results.json> [--out dir]");
  process.exit(2);
}
const i = process.argv.indexOf("--out");
const out = resolve(i > 0 ? process.argv[i + 1] : dirname(file));
const result = JSON.parse(readFileSync(file, "utf8"));
const errors = validateResults(result);
if (errors) console.error(`warning: ${file} does not validate:\n  ${errors.join("\n  ")}`);
const stem =
  basename(file).replace(/\.json$/, "") === "latest"
    ? `${result.date.slice(0, 10)}-${result.profile}`
    : basename(file).replace(/\.json$/, "");
mkdirSync(out, { recursive: true });
const files = {};
for (const [suffix, svg] of Object.entries(plots(result))) {
  writeFileSync(join(out, `${stem}-${suffix}`), svg);
  files[suffix.replace(/\.svg$/, "")] = `${stem}-${suffix}`;
}
writeFileSync(join(out, `${stem}.md`), markdown(result, files) + "\n");
console.error(`wrote ${join(out, stem)}.md and ${Object.keys(files).length} plots`);
