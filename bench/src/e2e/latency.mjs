// Round trip: an echo process and a pinging process, one message in flight,
// `samples` recorded after `warmup` unrecorded ones, each timed by the pinging process.
import { Child } from "../lib/procs.mjs";
import { summarizeRtts } from "../lib/stats.mjs";

export async function measureLatency({ rows, size, samples, warmup, tls, execArgv = [], log = () => {} }) {
  const results = [];
  const unavailable = [];
  for (const row of rows) {
    const base = { name: row, sizeBytes: size, ...(tls ? { tls: true } : {}) };
    const echo = new Child({ execArgv });
    const pinger = new Child({ execArgv });
    try {
      const { port } = await echo.call({ op: "echo", row, args: { size, tls } }, "listening", 30_000);
      const { rtts } = await pinger.call({ op: "ping", row, args: { port, size, samples, warmup, tls } }, "rtts", 60_000 + samples * 5);
      const r = { ...base, ...summarizeRtts(rtts) };
      results.push(r);
      log(r);
    } catch (err) {
      const reason = err.unavailable ? err.message : `failed: ${err.message}`;
      unavailable.push({ ...base, kind: "latency", reason });
      log({ ...base, unavailable: reason });
    } finally {
      await Promise.all([echo.exit(), pinger.exit()]);
    }
  }
  return { results, unavailable };
}
