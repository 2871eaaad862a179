#!/usr/bin/env node
// Requirement coverage so far: which ids of spec/requirements.json are cited
// by at least one golden vector, conformance case or test. `--list` prints the
// uncited ids; `--json` prints the whole map.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const { requirements } = JSON.parse(readFileSync(join(root, "spec/requirements.json"), "utf8"));
const ID = /QWH-[A-Z]+-\d{3}/g;

/** Files that may cite requirements: vectors, cases, tests. */
function* walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === "node_modules" || name === "dist" || name === "generator") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (/\.(json|ts|mjs|c|h)$/.test(name)) yield p;
  }
}

const sources = [
  ["vectors", join(root, "conformance/vectors")],
  ["cases", join(root, "conformance/cases")],
  ["tests", join(root, "impl-ts/test")],
  ["tests", join(root, "conformance/test")],
  ["tests", join(root, "impl-native/test")],
];
const citedBy = new Map(requirements.map((r) => [r.id, new Set()]));
for (const [kind, dir] of sources) {
  for (const file of walk(dir)) {
    for (const id of readFileSync(file, "utf8").match(ID) ?? []) citedBy.get(id)?.add(`${kind}:${relative(root, file)}`);
  }
}

const byLevel = {};
for (const r of requirements) {
  const level = r.level.startsWith("MUST") ? "MUST" : r.level.startsWith("SHOULD") ? "SHOULD" : "MAY";
  byLevel[level] ??= { cited: 0, total: 0 };
  byLevel[level].total++;
  if (citedBy.get(r.id).size > 0) byLevel[level].cited++;
}
const cited = requirements.filter((r) => citedBy.get(r.id).size > 0).length;

if (process.argv.includes("--json")) {
  console.log(JSON.stringify(Object.fromEntries([...citedBy].map(([id, s]) => [id, [...s].sort()])), null, 2));
} else {
  console.log(`requirements cited by at least one vector, case or test: ${cited} of ${requirements.length}`);
  for (const [level, { cited: c, total }] of Object.entries(byLevel)) console.log(`  ${level.padEnd(6)} ${c}/${total}`);
  if (process.argv.includes("--list")) {
    for (const r of requirements) if (citedBy.get(r.id).size === 0) console.log(`  uncited ${r.id} (${r.level}, ${r.role}) ${r.section}`);
  }
}
