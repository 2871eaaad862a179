// The guide (docs/testing-your-implementation.md) says what is true: its Python adapter is the
// shipped one, it gets the summary the guide prints, in the run and in the matrix, and the counts
// of vectors, wire cases and scenarios are those of `list`.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadWireCases } from "../src/cases.mjs";
import { SCENARIOS } from "../src/scenarios.mjs";
import { loadVectorCases } from "../src/vectors.mjs";
import { conformanceDir, readJson, runBin, tempDir } from "./helpers.mjs";

const guide = readFileSync(join(conformanceDir, "../docs/testing-your-implementation.md"), "utf8");
const adapter = join(conformanceDir, "adapters/example/minimal_adapter.py");
const cmd = `python3 "${adapter}"`;

describe("the conformance guide", { timeout: 240000 }, () => {
  it("has python3 to run on (CI installs it)", () => {
    expect(() => execFileSync("python3", ["--version"], { stdio: "ignore" })).not.toThrow();
  });

  it("shows the shipped example adapter as it is", () => {
    const shown = /```python\n([\s\S]*?)```/.exec(guide)[1];
    expect(shown).toBe(readFileSync(adapter, "utf8"));
  });

  it("gives the counts of list: vectors, wire cases, matrix scenarios", () => {
    const vectors = loadVectorCases().length;
    const wire = loadWireCases().length;
    expect(guide).toContain(`every golden vector (${vectors} of them)`);
    expect(guide).toContain(`(${wire} wire cases)`);
    expect(guide).toContain(`(${SCENARIOS.length} scenarios`);
  });

  it("the example adapter gets the summary the guide prints, and exit 0", async () => {
    const out = tempDir("py");
    const r = await runBin(["run", "--cmd", cmd, "--name", "my-impl", "--out", out, "--quiet"], { timeoutMs: 230000 });
    const line = /`(\d+ cases \(\d+ vectors, \d+ wire\): \d+ PASS, \d+ UNSUPPORTED)`/.exec(guide)[1];
    expect(r.stderr).toContain(`my-impl: ${line}`);
    expect(r.code).toBe(0);
  });

  it("the example adapter passes the matrix scenarios the guide names, one in each role", async () => {
    const out = tempDir("py-matrix");
    const r = await runBin([
      "matrix",
      "--agent-cmd",
      `mine=${cmd}`,
      "--agents",
      "ts,mine",
      "--scenarios",
      "handshake-no-control,server-without-control",
      "--transports",
      "plain",
      "--out",
      out,
      "--quiet",
    ]);
    const m = readJson(join(out, "matrix.json"));
    expect(m.results.ts.mine.plain["server-without-control"].grade).toBe("PASS");
    expect(m.results.mine.ts.plain["handshake-no-control"].grade).toBe("PASS");
    expect(m.summary).toMatchObject({ FAIL: 0, ERROR: 0 });
    expect(r.code).toBe(0);
  });
});
