// `qwh-native serve` and `connect` end on SIGTERM and SIGINT while idle, on both backends: the loop
// waits only for events and due timers, and a signal is one of its events. A resumable client
// (scenario reconnect) has its message echoed, prints its checkpoint and then waits, with nothing
// due for ten minutes, for a reconnect that never comes; the signal ends it or its server. Each
// process has a deadline far shorter than ten minutes, so only the signal can have ended it.
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { NATIVE, startServer } from "./cli-server.mjs";
import { spawnBounded } from "./deadline.mjs";

const IDLE_MS = 600_000;
const DEADLINE_MS = 60_000;

/** A resumable `connect --scenario reconnect`, with its output lines and its exit. */
function startClient(backend, port) {
  const config = { resume: true, messages: ["00", "01"], timeoutMs: IDLE_MS, maxAttempts: 100 };
  const args = ["--backend", backend, "connect", "--port", String(port), "--scenario", "reconnect", "--config", JSON.stringify(config)];
  const proc = spawnBounded(NATIVE, args, { stdio: ["ignore", "pipe", "inherit"] }, DEADLINE_MS);
  const lines = [];
  const waiters = [];
  createInterface({ input: proc.stdout }).on("line", (l) => {
    lines.push(JSON.parse(l));
    for (const w of waiters.splice(0)) w();
  });
  const line = (pred) =>
    new Promise((resolve) => {
      const look = () => {
        const found = lines.find(pred);
        if (found) resolve(found);
        else waiters.push(look);
      };
      look();
    });
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal, timedOut: proc.timedOut })));
  return { proc, line, exited };
}

const exitOf = (proc) =>
  new Promise((resolve) =>
    proc.exitCode !== null || proc.signalCode !== null
      ? resolve({ code: proc.exitCode, signal: proc.signalCode, timedOut: proc.timedOut })
      : proc.once("exit", (code, signal) => resolve({ code, signal, timedOut: proc.timedOut })),
  );

describe.each(["posix", "lws"])("qwh-native, backend %s: signals while idle", (backend) => {
  it.each(["SIGTERM", "SIGINT"])("connect ends on %s, closing its connection gracefully", async (sig) => {
    const srv = await startServer({ backend, config: { resume: true }, deadlineMs: DEADLINE_MS });
    try {
      const cl = startClient(backend, srv.port);
      await cl.line((l) => l.event === "checkpoint");
      cl.proc.kill(sig);
      expect(await cl.exited).toEqual({ code: 0, signal: null, timedOut: false });
      const result = await cl.line((l) => "ok" in l);
      expect(result).toMatchObject({ scenario: "reconnect", sent: 1, received: 1, error: null });
      await srv.waitFor((events) => events.some((e) => e.event === "closed"));
      expect(srv.events.find((e) => e.event === "closed")).toMatchObject({ messages: 1, error: null });
    } finally {
      await srv.stop();
    }
  });

  it.each(["SIGTERM", "SIGINT"])("serve ends on %s with a connected idle client", async (sig) => {
    const srv = await startServer({ backend, config: { resume: true }, deadlineMs: DEADLINE_MS });
    const cl = startClient(backend, srv.port);
    try {
      await cl.line((l) => l.event === "checkpoint");
      srv.proc.kill(sig);
      expect(await exitOf(srv.proc)).toEqual({ code: 0, signal: null, timedOut: false });
      await srv.waitFor((events) => events.some((e) => e.event === "closed"));
      expect(srv.events.find((e) => e.event === "closed")).toMatchObject({ messages: 1 });
    } finally {
      cl.proc.kill("SIGTERM");
      expect(await cl.exited).toEqual({ code: 0, signal: null, timedOut: false });
    }
  });
});
