#!/usr/bin/env node
// End-to-end one-way throughput: sender and receiver in separate processes on
// 127.0.0.1, timed from the first send to the last receive (both on the
// system-wide monotonic clock), every message counted at the receiver. Each
// row also gives the CPU time (user + system, process.cpuUsage in each child)
// per message of the sender (from its first send until the receiver has all)
// and of the receiver (from listening until it has all), and the minor page faults of each per
// 1,000 messages over the same spans (process.resourceUsage).
//   node bench/src/throughput.mjs [--sizes 16,256,4096,65536,1048576] [--runs 3] [--peers ts,net-batched,net-raw]
// A peer named SENDER/RECEIVER (e.g. ts/native-libsocket) pairs two implementations.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { peers } from "./peers.mjs";

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "--child") {
  const [, , , role, name, port, count, size] = process.argv;
  const [sender, receiver = sender] = name.split("/");
  const peer = peers[role === "receive" ? receiver : sender];
  if (!peer) throw new Error(`unknown peer ${name}`);
  const args = { port: Number(port), count: Number(count), size: Number(size) };
  if (role === "receive") {
    // onDone may run before receive() has returned its stop function: stop is undefined then, not in its TDZ.
    let stop;
    let cpu0;
    let faults0;
    // eslint-disable-next-line prefer-const
    stop = await peer.receive({
      ...args,
      onListening: (p) => {
        cpu0 = process.cpuUsage();
        faults0 = process.resourceUsage().minorPageFault;
        process.send({ listening: p });
      },
      onDone: (r) => {
        const t1 = process.hrtime.bigint().toString();
        const faults = process.resourceUsage().minorPageFault - faults0;
        process.send({ done: { ...r, t1, cpuMicros: cpuMicros(cpu0), faults } }, () => {
          Promise.resolve(stop?.()).finally(() => process.exit(0));
        });
      },
    });
  } else {
    let cpu0;
    let faults0;
    // The stop message may come before send() resolves (the last sends are still being written).
    process.on("message", (m) => {
      if (m !== "stop") return;
      process.send({ cpuMicros: cpuMicros(cpu0), faults: process.resourceUsage().minorPageFault - faults0 }, () => {
        void stopped.then((stop) => stop?.()).finally(() => process.exit(0));
      });
    });
    const stopped = peer.send({
      ...args,
      onStart: () => {
        cpu0 = process.cpuUsage();
        faults0 = process.resourceUsage().minorPageFault;
        process.send({ t0: process.hrtime.bigint().toString() });
      },
    });
    await stopped;
  }
} else {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const sizes = arg("sizes", "16,256,1024,4096,65536,1048576").split(",").map(Number);
  const names = arg("peers", "ts,net-batched,net-raw").split(",");
  const runs = Number(arg("runs", "3"));
  const countFor = (size) => Math.max(200, Math.min(2_000_000, Math.floor((256 * 1024 * 1024) / (size + 4))));

  const once = (name, size) =>
    new Promise((resolve, reject) => {
      const count = countFor(size);
      // QWH_BENCH_PROFILE=dir writes a --cpu-prof profile of each child into dir.
      const prof = process.env.QWH_BENCH_PROFILE;
      const execArgv = prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : [];
      const rx = fork(self, ["--child", "receive", name, "0", String(count), String(size)], { execArgv });
      let t0;
      rx.on("message", (m) => {
        if (m.listening) {
          const tx = fork(self, ["--child", "send", name, String(m.listening), String(count), String(size)], { execArgv });
          let result = null;
          let txCpu = null;
          let txFaults = 0;
          const settle = () => {
            if (result === null || txCpu === null) return;
            resolve({ ...result, txNsPerMsg: (txCpu * 1000) / count, txFaultsPerK: (txFaults * 1000) / count });
          };
          tx.on("message", (x) => {
            if (x.t0) t0 = BigInt(x.t0);
            if (x.cpuMicros !== undefined) {
              txCpu = x.cpuMicros;
              txFaults = x.faults;
              settle();
            }
          });
          rx.on("message", (d) => {
            if (!d.done) return;
            tx.send("stop");
            const seconds = Number(BigInt(d.done.t1) - t0) / 1e9;
            if (d.done.messages !== count || d.done.bytes !== count * size)
              reject(new Error(`${name}: received ${d.done.messages}/${count}`));
            result = {
              msgsPerSec: count / seconds,
              mbPerSec: (count * size) / seconds / 1e6,
              rxNsPerMsg: (d.done.cpuMicros * 1000) / count,
              rxFaultsPerK: (d.done.faults * 1000) / count,
            };
            settle();
          });
        }
      });
      rx.on("error", reject);
    });

  const rows = [];
  for (const size of sizes) {
    for (const name of names) {
      const results = [];
      for (let r = 0; r < runs; r++) results.push(await once(name, size));
      results.sort((a, b) => a.msgsPerSec - b.msgsPerSec);
      const median = results[Math.floor(results.length / 2)];
      const txNsPerMsg = medianOf(results.map((r) => r.txNsPerMsg));
      const rxNsPerMsg = medianOf(results.map((r) => r.rxNsPerMsg));
      const txFaultsPerK = medianOf(results.map((r) => r.txFaultsPerK));
      const rxFaultsPerK = medianOf(results.map((r) => r.rxFaultsPerK));
      rows.push({
        name,
        sizeBytes: size,
        msgsPerSec: Math.round(median.msgsPerSec),
        mbPerSec: Math.round(median.mbPerSec),
        txNsPerMsg: Math.round(txNsPerMsg),
        rxNsPerMsg: Math.round(rxNsPerMsg),
        txFaultsPerK: Math.round(txFaultsPerK),
        rxFaultsPerK: Math.round(rxFaultsPerK),
        runs,
      });
      console.error(
        `${name.padEnd(12)} ${String(size).padStart(8)} B  ${fmt(median.msgsPerSec).padStart(8)} msg/s  ${String(Math.round(median.mbPerSec)).padStart(6)} MB/s` +
          `  CPU/msg sender ${fmtNs(txNsPerMsg).padStart(8)}  receiver ${fmtNs(rxNsPerMsg).padStart(8)}` +
          `  faults/1k msgs sender ${Math.round(txFaultsPerK)} receiver ${Math.round(rxFaultsPerK)}` +
          `  (MB/s of the runs: ${results.map((r) => Math.round(r.mbPerSec)).join(", ")})`,
      );
    }
  }
  console.log("\n| size | " + names.join(" | ") + " | ts / net-batched | ts / net-raw (MB/s) |");
  console.log("|---|" + names.map(() => "---|").join("") + "---|---|");
  for (const size of sizes) {
    const cell = (n) => rows.find((r) => r.name === n && r.sizeBytes === size);
    const ts = cell("ts");
    const nb = cell("net-batched");
    const raw = cell("net-raw");
    console.log(
      `| ${size} B | ` +
        names.map((n) => `${fmt(cell(n).msgsPerSec)} (${cell(n).mbPerSec} MB/s)`).join(" | ") +
        ` | ${ts && nb ? (ts.msgsPerSec / nb.msgsPerSec).toFixed(2) : "-"} | ${ts && raw ? (ts.mbPerSec / raw.mbPerSec).toFixed(2) : "-"} |`,
    );
  }
  if (process.argv.includes("--json")) console.log(JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
}

/** CPU time (user + system) since `since`, in microseconds. */
function cpuMicros(since) {
  const u = process.cpuUsage(since);
  return u.user + u.system;
}

function medianOf(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function fmtNs(ns) {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} us` : `${Math.round(ns)} ns`;
}

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : `${Math.round(n)}`;
}
