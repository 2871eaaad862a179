// One-way throughput cells: a receiver process and a sender process per row, kept
// for all the sizes of a group (so runs after the first are JIT-warm), a fresh
// server and connection(s) per run; the rows of a size measured interleaved. Per cell: calibration runs (discarded; they
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
 *
 * The rows of a size are measured interleaved: each row is calibrated, then measured run r of every
 * row comes before run r + 1 of any (the first row of a round rotating). A VM's speed drifts over
 * minutes (the same cell measured 6M msg/s one minute and 10M the next, with the same CPU time per
 * message); interleaving gives every row the same drift, so the ratios between rows of one run hold.
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
  const entries = rows.map((row) => ({ row, name: rowName(row), pair: null, gone: false }));
  const baseOf = (entry, size) => ({
    name: entry.name,
    sizeBytes: size,
    ...(tls ? { tls: true } : {}),
    ...(connections > 1 ? { connections } : {}),
    ...(codec ? { codec } : {}),
  });
  const kill = (entry) => {
    if (entry.pair) {
      entry.pair.rx.kill();
      entry.pair.tx.kill();
    }
    entry.pair = null;
  };
  const fail = (entry, size, err) => {
    kill(entry);
    const base = baseOf(entry, size);
    const reason = err.unavailable ? err.message : `failed: ${err.message}`;
    unavailable.push({ ...base, kind: "throughput", reason });
    log({ ...base, unavailable: reason });
    // An unavailable implementation is unavailable at every size.
    if (err.unavailable) {
      entry.gone = true;
      for (const s of sizes.slice(sizes.indexOf(size) + 1)) unavailable.push({ ...base, sizeBytes: s, kind: "throughput", reason });
    }
  };
  try {
    for (const size of sizes) {
      const cells = [];
      for (const entry of entries) {
        if (entry.gone) continue;
        try {
          entry.pair ??= { rx: new Child({ execArgv }), tx: new Child({ execArgv }) };
          const cell = { row: entry.row, size, tls, connections, codec };
          // Calibration (discarded runs that also warm up): a small run, then larger ones until
          // one lasts warmSec. A short run is dominated by its start (a fresh connection, code
          // re-optimised for it) and would underestimate the rate, making measured runs short too.
          let c = clamp(Math.floor((16 << 20) / Math.max(size, 1)), Math.max(4, connections), 2000);
          let r = await runOnce(entry.pair, { ...cell, count: c });
          for (let i = 0; i < 6 && r.seconds < warmSec && c < maxCount; i++) {
            c = Math.round(clamp(c * Math.min(16, (1.2 * warmSec) / r.seconds), Math.max(8, connections), maxCount));
            r = await runOnce(entry.pair, { ...cell, count: c });
          }
          const count = Math.round(clamp(r.msgsPerSec * targetSec, Math.max(16, connections), maxCount));
          cells.push({ entry, cell, count, all: [], failed: false });
        } catch (err) {
          fail(entry, size, err);
        }
      }
      for (let round = 0; round < runs; round++) {
        for (let k = 0; k < cells.length; k++) {
          const c = cells[(round + k) % cells.length];
          if (c.failed) continue;
          try {
            c.all.push(await runOnce(c.entry.pair, { ...c.cell, count: c.count }));
          } catch (err) {
            c.failed = true;
            fail(c.entry, size, err);
          }
        }
      }
      for (const { entry, count, all, failed } of cells) {
        if (failed) continue;
        const m = median(all.map((x) => x.msgsPerSec));
        const row = {
          ...baseOf(entry, size),
          msgsPerSec: Math.round(m),
          mbPerSec: Math.round(((m * size) / 1e6) * 100) / 100,
          runs,
          count,
          durationMs: Math.round(median(all.map((x) => x.seconds)) * 1e5) / 100,
          msgsPerSecRuns: all.map((x) => Math.round(x.msgsPerSec)),
        };
        results.push(row);
        log(row);
      }
    }
  } finally {
    await Promise.all(entries.filter((e) => e.pair).flatMap((e) => [e.pair.rx.exit(), e.pair.tx.exit()]));
  }
  return { results, unavailable };
}
