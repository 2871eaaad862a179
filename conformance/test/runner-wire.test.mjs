// The runner in wire mode against the TS reference: the engine's own fixture cases (every step
// kind, both roles, TLS, signed hellos, two connections) and every case file under
// conformance/cases. Outputs validate against their schemas; wire logs are written.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWireCases } from "../src/cases.mjs";
import { fixtures, readJson, runBin, schemaErrors, tempDir } from "./helpers.mjs";

/**
 * Cases the TS reference fails today because of a bug in impl-ts (not in the case or the runner),
 * reported to the lead. Delete an entry when impl-ts is fixed; the test then requires a PASS.
 */
const KNOWN_IMPL_TS_ISSUES = {};

describe("wire mode: the engine's fixture cases", { timeout: 60000 }, () => {
  const out = tempDir("wire-fixtures");
  let run;
  beforeAll(async () => {
    run = await runBin(["run", "--agent", "ts", "--wire-only", "--case-dir", join(fixtures, "cases"), "--out", out, "--quiet"]);
  }, 60000);

  it("all pass (exit 0)", () => {
    const index = readJson(join(out, "index.json"));
    const bad = Object.entries(index.agents.ts)
      .filter(([, r]) => r.grade !== "PASS")
      .map(([id, r]) => `${id}: ${r.grade} ${r.message}`);
    expect(bad).toEqual([]);
    expect(run.code).toBe(0);
    expect(Object.keys(index.agents.ts).length).toBe(loadWireCases([join(fixtures, "cases")]).length);
  });

  it("writes a wire log per case, in hex, both directions", () => {
    const index = readJson(join(out, "index.json"));
    const r = index.agents.ts["engine/server/echo"];
    expect(r.wireLog).toBe("wire/ts/engine__server__echo.log");
    const log = readFileSync(join(out, r.wireLog), "utf8");
    expect(log).toMatch(/> \[a\] 00000037/);
    expect(log).toMatch(/< \[a\] 00000002 ?6869|< \[a\] 000000026869/);
  });

  it("grades close behaviour separately", () => {
    const index = readJson(join(out, "index.json"));
    expect(index.agents.ts["engine/server/oversize"].closeBehavior).toBe("OK");
    expect(index.agents.ts["engine/server/oversize"].closeGrade).toBe("PASS");
    expect(index.agents.ts["engine/server/ping-pong"].closeGrade).toBe(null);
  });

  it("outputs validate against their schemas", () => {
    expect(schemaErrors("conformance/report-index.schema.json", readJson(join(out, "index.json")))).toEqual([]);
    expect(schemaErrors("conformance/coverage.schema.json", readJson(join(out, "coverage.json")))).toEqual([]);
  });
});

/**
 * Inside vitest a deterministic sample runs (every area, every role, every 3rd case) to keep the
 * project's time within budget; QWH_FULL_CONFORMANCE=1 runs them all. CI runs the whole suite with
 * the bin itself (`qwh-conformance run --agent ts`), outside vitest's workers.
 */
const FULL = process.env.QWH_FULL_CONFORMANCE === "1";

describe("wire mode: conformance/cases against the TS reference", { timeout: 170000 }, () => {
  const out = tempDir("wire-cases");
  const all = loadWireCases();
  const cases = FULL ? all : all.filter((_, i) => i % 3 === 0);
  let index;
  beforeAll(async () => {
    if (cases.length === 0) return;
    const globs = FULL ? [] : ["--cases", cases.map((c) => c.id).join(",")];
    await runBin(["run", "--agent", "ts", "--wire-only", "--concurrency", "6", ...globs, "--out", out, "--quiet"]);
    index = readJson(join(out, "index.json"));
  }, 170000);

  it("every case file validates (the runner loads them all)", () => {
    expect(Array.isArray(cases)).toBe(true);
  });

  it("every case passes, except the known impl-ts issues (NON_STRICT allowed)", () => {
    if (cases.length === 0) return;
    const bad = Object.entries(index.agents.ts)
      .filter(([id, r]) => r.grade !== "PASS" && r.grade !== "NON_STRICT" && !KNOWN_IMPL_TS_ISSUES[id])
      .map(([id, r]) => `${id}: ${r.grade} ${r.message}`);
    expect(bad).toEqual([]);
    expect(Object.keys(index.agents.ts).length).toBe(cases.length);
  });

  it("the index, coverage, junit and HTML are written and valid", () => {
    if (cases.length === 0) return;
    expect(schemaErrors("conformance/report-index.schema.json", index)).toEqual([]);
    expect(schemaErrors("conformance/coverage.schema.json", readJson(join(out, "coverage.json")))).toEqual([]);
    expect(existsSync(join(out, "junit.xml"))).toBe(true);
    expect(readFileSync(join(out, "index.html"), "utf8")).not.toMatch(/:\/\//);
  });
});
