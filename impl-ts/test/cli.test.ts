/**
 * The `qwormhole` CLI, run as users run it: the built bin (dist/cli/bin.js)
 * in child processes on real sockets, each with a deadline and killed when
 * the test ends. serve/connect round trips in every transport mode, TLS and
 * the 0.3 profile; bench; coded errors and exit codes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { makePki } from "./integration/tls-certs.js";

const bin = fileURLToPath(new URL("../dist/cli/bin.js", import.meta.url));
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const DEADLINE_MS = 30_000;

interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (the signal's name when killed). */
  exited: Promise<number | string>;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

function run(args: string[], input?: string): Run {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["pipe", "pipe", "pipe"], timeout: DEADLINE_MS });
  started.push(child);
  const r: Run = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.on("close", (code, signal) => resolve(code ?? signal ?? -1))),
  };
  child.stdout.on("data", (d) => (r.stdout += d));
  child.stderr.on("data", (d) => (r.stderr += d));
  if (input !== undefined) child.stdin.end(input);
  return r;
}

/** Waits until the output (stdout + stderr) matches `re`; fails if the process exits first. */
async function waitFor(r: Run, re: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const m = re.exec(r.stdout) ?? re.exec(r.stderr);
    if (m) return m;
    if (r.child.exitCode !== null || r.child.signalCode !== null)
      throw new Error(`exited (${r.child.exitCode ?? r.child.signalCode}) before ${re}: ${r.stdout}${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts `qwormhole serve --port 0 --json ...` and returns it with its port once listening. */
async function serve(args: string[]): Promise<{ server: Run; port: number }> {
  const server = run(["serve", "--port", "0", "--json", ...args]);
  const m = await waitFor(server, /^\{"event":"listening".*$/m);
  return { server, port: JSON.parse(m[0]).port };
}

// Each test starts several node processes; a loaded machine needs seconds for that (each child has its own deadline).
describe("qwormhole CLI", { timeout: 60_000 }, () => {
  it("--help lists the commands, each command has its own help, --version is the package's", async () => {
    const help = run(["--help"]);
    expect(await help.exited).toBe(0);
    for (const c of ["serve --port P", "connect HOST:PORT", "bench HOST:PORT", "--mode ts|native-libsocket|native-lws", "--json"])
      expect(help.stdout).toContain(c);
    const serveHelp = run(["serve", "--help"]);
    expect(await serveHelp.exited).toBe(0);
    expect(serveHelp.stdout).toMatch(/--echo/);
    const v = run(["--version"]);
    expect(await v.exited).toBe(0);
    expect(v.stdout.trim()).toBe(version);
  });

  for (const mode of ["ts", "native-libsocket", "native-lws"]) {
    it(`echo hi | qwormhole connect against qwormhole serve --echo prints hi and exits 0 (${mode})`, async () => {
      const { server, port } = await serve(["--echo", "--mode", mode]);
      expect(server.stdout).toContain(`"mode":"${mode}"`);
      const client = run(["connect", `127.0.0.1:${port}`, "--mode", mode], "hi\n");
      expect(await client.exited).toBe(0);
      expect(client.stdout).toBe("hi\n");
      expect(client.stderr).toMatch(new RegExp(`connected to 127\\.0\\.0\\.1:${port} \\(${mode}, v1\\)`));
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.stdout).toMatch(/"event":"stopped"/);
    });
  }

  it("answers to many lines all arrive before connect exits; serve prints what arrives", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(i % 300)}`);
    const echo = await serve(["--echo"]);
    const client = run(["connect", `127.0.0.1:${echo.port}`], lines.join("\n") + "\n");
    expect(await client.exited).toBe(0);
    expect(client.stdout).toBe(lines.join("\n") + "\n");

    const printer = await serve([]);
    const sender = run(["connect", `127.0.0.1:${printer.port}`, "--json"], "one\ntwo\n");
    expect(await sender.exited).toBe(0);
    expect(
      sender.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).event),
    ).toEqual(["connected", "closed"]);
    await waitFor(printer.server, /"event":"closed"/);
    const events = printer.server.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === "message").map((e) => e.data)).toEqual(["one", "two"]);
  });

  it("TLS (the server's certificate checked against --tls-ca; mutual TLS when the server has a CA) and the 0.3 profile", async () => {
    const pki = makePki();
    const f = (n: string) => join(pki.dir, n);
    const { port } = await serve(["--echo", "--tls-cert", f("server.crt"), "--tls-key", f("server.key"), "--tls-ca", f("ca.crt")]);
    const ok = run(
      ["connect", `127.0.0.1:${port}`, "--tls-ca", f("ca.crt"), "--tls-cert", f("client.crt"), "--tls-key", f("client.key")],
      "secret\n",
    );
    expect(await ok.exited).toBe(0);
    expect(ok.stdout).toBe("secret\n");
    expect(ok.stderr).toMatch(/TLSv1\.3/);
    const wrongCa = run(
      ["connect", `127.0.0.1:${port}`, "--tls-ca", f("other-ca.crt"), "--tls-cert", f("client.crt"), "--tls-key", f("client.key")],
      "x\n",
    );
    expect(await wrongCa.exited).toBe(1);
    expect(wrongCa.stderr).toMatch(/^qwormhole: E_[A-Z_]+: /m);

    const legacy = await serve(["--echo", "--legacy"]);
    const old = run(["connect", `127.0.0.1:${legacy.port}`, "--legacy"], "from 0.3\n");
    expect(await old.exited).toBe(0);
    expect(old.stdout).toBe("from 0.3\n");
    expect(old.stderr).toMatch(/\(ts, legacy\)/);
  });

  it("a client waiting on stdin ends with the server: exit 0 on a graceful close", async () => {
    const { server, port } = await serve(["--echo"]);
    const client = run(["connect", `127.0.0.1:${port}`, "--json"]);
    client.child.stdin!.write("first\n");
    await waitFor(client, /"event":"message".*"first"/);
    server.child.kill("SIGTERM");
    expect(await client.exited).toBe(0);
    expect(client.stdout).toMatch(/"event":"closed","code":"E_GOING_AWAY","by":"server"/);
  });

  it("bench prints msg/s and MB/s (JSON: one result object) against serve --echo", async () => {
    const { port } = await serve(["--echo"]);
    const b = run(["bench", `127.0.0.1:${port}`, "--size", "256", "--seconds", "0.5", "--json"]);
    expect(await b.exited).toBe(0);
    const result = JSON.parse(b.stdout.trim().split("\n").at(-1)!);
    expect(result).toMatchObject({ event: "result", size: 256 });
    expect(result.received).toBeGreaterThan(0);
    expect(result.msgPerSec).toBeGreaterThan(0);
    expect(result.mbPerSec).toBeGreaterThanOrEqual(0);
    const text = run(["bench", `127.0.0.1:${port}`, "--seconds", "0.3"]);
    expect(await text.exited).toBe(0);
    expect(text.stdout).toMatch(/^64 B messages, [\d.]+ s: [\d,]+ msg\/s, [\d.]+ MB\/s echoed/m);
  });

  it("coded errors on stderr: 1 for a connection that fails, 2 for a usage error", async () => {
    const { server, port } = await serve([]);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    const refused = run(["connect", `127.0.0.1:${port}`], "");
    expect(await refused.exited).toBe(1);
    expect(refused.stderr).toMatch(/^qwormhole: E_[A-Z_]+: .*ECONNREFUSED/m);
    const cases: [string[], RegExp][] = [
      [["frob"], /unknown command "frob"/],
      [["connect", "127.0.0.1"], /expected HOST:PORT/],
      [["serve"], /serve needs --port/],
      [["serve", "--port", "0", "--mode", "zmq"], /--mode must be one of ts, native-libsocket, native-lws/],
      [["serve", "--port", "0", "--bogus"], /Unknown option '--bogus'/],
      [["bench", "127.0.0.1:1", "--size", "-3"], /--size/],
      [
        ["serve", "--port", "0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"],
        /cannot read \/nonexistent\/c\.pem/,
      ],
    ];
    const runs = cases.map(([args]) => run(args));
    const codes = await Promise.all(runs.map((r) => r.exited));
    cases.forEach(([args, re], i) => {
      expect(codes[i], args.join(" ")).toBe(2);
      expect(runs[i]!.stderr).toMatch(/^qwormhole: E_INVALID_OPTION: /);
      expect(runs[i]!.stderr).toMatch(re);
    });
    const json = run(["serve", "--port", "0", "--bogus", "--json"]);
    expect(await json.exited).toBe(2);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "E_INVALID_OPTION" } });
  });
});
