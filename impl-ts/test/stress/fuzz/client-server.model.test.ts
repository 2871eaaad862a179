/**
 * Model-based fuzzing (fast-check `fc.commands`) of a client and a server over
 * real loopback sockets: sends of any size both ways, connections cut in the
 * middle of a frame, hostile peers that drop mid-frame, server restarts,
 * client closes. The model says which messages must arrive (everything not
 * written to a connection that was cut: QWH-DELIV-001/002) and every run
 * checks that each side receives messages at most once, in order, and all
 * that must arrive.
 */
import net from "node:net";
import fc from "fast-check";
import { describe, it } from "vitest";
import type { QWormholeClient, QWormholeServer, ServerConnection } from "../../../src/index.js";
import { resettingProxy, type ResettingProxy } from "../../integration/proxy.js";
import { newClient, newServer, type TestTarget } from "../../integration/target.js";

/**
 * Sequences per run and target: 2,000 on the TS transport and 300 on each native one in CI;
 * QWH_FUZZ_RUNS and QWH_FUZZ_NATIVE_RUNS set other numbers (e.g. a long local run).
 */
const RUNS: Record<TestTarget, number> = {
  ts: Number(process.env["QWH_FUZZ_RUNS"] ?? 2000),
  "native-libsocket": Number(process.env["QWH_FUZZ_NATIVE_RUNS"] ?? 300),
  "native-lws": Number(process.env["QWH_FUZZ_NATIVE_RUNS"] ?? 300),
};

interface Model {
  /** Messages sent by the client / server so far (their sequence numbers are 0..n-1). */
  clientSent: number;
  serverSent: number;
  /** Messages numbered below these were written to a connection that was cut: they may be lost. */
  clientMayLoseBelow: number;
  serverMayLoseBelow: number;
}

/** The system under test. */
class Real {
  server!: QWormholeServer;
  client!: QWormholeClient;
  proxy!: ResettingProxy;
  port = 0;
  atServer: number[] = [];
  atClient: number[] = [];

  constructor(readonly target: TestTarget) {}

  async start(): Promise<void> {
    await this.listen();
    this.proxy = await resettingProxy(this.port);
    await this.newClient();
  }

  async listen(): Promise<void> {
    this.server = newServer({ host: "127.0.0.1", port: this.port }, this.target);
    this.server.on("message", ({ data }) => this.atServer.push(data.readUInt32BE(0)));
    this.server.on("error", () => undefined);
    this.port = (await this.server.listen()).port;
  }

  async newClient(): Promise<void> {
    this.client = newClient(
      { host: "127.0.0.1", port: this.proxy.port, reconnect: { initialDelayMs: 1, maxDelayMs: 5, jitter: 0 } },
      this.target,
    );
    this.client.on("message", (data) => this.atClient.push(data.readUInt32BE(0)));
    this.client.on("error", () => undefined);
    await this.client.connect();
    await this.connection();
  }

  /** The server side of the client's connection, once both ends have it. */
  async connection(): Promise<ServerConnection> {
    await waitFor(() => this.client.connected && this.server.getConnectionCount() === 1, "the client connected to the server");
    return this.server.getConnections()[0]!;
  }

  async stop(): Promise<void> {
    this.client.destroy();
    await this.proxy.close();
    await this.server.close();
  }
}

/** Polls `cond` each turn of the loop; fails after `ms`. */
async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The next `event` of `emitter`, or a failure after `ms`. */
function next(emitter: NodeJS.EventEmitter, event: string, ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function payload(seq: number, size: number): Buffer {
  const b = Buffer.alloc(Math.max(4, size), seq & 0xff);
  b.writeUInt32BE(seq, 0);
  return b;
}

/** Received sequence numbers: strictly increasing, and every one from `mayLoseBelow` to `sent` present. */
function checkDelivery(received: number[], sent: number, mayLoseBelow: number): void {
  for (let i = 1; i < received.length; i++)
    if (received[i]! <= received[i - 1]!) throw new Error(`out of order or twice: ${received[i - 1]} then ${received[i]}`);
  if (received.length > 0 && received.at(-1)! >= sent) throw new Error(`received ${received.at(-1)} that was never sent`);
  const got = new Set(received);
  for (let s = mayLoseBelow; s < sent; s++)
    if (!got.has(s)) throw new Error(`message ${s} was lost (only messages below ${mayLoseBelow} may be)`);
}

function settled(m: Model, r: Real): boolean {
  const needs = (received: number[], sent: number, below: number) => sent <= below || received.at(-1) === sent - 1;
  return needs(r.atServer, m.clientSent, m.clientMayLoseBelow) && needs(r.atClient, m.serverSent, m.serverMayLoseBelow);
}

type Cmd = fc.AsyncCommand<Model, Real>;

const size = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 4, max: 2048 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 700_000 }) },
);

class ClientSend implements Cmd {
  constructor(readonly size: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    if (!r.client.send(payload(m.clientSent++, this.size))) await next(r.client, "drain");
  }
  toString = () => `clientSend(${this.size})`;
}

