// The two processes of the soak (run with --expose-gc), driven over IPC by soak.mjs.
// server: { op: "serve", kind, tls } -> { type: "serving", port, tlsPort }; { op: "kick" } destroys one
//         connection (its client reconnects); echoes every message.
// load:   { op: "start", kind, port, tlsPort, ca, steady, churnCycles, churnConcurrency } -> { type: "started" }
//         { op: "warm", kind, port } -> { type: "warm" } (one connection, before the baseline)
//         { op: "stop" } -> { type: "stopped", stats, churnExtraSeconds } (steady clients closed, churn finished)
// both:   { op: "sample" } -> { type: "sample", rss, heapUsed, external, fds }; { op: "exit" }
import { readdirSync } from "node:fs";
import { createQWormholeClient, createQWormholeServer } from "qwormhole";

const reply = (m) => process.send(m);
const FACTORY = {
  ts: { forceTs: true },
  "native-libsocket": { preferNative: true, requireNative: "libsocket", preferredNativeBackend: "libsocket" },
  "native-lws": { preferNative: true, requireNative: "lws", preferredNativeBackend: "lws" },
};
const SIZES = [16, 16, 64, 256, 1024, 4096, 16_384, 65_536, 262_144];

function sample(gc = true) {
  if (gc && typeof globalThis.gc === "function") for (let i = 0; i < 3; i++) globalThis.gc();
  const m = process.memoryUsage();
  return { type: "sample", rss: m.rss, heapUsed: m.heapUsed, external: m.external, fds: readdirSync("/proc/self/fd").length };
}

// ---- server ----
const servers = [];
async function serve({ kind, tls }) {
  const ports = {};
  for (const [name, extra] of [
    ["port", {}],
    ["tlsPort", { tls }],
  ]) {
    const { server, mode } = createQWormholeServer({ host: "127.0.0.1", port: 0, ...extra, ...FACTORY[kind] });
    if (mode !== kind) throw new Error(`asked for ${kind}, got ${mode}`);
    server.on("error", () => undefined);
    server.on("message", ({ client, data }) => {
      try {
        client.send(data);
      } catch {
        // closing: the client's next connection starts over
      }
    });
    ports[name] = (await server.listen()).port;
    servers.push(server);
  }
  return { type: "serving", ...ports };
}

function kick() {
  const all = servers.flatMap((s) => s.getConnections());
  if (all.length > 0) all[Math.floor(Math.random() * all.length)].destroy();
  return { type: "kicked", connections: all.length };
}

// ---- load ----
const stats = { sent: 0, echoed: 0, outOfOrder: 0, reconnects: 0, churnCycles: 0, sendErrors: 0, errors: {} };
let running = false;
const steadyClients = [];
const churnPromises = [];
const churnStates = [];
let churnDone = 0;
/** stop() reports the clients still busy when nothing has finished for this long, instead of waiting on. */
const STUCK_MS = 60_000;

