// Memory measurements in their own processes (run with --expose-gc, under a raised
// open-file limit). Operations, over IPC:
//   idle server:  { op: "serve", kind }            -> { type: "listening", port, before }
//                 { op: "measure", connections }   -> { type: "measured", after }
//   idle clients: { op: "open", kind, port, connections } -> { type: "opened", before, after }
//   sustained:    { op: "sink" } -> listening; { op: "source", port, size } -> started;
//                 { op: "stop-source" } -> { sent, samples }; { op: "drain-sink", expected } -> { received, samples }
// "kind" is ts | native-libsocket | native-lws (qwormhole through the factory), net or ws.
import net from "node:net";
import http from "node:http";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const reply = (m) => process.send(m);

function gcNow() {
  if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
  globalThis.gc();
  globalThis.gc();
}

/**
 * Peak RSS of this process. Linux: VmHWM of /proc/self/status (this process image only;
 * getrusage's maxrss keeps the parent's peak across fork + exec). Elsewhere: getrusage.
 */
function peakRss() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function mem() {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    maxRss: peakRss(),
  };
}

function measured() {
  gcNow();
  return mem();
}

let countConnections = () => 0;

async function serve(kind) {
  if (kind === "net") {
    const sockets = new Set();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
      s.on("data", () => {});
    });
    server.maxConnections = 100_000;
    await new Promise((r) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, r));
    countConnections = () => sockets.size;
    return server.address().port;
  }
  if (kind === "ws") {
    const { WebSocketServer } = await import("ws");
    const httpServer = http.createServer();
    const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
    wss.on("connection", (c) => c.on("error", () => {}));
    await new Promise((r) => httpServer.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, r));
    countConnections = () => wss.clients.size;
    return httpServer.address().port;
  }
  const { makeServer } = await import("../rows/pairs.mjs");
  const server = makeServer(kind, { maxPendingHandshakes: 100_000, maxPendingHandshakesPerAddress: 100_000, backlog: 4096 });
  server.on("error", () => {});
  const { port } = await server.listen();
  countConnections = () => server.getConnectionCount();
  return port;
}

const held = [];

async function openOne(kind, port) {
  if (kind === "net") {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    await new Promise((resolve, reject) => {
      s.once("connect", resolve);
      s.once("error", reject);
    });
    return s;
  }
  if (kind === "ws") {
    const { WebSocket } = await import("ws");
    const c = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    c.on("error", () => {});
    await new Promise((resolve, reject) => {
      c.once("open", resolve);
      c.once("error", reject);
    });
    return c;
  }
  const { makeClient } = await import("../rows/pairs.mjs");
  const client = makeClient(kind, { port, connectTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 });
  client.on("error", () => {});
  await client.connect();
  return client;
}

async function open(kind, port, connections) {
  // Load what openOne needs before the baseline.
  if (kind === "ws") await import("ws");
  else if (kind !== "net") await import("../rows/pairs.mjs");
  const before = measured();
  const batch = 200;
  for (let i = 0; i < connections; i += batch) {
    const n = Math.min(batch, connections - i);
    held.push(...(await Promise.all(Array.from({ length: n }, () => openOne(kind, port)))));
  }
  return { before, after: measured() };
}

// Sustained run: a qwormhole sink and source, sampled every second.
let sink = null;
let source = null;
const samples = [];
let sampler = null;
function startSampling() {
  const t0 = Date.now();
  sampler = setInterval(() => samples.push({ t: (Date.now() - t0) / 1000, ...mem() }), 1000);
}

async function handle(m) {
  switch (m.op) {
    case "serve": {
      // The baseline is taken with the server listening (modules loaded), so that only the
      // connections are counted.
      const port = await serve(m.kind);
      const before = measured();
      reply({ type: "listening", port, before });
      return;
    }
    case "measure": {
      const deadline = Date.now() + 120_000;
      while (countConnections() < m.connections && Date.now() < deadline) await sleep(50);
      const have = countConnections();
      if (have < m.connections) throw new Error(`server holds ${have} of ${m.connections} connections`);
      await sleep(200);
      reply({ type: "measured", after: measured(), connections: have });
      return;
    }
    case "open": {
      const r = await open(m.kind, m.port, m.connections);
      reply({ type: "opened", ...r });
      return;
    }
    case "sink": {
      const { makeServer } = await import("../rows/pairs.mjs");
      const server = makeServer(m.kind ?? "ts", {});
      sink = { server, received: 0 };
      server.on("message", () => sink.received++);
      const { port } = await server.listen();
      startSampling();
      reply({ type: "listening", port });
      return;
    }
    case "mark": {
      // After the warm-up: the reference point for growth.
      reply({ type: "marked", at: measured() });
      return;
    }
    case "source": {
      const { makeClient } = await import("../rows/pairs.mjs");
      const client = makeClient(m.kind ?? "ts", { port: m.port });
      await client.connect();
      source = { client, sent: 0, stopping: false };
      startSampling();
      reply({ type: "started" });
      const payload = Buffer.alloc(m.size, 0x71);
      source.done = (async () => {
        while (!source.stopping) {
          source.sent++;
          if (!client.send(payload)) await new Promise((r) => client.once("drain", r));
        }
      })();
      return;
    }
    case "stop-source": {
      source.stopping = true;
      await source.done;
      await source.client.close();
      clearInterval(sampler);
      reply({ type: "stopped-source", sent: source.sent, end: measured(), samples });
      return;
    }
    case "drain-sink": {
      const deadline = Date.now() + 30_000;
      while (sink.received < m.expected && Date.now() < deadline) await sleep(20);
      clearInterval(sampler);
      reply({ type: "drained", received: sink.received, end: measured(), samples });
      return;
    }
    case "exit":
      process.exit(0);
  }
}

process.on("message", (m) =>
  handle(m).catch((err) => reply({ type: "error", message: err.message, unavailable: Boolean(err.unavailable) })),
);
process.on("disconnect", () => process.exit(0));
