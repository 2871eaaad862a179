// Self-test of the wire cases: the runner passes the correct mutant fixture and catches every
// deliberate defect of it (conformance/test/fixtures/mutants). Each mutant runs only the cases that
// must catch it, through the runner's command line, so the whole file stays well under 2 minutes.
// QWH_MUTANTS_FULL=1 also runs every wire case against the correct fixture (about 90 s).
import { describe, it, expect, beforeAll } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MUTANTS } from "./fixtures/mutants/mutants.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const cli = join(root, "bin", "qwh-conformance.mjs");
const fixture = join(here, "fixtures", "mutants", "impl.mjs");
const work = mkdtempSync(join(tmpdir(), "qwh-mutants-"));
const cmd = (mutant) => `"${process.execPath}" "${fixture}"${mutant ? ` --mutant ${mutant}` : ""}`;

/** Runs the runner; resolves { code, grades: {caseId: grade}, stdout, stderr }. */
function runRunner(name, cases, mutant, extra = []) {
  const out = join(work, name);
  const args = [
    cli,
    "run",
    "--cmd",
    cmd(mutant),
    "--name",
    name,
    "--wire-only",
    "--out",
    out,
    "--quiet",
    "--concurrency",
    "4",
    ...(cases ? ["--cases", cases.join(",")] : []),
    ...extra,
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: join(root, ".."), timeout: 240000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      const grades = {};
      const ix = join(out, "index.json");
      if (existsSync(ix)) {
        const index = JSON.parse(readFileSync(ix, "utf8"));
        const agent = index.agents?.[name] ?? Object.values(index.agents ?? {})[0];
        for (const [id, r] of Object.entries(agent?.cases ?? agent ?? {}))
          if (r && typeof r === "object" && "grade" in r) grades[id] = r.grade;
      }
      resolve({ code, grades, stdout, stderr });
    });
  });
}

/** Runs fn over items with at most n at once. */
async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}

const runnerReady = existsSync(cli);

describe("mutant fixtures", () => {
  it("has the runner to drive them", () => expect(runnerReady, cli).toBe(true));

  const catching = [...new Set(MUTANTS.flatMap((m) => m.catches))];
  let correct;
  let mutantRuns;

  beforeAll(async () => {
    [correct, mutantRuns] = await Promise.all([
      runRunner("correct", process.env.QWH_MUTANTS_FULL ? null : catching, null),
      pool(MUTANTS, 4, (m) => runRunner(`mutant-${m.name}`, m.catches, m.name)),
    ]);
  }, 240000);

  it("are at least 22 distinct defects, each with a catching case that exists", () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(22);
    expect(new Set(MUTANTS.map((m) => m.name)).size).toBe(MUTANTS.length);
    const ids = new Set(
      readFileSync(join(root, "cases", "ids.txt"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0]),
    );
    for (const m of MUTANTS) {
      expect(m.catches.length, m.name).toBeGreaterThan(0);
      for (const id of m.catches) expect(ids.has(id), `${m.name}: ${id}`).toBe(true);
    }
  });

  it("the correct fixture passes every selected case (exit 0)", () => {
    const bad = Object.entries(correct.grades).filter(([, g]) => g !== "PASS");
    expect(bad, correct.stderr.slice(-2000)).toEqual([]);
    expect(Object.keys(correct.grades).length).toBeGreaterThanOrEqual(catching.length);
    expect(correct.code).toBe(0);
  });

  it("every mutant is caught: its catching cases FAIL (not ERROR) and the runner exits 1", () => {
    const missed = [];
    MUTANTS.forEach((m, i) => {
      const r = mutantRuns[i];
      for (const id of m.catches)
        if (r.grades[id] !== "FAIL")
          missed.push(`${m.name}: ${id} graded ${r.grades[id] ?? "(not run)"} (exit ${r.code}) ${r.stderr.slice(-300)}`);
      if (r.code !== 1) missed.push(`${m.name}: runner exit ${r.code}`);
    });
    expect(missed).toEqual([]);
  });

  it("cleans up", () => {
    rmSync(work, { recursive: true, force: true });
  });
});
