// Every process the native tests start has a deadline: it runs in its own process group, and when
// the deadline passes (or this process exits first) the whole group is killed with SIGKILL, so a
// hung child, or a grandchild that `make` started, can never keep a test or CI waiting.
import { spawn } from "node:child_process";
import { isMainThread } from "node:worker_threads";

const live = new Set();
const killAll = () => {
  for (const p of live) killGroup(p);
};
process.on("exit", killAll);
if (isMainThread) {
  // Killed by a signal (a runner's own timeout): take the children along, then die of that signal.
  for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig);
    });
  }
}

function killGroup(p) {
  try {
    process.kill(-p.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * `spawn` in a new process group, killed (group and all) after `timeoutMs`. `p.timedOut` tells
 * whether the deadline killed it.
 */
export function spawnBounded(cmd, args, options, timeoutMs) {
  const p = spawn(cmd, args, { ...options, detached: true });
  p.timedOut = false;
  live.add(p);
  const timer = setTimeout(() => {
    p.timedOut = true;
    killGroup(p);
  }, timeoutMs);
  timer.unref();
  const done = () => {
    clearTimeout(timer);
    killGroup(p); // what it left running in its group
    live.delete(p);
  };
  p.once("exit", done);
  p.once("error", done);
  return p;
}

/**
 * Runs a command to its end or its deadline. Resolves with { code, signal, stdout, stderr, timedOut }
 * (never rejects: a spawn error comes back as code -1 with the message in stderr).
 */
export function runBounded(cmd, args, { cwd, env, input, timeoutMs }) {
  return new Promise((resolve) => {
    const p = spawnBounded(cmd, args, { cwd, env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] }, timeoutMs);
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    p.once("error", (err) => resolve({ code: -1, signal: null, stdout, stderr: stderr + String(err), timedOut: false }));
    p.once("close", (code, signal) => resolve({ code, signal, stdout, stderr, timedOut: p.timedOut }));
    if (input !== undefined) p.stdin.end(input);
  });
}

/**
 * For a test script itself: if it is still running after `ms`, it prints why and exits 1 (the timer
 * does not keep the process alive).
 */
export function watchdog(ms, what) {
  setTimeout(() => {
    console.log(`FAIL ${what}: still running after ${ms} ms`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }, ms).unref();
}
