// The runner against the TS adapter in codec mode: every golden vector passes under every
// chunking, the outputs validate against their schemas, and the HTML stands alone.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadVectorCases } from "../src/vectors.mjs";
import { readJson, runBin, schemaErrors, tempDir } from "./helpers.mjs";

// Every golden vector, counted from the files (numberOfTests of each).
const vectorsDir = join(import.meta.dirname, "..", "vectors");
const VECTORS = readdirSync(vectorsDir)
  .filter((f) => f.endsWith(".json"))
  .reduce((n, f) => n + JSON.parse(readFileSync(join(vectorsDir, f), "utf8")).numberOfTests, 0);

describe("qwh-conformance run --agent ts --vectors-only", () => {
  const out = tempDir("codec");
  let run;
  beforeAll(async () => {
    run = await runBin(["run", "--agent", "ts", "--vectors-only", "--out", out, "--quiet"]);
  }, 120000);

  it("exits 0", () => {
    expect(run.stderr).not.toMatch(/FAIL|ERROR/);
    expect(run.code).toBe(0);
  });

  it("grades every golden vector PASS", () => {
    const index = readJson(join(out, "index.json"));
    const vectors = loadVectorCases();
    expect(vectors.length).toBe(VECTORS);
    const ts = index.agents.ts;
    expect(Object.keys(ts).length).toBe(vectors.length);
    for (const v of vectors) expect(ts[v.id]?.grade, v.id).toBe("PASS");
    expect(index.summary.ts.PASS).toBe(VECTORS);
  });

  it("writes index.json and coverage.json that validate against their schemas", () => {
    expect(schemaErrors("conformance/report-index.schema.json", readJson(join(out, "index.json")))).toEqual([]);
    expect(schemaErrors("conformance/coverage.schema.json", readJson(join(out, "coverage.json")))).toEqual([]);
  });

  it("writes a junit.xml with one testcase per case", () => {
    const xml = readFileSync(join(out, "junit.xml"), "utf8");
    expect(xml).toMatch(/^<\?xml/);
    expect(xml.match(/<testcase /g)?.length).toBe(VECTORS);
    expect(xml).not.toMatch(/<failure|<error/);
  });

  it("writes a self-contained index.html (no external URL, no external resource)", () => {
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/:\/\//);
    expect(html).not.toMatch(/<link\b|<script\s+src|@import|url\(/i);
    expect(html).toContain("vector/frame-decode-basic/1");
    expect(html).toContain("Requirement coverage");
  });

  it("writes no log for passing codec cases", () => {
    expect(existsSync(join(out, "codec"))).toBe(false);
  });
});
