/**
 * The bounded soak (bench/src/hardening/soak.mjs) for 30 s, as CI runs it: mixed sizes over plain
 * TCP and TLS, connections cut at random, churn; after the load the server's fds are back at
 * their baseline and its heap within 5 MB of it, no echo out of order, no send() threw.
 * `npm run soak` runs it for 5 minutes. Uses the built packages (npm test builds first).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const SOAK = fileURLToPath(new URL("../../../bench/src/hardening/soak.mjs", import.meta.url));
const DEADLINE_MS = 15 * 60_000;

it(
  "a 30 s soak ends with fds and heap back at baseline, echoes in order and no send() throwing",
  async () => {
    const proc = spawn(process.execPath, [SOAK, "--seconds", "30", "--json"], { stdio: ["ignore", "pipe", "inherit"], detached: true });
    let out = "";
    proc.stdout.on("data", (c: Buffer) => (out += c));
    const code = await new Promise<number | null>((resolve) => {
      // A soak that does not finish is a hang to find: stop it and everything it started.
      const timer = setTimeout(() => process.kill(-proc.pid!, "SIGKILL"), DEADLINE_MS);
      proc.on("exit", (c) => (clearTimeout(timer), resolve(c)));
    });
    const reports = JSON.parse(out.trim().split("\n").at(-1) ?? "[]");
    console.log(`[soak] ${JSON.stringify(reports)}`);
    expect(reports.map((r: { problems: string[] }) => r.problems)).toEqual([[]]);
    expect(code).toBe(0);
  },
  DEADLINE_MS + 10_000,
);
