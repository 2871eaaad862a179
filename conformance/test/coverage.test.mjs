// Requirement coverage: every MUST requirement of the spec is cited by at least one golden vector
// or wire case, or has a written waiver in conformance/waivers.json (spec Appendix D.4).
import { describe, expect, it } from "vitest";
import { loadRequirements, loadWireCases } from "../src/cases.mjs";
import { buildCoverage, loadWaivers, uncoveredMusts } from "../src/reporters/coverage.mjs";
import { loadVectorCases } from "../src/vectors.mjs";
import { readJson, schemaErrors } from "./helpers.mjs";
import { join } from "node:path";

describe("requirement coverage", () => {
  const requirements = loadRequirements();
  const waivers = loadWaivers();
  const cases = [...loadVectorCases(), ...loadWireCases()];
  const coverage = buildCoverage(requirements, cases, {}, waivers);

  it("conformance/waivers.json validates and waives only known requirements", () => {
    expect(schemaErrors("conformance/waivers.schema.json", readJson(join(import.meta.dirname, "../waivers.json")))).toEqual([]);
    for (const id of waivers.keys()) expect(requirements.has(id), id).toBe(true);
  });

  it("every MUST requirement has a case or a written waiver", () => {
    expect(uncoveredMusts(coverage)).toEqual([]);
  });

  it("coverage.json built from the suite validates against its schema", () => {
    expect(schemaErrors("conformance/coverage.schema.json", coverage)).toEqual([]);
    expect(coverage.summary.requirements).toBe(requirements.size);
  });
});
