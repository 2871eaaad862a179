// Drives an adapter process in each mode of the contract: the 127 probe, codec (JSON lines),
// serve (a ready line, then event lines) and connect (event lines, then one result line).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { HarnessError } from "./util.mjs";

/** The default of --host (spec Appendix D.1): the runner passes --host only for another address. */
export const DEFAULT_HOST = "127.0.0.1";
const hostArgs = (host) => (host === DEFAULT_HOST ? [] : ["--host", host]);

/** Exit code of an adapter for an unsupported mode, op or scenario. */
export const EXIT_UNSUPPORTED = 127;
const STDERR_KEEP = 8192;

function start(argv, args, options = {}) {
  const [cmd, ...pre] = argv;
  const child = spawn(cmd, [...pre, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...options.env } });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  child.stdin.on("error", () => undefined); // the adapter may exit before reading everything
  const exited = new Promise((resolve) => {
    child.on("error", (err) => resolve({ code: null, signal: null, spawnError: err }));
    // "close", not "exit": the adapter's last output lines have been read by then.
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  return { child, exited, stderr: () => stderr };
}

function withTimeout(promise, ms, onTimeout) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(onTimeout()), ms);
    }),
  ]);
}

function kill(child) {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 1000);
    t.unref();
  }
}

/**
 * Starts the adapter with a random mode name and requires exit code 127, proving that it reports
 * what it does not support instead of pretending. Resolves {ok, detail}.
 */
export async function probeUnsupported(agent, timeoutMs = 10000) {
  const name = `qwh-probe-${randomBytes(6).toString("hex")}`;
  let p;
  try {
    p = start(agent.command(), [name]);
  } catch (err) {
    return { ok: false, detail: `cannot start ${agent.command()[0]}: ${err.message}` };
  }
  p.child.stdin.end();
  const r = await withTimeout(p.exited, timeoutMs, () => {
    kill(p.child);
    return { timeout: true };
  });
  if (r.spawnError) return { ok: false, detail: `cannot start ${agent.command()[0]}: ${r.spawnError.message}` };
  if (r.timeout) return { ok: false, detail: `mode ${name}: no exit within ${timeoutMs} ms (expected exit code 127)` };
  if (r.code !== EXIT_UNSUPPORTED)
    return { ok: false, detail: `mode ${name}: exit code ${r.code ?? r.signal}, expected 127; stderr: ${p.stderr().trim().slice(-500)}` };
  return { ok: true, detail: `mode ${name}: exit code 127` };
}

/**
 * Optional `info` mode: {"features":[...]} on stdout. 127 means the adapter declares nothing, and
 * every optional feature is assumed (a case it cannot run then grades from its behaviour).
 */
export async function adapterInfo(agent, timeoutMs = 10000) {
  const p = start(agent.command(), ["info"]);
  let out = "";
  p.child.stdout.setEncoding("utf8");
  p.child.stdout.on("data", (d) => (out += d));
  p.child.stdin.end();
  const r = await withTimeout(p.exited, timeoutMs, () => (kill(p.child), { timeout: true }));
  if (r.code !== 0) return null;
  try {
    const info = JSON.parse(out.trim().split("\n")[0]);
    return Array.isArray(info.features) ? info : null;
  } catch {
    return null;
  }
}

/** A codec-mode session: one adapter process answering requests, matched by id. */
export class CodecSession {
  constructor(agent, { requestTimeoutMs = 10000, maxInFlight = 64 } = {}) {
    this.agent = agent;
    this.requestTimeoutMs = requestTimeoutMs;
    this.maxInFlight = maxInFlight;
    this.pending = new Map();
    this.queue = [];
    this.nextId = 1;
    this.proc = null;
    this.dead = null;
    this.deaths = 0;
    this.lastDeath = "";
  }

