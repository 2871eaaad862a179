// Crash-freedom of the Node addons, for each native backend:
//   exit:    50 processes that call process.exit() with open connections and traffic in flight
//   worker:  50 worker threads that load the addon, open connections and are terminated
//   loop:    50 create/connect/echo/close cycles in one process, then no connection, listener
//            or handle left in the addon (the leak check)
// Plain Node (no TypeScript loader), impl-ts must be built. Prints one line per check and a last
// line "N passed, M failed". Usage: node test/crash-loops.mjs [runs=50] [backend...]
import { spawnBounded, watchdog } from "./deadline.mjs";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, workerData, parentPort } from "node:worker_threads";

const here = fileURLToPath(new URL(".", import.meta.url));
const DIST = new URL("../../impl-ts/dist/index.js", import.meta.url).href;
const LOAD = new URL("../../impl-ts/dist/native/load.js", import.meta.url).href;

/** One server and `clients` clients echoing on `backend`; resolves once traffic flows. */
async function openTraffic(backend, clients = 3) {
  const { createQWormholeServer, createQWormholeClient } = await import(DIST);
  const s = createQWormholeServer({ host: "127.0.0.1", port: 0, preferNative: true, preferredNativeBackend: backend });
  if (s.mode !== `native-${backend}`) throw new Error(`server is ${s.mode}: ${s.reason}`);
  s.server.on("message", ({ client, data }) => client.send(data));
  const { port } = await s.server.listen();
  const list = [];
  for (let i = 0; i < clients; i++) {
    const c = createQWormholeClient({ host: "127.0.0.1", port, reconnect: false, preferNative: true, preferredNativeBackend: backend });
    await c.client.connect();
    let got = 0;
    const first = new Promise((resolve) => c.client.on("message", () => ++got === 10 && resolve()));
    for (let k = 0; k < 200; k++) c.client.send(Buffer.alloc(100, k));
    await first;
    list.push(c.client);
  }
  return { server: s.server, clients: list };
}

async function child(mode, backend) {
  if (mode === "exit") {
    await openTraffic(backend, 2);
    // Traffic still in flight, connections and the listener open.
    setImmediate(() => process.exit(0));
    return;
  }
  if (mode === "worker") {
    await openTraffic(backend, 2);
    parentPort.postMessage("open");
    return; // the parent terminates us
  }
}

async function runExit(backend, runs) {
  const one = () =>
    new Promise((resolve) => {
      const p = spawnBounded(
        process.execPath,
        [fileURLToPath(import.meta.url), "--child", "exit", backend],
        { stdio: ["ignore", "ignore", "pipe"] },
        60_000,
      );
      let err = "";
      p.stderr.on("data", (d) => (err += d));
      p.on("exit", (code, signal) =>
        resolve(
          code === 0 && signal === null ? null : `exit ${code} signal ${signal}${p.timedOut ? " (deadline)" : ""} ${err.slice(0, 300)}`,
        ),
      );
    });
  const failures = [];
  const parallel = 10;
  for (let i = 0; i < runs; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, runs - i) }, one));
    failures.push(...batch.filter(Boolean));
  }
  return failures;
}

async function runWorkers(backend, runs) {
  // In a child process, so a crash is reported instead of taking this runner down.
  return new Promise((resolve) => {
    const p = spawnBounded(
      process.execPath,
      [fileURLToPath(import.meta.url), "--child", "workers", backend, String(runs)],
      { stdio: ["ignore", "pipe", "pipe"] },
      120_000,
    );
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("exit", (code, signal) =>
      resolve(code === 0 && signal === null ? [] : [`exit ${code} signal ${signal}${p.timedOut ? " (deadline)" : ""} ${out.slice(-300)}`]),
    );
  });
}

async function workersChild(backend, runs) {
  const parallel = 5;
  for (let i = 0; i < runs; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, runs - i) }, async () => {
        const w = new Worker(fileURLToPath(import.meta.url), { workerData: { backend } });
        await new Promise((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
          w.once("exit", (c) => reject(new Error(`worker exited early (${c})`)));
        });
        await w.terminate();
      }),
    );
  }
  // And one worker that ends by itself with connections open (process.exit in the worker).
  const w = new Worker(
    `import(${JSON.stringify(import.meta.url)}).then(async (m) => { await m.openTrafficForWorker(${JSON.stringify(backend)}); process.exit(0); });`,
    { eval: true },
  );
  await new Promise((resolve, reject) => {
    w.once("error", reject);
    w.once("exit", resolve);
  });
}

export async function openTrafficForWorker(backend) {
  await openTraffic(backend, 2);
}

async function runLoop(backend, runs) {
  const { loadNative } = await import(LOAD);
  const b = loadNative(backend).binding;
  const failures = [];
  for (let i = 0; i < runs; i++) {
    const { server, clients } = await openTraffic(backend, 2);
    for (const c of clients) await c.close();
    await server.close();
  }
  // Let the last close callbacks run.
  for (let t = 0; t < 100; t++) {
    const st = b.stats();
    if (st.connections === 0 && st.listeners === 0 && (backend !== "libsocket" || st.handles === 0)) return failures;
    await new Promise((r) => setTimeout(r, 20));
  }
  failures.push(`left behind after ${runs} cycles: ${JSON.stringify(b.stats())}`);
  return failures;
}

async function main() {
  const args = process.argv.slice(2);
  const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 50);
  let backends = args.filter((a) => a === "lws" || a === "libsocket");
  const { loadNative } = await import(LOAD);
  if (backends.length === 0) backends = ["libsocket", "lws"];
  let passed = 0;
  let failed = 0;
  const t0 = Date.now();
  for (const backend of backends) {
    const r = loadNative(backend);
    if (!r.binding) {
      console.log(`SKIP ${backend}: ${r.reason}`);
      continue;
    }
    for (const [name, fn] of [
      ["process.exit with open connections", runExit],
      ["worker-thread teardown", runWorkers],
      ["create/close loop, nothing left behind", runLoop],
    ]) {
      const t = Date.now();
      const failures = await fn(backend, runs);
      if (failures.length === 0) {
        passed++;
        console.log(`ok   ${backend}: ${runs} x ${name} (${Date.now() - t} ms)`);
      } else {
        failed++;
        console.log(`FAIL ${backend}: ${name}: ${failures.length} of ${runs} failed; first: ${failures[0]}`);
      }
    }
  }
  console.log(`total ${Date.now() - t0} ms`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

if (!isMainThread && workerData?.backend) {
  await child("worker", workerData.backend);
} else if (!isMainThread) {
  // the eval worker imports this module for openTrafficForWorker
} else if (process.argv[2] === "--child") {
  watchdog(110_000, `crash-loop child ${process.argv[3]}`);
  if (process.argv[3] === "workers") await workersChild(process.argv[4], Number(process.argv[5]));
  else await child(process.argv[3], process.argv[4]);
} else {
  void here;
  watchdog(270_000, "crash loops");
  await main();
}
