// A server restart is part of its cell: the cell waits for the restarted server before grading
// and stops it after, even when the client finished before the runner saw the server's ready line.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureAdapter, readJson, runBin, tempDir } from "./helpers.mjs";

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("qwh-conformance matrix: reconnect-after-restart", { timeout: 120000 }, () => {
  it("a restarted server whose ready line comes after the client is done is waited for and stopped", async () => {
    const out = tempDir("matrix-restart");
    const pids = tempDir("late-ready-pids");
    const r = await runBin(
      [
        "matrix",
        "--agent-cmd",
        `late=${fixtureAdapter("late-ready.mjs")}`,
        "--agents",
        "ts,late",
        "--scenarios",
        "reconnect-after-restart",
        "--transports",
        "plain",
        "--out",
        out,
      ],
      { timeoutMs: 110000, env: { LATE_READY_PIDS: pids } },
    );
    expect(r.stderr).not.toContain("still held open");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const matrix = readJson(join(out, "matrix.json"));
    for (const client of ["ts", "late"]) expect(matrix.results[client].late.plain["reconnect-after-restart"].grade).toBe("PASS");
    const started = readdirSync(pids).map(Number);
    expect(started.length).toBeGreaterThanOrEqual(4); // two cells with the late server: each starts it and restarts it
    expect(started.filter(alive)).toEqual([]);
  });
});
