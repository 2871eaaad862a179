// The command line as a third party meets it: names of agents given by command, the defaults of
// --out, list and its scenario names, --version, and output into a closed pipe.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SCENARIOS } from "../src/scenarios.mjs";
import { bin, conformanceDir, fixtureAdapter, readJson, runBin, tempDir } from "./helpers.mjs";

const pkg = JSON.parse(readFileSync(join(conformanceDir, "package.json"), "utf8"));

describe("qwh-conformance command line", { timeout: 120000 }, () => {
  it("--version prints the package's version", async () => {
    const r = await runBin(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("list --matrix names every interop scenario; a --scenarios glob that matches none lists them and exits 2", async () => {
    const r = await runBin(["list", "--matrix"]);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0]),
    ).toEqual(SCENARIOS.map((s) => s.name));
    const bad = await runBin(["matrix", "--scenarios", "handshake-basic,no-such-scenario", "--out", tempDir("m-bad")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("no-such-scenario matches no scenario");
    expect(bad.stderr).toContain("reconnect-after-restart");
  });

  it("list into a pipe closed early ends without a stack trace", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${bin}" list | head -n 1`], { encoding: "utf8", timeout: 60000 });
    expect(r.stdout.split("\n")[0]).toMatch(/^vector\//);
    expect(r.stderr).not.toMatch(/EPIPE|Error/);
  });

  it("matrix --agent-cmd and --cmd add an agent in both roles; one left out of --agents, a built-in name or a repeated name exit 2", async () => {
    const adapter = fixtureAdapter("codec-only.mjs");
    const cases = [
      [["--agent-cmd", `mine=${adapter}`, "--agents", "ts"], /mine is not in --agents/],
      [["--agent-cmd", `ts=${adapter}`], /built-in agent/],
      [["--agent-cmd", `mine=${adapter}`, "--cmd", adapter, "--name", "mine"], /given twice/],
      [["--agent-cmd", "no-equals-sign"], /NAME=COMMAND/],
      [["--agents", "ts,nope"], /unknown agent nope/],
    ];
    for (const [args, message] of cases) {
      const r = await runBin(["matrix", ...args, "--out", tempDir("m-args")]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    for (const how of [
      ["--agent-cmd", `mine=${adapter}`],
      ["--cmd", adapter, "--name", "mine"],
    ]) {
      const out = tempDir("m-cmd");
      const r = await runBin([
        "matrix",
        ...how,
        "--agents",
        "ts,mine",
        "--scenarios",
        "handshake-basic",
        "--transports",
        "plain",
        "--out",
        out,
        "--quiet",
      ]);
      const m = readJson(join(out, "matrix.json"));
      expect(m.clients).toEqual(["ts", "mine"]);
      expect(m.servers).toEqual(["ts", "mine"]);
      expect(m.results.ts.ts.plain["handshake-basic"].grade).toBe("PASS");
      // The adapter has no serve or connect: its cells are UNSUPPORTED (its own business), never FAIL.
      expect(m.results.mine.ts.plain["handshake-basic"].grade).toBe("UNSUPPORTED");
      expect(m.results.ts.mine.plain["handshake-basic"].grade).toBe("UNSUPPORTED");
      expect(r.code).toBe(0);
    }
  });

  it("--out defaults to reports/<agent name> under the working directory; --quiet still prints the summary and the report path", () => {
    const cwd = tempDir("out-default");
    const r = spawnSync(
      process.execPath,
      [
        bin,
        "run",
        "--cmd",
        fixtureAdapter("codec-only.mjs"),
        "--name",
        "mine",
        "--vectors-only",
        "--cases",
        "vector/frame-decode-basic/1",
        "--quiet",
      ],
      { cwd, encoding: "utf8", timeout: 60000 },
    );
    expect(r.status).toBe(0);
    expect(readJson(join(cwd, "reports/mine/index.json")).summary.mine.UNSUPPORTED).toBe(1);
    expect(r.stderr).toMatch(/^mine: 1 cases \(1 vectors, 0 wire\): 1 UNSUPPORTED$/m);
    expect(r.stderr).toContain(join(cwd, "reports/mine"));
    expect(
      execFileSync(process.execPath, [bin, "list", "--cases", "vector/frame-decode-basic/1"], { encoding: "utf8", timeout: 60_000 }),
    ).toMatch(/^vector\/frame-decode-basic\/1\t/);
  });

  it("the report links requirement ids to spec.html, and wire logs show bytes as hex and text", async () => {
    const out = tempDir("report");
    const r = await runBin(["run", "--agent", "ts", "--cases", "frame/server/two-byte-message", "--out", out, "--quiet"]);
    expect(r.code).toBe(0);
    const html = readFileSync(join(out, "index.html"), "utf8");
    expect(html).toMatch(/<a href="spec.html#QWH-FRAME-\d{3}" title="4\.[^"]*">QWH-FRAME-\d{3}<\/a>/);
    const spec = readFileSync(join(out, "spec.html"), "utf8");
    expect(spec).toContain('<li id="QWH-FRAME-001">');
    expect(spec).toContain('<h2 id="appendix-d">');
    const log = readFileSync(join(out, "wire/ts/frame__server__two-byte-message.log"), "utf8");
    expect(log).toMatch(/> \[a\] 000000026869 {2}\|\.\.\.\.hi\|/);
  });
});
