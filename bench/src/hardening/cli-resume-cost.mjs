#!/usr/bin/env node
// What session resumption costs the C CLI pair (impl-native/build/qwh-native, or $QWH_NATIVE_CLI):
// `serve` (stream scenario) -> `connect --scenario count`, N messages one way with and without
// `resume`, alternating; the CPU time (user + system) of both processes per message, read from
// /proc (less sensitive to other processes than wall time), and the client's msg/s. Then the idle
// pair's wake-ups: one resumable connection held open and idle, the voluntary context switches per
// second of the server and of the client (--idle-only: that part alone).
//   node bench/src/hardening/cli-resume-cost.mjs [--backend posix|lws] [--count 2000000] [--size 1024] [--rounds 5] [--idle-seconds 3] [--idle-only]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { cliPath } from "../e2e/cli.mjs";
import { median } from "../lib/stats.mjs";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "posix" },
    count: { type: "string", default: "2000000" },
    size: { type: "string", default: "1024" },
    rounds: { type: "string", default: "5" },
    "idle-seconds": { type: "string", default: "3" },
    "idle-only": { type: "boolean", default: false },
  },
});
const BIN = cliPath();
const BACKEND = values.backend;
const COUNT = Number(values.count);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);
const IDLE_MS = Number(values["idle-seconds"]) * 1000;
const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s

/** CPU seconds (user + system) of this process's children that ended and were waited for. */
const childrenCpu = () => {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(f[13]) + Number(f[14])) / TICKS;
};
const switches = (pid) => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A process with a deadline: killed (SIGKILL) if it has not ended after `ms`. */
function start(args, ms) {
  const p = spawn(BIN, ["--backend", BACKEND, ...args], { stdio: ["pipe", "pipe", "inherit"] });
  const t = setTimeout(() => p.kill("SIGKILL"), ms);
  p.once("exit", () => clearTimeout(t));
  p.ended = new Promise((r) => (p.exitCode !== null ? r() : p.once("exit", r)));
  return p;
}

async function serve(config) {
  const p = start(["serve", "--host", "127.0.0.1", "--port", "0", "--config", JSON.stringify(config)], 180_000);
  const port = await new Promise((resolve, reject) => {
    createInterface({ input: p.stdout }).on("line", (l) => JSON.parse(l).ready && resolve(JSON.parse(l).port));
    p.once("exit", (code) => reject(new Error(`qwh-native serve exited with ${code}`)));
  });
  return { p, port };
}

async function stop(p) {
  p.kill("SIGTERM");
  await p.ended;
}

async function once(resume) {
  const r = resume ? { resume: true } : {};
  const cpu0 = childrenCpu();
  const srv = await serve({ scenario: "stream", pushCount: COUNT, pushSize: SIZE, ...r });
  const cl = start(
    [
      "connect",
      "--port",
      String(srv.port),
      "--scenario",
      "count",
      "--config",
      JSON.stringify({ expectCount: COUNT, timeoutMs: 120_000, ...r }),
    ],
    150_000,
  );
  let out = "";
  cl.stdout.on("data", (d) => (out += d));
  await cl.ended;
  await stop(srv.p);
  const cpu = childrenCpu() - cpu0; // both processes, start and exit included
  const res = JSON.parse(out.trim().split("\n").pop() ?? "{}");
  if (!res.ok || !res.elapsedNs) throw new Error(`qwh-native connect: ${out.trim()}`);
  return { cpuUsPerMsg: (cpu * 1e6) / COUNT, msgsPerSec: COUNT / (res.elapsedNs / 1e9) };
}

/** Voluntary context switches per second of an idle resumable server and its connected client. */
async function idleWakeups() {
  const srv = await serve({ resume: true });
  const config = { resume: true, holdMs: IDLE_MS + 2000, messages: ["00"] };
  const cl = start(["connect", "--port", String(srv.port), "--scenario", "hold", "--config", JSON.stringify(config)], IDLE_MS + 30_000);
  await sleep(1000);
  const a = switches(srv.p.pid);
  const b = switches(cl.pid);
  const t0 = performance.now();
  await sleep(IDLE_MS);
  const seconds = (performance.now() - t0) / 1000;
  const server = (switches(srv.p.pid) - a) / seconds;
  const client = (switches(cl.pid) - b) / seconds;
  await cl.ended;
  await stop(srv.p);
  return { server: Number(server.toFixed(1)), client: Number(client.toFixed(1)) };
}

if (values["idle-only"]) {
  console.log(JSON.stringify({ backend: BACKEND, idleSeconds: IDLE_MS / 1000, idleWakeupsPerSecond: await idleWakeups() }));
  process.exit(0);
}

const off = [];
const on = [];
for (let r = 0; r < ROUNDS; r++) {
  off.push(await once(false));
  on.push(await once(true));
}
const row = (name, xs) => ({
  row: name,
  cpuUsPerMsg: Number(median(xs.map((x) => x.cpuUsPerMsg)).toFixed(4)),
  msgsPerSec: Math.round(median(xs.map((x) => x.msgsPerSec))),
});
const ROW = BACKEND === "lws" ? "native-lws-cli" : "native-libsocket-cli";
const a = row(ROW, off);
const b = row(`${ROW}-resume`, on);
console.log(
  JSON.stringify(
    {
      backend: BACKEND,
      size: SIZE,
      count: COUNT,
      rounds: ROUNDS,
      rows: [a, b],
      cpuCost: `${(((b.cpuUsPerMsg - a.cpuUsPerMsg) / a.cpuUsPerMsg) * 100).toFixed(1)}%`,
      idleWakeupsPerSecond: await idleWakeups(),
    },
    null,
    2,
  ),
);
