// Exit codes of qwh-conformance (0 pass, 1 failure, 2 harness or configuration error, 3 nothing
// selected) and the 127 probe of an adapter.
import { describe, expect, it } from "vitest";
import { findAgent, commandAgent, splitCommand } from "../src/agents.mjs";
import { probeUnsupported } from "../src/adapter-process.mjs";
import { exitCodeFor } from "../src/grading.mjs";
import { fixtureAdapter, readJson, runBin, tempDir } from "./helpers.mjs";
import { join } from "node:path";

describe("exit codes", { timeout: 60000 }, () => {
  it("3 when the selection is empty (a run that selects nothing never passes)", async () => {
    const r = await runBin(["run", "--agent", "ts", "--cases", "no-such-area/*", "--out", tempDir("empty"), "--quiet"]);
    expect(r.code).toBe(3);
  });

  it("2 for an adapter that crashes (an ERROR is not a test failure)", async () => {
    const out = tempDir("crash");
    const r = await runBin([
      "run",
      "--cmd",
      fixtureAdapter("crash-on-codec.mjs"),
      "--name",
      "crash",
      "--vectors-only",
      "--cases",
      "vector/canonical-json/*",
      "--out",
      out,
      "--quiet",
    ]);
    expect(r.code).toBe(2);
    const index = readJson(join(out, "index.json"));
    expect(Object.values(index.agents.crash).every((c) => c.grade === "ERROR")).toBe(true);
  });

  it("2 for an adapter that does not exit 127 on the random probe", async () => {
    const r = await runBin(["run", "--cmd", fixtureAdapter("no-127.mjs"), "--vectors-only", "--out", tempDir("no127"), "--quiet"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/127/);
  });

  it("2 for a bad option, an unknown agent or command", async () => {
    expect((await runBin(["run"])).code).toBe(2);
    expect((await runBin(["run", "--agent", "nope", "--out", tempDir("x")])).code).toBe(2);
    expect((await runBin(["frobnicate"])).code).toBe(2);
    expect((await runBin(["run", "--agent", "ts", "--out", tempDir("x"), "--timeout-scale", "0"])).code).toBe(2);
  });

  it("2 for an invalid case file", async () => {
    const r = await runBin([
      "run",
      "--agent",
      "ts",
      "--wire-only",
      "--case-dir",
      join(import.meta.dirname, "fixtures/bad-cases"),
      "--out",
      tempDir("bad"),
      "--quiet",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid case files/);
  });

  it("1 when a case fails", async () => {
    const out = tempDir("wrong");
    const r = await runBin([
      "run",
      "--cmd",
      fixtureAdapter("wrong-encode.mjs"),
      "--name",
      "wrong",
      "--vectors-only",
      "--cases",
      "vector/frame-encode/*,vector/canonical-json/*",
      "--out",
      out,
      "--quiet",
    ]);
    expect(r.code).toBe(1);
    const index = readJson(join(out, "index.json"));
    expect(index.agents.wrong["vector/frame-encode/1"].grade).toBe("FAIL");
    expect(index.agents.wrong["vector/frame-encode/1"].wireLog).toMatch(/^codec\/wrong\//);
    expect(index.agents.wrong["vector/canonical-json/1"].grade).toBe("PASS");
  });

  it("0 when every case is UNSUPPORTED (declared, not failed)", async () => {
    const out = tempDir("unsup");
    const r = await runBin([
      "run",
      "--cmd",
      fixtureAdapter("codec-only.mjs"),
      "--name",
      "none",
      "--vectors-only",
      "--cases",
      "vector/hello-v1/*",
      "--out",
      out,
      "--quiet",
    ]);
    expect(r.code).toBe(0);
    expect(readJson(join(out, "index.json")).summary.none.UNSUPPORTED).toBeGreaterThan(100);
  });

  it("0 when an adapter exits 127 for connect: client cases are UNSUPPORTED, TLS-refusal ones too", async () => {
    const out = tempDir("unsup-connect");
    const r = await runBin([
      "run",
      "--cmd",
      fixtureAdapter("codec-only.mjs"),
      "--name",
      "none",
      "--wire-only",
      "--cases",
      "tls/client/tls10-only-server-refused,tls/client/tls11-only-server-refused,close/client/peer-close-answered",
      "--out",
      out,
      "--quiet",
    ]);
    const summary = readJson(join(out, "index.json")).summary.none;
    expect(summary).toMatchObject({ UNSUPPORTED: 3, FAIL: 0, ERROR: 0 });
    expect(r.code).toBe(0);
  });

  it("NON_STRICT passes, and fails with --strict", () => {
    const results = [{ grade: "PASS" }, { grade: "NON_STRICT" }];
    expect(exitCodeFor(results, { strict: false })).toBe(0);
    expect(exitCodeFor(results, { strict: true })).toBe(1);
    expect(exitCodeFor([{ grade: "ERROR" }, { grade: "FAIL" }], {})).toBe(1);
    expect(exitCodeFor([], {})).toBe(3);
  });
});

describe("the 127 probe", { timeout: 30000 }, () => {
  it("accepts the ts adapter", async () => {
    expect((await probeUnsupported(findAgent("ts"))).ok).toBe(true);
  });

  it("refuses an adapter that pretends to support anything", async () => {
    const r = await probeUnsupported(commandAgent(fixtureAdapter("no-127.mjs")));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/expected 127/);
  });

  it("refuses a command that does not exist", async () => {
    const r = await probeUnsupported(commandAgent("/nonexistent/adapter"));
    expect(r.ok).toBe(false);
  });

  it("splits --cmd like a shell for simple quoting", () => {
    expect(splitCommand(`python3 "my adapter.py" --x 'a b' c\\ d`)).toEqual(["python3", "my adapter.py", "--x", "a b", "c d"]);
  });
});
