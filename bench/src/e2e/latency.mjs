// Round trip: an echo process and a pinging process per row, one message in flight, `samples`
// recorded per row after unrecorded warm-up ones, each timed by the pinging process.
//
// Rows are measured in rounds, each row a slice of its samples per round (the first row of a round
// rotating), not one row after the other: a VM's wake-up latency drifts over minutes (the same
// machine measured raw `net` at 14 us one hour and 87 us the next), and interleaving gives every row
// the same drift, so the ratios between rows hold.
import { Child } from "../lib/procs.mjs";
import { summarizeRtts } from "../lib/stats.mjs";

/** Samples per round at least this many, at most this many rounds. */
const MIN_SLICE = 100;
const MAX_ROUNDS = 10;

export async function measureLatency({ rows, size, samples, warmup, tls, execArgv = [], log = () => {} }) {
  const results = [];
  const unavailable = [];
  const rounds = Math.max(1, Math.min(MAX_ROUNDS, Math.floor(samples / MIN_SLICE)));
  const live = [];
  const fail = (entry, err) => {
    const reason = err.unavailable ? err.message : `failed: ${err.message}`;
    unavailable.push({ ...entry.base, kind: "latency", reason });
    log({ ...entry.base, unavailable: reason });
    entry.failed = true;
  };
  try {
    for (const row of rows) {
      const entry = {
        row,
        base: { name: row, sizeBytes: size, ...(tls ? { tls: true } : {}) },
        echo: new Child({ execArgv }),
        pinger: new Child({ execArgv }),
        port: 0,
        slices: [],
        failed: false,
      };
      live.push(entry);
      try {
        ({ port: entry.port } = await entry.echo.call({ op: "echo", row, args: { size, tls } }, "listening", 30_000));
      } catch (err) {
        fail(entry, err);
      }
    }
    for (let round = 0; round < rounds; round++) {
      const n = Math.floor(samples / rounds) + (round < samples % rounds ? 1 : 0);
      // The first round warms each row up fully; later ones only the new connection.
      const w = round === 0 ? warmup : Math.ceil(warmup / rounds);
      for (let k = 0; k < live.length; k++) {
        const entry = live[(round + k) % live.length];
        if (entry.failed) continue;
        try {
          const args = { port: entry.port, size, samples: n, warmup: w, tls };
          const { rtts } = await entry.pinger.call({ op: "ping", row: entry.row, args }, "rtts", 60_000 + n * 5);
          entry.slices.push(rtts);
        } catch (err) {
          fail(entry, err);
        }
      }
    }
    for (const entry of live) {
      if (entry.failed) continue;
      const all = new Float64Array(entry.slices.reduce((sum, s) => sum + s.length, 0));
      let at = 0;
      for (const s of entry.slices) {
        all.set(s, at);
        at += s.length;
      }
      const r = { ...entry.base, ...summarizeRtts(all), rounds };
      results.push(r);
      log(r);
    }
  } finally {
    await Promise.all(live.flatMap((entry) => [entry.echo.exit(), entry.pinger.exit()]));
  }
  return { results, unavailable };
}