  ensure() {
    if (this.proc && !this.dead) return true;
    // An adapter that keeps dying is not restarted forever: after three deaths every request is an ERROR.
    if (this.deaths >= 3) return false;
    this.dead = null;
    const p = start(this.agent.command(), ["codec"]);
    this.proc = p;
    const lines = createInterface({ input: p.child.stdout, crlfDelay: Infinity });
    lines.on("line", (line) => this.onLine(line));
    p.exited.then((r) => {
      if (this.proc !== p) return;
      this.deaths = (this.deaths ?? 0) + 1;
      this.dead = r.spawnError
        ? `cannot start adapter: ${r.spawnError.message}`
        : `adapter exited (code ${r.code ?? r.signal}); stderr: ${p.stderr().trim().slice(-400)}`;
      this.lastDeath = this.dead;
      for (const [, w] of this.pending) w.resolve({ ok: false, error: { code: "internal", message: this.dead } });
      this.pending.clear();
      for (const q of this.queue.splice(0)) q.resolve({ ok: false, error: { code: "internal", message: this.dead } });
    });
    return true;
  }

  onLine(line) {
    if (line.trim() === "") return;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      this.protocolBroken(`adapter wrote a line that is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    const w = this.pending.get(msg?.id);
    if (!w) {
      this.protocolBroken(`adapter answered unknown id ${JSON.stringify(msg?.id)}`);
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(w.timer);
    w.resolve(msg);
    this.pump();
  }

  protocolBroken(message) {
    for (const [, w] of this.pending) {
      clearTimeout(w.timer);
      w.resolve({ ok: false, error: { code: "internal", message } });
    }
    this.pending.clear();
    if (this.proc) kill(this.proc.child);
    this.proc = null;
  }

  /** Sends one request; resolves with the adapter's response object (never rejects). */
  request(op, params, input, chunks) {
    return new Promise((resolve) => {
      const req = { id: this.nextId++, op, params, input };
      if (chunks) req.chunks = chunks;
      this.queue.push({ req, resolve });
      this.pump();
    });
  }

  pump() {
    while (this.queue.length > 0 && this.pending.size < this.maxInFlight) {
      if (!this.ensure()) {
        for (const q of this.queue.splice(0))
          q.resolve({ ok: false, error: { code: "internal", message: `adapter keeps dying: ${this.lastDeath}` } });
        return;
      }
      const { req, resolve } = this.queue.shift();
      const timer = setTimeout(() => {
        if (!this.pending.has(req.id)) return;
        this.pending.delete(req.id);
        resolve({ ok: false, error: { code: "internal", message: `no answer within ${this.requestTimeoutMs} ms` } });
        // A stuck adapter: start a fresh one for the rest.
        this.protocolBroken(`adapter stopped answering (request ${req.id} timed out)`);
      }, this.requestTimeoutMs);
      this.pending.set(req.id, { resolve, timer });
      this.proc.child.stdin.write(JSON.stringify(req) + "\n");
    }
  }

  async close() {
    if (!this.proc) return;
    const p = this.proc;
    this.proc = null;
    p.child.stdin.end();
    await withTimeout(p.exited, 3000, () => kill(p.child));
  }
}

function tlsArgs(tls) {
  if (!tls) return [];
  const out = [];
  if (tls.cert) out.push("--tls-cert", tls.cert);
  if (tls.key) out.push("--tls-key", tls.key);
  if (tls.ca) out.push("--tls-ca", tls.ca);
  return out;
}

/** Reads JSON lines from a child's stdout into `events`, waking waiters. */
function eventReader(child) {
  const state = { events: [], waiters: [], junk: [] };
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    try {
      state.events.push(JSON.parse(line));
    } catch {
      state.junk.push(line.slice(0, 300));
    }
    for (const w of state.waiters.splice(0)) w();
  });
  lines.on("close", () => {
    state.closed = true;
    for (const w of state.waiters.splice(0)) w();
  });
  state.waitFor = async (pred, ms) => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = state.events.find(pred);
      if (hit) return hit;
      if (state.closed || Date.now() >= end) return null;
      await new Promise((r) => {
        // On expiry, one more turn of the loop: a line that arrived while the loop was held up is read first.
        const t = setTimeout(() => setImmediate(r), Math.max(1, end - Date.now()));
        state.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  };
  return state;
}

/**
 * Starts `<cmd> serve` and waits for its ready line. Resolves {port, events, waitFor, stop} or
 * {unsupported: true} (exit 127) or throws HarnessError (no ready line, crash).
 */
export async function startServer(agent, { port = 0, host = DEFAULT_HOST, config = {}, tls, readyTimeoutMs = 10000 } = {}) {
  const p = start(agent.command(), [
    "serve",
    "--port",
    String(port),
    ...hostArgs(host),
    ...tlsArgs(tls),
    "--config",
    JSON.stringify(config),
  ]);
  const reader = eventReader(p.child);
  let exit = null;
  p.exited.then((r) => {
    exit = r;
    for (const w of reader.waiters.splice(0)) w();
  });
  const ready = await reader.waitFor((e) => e.ready === true, readyTimeoutMs);
  if (!ready) {
    if (exit === null) await withTimeout(p.exited, 1000, () => null);
    kill(p.child);
    if (exit?.code === EXIT_UNSUPPORTED) return { unsupported: true, stderr: p.stderr() };
    throw new HarnessError(
      `${agent.name} serve gave no ready line within ${readyTimeoutMs} ms (exit ${exit ? (exit.code ?? exit.signal) : "none"}); stderr: ${p.stderr().trim().slice(-500)}`,
    );
  }
  if (!Number.isInteger(ready.port) || ready.port <= 0) {
    kill(p.child);
    throw new HarnessError(`${agent.name} serve ready line has no valid port: ${JSON.stringify(ready)}`);
  }
  return {
    port: ready.port,
    host,
    events: reader.events,
    waitFor: reader.waitFor,
    alive: () => exit === null,
    stderr: p.stderr,
    async stop() {
      p.child.stdin.end();
      kill(p.child);
      await withTimeout(p.exited, 3000, () => p.child.kill("SIGKILL"));
    },
  };
}

/**
 * Runs `<cmd> connect`. `onEvent(event, control)` sees each event line before the result (the
 * reconnect scenario's checkpoint). Resolves {unsupported} | {result, events, exitCode, stderr, timedOut}.
 */
export async function runClient(agent, { port, host = DEFAULT_HOST, scenario, config = {}, tls, timeoutMs = 20000, onEvent } = {}) {
  const p = start(agent.command(), [
    "connect",
    "--port",
    String(port),
    ...hostArgs(host),
    ...tlsArgs(tls),
    "--scenario",
    scenario,
    "--config",
    JSON.stringify(config),
  ]);
  const reader = eventReader(p.child);
  if (onEvent) {
    let seen = 0;
    reader.waiters.push(function again() {
      while (seen < reader.events.length) {
        const e = reader.events[seen++];
        if (!("ok" in e)) Promise.resolve(onEvent(e)).catch(() => undefined);
      }
      if (!reader.closed) reader.waiters.push(again);
    });
  }
  const r = await withTimeout(p.exited, timeoutMs, () => {
    kill(p.child);
    return { timedOut: true };
  });
  await new Promise((res) => setImmediate(res));
  if (r.code === EXIT_UNSUPPORTED) return { unsupported: true, stderr: p.stderr() };
  const result = [...reader.events].reverse().find((e) => typeof e.ok === "boolean") ?? null;
  return {
    result,
    events: reader.events.filter((e) => !("ok" in e)),
    exitCode: r.code ?? null,
    timedOut: Boolean(r.timedOut),
    spawnError: r.spawnError?.message,
    stderr: p.stderr(),
    junk: reader.junk,
  };
}

/**
 * The clients of one agent. With an adapter that has the connect-many mode, one process runs every
 * client (a request line each, answers tagged with the request's id), which saves starting a
 * process per client; an adapter without it (exit 127, or an exit before its first line) gets one
 * `connect` process per client. `run(options)` resolves like runClient.
 */
export class Clients {
  constructor(agent) {
    this.agent = agent;
    this.mode = "many"; // "many" until the adapter shows it has no connect-many, then "one-shot"
    this.proc = null;
    this.pending = new Map();
    this.nextId = 1;
    this.deaths = 0;
  }

  /** Runs one client: {port, host?, scenario, config, tls?, timeoutMs, onEvent?}. */
  run(options) {
    if (this.mode === "one-shot") return runClient(this.agent, options);
    return new Promise((resolve) => {
      const id = this.nextId++;
      const entry = { options, resolve, events: [], stderrAt: 0, timer: null };
      this.pending.set(id, entry);
      this.ensure();
      entry.stderrAt = this.proc.stderrLength();
      entry.timer = setTimeout(
        () => this.settle(id, { result: null, events: entry.events, exitCode: null, timedOut: true, stderr: this.stderrSince(entry) }),
        options.timeoutMs ?? 20000,
      );
      const { port, host = DEFAULT_HOST, scenario, config = {}, tls } = options;
      const req = { id, port, scenario, config };
      if (host !== DEFAULT_HOST) req.host = host;
      if (tls) req.tls = { cert: tls.cert, key: tls.key, ca: tls.ca };
      this.proc.child.stdin.write(JSON.stringify(req) + "\n");
    });
  }

  /** Starts a client without waiting; resolves like runClient via `.done`. */
  start(options) {
    return { done: this.run(options) };
  }

  ensure() {
    if (this.proc) return;
    const p = start(this.agent.command(), ["connect-many"]);
    let total = 0;
    let stderr = "";
    p.child.stderr.on("data", (d) => {
      total += d.length;
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    p.stderrLength = () => total;
    p.stderrTail = (from) => stderr.slice(-Math.min(STDERR_KEEP, total - from));
    p.answered = false;
    this.proc = p;
    createInterface({ input: p.child.stdout, crlfDelay: Infinity }).on("line", (text) => this.onLine(text));
    p.exited.then((r) => this.onExit(p, r));
  }

  stderrSince(entry) {
    return this.proc ? this.proc.stderrTail(entry.stderrAt) : "";
  }

  onLine(text) {
    if (text.trim() === "") return;
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    this.proc.answered = true;
    const entry = this.pending.get(msg?.id);
    if (!entry) return;
    if (msg.unsupported) this.settle(msg.id, { unsupported: true, stderr: msg.message ?? "" });
    else if (msg.result)
      this.settle(msg.id, {
        result: msg.result,
        events: entry.events,
        exitCode: 0,
        timedOut: false,
        stderr: this.stderrSince(entry),
        junk: [],
      });
    else if (msg.error !== undefined)
      this.settle(msg.id, { result: null, events: entry.events, exitCode: null, timedOut: false, stderr: String(msg.error) });
    else {
      const { id: _id, ...event } = msg;
      entry.events.push(event);
      if (entry.options.onEvent) Promise.resolve(entry.options.onEvent(event)).catch(() => undefined);
    }
  }

  settle(id, outcome) {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  }

  onExit(p, r) {
    if (this.proc !== p) return;
    this.proc = null;
    const waiting = [...this.pending.entries()];
    // An adapter without connect-many exits (127, or anything else) before answering anything:
    // its clients run one process each, these too.
    if (!p.answered || ++this.deaths >= 3) this.mode = "one-shot";
    for (const [id, entry] of waiting) {
      if (!p.answered) {
        this.pending.delete(id);
        clearTimeout(entry.timer);
        runClient(this.agent, entry.options).then(entry.resolve);
      } else {
        this.settle(id, {
          result: null,
          events: entry.events,
          exitCode: r.code ?? null,
          timedOut: false,
          spawnError: r.spawnError?.message,
          stderr: p.stderrTail(entry.stderrAt),
        });
      }
    }
  }

  async close() {
    const p = this.proc;
    if (!p) return;
    p.child.stdin.end();
    await withTimeout(p.exited, 3000, () => kill(p.child));
  }
}
