#!/usr/bin/env node
// CI's check that grades do not depend on machine load: compares the grades of a run (or a
// matrix) made with the CPUs oversubscribed against the same cases (cells) of a quiet one.
// Usage: node compare-grades.mjs run QUIET_DIR LOADED_DIR AGENT
//        node compare-grades.mjs matrix QUIET_DIR LOADED_DIR
// Exits 1 when the loaded run has a FAIL or ERROR, or a grade that differs from the quiet run.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [kind, quietDir, loadedDir, agent] = process.argv.slice(2);
const read = (dir, file) => JSON.parse(readFileSync(join(dir, file), "utf8"));
const grades = new Map(); // key -> [quiet, loaded]
let missing = 0;
if (kind === "run") {
  const quiet = read(quietDir, "index.json").agents[agent] ?? {};
  const loaded = read(loadedDir, "index.json").agents[agent] ?? {};
  missing = Object.keys(quiet).filter((id) => !Object.hasOwn(loaded, id)).length;
  for (const [id, r] of Object.entries(loaded)) grades.set(id, [quiet[id]?.grade ?? "(not in the quiet run)", r.grade, r.message]);
} else if (kind === "matrix") {
  const quiet = read(quietDir, "matrix.json").results;
  const loaded = read(loadedDir, "matrix.json").results;
  for (const [c, byServer] of Object.entries(loaded))
    for (const [s, byT] of Object.entries(byServer))
      for (const [t, cells] of Object.entries(byT)) {
        for (const [sc, x] of Object.entries(cells))
          grades.set(`${c} -> ${s} ${t} ${sc}`, [quiet[c]?.[s]?.[t]?.[sc]?.grade ?? "(not in the quiet run)", x.grade, x.message]);
      }
} else {
  console.error("usage: compare-grades.mjs run QUIET LOADED AGENT | matrix QUIET LOADED");
  process.exit(2);
}
const bad = [...grades].filter(([, [q, l]]) => q !== l || l === "FAIL" || l === "ERROR");
if (grades.size === 0 || missing) {
  console.log(`${kind} under load: ${grades.size} results, ${missing} cases of the quiet run missing`);
  process.exit(1);
}
const counts = {};
for (const [, [, l]] of grades) counts[l] = (counts[l] ?? 0) + 1;
console.log(
  `${kind} under load: ${grades.size} ${kind === "run" ? "cases" : "cells"} (${Object.entries(counts)
    .map(([g, n]) => `${n} ${g}`)
    .join(", ")}); ${bad.length ? `${bad.length} not as in the quiet run` : "every grade as in the quiet run"}`,
);
for (const [key, [q, l, message]] of bad) console.log(`  ${key}: quiet ${q}, loaded ${l}${message ? ` (${message})` : ""}`);
process.exit(bad.length ? 1 : 0);
