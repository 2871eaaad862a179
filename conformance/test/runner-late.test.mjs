// A runner that cannot keep time is reported as such, never as the implementation's failure: the
// test hook QWH_CONFORMANCE_STALL blocks the runner's event loop before a step of a case whose
// verdict depends on the runner's cadence (a message every 200 ms against an idle timeout of
// 400 ms, at timeout scale 1). Blocked on every attempt, the case is ERROR "runner late"; blocked
// on the first attempt only, it is run again and passes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJson, runBin, tempDir } from "./helpers.mjs";

const CASE = "limit/server/idle-timeout-reset-by-traffic";
// Step 4 is the first send after "wait 200": blocked for 700 ms, the server's idle timer (400 ms) fires first.
const STALL = `${CASE}:4:700`;

describe("a late runner is not the implementation's failure", { timeout: 120000 }, () => {
  it("stalled on every attempt: ERROR runner late (exit 2), after three attempts that each saw the idle close", async () => {
    const out = tempDir("late");
    const r = await runBin(["run", "--agent", "ts", "--cases", CASE, "--timeout-scale", "1", "--out", out, "--quiet"], {
      env: { QWH_CONFORMANCE_STALL: STALL },
    });
    const result = readJson(join(out, "index.json")).agents.ts[CASE];
    expect(result.grade).toBe("ERROR");
    expect(result.message).toMatch(/^runner late by \d+ ms/);
    expect(result.attempts).toBe(3);
    expect(r.code).toBe(2);
    // --quiet still names the case and gives the summary line.
    expect(r.stderr).toContain(`ERROR ${CASE}: runner late by`);
    expect(r.stderr).toMatch(/ts: 1 cases \(0 vectors, 1 wire\): 1 ERROR/);
    // The stall really made the case fail on the wire: the server closed for idleness each time.
    const log = readFileSync(join(out, result.wireLog), "utf8");
    expect(log.match(/=== attempt \d: FAIL, not graded: the runner was late/g)).toHaveLength(3);
    expect(log.match(/# mismatch: .*control frame/g)).toHaveLength(3);
  });

  it("stalled on the first attempt only: run again and graded on the second (PASS)", async () => {
    const out = tempDir("late-once");
    const r = await runBin(["run", "--agent", "ts", "--cases", CASE, "--timeout-scale", "1", "--out", out, "--quiet"], {
      env: { QWH_CONFORMANCE_STALL: `${STALL}:1` },
    });
    const result = readJson(join(out, "index.json")).agents.ts[CASE];
    expect(result.grade).toBe("PASS");
    expect(result.attempts).toBe(2);
    expect(r.code).toBe(0);
  });
});
