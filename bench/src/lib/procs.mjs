// Child processes spoken to over IPC: send an operation, wait for a reply of a type.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("../child.mjs", import.meta.url));

export class ChildError extends Error {
  constructor(message, unavailable = false) {
    super(message);
    this.unavailable = unavailable;
  }
}

export class Child {
  /** `script` defaults to child.mjs; `execArgv` e.g. ["--cpu-prof", ...]; `proc`: an already spawned process with IPC ("advanced" serialization). */
  constructor({ script = CHILD, execArgv = [], env = process.env, args = [], proc } = {}) {
    this.proc = proc ?? fork(script, args, { execArgv, env, serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.queue = [];
    this.waiters = [];
    this.exited = false;
    this.proc.on("message", (m) => this._deliver(m));
    this.proc.on("exit", (code, signal) => {
      this.exited = true;
      const err = new ChildError(`child exited (code ${code}, signal ${signal})`);
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    this.proc.on("error", () => {});
  }

  send(msg) {
    if (!this.exited) this.proc.send(msg);
  }

  _deliver(m) {
    if (m.type === "error") {
      const w = this.waiters.shift();
      const err = new ChildError(m.message, m.unavailable);
      if (w) w.reject(err);
      else this.queue.push(m);
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    else this.queue.push(m);
  }

  /** The next reply of `type` (or the first error), within `timeoutMs`. */
  next(type, timeoutMs = 30_000) {
    const qi = this.queue.findIndex((m) => m.type === type || m.type === "error");
    if (qi >= 0) {
      const m = this.queue.splice(qi, 1)[0];
      return m.type === "error" ? Promise.reject(new ChildError(m.message, m.unavailable)) : Promise.resolve(m);
    }
    if (this.exited) return Promise.reject(new ChildError("child has exited"));
    return new Promise((resolve, reject) => {
      const w = { type, resolve: (m) => (clearTimeout(timer), resolve(m)), reject: (e) => (clearTimeout(timer), reject(e)) };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new ChildError(`timed out after ${timeoutMs} ms waiting for ${type}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends { op, ... } and waits for the reply of `type`. */
  async call(msg, type, timeoutMs) {
    this.send(msg);
    return this.next(type, timeoutMs);
  }

  /** Drops replies nobody waited for (e.g. "sent" after a run). */
  clear() {
    this.queue = this.queue.filter((m) => m.type === "error");
  }

  async stop(timeoutMs = 10_000) {
    this.clear();
    return this.call({ op: "stop" }, "stopped", timeoutMs);
  }

  kill() {
    if (!this.exited) this.proc.kill("SIGKILL");
    this.exited = true;
  }

  async exit() {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.send({ op: "exit" });
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000).unref())]);
    this.kill();
  }
}
