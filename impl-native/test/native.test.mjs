// Runs the native test targets from the shared vitest run, so `npm test` at
// the root covers them and CI counts them: the C vector runner, the same
// under ASan+UBSan+LSan, the C fuzz targets for a bounded time, TS <-> C interop
// over TCP, and the Node addons: a round trip under ASan+UBSan and the crash
// loops (process exit, worker teardown, create/close leak check). The addons' behaviour tests (the impl-ts client and
// server suites on both native modes) are in impl-ts/test/native. Every command runs in its own
// process group with a deadline that kills the group (test/deadline.mjs), so none can hang the run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBounded } from "./deadline.mjs";

const dir = join(import.meta.dirname, "..");
const vectorsDir = join(dir, "..", "conformance", "vectors");
// Every golden vector, counted from the files (numberOfTests of each), except the files of an
// optional feature the C codec does not implement (the runner says "skipped: kind not implemented").
const OPTIONAL_KINDS = new Set(["resume"]);
const vectorFiles = readdirSync(vectorsDir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({ name: f, ...JSON.parse(readFileSync(join(vectorsDir, f), "utf8")) }));
/** Checks a vector runner's output: every file passed, or was skipped because its kind is an optional feature. */
function expectAllVectorsPassed(out) {
  const skipped = vectorFiles.filter((v) =>
    new RegExp(`^${v.name.replace(".", "\\.")}\\s+\\S+\\s+skipped: kind not implemented`, "m").test(out),
  );
  for (const v of skipped) expect(OPTIONAL_KINDS.has(v.kind), `${v.name} (kind ${v.kind}) skipped`).toBe(true);
  const expected = vectorFiles.filter((v) => !skipped.includes(v)).reduce((n, v) => n + v.numberOfTests, 0);
  expect(out).toMatch(new RegExp(`\\b${expected} passed, 0 failed`));
}
/** Runs cmd to its end or its deadline; fails (with the output) unless it exited 0 in time. */
async function run(cmd, args, timeoutMs) {
  const r = await runBounded(cmd, args, { cwd: dir, timeoutMs });
  if (r.timedOut)
    throw new Error(`${cmd} ${args.join(" ")}: killed at its ${timeoutMs} ms deadline\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code} ${r.signal ?? ""}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}
// Each process' deadline is below its vitest timeout, so the process is killed before vitest gives up.
const DEADLINE = 280_000;

describe("native C implementation", () => {
  it("the C core passes every golden vector under three chunkings (make test)", async () => {
    const out = await run("make", ["-s", "test"], DEADLINE);
    expectAllVectorsPassed(out);
  }, 300_000);

  it("the vector runner and the CLI smoke test run clean under ASan+UBSan+LeakSanitizer (make sanitize)", async () => {
    const out = await run("make", ["-s", "sanitize"], DEADLINE);
    expect(out).not.toMatch(/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/);
    expectAllVectorsPassed(out);
  }, 300_000);

  it("the C fuzz targets, seeded from the vectors, run 15 s each under ASan+UBSan without a finding (make fuzz-ci)", async () => {
    const out = await run("make", ["-s", "fuzz-ci", "FUZZ_CI_SECONDS=15"], 200_000);
    expect(out).toMatch(/fuzz decoder: \d+ executions .* no finding/);
    expect(out).toMatch(/fuzz hello: \d+ executions .* no finding/);
  }, 210_000);

  it("a TS client talks to the C server and a C client to the TS server (interop)", async () => {
    const out = await run("node", ["test/interop.mjs"], 110_000);
    expect(out).toMatch(/\n\d+ passed, 0 failed/);
  }, 120_000);

  it("the addons round-trip plain and TLS under ASan+UBSan (make sanitize-addon)", async () => {
    const out = await run("make", ["-s", "sanitize-addon"], DEADLINE);
    expect(out).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(out).toMatch(/\n\d+ passed, 0 failed/);
  }, 300_000);

  it("no crash in 50 runs each of process exit, worker teardown and create/close loops (both addons)", async () => {
    const out = await run("node", ["test/crash-loops.mjs", "50"], DEADLINE);
    expect(out).toMatch(/\n\d+ passed, 0 failed/);
    expect(out).not.toMatch(/^FAIL/m);
  }, 300_000);
});
