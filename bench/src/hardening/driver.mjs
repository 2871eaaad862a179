// Spawns peer.mjs processes (own open-file limit, --expose-gc) and talks to them over IPC.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const PEER = fileURLToPath(new URL("./peer.mjs", import.meta.url));

/** A peer process; `call(op, type)` sends an operation and resolves with the first reply of `type`. */
export class Peer {
  constructor({ openFiles = 20_000, onMessage, script = PEER } = {}) {
    const cmd = `ulimit -n ${openFiles} 2>/dev/null || ulimit -n hard 2>/dev/null; exec "$0" --expose-gc "$1"`;
    this.proc = spawn("/bin/sh", ["-c", cmd, process.execPath, script], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.waiters = [];
    this.onMessage = onMessage;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.proc.on("message", (m) => {
      if (m.type === "ready") return this.resolveReady();
      if (m.type === "error") {
        for (const w of this.waiters.splice(0)) w.reject(new Error(m.message));
        return;
      }
      this.onMessage?.(m);
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    });
    this.proc.on("exit", () => {
      for (const w of this.waiters.splice(0)) w.reject(new Error("peer exited"));
    });
  }

  async call(msg, type, timeoutMs = 600_000) {
    await this.ready;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ type, resolve: (m) => (clearTimeout(timer), resolve(m)), reject: (e) => (clearTimeout(timer), reject(e)) });
      this.proc.send(msg);
    });
  }

  send(msg) {
    this.proc.send(msg);
  }

  async exit() {
    if (this.proc.exitCode !== null) return;
    const gone = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.send({ op: "exit" });
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** Median and maximum of `xs`. */
export function summary(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 100) / 100;
  return { n: s.length, median: r(s[Math.floor(s.length / 2)]), p90: r(s[Math.floor(s.length * 0.9)]), max: r(s[s.length - 1]) };
}

/** Kinds from `--kinds a,b` (default: the three Node server targets). */
export function kindsArg(argv = process.argv) {
  const i = argv.indexOf("--kinds");
  return i >= 0 ? argv[i + 1].split(",") : ["ts", "native-libsocket", "native-lws"];
}

/** A numeric `--name value` argument. */
export function numArg(name, fallback, argv = process.argv) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}
