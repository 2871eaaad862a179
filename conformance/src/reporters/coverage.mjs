// coverage.json: for every requirement of the spec, the cases citing it and their grade per agent,
// its written waiver if it has one, and counts of MUST and SHOULD coverage.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { validate } from "@qwormhole/schemas";
import { HarnessError, packageDir, writeFileDeep } from "../util.mjs";

export const waiversPath = join(packageDir, "waivers.json");

/** conformance/waivers.json as a Map requirement id -> reason (validated against its schema). */
export function loadWaivers(path = waiversPath) {
  if (!existsSync(path)) return new Map();
  const data = JSON.parse(readFileSync(path, "utf8"));
  const v = validate("conformance/waivers.schema.json", data);
  if (!v.valid) throw new HarnessError(`${path}: ${v.errors.map((e) => `${e.instancePath} ${e.message}`).join("; ")}`);
  return new Map(Object.entries(data.waivers).map(([id, w]) => [id, w.reason]));
}

const MUSTS = new Set(["MUST", "MUST NOT"]);
const SHOULDS = new Set(["SHOULD", "SHOULD NOT"]);

/**
 * requirements: Map id -> {level, role}; cases: [{id, requirements}] (every case of the suite,
 * run or not); resultsByAgent: {agent: [{id, grade}]}.
 */
export function buildCoverage(requirements, cases, resultsByAgent, waivers = new Map()) {
  const grades = new Map();
  for (const [agent, results] of Object.entries(resultsByAgent))
    for (const r of results) {
      if (!grades.has(r.id)) grades.set(r.id, {});
      grades.get(r.id)[agent] = r.grade;
    }
  const out = {};
  for (const [id, req] of requirements) out[id] = { level: req.level, role: req.role, cases: {} };
  for (const c of cases) for (const id of c.requirements) if (out[id]) out[id].cases[c.id] = grades.get(c.id) ?? {};
  for (const [id, reason] of waivers) if (out[id]) out[id].waiver = reason;
  const summary = {
    requirements: 0,
    covered: 0,
    mustRequirements: 0,
    mustCovered: 0,
    mustWaived: 0,
    mustUncovered: 0,
    shouldRequirements: 0,
    shouldCovered: 0,
    mayRequirements: 0,
    mayCovered: 0,
    waived: 0,
  };
  for (const r of Object.values(out)) {
    const covered = Object.keys(r.cases).length > 0;
    summary.requirements++;
    if (covered) summary.covered++;
    if (r.waiver) summary.waived++;
    if (MUSTS.has(r.level)) {
      summary.mustRequirements++;
      if (covered) summary.mustCovered++;
      else if (r.waiver) summary.mustWaived++;
      else summary.mustUncovered++;
    } else if (SHOULDS.has(r.level)) {
      summary.shouldRequirements++;
      if (covered) summary.shouldCovered++;
    } else {
      summary.mayRequirements++;
      if (covered) summary.mayCovered++;
    }
  }
  return { generatedAt: new Date().toISOString(), agents: Object.keys(resultsByAgent), summary, requirements: out };
}

/** MUST requirements with no case and no waiver. */
export function uncoveredMusts(coverage) {
  return Object.entries(coverage.requirements)
    .filter(([, r]) => MUSTS.has(r.level) && Object.keys(r.cases).length === 0 && !r.waiver)
    .map(([id]) => id);
}

export function writeCoverage(outDir, coverage) {
  writeFileDeep(join(outDir, "coverage.json"), JSON.stringify(coverage, null, 2) + "\n");
}
