// A process of the hardening measurements, driven over IPC (run with --expose-gc).
//   { op: "serve", kind, options }        -> { type: "serving", port }   kind: ts | native-libsocket | native-lws
//   { op: "refusals" }                    -> { type: "refusals", byCode }
//   { op: "broadcast", size, rounds, expect } -> { type: "broadcast", rounds: [{ syncMs, firstTurnMs, maxTurnMs, turns }] }
//   { op: "open", port, n, kind }         -> { type: "opened", n }   (clients that count what they receive)
//   { op: "received", atLeast }           -> { type: "received", count } (once `count >= atLeast`)
//   { op: "churn", port, cycles, kind, concurrency } -> { type: "churned", cycles }
//   { op: "sample" }                      -> { type: "sample", ...memory, fds, connections }
//   { op: "exit" }
import { readdirSync } from "node:fs";
import { createQWormholeClient, createQWormholeServer } from "qwormhole";

const reply = (m) => process.send(m);

function factoryOf(kind) {
  if (kind === "ts") return { forceTs: true };
  if (kind === "native-libsocket") return { preferNative: true, preferredNativeBackend: "libsocket" };
  if (kind === "native-lws") return { preferNative: true, preferredNativeBackend: "lws" };
  throw new Error(`unknown kind ${kind}`);
}

function sample() {
  if (typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, fds: readdirSync("/proc/self/fd").length };
}

let server = null;
const refusals = {};
const clients = [];
let received = 0;
let receivedWaiter = null;

function checkReceived() {
  if (receivedWaiter && received >= receivedWaiter.atLeast) {
    const w = receivedWaiter;
    receivedWaiter = null;
    w.done();
  }
}

async function serve({ kind, options = {} }) {
  const made = createQWormholeServer({
    host: "127.0.0.1",
    port: 0,
    maxPendingHandshakes: 100_000,
    maxPendingHandshakesPerAddress: 100_000,
    backlog: 4096,
    ...options,
    ...factoryOf(kind),
  });
  if (made.mode !== kind) throw new Error(`asked for ${kind}, got ${made.mode}: ${made.reason}`);
  server = made.server;
  server.on("message", ({ client, data }) => client.send(data));
  server.on("handshakeRejected", ({ code }) => (refusals[code] = (refusals[code] ?? 0) + 1));
  server.on("error", () => undefined);
  const { port } = await server.listen();
  return { type: "serving", port };
}

/** Times one broadcast: the synchronous call, the turn it runs in, and every later turn until the clients report delivery. */
async function broadcast({ size, rounds, expect, count }) {
  const payload = Buffer.alloc(size, 0x61);
  const out = [];
  for (let r = 0; r < rounds; r++) {
    const turns = [];
    let last = performance.now();
    let running = true;
    const tick = () => {
      const now = performance.now();
      turns.push(now - last);
      last = now;
      if (running) setImmediate(tick);
    };
    const t0 = performance.now();
    const sent = server.broadcast(payload);
    const syncMs = performance.now() - t0;
    last = t0;
    setImmediate(tick);
    await count(expect * (r + 1));
    running = false;
    await new Promise((resolve) => setImmediate(resolve));
    out.push({ sent, syncMs, firstTurnMs: turns[0], maxTurnMs: Math.max(...turns), turns: turns.length, totalMs: performance.now() - t0 });
  }
  return { type: "broadcast", rounds: out };
}

async function open({ port, n, kind, localAddress }) {
  for (let start = 0; start < n; start += 500) {
    const wave = [];
    for (let i = start; i < Math.min(n, start + 500); i++) {
      const { client } = createQWormholeClient({ host: "127.0.0.1", port, reconnect: false, localAddress, ...factoryOf(kind) });
      client.on("message", () => {
        received++;
        checkReceived();
      });
      client.on("error", () => undefined);
      clients.push(client);
      wave.push(client.connect());
    }
    await Promise.all(wave);
  }
  return { type: "opened", n: clients.length };
}

async function churn({ port, cycles, kind, concurrency = 1 }) {
  let next = 0;
  const worker = async () => {
    while (next < cycles) {
      next++;
      const { client } = createQWormholeClient({ host: "127.0.0.1", port, reconnect: false, ...factoryOf(kind) });
      client.on("error", () => undefined);
      await client.connect();
      await client.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { type: "churned", cycles };
}

process.on("message", async (m) => {
  try {
    switch (m.op) {
      case "serve":
        return reply(await serve(m));
      case "refusals":
        return reply({ type: "refusals", byCode: { ...refusals } });
      case "broadcast": {
        // The clients live in another process: delivery is asked of the parent, which asks them.
        const count = (atLeast) =>
          new Promise((resolve) => {
            const onMessage = (x) => {
              if (x.op === "delivered" && x.count >= atLeast) {
                process.off("message", onMessage);
                resolve();
              }
            };
            process.on("message", onMessage);
            reply({ type: "await-delivery", atLeast });
          });
        return reply(await broadcast({ ...m, count }));
      }
      case "open":
        return reply(await open(m));
      case "received":
        if (received >= m.atLeast) return reply({ type: "received", count: received });
        receivedWaiter = { atLeast: m.atLeast, done: () => reply({ type: "received", count: received }) };
        return;
      case "churn":
        return reply(await churn(m));
      case "sample":
        return reply({ type: "sample", ...sample(), connections: server?.getConnectionCount() ?? clients.length });
      case "exit":
        for (const c of clients) c.destroy();
        if (server) await server.close();
        return process.exit(0);
      default:
        return undefined;
    }
  } catch (err) {
    reply({ type: "error", message: err.stack ?? String(err) });
  }
});
reply({ type: "ready" });
