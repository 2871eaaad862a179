// Session resumption (feature "resume", spec 10.7) between qwh-native and the TS implementation under
// real faults: a proxy resets both sides of each connection after a random number of bytes. ts client
// x qwh-native server (echo): 100,000 numbered messages go to the server and come back; qwh-native
// client (echo-100000) x ts server (echo): the same the other way round. Every message arrives exactly
// once and in order, on both backends, over plain TCP and TLS; the counts and cuts are printed.
// qwh-native connect x qwh-native serve, scenario sequence (the conformance matrix's
// resume-under-cuts): 20,000 numbered messages up and 5,000 down, 24 cuts, graded by receivedRuns.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { NATIVE, startServer, until } from "./cli-server.mjs";
import { startCuttingProxy } from "../../conformance/src/cutting-proxy.mjs";
import { makeTestPki } from "../../conformance/lib/tls-certs.mjs";
import { digestOf, expandMessages, numberedMessage, NumberRuns } from "../../conformance/lib/messages.mjs";
import { tallyRuns } from "../../conformance/src/scenarios.mjs";
import { runBounded } from "./deadline.mjs";

const BACKENDS = ["posix", "lws"];
const COUNT = 100_000;
const SIZE = 32;
const SEEDS = { posix: 0x5eed, lws: 0x1e55 };
const TRANSPORTS = ["plain", "tls"];
// sequence: the streams of the matrix's resume-under-cuts
const UP = [{ size: 64, count: 20_000, numbered: true }];
const DOWN = [{ size: 64, count: 5_000, numbered: true }];

const numbered = (i) => numberedMessage(i, SIZE);
const proxyTo = (port, seed) => startCuttingProxy({ port, seed, cuts: Infinity, minBytes: 24_000, maxBytes: 160_000 });

const load = () => import("../../impl-ts/dist/index.js");

/** `qwh-native connect` to 127.0.0.1:port (with ca: over TLS); its result line, once it ended sanitizer-clean. */
async function connect(backend, port, scenario, config, { ca, timeoutMs = 230_000 } = {}) {
  const args = ["--backend", backend, "connect", "--port", String(port), "--scenario", scenario, "--config", JSON.stringify(config)];
  const r = await runBounded(NATIVE, [...args, ...(ca ? ["--tls-ca", ca] : [])], { timeoutMs });
  expect(r.stderr).not.toMatch(/Sanitizer|runtime error/); // with QWH_NATIVE=build-san/qwh-native
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
}

let certs;
beforeAll(() => {
  certs = makeTestPki();
});

