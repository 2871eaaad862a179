// The guide's Python adapter does what docs/testing-your-implementation.md says it does.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conformanceDir, readJson, runBin, tempDir } from "./helpers.mjs";

describe("the guide's minimal Python adapter", { timeout: 60000 }, () => {
  it("has python3 to run on (CI installs it)", () => {
    expect(() => execFileSync("python3", ["--version"], { stdio: "ignore" })).not.toThrow();
  });

  it("passes every frame-decode vector it supports and declares the rest unsupported", async () => {
    const out = tempDir("py");
    const adapter = join(conformanceDir, "adapters/example/minimal_adapter.py");
    const r = await runBin(["run", "--cmd", `python3 "${adapter}"`, "--name", "py-minimal", "--vectors-only", "--cases", "vector/frame-decode-*", "--out", out, "--quiet"]);
    expect(r.code).toBe(0);
    expect(readJson(join(out, "index.json")).summary["py-minimal"]).toEqual({ PASS: 187, NON_STRICT: 0, FAIL: 0, UNSUPPORTED: 153, ERROR: 0 });
  });
});
