#!/usr/bin/env node
// End-to-end one-way throughput: sender and receiver in separate processes on
// 127.0.0.1, timed from the first send to the last receive (both on the
// system-wide monotonic clock), every message counted at the receiver.
//   node bench/src/throughput.mjs [--sizes 16,256,4096,65536,1048576] [--runs 3] [--peers ts,net-batched,net-raw]
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { peers } from "./peers.mjs";

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "--child") {
  const [, , , role, name, port, count, size] = process.argv;
  const peer = peers[name];
  const args = { port: Number(port), count: Number(count), size: Number(size) };
  if (role === "receive") {
    // onDone may run before receive() has returned its stop function: stop is undefined then, not in its TDZ.
    let stop;
    // eslint-disable-next-line prefer-const
    stop = await peer.receive({
      ...args,
      onListening: (p) => process.send({ listening: p }),
      onDone: (r) => {
        process.send({ done: { ...r, t1: process.hrtime.bigint().toString() } }, () => {
          Promise.resolve(stop?.()).finally(() => process.exit(0));
        });
      },
    });
  } else {
    const stop = await peer.send({ ...args, onStart: () => process.send({ t0: process.hrtime.bigint().toString() }) });
    process.on("message", async (m) => {
      if (m === "stop") {
        await stop?.();
        process.exit(0);
      }
    });
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
          tx.on("message", (x) => {
            if (x.t0) t0 = BigInt(x.t0);
          });
          rx.on("message", (d) => {
            if (!d.done) return;
            tx.send("stop");
            const seconds = Number(BigInt(d.done.t1) - t0) / 1e9;
            if (d.done.messages !== count || d.done.bytes !== count * size)
              reject(new Error(`${name}: received ${d.done.messages}/${count}`));
            resolve({ msgsPerSec: count / seconds, mbPerSec: (count * size) / seconds / 1e6 });
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
      rows.push({ name, sizeBytes: size, msgsPerSec: Math.round(median.msgsPerSec), mbPerSec: Math.round(median.mbPerSec), runs });
      console.error(
        `${name.padEnd(12)} ${String(size).padStart(8)} B  ${fmt(median.msgsPerSec).padStart(8)} msg/s  ${String(Math.round(median.mbPerSec)).padStart(6)} MB/s`,
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

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : `${Math.round(n)}`;
}