describe.each(BACKENDS.flatMap((b) => TRANSPORTS.map((t) => [b, t])))(
  "resume through a cutting proxy, qwh-native backend %s, %s",
  (backend, transport) => {
    const tls = transport === "tls";
    const seed = SEEDS[backend] + (tls ? 2 : 0);

    it("ts client -> qwh-native serve (echo): 100,000 messages each way, >= 20 cuts, none lost, none repeated, in order", async () => {
      const { QWormholeClient } = await load();
      // over plain TCP the server's policy decides after 1 ms, so the session is settled after the verdict (VERIFYING)
      const config = { scenario: "echo", resume: { windowMs: 60_000 }, ...(tls ? {} : { verifyDelayMs: 1 }) };
      const srv = await startServer({ backend, config, tls: tls ? certs : undefined });
      const proxy = await proxyTo(srv.port, seed);
      const client = new QWormholeClient({
        host: "127.0.0.1",
        port: proxy.port,
        resume: true,
        reconnect: { initialDelayMs: 1, maxDelayMs: 20, maxAttempts: Infinity, jitter: 0 },
        ...(tls ? { tls: { ca: readFileSync(certs.ca), servername: "localhost" } } : {}),
      });
      try {
        const echoes = new NumberRuns();
        let lost = 0;
        let resumed = 0;
        client.on("message", (m) => echoes.take(m));
        client.on("sessionLost", ({ messages }) => (lost += messages.length));
        client.on("resumed", () => resumed++);
        let wake = null;
        client.on("drain", () => {
          const w = wake;
          wake = null;
          w?.();
        });
        await client.connect();
        for (let i = 0; i < COUNT; i++) {
          if (!client.send(numbered(i))) await new Promise((r) => (wake = r));
        }
        // one run [0, COUNT - 1] once all came back in order; a second run is a gap, a repeat or a reordering
        await until(() => echoes.runs.length > 1 || echoes.runs[0]?.[1] === COUNT - 1);
        const echoed = tallyRuns(echoes.runs, COUNT);
        const report = {
          backend,
          transport,
          cuts: proxy.cuts,
          echoed: echoed.received,
          lostEchoes: echoed.lost,
          duplicates: echoed.duplicated,
          outOfOrder: echoed.outOfOrder,
          resumed,
          lost,
          lostMessages: client.telemetry().lostMessages,
        };
        console.log(`ts client x qwh-native server under cuts: ${JSON.stringify(report)}`);
        expect(report).toMatchObject({ echoed: COUNT, lostEchoes: 0, duplicates: 0, outOfOrder: 0, lost: 0, lostMessages: 0 });
        expect(report.cuts).toBeGreaterThanOrEqual(20);
        expect(resumed).toBeGreaterThanOrEqual(report.cuts);
      } finally {
        proxy.stop();
        client.destroy();
        await proxy.close();
        await srv.stop();
      }
    }, 240_000);

    it("qwh-native connect (echo-100000) -> ts server (echo): none lost, none repeated, in order", async () => {
      const { QWormholeServer } = await load();
      const server = new QWormholeServer({
        host: "127.0.0.1",
        port: 0,
        resume: { windowMs: 60_000 },
        ...(tls ? { tls: { key: readFileSync(certs.key), cert: readFileSync(certs.cert) } } : {}),
      });
      const delivered = { count: 0 };
      server.on("message", ({ client, data }) => {
        delivered.count++;
        client.send(data);
      });
      const { port } = await server.listen();
      const proxy = await proxyTo(port, seed + 1);
      try {
        const config = { resume: { maxUnackedMessages: 4096 }, timeoutMs: 200_000, maxAttempts: 1000 };
        const result = await connect(backend, proxy.port, `echo-${COUNT}`, config, { ca: tls ? certs.ca : undefined });
        const report = { backend, transport, cuts: proxy.cuts, delivered: delivered.count, ok: result.ok, received: result.received };
        console.log(`qwh-native client x ts server under cuts: ${JSON.stringify({ ...report, error: result.error })}`);
        // ok: the echoes equal the messages sent, in order (so none lost or repeated on either side)
        expect(result).toMatchObject({ ok: true, received: COUNT, unacknowledged: 0 });
        expect(delivered.count).toBe(COUNT);
        expect(report.cuts).toBeGreaterThanOrEqual(20);
      } finally {
        proxy.stop();
        await proxy.close();
        await server.close();
      }
    }, 240_000);

    it("qwh-native connect (sequence) -> qwh-native serve (sequence): 20,000 up and 5,000 down, 24 cuts, none lost, repeated or reordered", async () => {
      const up = expandMessages(UP);
      const down = expandMessages([{ ...DOWN[0], count: DOWN[0].count + 1 }]); // and the server's end mark
      const srv = await startServer({
        backend,
        config: { scenario: "sequence", resume: true, messages: DOWN, expectCount: up.length },
        tls: tls ? certs : undefined,
      });
      const proxy = await startCuttingProxy({ port: srv.port, seed: seed + 16, cuts: 24, minBytes: 8192, maxBytes: 49_152 });
      try {
        const config = { resume: true, messages: UP, expectCount: down.length, timeoutMs: 200_000 };
        const result = await connect(backend, proxy.port, "sequence", config, { ca: tls ? certs.ca : undefined });
        // the session's one closed line, after the client's graceful close
        const graceful = (events) => events.find((e) => e.event === "closed" && e.error === null);
        await srv.waitFor(graceful);
        const closed = graceful(srv.events);
        const report = {
          backend,
          transport,
          cuts: proxy.cuts,
          toServer: tallyRuns(closed.receivedRuns, up.length),
          toClient: tallyRuns(result.receivedRuns, down.length),
          resumes: { client: result.resumes, server: closed.resumes },
        };
        console.log(`qwh-native client x qwh-native server, sequence under cuts: ${JSON.stringify(report)}`);
        const clean = { lost: 0, duplicated: 0, outOfOrder: 0, unexpected: 0 };
        expect(report.toServer).toMatchObject(clean);
        expect(report.toClient).toMatchObject(clean);
        expect(result).toMatchObject({ ok: true, error: null, sessionLost: 0, receivedSha256: digestOf(down) });
        expect(closed.receivedSha256).toBe(digestOf(up));
        expect(report.cuts).toBe(24);
      } finally {
        proxy.stop();
        await proxy.close();
        await srv.stop();
      }
    }, 240_000);
  },
);

describe.each(BACKENDS)("resume, qwh-native backend %s", (backend) => {
  it("a graceful close waits for the messages held past the replay bounds: all 50 reach the server before the CLOSE", async () => {
    const srv = await startServer({ backend, config: { scenario: "sink", resume: {} } });
    try {
      // 2 unacknowledged frames at most: 48 of the 50 messages are held when the scenario closes at once
      const config = { resume: { maxUnackedMessages: 2 }, messages: [{ size: 10, count: 50 }] };
      const result = await connect(backend, srv.port, "close", config, { timeoutMs: 60_000 });
      await srv.waitFor((evs) => evs.some((e) => e.event === "closed"));
      expect(result).toMatchObject({ ok: true, sent: 50, error: null, unacknowledged: 0 });
      expect(srv.events.find((e) => e.event === "closed")).toMatchObject({ messages: 50, error: null });
    } finally {
      await srv.stop();
    }
  }, 60_000);
});