function payload(seq, size) {
  const b = Buffer.alloc(size, seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
}

/** One long-lived client: sends mixed sizes (a bounded window ahead of its echoes) and checks the echoes' order. */
function steady(options) {
  const { client } = createQWormholeClient({ ...options, reconnect: { initialDelayMs: 5, maxDelayMs: 100 } });
  let seq = 0;
  let lastEcho = -1;
  let floor = 0; // echoes below this may be lost (sent before a connection was cut)
  let wake = null;
  const state = { name: `steady ${steadyClients.length} (${options.tls ? "tls" : "plain"})`, phase: "connect" };
  client.on("message", (data) => {
    const s = data.readUInt32BE(0);
    if (s <= lastEcho) stats.outOfOrder++;
    lastEcho = s;
    stats.echoed++;
    wake?.();
  });
  client.on("close", ({ willReconnect }) => {
    if (willReconnect) stats.reconnects++;
    floor = seq;
    wake?.();
  });
  client.on("error", (e) => (stats.errors[e.code] = (stats.errors[e.code] ?? 0) + 1));
  const loop = async () => {
    await client.connect();
    while (running) {
      // At most 16 messages ahead of the echoes (or of the last cut).
      state.phase = "window";
      while (running && seq - Math.max(lastEcho + 1, floor) >= 16) await new Promise((r) => ((wake = r), setTimeout(r, 100)));
      if (!running) break;
      try {
        // flush() rather than 'drain': it also settles (E_CLOSED) when stop() closes a client whose
        // connection was lost and that waits for its next one, which emits no further 'close'.
        state.phase = "send";
        if (!client.send(payload(seq++, SIZES[seq % SIZES.length]))) {
          state.phase = "flush";
          await client.flush().catch(() => undefined);
        }
        stats.sent++;
      } catch (e) {
        stats.sendErrors++;
        stats.errors[e.code] = (stats.errors[e.code] ?? 0) + 1;
      }
    }
  };
  state.phase = "connect";
  steadyClients.push({ client, state, done: loop().finally(() => (state.phase = "done")) });
}

/** Short-lived clients: connect, one round trip, close; until `cycles` are done (stop() waits for them). */
async function churn(options, cycles, state) {
  while (stats.churnCycles < cycles) {
    stats.churnCycles++;
    const { client } = createQWormholeClient({ ...options, reconnect: false });
    client.on("error", () => undefined);
    try {
      state.phase = "connect";
      await client.connect();
      // The echo, or the close of a connection the server cut (kick).
      const echoed = new Promise((r) => (client.once("message", r), client.once("close", r)));
      state.phase = "echo";
      client.send(payload(0, 64));
      await echoed;
    } catch (e) {
      stats.errors[`churn:${e.code}`] = (stats.errors[`churn:${e.code}`] ?? 0) + 1;
    } finally {
      state.phase = "close";
      await client.close();
    }
    churnDone++;
  }
  state.phase = "done";
}

/** One connection opened and closed, so that what a transport sets up once per process (the lws service thread's context) is in the baseline. */
async function warm({ kind, port }) {
  const { client } = createQWormholeClient({ host: "127.0.0.1", port, reconnect: false, ...FACTORY[kind] });
  client.on("error", () => undefined);
  await client.connect();
  await client.close();
  return { type: "warm" };
}

function start({ kind, port, tlsPort, ca, steady: n, churnCycles, churnConcurrency }) {
  running = true;
  const plain = { host: "127.0.0.1", port, ...FACTORY[kind] };
  const secure = { host: "127.0.0.1", port: tlsPort, tls: { ca }, ...FACTORY[kind] };
  for (let i = 0; i < n; i++) steady(i % 2 === 0 ? plain : secure);
  for (let i = 0; i < churnConcurrency; i++) {
    const state = { name: `churn ${i} (${i % 2 === 0 ? "plain" : "tls"})`, phase: "connect" };
    churnStates.push(state);
    churnPromises.push(churn(i % 2 === 0 ? plain : secure, churnCycles, state));
  }
  return { type: "started" };
}

async function stop() {
  running = false;
  const started = Date.now();
  const steadyDone = Promise.all(
    steadyClients.map(async ({ client, done }) => {
      await client.close();
      await done.catch(() => undefined);
    }),
  );
  // The churn count is fixed: on a slow machine the last cycles run after the mixed load.
  const all = Promise.all([steadyDone, ...churnPromises]).then(() => true);
  // A client that makes no progress for STUCK_MS is a hang: name it and what it waits for.
  let seen = -1;
  for (;;) {
    const progress = churnDone + steadyClients.filter((c) => c.state.phase === "done").length;
    if (progress !== seen) {
      seen = progress;
      const finished = await Promise.race([all, new Promise((r) => setTimeout(() => r(false), STUCK_MS))]);
      if (finished) return { type: "stopped", stats, churnExtraSeconds: (Date.now() - started) / 1000 };
      continue;
    }
    const stuck = [...steadyClients.map((c) => c.state), ...churnStates]
      .filter((st) => st.phase !== "done")
      .map((st) => `${st.name} in ${st.phase}`);
    return { type: "stopped", stats, churnExtraSeconds: (Date.now() - started) / 1000, stuck };
  }
}

process.on("message", async (m) => {
  try {
    if (m.op === "serve") reply(await serve(m));
    else if (m.op === "kick") reply(kick());
    else if (m.op === "warm") reply(await warm(m));
    else if (m.op === "start") reply(start(m));
    else if (m.op === "stop") reply(await stop());
    else if (m.op === "sample") reply(sample(m.gc !== false));
    else if (m.op === "exit") {
      for (const s of servers) await s.close();
      process.exit(0);
    }
  } catch (err) {
    reply({ type: "error", message: err.stack ?? String(err) });
  }
});
reply({ type: "ready" });
