/**
 * Session resumption under real faults (spec section 10.7): a proxy between a
 * client and a server resets both sides of each connection after a random
 * number of bytes while numbered messages go both ways; every message must
 * arrive exactly once and in order, and the server must keep one connection
 * object. Client and server each run on a target of target.ts (ts,
 * native-libsocket, native-lws), plain TCP or TLS.
 */
import { expect } from "vitest";
import { startCuttingProxy } from "../../../conformance/src/cutting-proxy.mjs";
import type { ServerConnection } from "../../src/server/server-connection.js";
import { until } from "./helpers.js";
import { newClient, newServer, type TestTarget } from "./target.js";
import { makePki, type TestPki } from "./tls-certs.js";

const SIZE = 32;
/** Message `seq`: SIZE bytes, the number in the first four. */
export function numbered(seq: number): Buffer {
  const b = Buffer.alloc(SIZE, seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
}

/** Checks a numbered stream: in order, no duplicate, no gap. */
export class Sequence {
  next = 0;
  duplicates = 0;
  gaps = 0;
  take(payload: Buffer): void {
    const seq = payload.readUInt32BE(0);
    if (seq === this.next) this.next++;
    else if (seq < this.next) this.duplicates++;
    else {
      this.gaps++;
      this.next = seq + 1;
    }
  }
}

let pki: TestPki | undefined;

export interface CutsRun {
  transport: "plain" | "tls";
  seed: number;
  client: TestTarget;
  server: TestTarget;
  /** Messages client -> server and server -> client. */
  toServer: number;
  toClient: number;
  /** Each connection is reset after a number of bytes drawn from [minBytes, maxBytes). */
  minBytes: number;
  maxBytes: number;
  /** Cleanups run by the test's afterEach. */
  cleanups: (() => Promise<void> | void)[];
  /** How long the whole exchange may take. */
  deadlineMs: number;
}

/**
 * Runs numbered streams both ways through the cutting proxy and returns the counts. The server
 * starts its stream at the client's first message: before it, the client may not have the accept
 * yet (a cut there leaves it without the session, and the server's messages in a session no
 * client knows of).
 */
export async function runCuts(run: CutsRun) {
  const { transport, seed, toServer: TO_SERVER, toClient: TO_CLIENT, cleanups } = run;
  const tls = transport === "tls" ? (pki ??= makePki()) : undefined;
  const server = newServer(
    {
      host: "127.0.0.1",
      port: 0,
      resume: { windowMs: 60_000 },
      ...(tls ? { tls: { key: tls.serverKey, cert: tls.serverCert } } : {}),
    },
    run.server,
  );
  cleanups.push(() => server.close());
  const { port } = await server.listen();
  const proxy = await startCuttingProxy({ port, seed, cuts: Infinity, minBytes: run.minBytes, maxBytes: run.maxBytes });
  cleanups.push(() => proxy.close());

  const atServer = new Sequence();
  const atClient = new Sequence();
  const conns = new Set<ServerConnection>();
  let resumedOnServer = 0;
  // The server's sender: TO_CLIENT messages to the one connection object, waiting out backpressure.
  let serverSent = 0;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  server.on("drain", poke);
  server.on("resumed", () => {
    resumedOnServer++;
    poke();
  });
  let startSending: ((conn: ServerConnection) => void) | null = null;
  const serverSending = new Promise<void>((resolve, reject) => {
    startSending = (conn) => {
      void (async () => {
        while (serverSent < TO_CLIENT) {
          const ok = conn.send(numbered(serverSent++));
          if (!ok) await new Promise<void>((r) => (wake = r));
        }
        resolve();
      })().catch(reject);
    };
  });
  server.on("connection", (conn) => conns.add(conn));
  server.on("message", ({ client, data }) => {
    atServer.take(data);
    if (startSending) {
      const start = startSending;
      startSending = null;
      start(client);
    }
  });

  const client = newClient(
    {
      host: "127.0.0.1",
      port: proxy.port,
      resume: true,
      reconnect: { initialDelayMs: 1, maxDelayMs: 20, maxAttempts: Infinity, jitter: 0 },
      ...(tls ? { tls: { ca: tls.ca, servername: "localhost" } } : {}),
    },
    run.client,
  );
  cleanups.push(() => client.destroy());
  let resumedOnClient = 0;
  let lost = 0;
  client.on("resumed", () => resumedOnClient++);
  client.on("sessionLost", ({ messages }) => (lost += messages.length));
  client.on("message", (m) => atClient.take(m));
  await client.connect();
  let clientWake: (() => void) | null = null;
  client.on("drain", () => {
    const w = clientWake;
    clientWake = null;
    w?.();
  });
  for (let i = 0; i < TO_SERVER; i++) {
    if (!client.send(numbered(i))) await new Promise<void>((r) => (clientWake = r));
  }
  await serverSending;
  await until(() => atServer.next >= TO_SERVER && atClient.next >= TO_CLIENT, run.deadlineMs, "every message delivered");
  proxy.stop();
  return {
    transport,
    client: run.client,
    server: run.server,
    seed,
    cuts: proxy.cuts,
    toServer: atServer.next,
    toClient: atClient.next,
    duplicates: atServer.duplicates + atClient.duplicates,
    gaps: atServer.gaps + atClient.gaps,
    resumedOnClient,
    resumedOnServer,
    serverConnectionObjects: conns.size,
    lost,
    lostMessages: client.telemetry().lostMessages,
  };
}

/**
 * The checks of a run: every message once and in order, one server connection object, nothing
 * reported lost, at least 20 cuts. A cut can land after the server wrote a resume's accept and
 * before the client read it, so the server may count resumes the client never saw, never fewer.
 */
export function expectClean(report: Awaited<ReturnType<typeof runCuts>>, toServer: number, toClient: number): void {
  console.log(`resume under cuts: ${JSON.stringify(report)}`);
  expect(report).toMatchObject({
    toServer,
    toClient,
    duplicates: 0,
    gaps: 0,
    serverConnectionObjects: 1,
    lost: 0,
    lostMessages: 0,
  });
  expect(report.cuts).toBeGreaterThanOrEqual(20);
  expect(report.resumedOnClient).toBeGreaterThanOrEqual(1);
  expect(report.resumedOnClient).toBeLessThanOrEqual(report.resumedOnServer);
}
