// Runs the native test targets from the shared vitest run, so `npm test` at
// the root covers them and CI counts them: the C vector runner, the same
// under ASan+UBSan+LSan, TS <-> C interop over TCP, and the Node addons: a round
// trip under ASan+UBSan and the crash loops (process exit, worker teardown,
// create/close leak check). The addons' behaviour tests (the impl-ts client and
// server suites on both native modes) are in impl-ts/test/native.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const dir = join(import.meta.dirname, "..");
const vectorsDir = join(dir, "..", "conformance", "vectors");
// Every golden vector, counted from the files (numberOfTests of each).
const VECTORS = readdirSync(vectorsDir)
  .filter((f) => f.endsWith(".json"))
  .reduce((n, f) => n + JSON.parse(readFileSync(join(vectorsDir, f), "utf8")).numberOfTests, 0);
const allPassed = new RegExp(`\\b${VECTORS} passed, 0 failed`);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("native C implementation", () => {
  it("the C core passes every golden vector under three chunkings (make test)", () => {
    const out = run("make", ["-s", "test"]);
    expect(out).toMatch(allPassed);
  }, 300_000);

  it("the vector runner and the CLI smoke test run clean under ASan+UBSan+LeakSanitizer (make sanitize)", () => {
    const out = run("make", ["-s", "sanitize"]);
    expect(out).not.toMatch(/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/);
    expect(out).toMatch(allPassed);
  }, 300_000);

  it("a TS client talks to the C server and a C client to the TS server (interop)", () => {
    const out = run("node", ["test/interop.mjs"]);
    expect(out).toMatch(/\n\d+ passed, 0 failed/);
  }, 120_000);

  it("the addons round-trip plain and TLS under ASan+UBSan (make sanitize-addon)", () => {
    const out = run("make", ["-s", "sanitize-addon"]);
    expect(out).not.toMatch(/ERROR: AddressSanitizer|runtime error:/);
    expect(out).toMatch(/\n\d+ passed, 0 failed/);
  }, 300_000);

  it("no crash in 50 runs each of process exit, worker teardown and create/close loops (both addons)", () => {
    const out = run("node", ["test/crash-loops.mjs", "50"]);
    expect(out).toMatch(/\n\d+ passed, 0 failed/);
    expect(out).not.toMatch(/^FAIL/m);
  }, 300_000);
});
