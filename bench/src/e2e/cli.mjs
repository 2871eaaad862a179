// The C pair: two processes of the standalone `qwh-native` CLI (impl-native/build/qwh-native),
// on its posix (epoll) or lws backend, driven through its throughput scenarios: `serve` with the
// stream scenario writes `count` copies of one `size`-byte message from a prebuilt block of frames
// (256 KiB per write) as fast as the socket drains; `connect --scenario count` decodes them in place
// from its 256 KiB read buffer, counts messages and bytes without keeping them, and reports the
// nanoseconds from the open (accept received) to the last message. No Node code runs on the data
// path, and process start, handshake and exit are outside the timed span.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { median } from "../lib/stats.mjs";

export const CLI_ROWS = { "native-libsocket-cli": "posix", "native-lws-cli": "lws" };

/** The CLI binary: $QWH_NATIVE_CLI or impl-native/build/qwh-native. */
export function cliPath() {
  return process.env.QWH_NATIVE_CLI ?? fileURLToPath(new URL("../../../impl-native/build/qwh-native", import.meta.url));
}

function lines(stream, onLine) {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (d) => {
    rest += d;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, i));
      rest = rest.slice(i + 1);
    }
  });
}

/** One server process; resolves with its port and a stop function. */
function startServer(bin, backend, count, size) {
  const config = { scenario: "stream", pushCount: count, pushSize: size };
  const p = spawn(bin, ["--backend", backend, "serve", "--host", "127.0.0.1", "--port", "0", "--config", JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const stop = () =>
    new Promise((resolve) => {
      if (p.exitCode !== null || p.signalCode) return resolve();
      const t = setTimeout(() => p.kill("SIGKILL"), 5000);
      p.once("exit", () => (clearTimeout(t), resolve()));
      p.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (p.kill("SIGKILL"), reject(new Error("qwh-native serve did not start within 10 s"))), 10_000);
    lines(p.stdout, (l) => {
      const m = JSON.parse(l);
      if (m.ready) (clearTimeout(t), resolve({ port: m.port, stop }));
    });
    p.once("exit", (code) => (clearTimeout(t), reject(new Error(`qwh-native serve exited with ${code}: ${err.trim()}`))));
  });
}

/** One client run: seconds from the open to the last message (the client's own clock), checked. */
async function runOnce(bin, backend, count, size) {
  const server = await startServer(bin, backend, count, size);
  try {
    const timeoutMs = 20_000 + Math.ceil(count / 1000);
    const config = { expectCount: count, timeoutMs };
    const p = spawn(
      bin,
      [
        "--backend",
        backend,
        "connect",
        "--host",
        "127.0.0.1",
        "--port",
        String(server.port),
        "--scenario",
        "count",
        "--config",
        JSON.stringify(config),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (d) => (out += d));
    const kill = setTimeout(() => p.kill("SIGKILL"), timeoutMs + 10_000);
    const code = await new Promise((resolve) => p.once("exit", resolve));
    clearTimeout(kill);
    const r = JSON.parse(out.trim().split("\n").pop() || "{}");
    if (code !== 0 || !r.ok || r.received !== count || r.receivedBytes !== count * size || !(r.elapsedNs > 0))
      throw new Error(
        `qwh-native connect: exit ${code}, ok ${r.ok}, received ${r.received}/${count}, bytes ${r.receivedBytes}${r.error ? `, ${r.error}` : ""}`,
      );
    return r.elapsedNs / 1e9;
  } finally {
    await server.stop();
  }
}

/** Throughput rows of the C pair at `sizes` (results and unavailable, as measureThroughput). */
export async function measureCli({ rows, sizes, runs, targetSec, maxCount, log = () => {} }) {
  const results = [];
  const unavailable = [];
  const bin = cliPath();
  for (const name of rows) {
    const backend = CLI_ROWS[name];
    for (const size of sizes) {
      const base = { name, sizeBytes: size };
      if (!existsSync(bin)) {
        unavailable.push({ ...base, kind: "throughput", reason: `${bin} is not built (make -C impl-native)` });
        continue;
      }
      try {
        // Calibration: grow the count until a run lasts about targetSec / 2, then size for targetSec.
        let count = Math.max(100_000, Math.floor((32 << 20) / size));
        let sec = await runOnce(bin, backend, count, size);
        for (let i = 0; i < 4 && sec < targetSec / 2 && count < maxCount; i++) {
          count = Math.min(maxCount, Math.round(count * Math.min(16, targetSec / Math.max(sec, 1e-3))));
          sec = await runOnce(bin, backend, count, size);
        }
        count = Math.min(maxCount, Math.max(count, Math.round((count / Math.max(sec, 1e-3)) * targetSec)));
        const all = [];
        for (let r = 0; r < runs; r++) all.push(await runOnce(bin, backend, count, size));
        const rates = all.map((s) => count / s);
        const m = median(rates);
        const row = {
          ...base,
          msgsPerSec: Math.round(m),
          mbPerSec: Math.round(((m * size) / 1e6) * 100) / 100,
          runs,
          count,
          durationMs: Math.round(median(all) * 1e5) / 100,
          msgsPerSecRuns: rates.map(Math.round),
        };
        results.push(row);
        log(row);
      } catch (err) {
        unavailable.push({ ...base, kind: "throughput", reason: err.message });
        log({ ...base, unavailable: err.message });
      }
    }
  }
  return { results, unavailable };
}
