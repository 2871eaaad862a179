// Checks the declarative wire cases (conformance/cases/<area>/*.json): generated and up to date,
// valid against the case schema, ids unique and under their area and role, requirement ids real
// with a matching level and role, and enough of them (at least 250 cases in at least 9 areas,
// both roles).
import { describe, it, expect } from "vitest";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createValidator, schemaId } from "@qwormhole/schemas";

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, "..", "cases");
const repoRoot = join(here, "..", "..");

const requirements = new Map(
  JSON.parse(readFileSync(join(repoRoot, "spec", "requirements.json"), "utf8")).requirements.map((r) => [r.id, r]),
);
const errorCodes = new Map(JSON.parse(readFileSync(join(repoRoot, "spec", "error-codes.json"), "utf8")).codes.map((c) => [c.code, c]));
const family = (level) => (level.startsWith("MUST") ? "MUST" : level.startsWith("SHOULD") ? "SHOULD" : "MAY");

const files = readdirSync(casesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== "generator")
  .flatMap((d) =>
    readdirSync(join(casesDir, d.name))
      .filter((f) => f.endsWith(".json"))
      .sort()
      .map((f) => ({ dir: d.name, name: `${d.name}/${f}`, data: JSON.parse(readFileSync(join(casesDir, d.name, f), "utf8")) })),
  );
const cases = files.flatMap((f) => f.data.cases.map((c) => ({ file: f.name, dir: f.dir, area: f.data.area, c })));

/** Every step of a case, flattened. */
const stepsOf = (c) => c.steps;

describe("wire case files", () => {
  it("are what the generator produces (generate.mjs --check)", () => {
    const out = execFileSync(process.execPath, [join(casesDir, "generator", "generate.mjs"), "--check"], { encoding: "utf8" });
    expect(out).toMatch(/up to date/);
  });

  it("validate against schemas/conformance/case.schema.json", () => {
    const ajv = createValidator();
    const validate = ajv.getSchema(schemaId("conformance/case.schema.json"));
    expect(validate).toBeTypeOf("function");
    const failures = [];
    for (const { name, data } of files) {
      if (!validate(data)) failures.push(`${name}: ${ajv.errorsText(validate.errors, { separator: "\n  " })}`);
    }
    expect(failures).toEqual([]);
  });

  it("live in the directory of their area, and every id starts with area/role/", () => {
    for (const { file, dir, area, c } of cases) {
      expect(area, file).toBe(dir);
      expect(c.id.startsWith(`${area}/${c.role}/`), c.id).toBe(true);
    }
  });

  it("have unique ids", () => {
    const ids = cases.map(({ c }) => c.id);
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(dup).toEqual([]);
  });

  it("keep the ids of the stable list (an id never disappears or changes meaning)", () => {
    // ids.txt is the list of every id ever published, one a line, with its title after a tab.
    // New cases are appended; a case may be retired only by moving its line to retired.txt.
    const listed = readFileSync(join(casesDir, "ids.txt"), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    const retired = new Set(
      readFileSync(join(casesDir, "retired.txt"), "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split("\t")[0]),
    );
    const byId = new Map(cases.map(({ c }) => [c.id, c]));
    for (const [id, title] of listed) {
      if (retired.has(id)) {
        expect(byId.has(id), `${id} is retired but still present`).toBe(false);
        continue;
      }
      expect(byId.has(id), `${id} disappeared (retire it in cases/retired.txt instead)`).toBe(true);
      expect(byId.get(id).title, `${id} changed its title`).toBe(title);
    }
    const known = new Set(listed.map(([id]) => id));
    const unlisted = [...byId.keys()].filter((id) => !known.has(id));
    expect(unlisted, "new ids must be appended to cases/ids.txt (node conformance/cases/generator/generate.mjs does it)").toEqual([]);
  });

  it("cite requirement ids of spec/requirements.json with a matching level and role", () => {
    const problems = [];
    for (const { c } of cases) {
      for (const id of c.requirements) {
        const r = requirements.get(id);
        if (!r) problems.push(`${c.id}: unknown requirement ${id}`);
        else {
          // A SHOULD case may check the SHOULD clause of a requirement whose strongest keyword is MUST.
          if (family(r.level) !== c.level && !(c.level === "SHOULD" && /\bSHOULD\b/.test(r.text)))
            problems.push(`${c.id}: ${id} is ${r.level}, the case is ${c.level}`);
          if (r.role !== "both" && r.role !== c.role) problems.push(`${c.id}: ${id} binds the ${r.role}, the case tests the ${c.role}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("use registered wire codes in expectations", () => {
    const problems = [];
    for (const { c } of cases) {
      for (const s of stepsOf(c)) {
        const code = s.expectClose?.code ?? (s.expectFrame?.kind === "reject" ? s.expectFrame.json?.code : undefined);
        if (code === undefined) continue;
        const e = errorCodes.get(code);
        if (!e) problems.push(`${c.id}: ${code} is not in the registry`);
        else if (e.scope !== "wire") problems.push(`${c.id}: ${code} is local-only and never on the wire`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("are at least 250 cases in at least 9 areas, with both roles", () => {
    expect(cases.length).toBeGreaterThanOrEqual(250);
    const areas = new Set(cases.map(({ area }) => area));
    expect(areas.size).toBeGreaterThanOrEqual(9);
    const roles = new Set(cases.map(({ c }) => c.role));
    expect([...roles].sort()).toEqual(["client", "server"]);
    expect(cases.filter(({ c }) => c.role === "client").length).toBeGreaterThanOrEqual(60);
  });

  it("end every case with an observable verdict (an expect, expectFrame, expectClose, expectSilence, expectResult or expectTlsRefused step)", () => {
    const verdict = (s) =>
      "expect" in s || "expectFrame" in s || "expectClose" in s || "expectSilence" in s || "expectResult" in s || "expectTlsRefused" in s;
    const bad = cases.filter(({ c }) => !verdict(c.steps[c.steps.length - 1])).map(({ c }) => c.id);
    expect(bad).toEqual([]);
  });

  it("keep timing small: every wait and silence within 2 s, handshake timeouts in config within 1 s (except the default-timeout case)", () => {
    const problems = [];
    for (const { c } of cases) {
      for (const s of c.steps) {
        if ((s.wait ?? 0) > 2000 || ((s.expectSilence ?? 0) > 2000 && !c.id.includes("default"))) problems.push(`${c.id}: long step`);
      }
      if ((c.config?.handshakeTimeoutMs ?? 0) > 1000) problems.push(`${c.id}: handshakeTimeoutMs ${c.config.handshakeTimeoutMs}`);
    }
    expect(problems).toEqual([]);
  });
});
