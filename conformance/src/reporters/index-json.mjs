// index.json: agent -> case -> grade, close behaviour, duration, requirement ids, wire log.
import { join } from "node:path";
import { countGrades } from "../grading.mjs";
import { RUNNER_NAME, RUNNER_VERSION, writeFileDeep } from "../util.mjs";

/** Builds the index object from {agent: [result]} (result: {id, grade, closeBehavior, durationMs, requirements, wireLog, role, level, message}). */
export function buildIndex(resultsByAgent, { strict = false, unavailable = {}, timeoutScale = 1 } = {}) {
  const agents = {};
  const summary = {};
  for (const [agent, results] of Object.entries(resultsByAgent)) {
    agents[agent] = {};
    for (const r of results) {
      const entry = {
        grade: r.grade,
        closeGrade: r.closeGrade ?? null,
        durationMs: Math.round(r.durationMs * 10) / 10,
        requirements: r.requirements,
        wireLog: r.wireLog ?? null,
        role: r.role,
        level: r.level,
      };
      if (r.closeBehavior) entry.closeBehavior = r.closeBehavior;
      if (r.message) entry.message = r.message;
      if (r.attempts) entry.attempts = r.attempts;
      agents[agent][r.id] = entry;
    }
    summary[agent] = countGrades(results);
  }
  const index = {
    generatedAt: new Date().toISOString(),
    runner: { name: RUNNER_NAME, version: RUNNER_VERSION },
    qwh: "1.0",
    strict,
    timeoutScale,
    agents,
    summary,
  };
  if (Object.keys(unavailable).length) index.unavailable = unavailable;
  return index;
}

export function writeIndex(outDir, index) {
  writeFileDeep(join(outDir, "index.json"), JSON.stringify(index, null, 2) + "\n");
}