class ServerSend implements Cmd {
  constructor(readonly size: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const conn = await r.connection();
    if (!conn.send(payload(m.serverSent++, this.size))) await next(r.server, "drain");
  }
  toString = () => `serverSend(${this.size})`;
}

/**
 * Sends small messages on every turn of the loop until `done` holds (sends while a connection ends).
 * While disconnected they wait in the client's bounded queue (QWH-DELIV-001): a reconnect may take
 * more turns than the queue holds messages (a native link's turns are short), so sending pauses at
 * 1000 waiting.
 */
async function sendEachTurn(m: Model, r: Real, done: () => boolean): Promise<void> {
  for (let turns = 0; !done(); turns++) {
    if (turns > 200_000) throw new Error("the connection never came back");
    if (r.client.telemetry().queueDepth < 1000) r.client.send(payload(m.clientSent++, 16));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Cuts the client's connection in the middle of a large frame, sending on; the client reconnects. */
class CutMidFrame implements Cmd {
  constructor(readonly size: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const before = await r.connection();
    r.client.send(payload(m.clientSent++, this.size));
    await new Promise((resolve) => setImmediate(resolve)); // part of it on its way
    r.proxy.resetAll();
    m.serverMayLoseBelow = m.serverSent;
    // What is sent until the client has noticed may go into the dead connection; after that it waits.
    let noticed = false;
    r.client.once("close", () => (noticed = true));
    await sendEachTurn(m, r, () => noticed);
    m.clientMayLoseBelow = m.clientSent;
    await sendEachTurn(m, r, () => r.server.getConnections()[0] !== before && r.server.getConnectionCount() === 1 && r.client.connected);
  }
  toString = () => `cutMidFrame(${this.size})`;
}

/** Graceful server restart on the same port, the client sending all the while: nothing is lost either way. */
class RestartServer implements Cmd {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    let closed = false;
    const closing = r.server.close().then(() => (closed = true));
    await sendEachTurn(m, r, () => closed);
    await closing;
    await r.listen();
    await r.connection();
  }
  toString = () => "restartServer";
}

/** The client closes gracefully (everything it sent arrives) and a new one connects. */
class CloseClient implements Cmd {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.client.close();
    await waitFor(() => settled(m, r), "delivery before the close");
    await waitFor(() => r.server.getConnectionCount() === 0, "the server to see the close");
    await r.newClient();
  }
  toString = () => "closeClient";
}

/** A hostile peer straight to the server: a frame cut short, garbage or an oversized header, then gone. */
class HostilePeer implements Cmd {
  constructor(readonly bytes: Uint8Array) {}
  check = () => true;
  async run(_m: Model, r: Real): Promise<void> {
    const s = net.connect(r.port, "127.0.0.1");
    s.on("error", () => undefined);
    s.resume(); // read (and drop) the server's answer, so its FIN is seen
    await next(s, "connect");
    s.end(this.bytes);
    await next(s, "close");
  }
  toString = () => `hostilePeer(${Buffer.from(this.bytes).toString("hex").slice(0, 24)})`;
}

/** Waits until everything that must arrive has, then checks both directions. */
class Settle implements Cmd {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await waitFor(() => settled(m, r), "delivery");
    checkDelivery(r.atServer, m.clientSent, m.clientMayLoseBelow);
    checkDelivery(r.atClient, m.serverSent, m.serverMayLoseBelow);
  }
  toString = () => "settle";
}

const hostileBytes = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 64 }),
  fc.integer({ min: 5, max: 16384 }).map((n) => Buffer.concat([Buffer.from([0, 0, n >> 8, n & 0xff]), Buffer.from('{"type":"handshake"')])),
  fc.constant(Buffer.from("7fffffff00", "hex")),
);

const commands = fc.commands(
  [
    size.map((n) => new ClientSend(n)),
    size.map((n) => new ServerSend(n)),
    fc.integer({ min: 100_000, max: 900_000 }).map((n) => new CutMidFrame(n)),
    fc.constant(new RestartServer()),
    fc.constant(new CloseClient()),
    hostileBytes.map((b) => new HostilePeer(b)),
    fc.constant(new Settle()),
  ],
  { maxCommands: 12 },
);

describe.each(Object.keys(RUNS) as TestTarget[])(
  "%s: client and server under random sends, cuts, restarts and hostile peers (model-based)",
  (target) => {
    it(`${RUNS[target]} command sequences keep delivery at most once, in order, and complete where nothing was cut`, async () => {
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(commands, async (cmds) => {
          const real = new Real(target);
          await real.start();
          const model: Model = { clientSent: 0, serverSent: 0, clientMayLoseBelow: 0, serverMayLoseBelow: 0 };
          try {
            await fc.asyncModelRun(() => ({ model, real }), [...cmds, new Settle()]);
          } finally {
            await real.stop();
          }
        }),
        { numRuns: RUNS[target] },
      );
      console.log(`[fuzz] ${target}: ${RUNS[target]} sequences in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }, 1_800_000);
  },
);
