// Checks the golden vector files: generated and up to date, well numbered, citing real requirement
// ids, and using only flags their notes define.
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vectorsDir = join(here, "..", "vectors");
const repoRoot = join(here, "..", "..");
const requirementsPath = join(repoRoot, "spec", "requirements.json");

const files = readdirSync(vectorsDir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ name: f, data: JSON.parse(readFileSync(join(vectorsDir, f), "utf8")) }));
const testsOf = (data) => data.testGroups.flatMap((g) => g.tests);

/** Requirement ids listed in spec/requirements.json, whatever its exact layout (array or object of entries). */
function specIds() {
  const raw = JSON.parse(readFileSync(requirementsPath, "utf8"));
  const ids = new Set();
  const visit = (v) => {
    if (typeof v === "string" && /^QWH-[A-Z]+-\d{3}$/.test(v)) ids.add(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (/^QWH-[A-Z]+-\d{3}$/.test(k)) ids.add(k);
        if (k === "id" || k === "requirements" || k === "items" || /^QWH-/.test(k) || typeof x === "object") visit(x);
      }
    }
  };
  visit(raw);
  return ids;
}

describe("golden vector files", () => {
  it("are what the generator produces (generate.mjs --check)", () => {
    const out = execFileSync(process.execPath, [join(vectorsDir, "generator", "generate.mjs"), "--check"], { encoding: "utf8" });
    expect(out).toMatch(/up to date/);
  });

  it("are at least 10 files with at least 600 vectors in total", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    const total = files.reduce((n, f) => n + testsOf(f.data).length, 0);
    expect(total).toBeGreaterThanOrEqual(600);
  });

  it("have the envelope of brief section 10", () => {
    for (const { name, data } of files) {
      expect(data.schema, name).toBe(`vectors/${data.kind}.schema.json`);
      // Files of the feature "resume" belong to QWH/1.1; every other file to 1.0.
      expect(data.qwh, name).toBe(data.kind === "resume" ? "1.1" : "1.0");
      expect(typeof data.description, name).toBe("string");
      expect(data.testGroups.length, name).toBeGreaterThan(0);
    }
  });

  it("number their tests 1..N and state numberOfTests = N", () => {
    for (const { name, data } of files) {
      const ids = testsOf(data).map((t) => t.tcId);
      expect(ids, name).toEqual(ids.map((_, i) => i + 1));
      expect(data.numberOfTests, name).toBe(ids.length);
    }
  });

  it("give every test a comment, a result and at least one well-formed requirement id", () => {
    for (const { name, data } of files) {
      for (const t of testsOf(data)) {
        const where = `${name} #${t.tcId}`;
        expect(t.comment, where).toBeTruthy();
        expect(["valid", "invalid", "acceptable"], where).toContain(t.result);
        expect(t.requirements.length, where).toBeGreaterThan(0);
        for (const r of t.requirements) expect(r, where).toMatch(/^QWH-[A-Z]+-\d{3}$/);
      }
    }
  });

  it("cite only requirement ids listed in spec/requirements.json", () => {
    if (!existsSync(requirementsPath)) {
      throw new Error(`spec/requirements.json is missing: build it (npm run spec:requirements) before running the conformance project`);
    }
    const known = specIds();
    expect(known.size).toBeGreaterThan(0);
    const unknown = new Set();
    for (const { name, data } of files)
      for (const t of testsOf(data)) for (const r of t.requirements) if (!known.has(r)) unknown.add(`${r} (${name} #${t.tcId})`);
    expect([...unknown]).toEqual([]);
  });

  it("use only flags defined in the file's notes, and define no unused flag", () => {
    for (const { name, data } of files) {
      const used = new Set(testsOf(data).flatMap((t) => t.flags ?? []));
      for (const f of used) expect(Object.keys(data.notes ?? {}), `${name}: flag ${f}`).toContain(f);
      for (const f of Object.keys(data.notes ?? {})) expect(used.has(f), `${name}: note ${f} unused`).toBe(true);
      for (const n of Object.values(data.notes ?? {})) expect(n.description).toBeTruthy();
    }
  });

  it("mark frame-decode tests invalid exactly when they expect an error", () => {
    for (const { name, data } of files.filter((f) => f.data.kind === "frame-decode")) {
      for (const t of testsOf(data)) expect(t.result === "invalid", `${name} #${t.tcId}`).toBe(t.error !== null);
    }
  });
});
