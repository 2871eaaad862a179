// One-way throughput cells: a receiver process and a sender process per row, kept
// for all the sizes of a group (so runs after the first are JIT-warm), a fresh
// server and connection(s) per run. Per cell: calibration runs (discarded; they
// also warm up) pick the message count so that a measured run lasts about
// `targetSec`; then `runs` measured runs, reported as their median.
import { Child } from "../lib/procs.mjs";
import { median } from "../lib/stats.mjs";

const DEBUG = process.env.QWH_BENCH_DEBUG === "1";
const clamp = (x, lo, hi) => Math.max(lo, Math.min(hi, x));

async function runOnce(pair, { row, size, count, tls, connections, codec }) {
  const { rx, tx } = pair;
  const args = { size, count, tls, connections, codec };
  const t = [Date.now()];
  const { port } = await rx.call({ op: "receive", row, args }, "listening", 30_000);
  t.push(Date.now());
  tx.send({ op: "send", row, args: { ...args, port } });
  const started = await tx.next("started", 60_000);
  t.push(Date.now());
  // Generous: 1,000 msg/s or 20 MB/s at the very least, plus 20 s.
  const timeout = 20_000 + Math.max(count, (count * size) / 20_000);
  const done = await rx.next("done", timeout);
  t.push(Date.now());
  await Promise.all([tx.stop(), rx.stop()]);
  t.push(Date.now());
  if (DEBUG)
    console.error(
      `    ${row} ${size} B x ${count}: listen ${t[1] - t[0]} ms, connect ${t[2] - t[1]} ms, transfer ${t[3] - t[2]} ms, stop ${t[4] - t[3]} ms`,
    );
  const seconds = Number(BigInt(done.t1) - BigInt(started.t0)) / 1e9;
  if (done.messages !== count || done.bytes !== count * size || done.bad !== 0) {
    throw new Error(`${row}: received ${done.messages}/${count} messages, ${done.bytes}/${count * size} bytes, ${done.bad} bad`);
  }
  if (!(seconds > 0)) throw new Error(`${row}: non-positive duration ${seconds}`);
  return { seconds, msgsPerSec: count / seconds, mbPerSec: (count * size) / seconds / 1e6 };
}

/**
 * Measures `rows` x `sizes` for one group (tls, connections, codec).
 * Returns { results: [...throughput rows], unavailable: [...] }.
 * `sizeOf(row, size)` may map a size (codec rows carry an encoded value of fixed size).
 */
export async function measureThroughput({
  rows,
  sizes,
  tls,
  connections = 1,
  codec,
  runs,
  targetSec,
  warmSec,
  maxCount,
  execArgv = [],
  log = () => {},
  rowName = (r) => r,
}) {
  const results = [];
  const unavailable = [];
  for (const row of rows) {
    let pair = null;
    const spawn = () => (pair = { rx: new Child({ execArgv }), tx: new Child({ execArgv }) });
    const kill = () => {
      if (pair) {
        pair.rx.kill();
        pair.tx.kill();
      }
      pair = null;
    };
    for (const size of sizes) {
      const name = rowName(row);
      const base = {
        name,
        sizeBytes: size,
        ...(tls ? { tls: true } : {}),
        ...(connections > 1 ? { connections } : {}),
        ...(codec ? { codec } : {}),
      };
      try {
        if (!pair) spawn();
        const cell = { row, size, tls, connections, codec };
        // Calibration (discarded runs that also warm up): a small run, then larger ones until
        // one lasts warmSec. A short run is dominated by its start (a fresh connection, code
        // re-optimised for it) and would underestimate the rate, making measured runs short too.
        let c = clamp(Math.floor((16 << 20) / Math.max(size, 1)), Math.max(4, connections), 2000);
        let r = await runOnce(pair, { ...cell, count: c });
        for (let i = 0; i < 6 && r.seconds < warmSec && c < maxCount; i++) {
          c = Math.round(clamp(c * Math.min(16, (1.2 * warmSec) / r.seconds), Math.max(8, connections), maxCount));
          r = await runOnce(pair, { ...cell, count: c });
        }
        const count = Math.round(clamp(r.msgsPerSec * targetSec, Math.max(16, connections), maxCount));
        const all = [];
        for (let r = 0; r < runs; r++) all.push(await runOnce(pair, { ...cell, count }));
        const m = median(all.map((x) => x.msgsPerSec));
        const row_ = {
          ...base,
          msgsPerSec: Math.round(m),
          mbPerSec: Math.round(((m * size) / 1e6) * 100) / 100,
          runs,
          count,
          durationMs: Math.round(median(all.map((x) => x.seconds)) * 1e5) / 100,
          msgsPerSecRuns: all.map((x) => Math.round(x.msgsPerSec)),
        };
        results.push(row_);
        log(row_);
      } catch (err) {
        kill();
        const reason = err.unavailable ? err.message : `failed: ${err.message}`;
        unavailable.push({ ...base, kind: "throughput", reason });
        log({ ...base, unavailable: reason });
        // An unavailable implementation is unavailable at every size.
        if (err.unavailable) {
          for (const s of sizes.slice(sizes.indexOf(size) + 1)) unavailable.push({ ...base, sizeBytes: s, kind: "throughput", reason });
          break;
        }
      }
    }
    if (pair) await Promise.all([pair.rx.exit(), pair.tx.exit()]);
  }
  return { results, unavailable };
}
