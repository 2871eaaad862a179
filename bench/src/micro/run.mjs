#!/usr/bin/env node
// Runs micro benchmark tasks with tinybench and returns result rows.
//   node bench/src/micro/run.mjs [--time ms] [--full] [--filter text]
// Each task: { group, name, fn | prepare, messagesPerOp?, bytesPerOp? }; fn must do (and check)
// real work; prepare() makes the task's data just before it runs and returns its fn.
import { Bench } from "tinybench";
import { fileURLToPath } from "node:url";
import { fmtRate } from "../lib/stats.mjs";

export async function runTasks(tasks, { time = 100, iterations = 16, warmupTime = 20, log = () => {} } = {}) {
  const rows = [];
  const failed = [];
  for (const task of tasks) {
    const bench = new Bench({ time, iterations, warmupTime, warmupIterations: 4, throws: false });
    let fn = task.fn;
    try {
      fn ??= task.prepare();
    } catch (err) {
      fn = () => {
        throw err;
      };
    }
    bench.add(task.name, fn);
    await bench.run();
    const r = bench.tasks[0].result;
    if (r.state !== "completed") {
      failed.push({ name: `${task.group}: ${task.name}`, kind: "micro", reason: `failed: ${r.error?.message ?? r.state}` });
      log({ group: task.group, name: task.name, error: r.error?.message ?? r.state });
      continue;
    }
    const meanNs = r.latency.mean * 1e6;
    const row = {
      group: task.group,
      name: task.name,
      opsPerSec: Math.round((1e9 / meanNs) * 10) / 10,
      meanNs: Math.round(meanNs * 10) / 10,
      medianNs: Math.round(r.latency.p50 * 1e7) / 10,
      p99Ns: Math.round(r.latency.p99 * 1e7) / 10,
      samples: r.latency.samplesCount,
    };
    if (task.messagesPerOp) row.messagesPerOp = task.messagesPerOp;
    if (task.bytesPerOp !== undefined) {
      row.bytesPerOp = task.bytesPerOp;
      row.mbPerSec = Math.round(((task.bytesPerOp * 1e9) / meanNs / 1e6) * 10) / 10;
    }
    rows.push(row);
    log(row);
  }
  return { rows, failed };
}

export async function allTasks({ full = false } = {}) {
  const groups = await Promise.all(["./frame.mjs", "./handshake.mjs", "./codecs.mjs", "./rate-limiter.mjs"].map((f) => import(f)));
  return groups.flatMap((g) => g.tasks({ full }));
}

export function printRow(r) {
  if (r.error) return console.error(`  ${r.group.padEnd(12)} ${r.name.padEnd(48)} ERROR ${r.error}`);
  const perMsg = r.messagesPerOp
    ? `  ${(r.meanNs / r.messagesPerOp).toFixed(1)} ns/msg (${fmtRate(r.opsPerSec * r.messagesPerOp)} msg/s)`
    : "";
  const mb = r.mbPerSec !== undefined ? `  ${r.mbPerSec} MB/s` : "";
  console.error(`  ${r.group.padEnd(12)} ${r.name.padEnd(48)} ${r.meanNs.toFixed(1).padStart(12)} ns/op${perMsg}${mb}`);
}

/** CLI for one file's tasks or all of them. */
export async function main(tasksOf) {
  const arg = (n, d) => {
    const i = process.argv.indexOf(`--${n}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const full = process.argv.includes("--full");
  const filter = arg("filter", "");
  let tasks = tasksOf ? tasksOf({ full }) : await allTasks({ full });
  if (filter) tasks = tasks.filter((t) => `${t.group} ${t.name}`.includes(filter));
  await runTasks(tasks, { time: Number(arg("time", full ? 300 : 100)), log: printRow });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
