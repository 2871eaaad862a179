// Idle-connection memory (client and server in separate processes) and the
// sustained run (no growth over `seconds`).
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Child } from "../lib/procs.mjs";

const SCRIPT = fileURLToPath(new URL("./child.mjs", import.meta.url));

/**
 * Raises the open-file limit of the shell to `openFiles` (soft and hard: a process with
 * CAP_SYS_RESOURCE, e.g. root on a plain host, may raise the hard limit), else to the hard limit.
 */
const raiseLimit = (openFiles) => `ulimit -n ${Number(openFiles)} 2>/dev/null || ulimit -n hard 2>/dev/null`;

/** The open-file limit a memory child started with `memoryChild(openFiles)` gets. */
function openFileLimit(openFiles) {
  const r = spawnSync("/bin/sh", ["-c", `${raiseLimit(openFiles)}; ulimit -n`], { encoding: "utf8", timeout: 10_000 });
  const n = r.stdout.trim();
  return n === "unlimited" ? Infinity : Number(n) || 1024;
}

/** A memory child under `ulimit -n` (raised to what the connections need, within the hard limit). */
function memoryChild(openFiles) {
  const cmd = `${raiseLimit(openFiles)}; exec "$0" --expose-gc "$1"`;
  const proc = spawn("/bin/sh", ["-c", cmd, process.execPath, SCRIPT], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    serialization: "advanced",
  });
  return new Child({ proc });
}

/** Descriptors a process holds besides its connections (node, the addons, lws's context). */
const SPARE_FILES = 500;

const per = (a, b, key, n) => Math.round(((a[key] - b[key]) / n) * 10) / 10;

export async function measureIdle({ kinds, connections, log = () => {} }) {
  const results = [];
  const unavailable = [];
  for (const kind of kinds) {
    // native-lws holds two descriptors per connection (lws's and the JS-thread reader's).
    const perConnection = kind === "native-lws" ? 2 : 1;
    const files = perConnection * connections + 2 * SPARE_FILES;
    // Where the hard limit cannot be raised (no CAP_SYS_RESOURCE, e.g. in a container), the row
    // measures as many connections as the limit holds; the figures are per connection.
    const limit = openFileLimit(files);
    const n = Math.min(connections, Math.floor((limit - SPARE_FILES) / perConnection));
    const notes =
      n < connections
        ? `${n} of ${connections} connections: the open-file limit is ${limit} and cannot be raised here; ${perConnection} descriptors per connection`
        : undefined;
    const server = memoryChild(files);
    const clients = memoryChild(files);
    try {
      const listening = await server.call({ op: "serve", kind }, "listening", 30_000);
      const opened = await clients.call({ op: "open", kind, port: listening.port, connections: n }, "opened", 60_000 + n * 20);
      const m = await server.call({ op: "measure", connections: n }, "measured", 180_000);
      for (const [side, before, after] of [
        ["server", listening.before, m.after],
        ["client", opened.before, opened.after],
      ]) {
        const row = {
          name: `${kind}-${side}-idle`,
          side,
          connections: n,
          rssBytes: after.rss,
          peakRssBytes: after.maxRss,
          heapUsedBytes: after.heapUsed,
          externalBytes: after.external,
          heapPerConnectionBytes: per(after, before, "heapUsed", n),
          bytesPerConnection: Math.max(
            0,
            Math.round(((after.heapUsed + after.external - before.heapUsed - before.external) / n) * 10) / 10,
          ),
          rssPerConnectionBytes: per(after, before, "rss", n),
          ...(notes && { notes }),
        };
        results.push(row);
        log(row);
      }
    } catch (err) {
      const reason = err.unavailable ? err.message : `failed: ${err.message}`;
      unavailable.push({ name: `${kind}-server-idle`, kind: "memory", connections, reason });
      log({ name: `${kind}-server-idle`, unavailable: reason });
    } finally {
      server.send({ op: "exit" });
      clients.send({ op: "exit" });
      await new Promise((r) => setTimeout(r, 300));
      server.kill();
      clients.kill();
    }
  }
  return { results, unavailable };
}

export async function measureSustained({ kind = "ts", seconds, warmSec, size = 1024, log = () => {} }) {
  const sinkP = memoryChild(1024);
  const sourceP = memoryChild(1024);
  const name = `${kind}-${kind}-sustained`;
  try {
    const { port } = await sinkP.call({ op: "sink", kind }, "listening", 30_000);
    await sourceP.call({ op: "source", kind, port, size }, "started", 30_000);
    await new Promise((r) => setTimeout(r, warmSec * 1000));
    const [a, b] = await Promise.all([sinkP.call({ op: "mark" }, "marked"), sourceP.call({ op: "mark" }, "marked")]);
    await new Promise((r) => setTimeout(r, (seconds - warmSec) * 1000));
    const src = await sourceP.call({ op: "stop-source" }, "stopped-source", 60_000);
    const snk = await sinkP.call({ op: "drain-sink", expected: src.sent }, "drained", 60_000);
    if (snk.received !== src.sent) throw new Error(`sent ${src.sent}, received ${snk.received}`);
    const rows = [
      ["receiver", a.at, snk.end, snk.samples],
      ["sender", b.at, src.end, src.samples],
    ].map(([side, mark, end, samples]) => ({
      name,
      side,
      connections: 1,
      durationSec: seconds,
      messages: src.sent,
      rssBytes: end.rss,
      peakRssBytes: Math.max(end.maxRss, ...samples.map((s) => s.maxRss)),
      heapUsedBytes: end.heapUsed,
      externalBytes: end.external,
      heapGrowthBytes: end.heapUsed - mark.heapUsed,
      rssGrowthBytes: end.rss - mark.rss,
      notes: `${size} B messages as fast as backpressure allows; growth from after ${warmSec} s of warm-up to the end, both after GC`,
    }));
    for (const r of rows) log(r);
    return { results: rows, unavailable: [] };
  } catch (err) {
    const reason = err.unavailable ? err.message : `failed: ${err.message}`;
    log({ name, unavailable: reason });
    return { results: [], unavailable: [{ name, kind: "memory", reason }] };
  } finally {
    sinkP.kill();
    sourceP.kill();
  }
}
