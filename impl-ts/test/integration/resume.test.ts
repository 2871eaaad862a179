/**
 * Session resumption (QWH/1.1 feature "resume", spec section 10.7) under real
 * faults: a proxy between client and server resets both sides of each
 * connection after a random number of bytes, while 100,000 numbered messages
 * go one way and 20,000 the other, over plain TCP and TLS. Every message must
 * arrive exactly once and in order, and the server must keep one connection
 * object. Also: the unacknowledged messages reported when a session cannot be
 * resumed, refusals, and 1.0 peers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QWormholeClient } from "../../src/client/client.js";
import { QWormholeServer } from "../../src/server/server.js";
import type { ServerConnection } from "../../src/server/server-connection.js";
import { until } from "./helpers.js";
import { expectClean, numbered, runCuts } from "./resume-cuts.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("resume under connection resets (QWH-RESUME-021, QWH-RESUME-026)", () => {
  const cuts = (transport: "plain" | "tls", seed: number) =>
    runCuts({
      transport,
      seed,
      client: "ts",
      server: "ts",
      toServer: 100_000,
      toClient: 20_000,
      minBytes: 24_000,
      maxBytes: 160_000,
      cleanups,
      deadlineMs: 120_000,
    });

  it("plain TCP: 100,000 + 20,000 numbered messages, >= 20 cuts, none lost, none repeated, in order", async () => {
    expectClean(await cuts("plain", 0x5eed), 100_000, 20_000);
  }, 180_000);

  it("TLS: the same through the cutting proxy", async () => {
    expectClean(await cuts("tls", 0x7115), 100_000, 20_000);
  }, 180_000);
});

/**
 * A server in a process of its own (the built package), recording the number of every message it
 * delivers with a synchronous write before it returns, so that what it acknowledged was recorded.
 */
const SERVER_CHILD = `
import { openSync, writeSync } from "node:fs";
const { QWormholeServer } = await import(process.argv[2]);
const fd = openSync(process.argv[3], "a");
const server = new QWormholeServer({ host: "127.0.0.1", port: Number(process.argv[4]), resume: true });
const b = Buffer.alloc(4);
server.on("message", ({ data }) => { data.copy(b, 0, 0, 4); writeSync(fd, b); });
const { port } = await server.listen();
process.stdout.write(JSON.stringify({ port }) + "\\n");
`;

function startChild(dir: string, file: string, port: number): Promise<{ child: ChildProcess; port: number }> {
  const script = join(dir, "server.mjs");
  writeFileSync(script, SERVER_CHILD);
  const dist = new URL("../../dist/index.js", import.meta.url).href;
  const child = spawn(process.execPath, [script, dist, file, String(port)], { stdio: ["ignore", "pipe", "inherit"], timeout: 120_000 });
  cleanups.push(() => void child.kill("SIGKILL"));
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (line: Buffer) => resolve({ child, port: JSON.parse(line.toString()).port }));
    child.once("exit", (code) => reject(new Error(`server child exited with ${code}`)));
  });
}

function recorded(file: string): number[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(bytes.readUInt32BE(i));
  return out;
}

describe("resume across a server restart (QWH-RESUME-025)", () => {
  it("SIGKILL and restart: the client reports the unacknowledged messages; none is lost unreported, none repeated", async () => {
    const TOTAL = 20_000;
    const dir = mkdtempSync(join(tmpdir(), "qwh-resume-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const fileA = join(dir, "a.bin");
    const fileB = join(dir, "b.bin");
    const a = await startChild(dir, fileA, 0);
    const client = new QWormholeClient({
      host: "127.0.0.1",
      port: a.port,
      resume: true,
      reconnect: { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: Infinity, jitter: 0 },
      maxQueuedMessages: TOTAL,
    });
    cleanups.push(() => client.destroy());
    const reported: number[] = [];
    let lossEvents = 0;
    client.on("sessionLost", ({ messages }) => {
      lossEvents++;
      for (const m of messages) reported.push(Buffer.from(m as Uint8Array).readUInt32BE(0));
    });
    await client.connect();
    let wake: (() => void) | null = null;
    client.on("drain", () => {
      const w = wake;
      wake = null;
      w?.();
    });
    let killed = false;
    for (let i = 0; i < TOTAL; i++) {
      if (!client.send(numbered(i))) await new Promise<void>((r) => (wake = r));
      if (!killed && i === TOTAL / 4) {
        // Some messages have arrived: kill the server in the middle of the stream, start another.
        await until(() => recorded(fileA).length > 1000, 60_000, "server A received messages");
        a.child.kill("SIGKILL");
        killed = true;
        await new Promise((r) => a.child.once("exit", r));
        await startChild(dir, fileB, a.port);
      }
    }
    await until(
      () => lossEvents > 0 && new Set([...recorded(fileA), ...recorded(fileB), ...reported]).size === TOTAL,
      60_000,
      "every message accounted for",
    );
    const gotA = recorded(fileA);
    const gotB = recorded(fileB);
    const setA = new Set(gotA);
    const setB = new Set(gotB);
    const setR = new Set(reported);
    const neverGot = [...Array(TOTAL).keys()].filter((i) => !setA.has(i) && !setB.has(i));
    const reportedButGot = reported.filter((i) => setA.has(i));
    const summary = {
      sent: TOTAL,
      serverA: gotA.length,
      serverB: gotB.length,
      reported: reported.length,
      neverGot: neverGot.length,
      reportedButReceivedByA: reportedButGot.length,
      lostMessages: client.telemetry().lostMessages,
    };
    console.log(`resume across a server restart: ${JSON.stringify(summary)}`);
    // Each server got each message at most once, in order; no message reached both.
    expect(gotA).toEqual([...gotA].sort((x, y) => x - y));
    expect(gotB).toEqual([...gotB].sort((x, y) => x - y));
    expect(setA.size + setB.size).toBe(gotA.length + gotB.length);
    expect(gotA.filter((i) => setB.has(i))).toEqual([]);
    // What no server got is exactly reported; the client did not send the reported ones again.
    expect(neverGot.filter((i) => !setR.has(i))).toEqual([]);
    expect(reported.filter((i) => setB.has(i))).toEqual([]);
    expect(summary.lostMessages).toBe(reported.length);
  }, 180_000);
});

/** A client at the byte level: the hello it is given, then every frame the server sends. */
async function byteClient(port: number, hello: Record<string, unknown>) {
  const socket = net.connect(port, "127.0.0.1");
  cleanups.push(() => void socket.destroy());
  socket.on("error", () => undefined);
  await new Promise((r) => socket.once("connect", r));
  const frames: { control: boolean; payload: Buffer }[] = [];
  let buf = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    // The first frame (the answer) has no control bit; after it bit 31 marks control frames.
    while (buf.length >= 4) {
      const h = buf.readUInt32BE(0);
      const control = frames.length > 0 && (h & 0x80000000) !== 0;
      const len = control ? h & 0x7fffffff : h;
      if (buf.length < 4 + len) break;
      frames.push({ control, payload: buf.subarray(4, 4 + len) });
      buf = buf.subarray(4 + len);
    }
  });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  const body = Buffer.from(JSON.stringify(hello));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  socket.write(Buffer.concat([head, body]));
  const ack = (count: number, request = false) => {
    const f = Buffer.alloc(14);
    f.writeUInt32BE(0x8000000a, 0);
    f[4] = 0x11;
    f[5] = request ? 1 : 0;
    f.writeUInt32BE(Math.floor(count / 2 ** 32), 6);
    f.writeUInt32BE(count >>> 0, 10);
    socket.write(f);
  };
  return {
    socket,
    frames,
    closed,
    ack,
    data: () =>
      frames
        .slice(1)
        .filter((f) => !f.control)
        .map((f) => f.payload),
  };
}

const RESUME_HELLO = {
  type: "handshake",
  qwh: "1.1",
  features: ["control", "resume"],
  resume: { maxUnackedMessages: 1000, maxUnackedBytes: 1_000_000 },
};

describe("resume: limits, refusals and 1.0 peers", () => {
  it("past maxUnackedMessages send() returns false and messages wait; the ACK releases them in order (QWH-RESUME-010)", async () => {
    const server = new QWormholeServer({ host: "127.0.0.1", port: 0, resume: { maxUnackedMessages: 8, ackDelayMs: 60_000 } });
    cleanups.push(() => server.close());
    const { port } = await server.listen();
    const results: boolean[] = [];
    let drains = 0;
    server.on("drain", () => drains++);
    server.on("connection", (conn) => {
      for (let i = 0; i < 12; i++) results.push(conn.send(numbered(i)));
    });
    const peer = await byteClient(port, RESUME_HELLO);
    await until(
      () => peer.data().length === 8 && peer.frames.some((f) => f.control && f.payload[0] === 0x11),
      10_000,
      "8 messages and the server's ACK request",
    );
    // Eight sent, the eighth filled the buffer: false from there on; nothing more arrives unacknowledged.
    expect(results).toEqual([true, true, true, true, true, true, true, false, false, false, false, false]);
    const request = peer.frames.find((f) => f.control && f.payload[0] === 0x11);
    expect(request?.payload[1]).toBe(1); // request bit (QWH-ACK-008)
    peer.ack(8);
    await until(() => peer.data().length === 12, 10_000, "the held messages");
    expect(peer.data().map((p) => p.readUInt32BE(0))).toEqual([...Array(12).keys()]);
    expect(drains).toBe(1);
  });

  it("an ACK for frames never sent fails the connection with E_PROTOCOL_ERROR and ends the session (QWH-ACK-004)", async () => {
    const server = new QWormholeServer({ host: "127.0.0.1", port: 0, resume: true });
    cleanups.push(() => server.close());
    const { port } = await server.listen();
    const closed = new Promise<{ error?: { code: string } }>((r) => server.once("clientClosed", r));
    const peer = await byteClient(port, RESUME_HELLO);
    await until(() => peer.frames.length > 0, 10_000, "the accept");
    peer.ack(5);
    expect((await closed).error?.code).toBe("E_PROTOCOL_ERROR");
    await peer.closed;
    const close = peer.frames.find((f) => f.control && f.payload[0] === 0x03);
    expect(JSON.parse(close!.payload.subarray(1).toString()).code).toBe("E_PROTOCOL_ERROR");
  });

  it("maxSessions: past it a new client is accepted without resume (QWH-RESUME-024)", async () => {
    const server = new QWormholeServer({ host: "127.0.0.1", port: 0, resume: { maxSessions: 1 } });
    cleanups.push(() => server.close());
    const { port } = await server.listen();
    const a = new QWormholeClient({ host: "127.0.0.1", port, resume: true, reconnect: false });
    const b = new QWormholeClient({ host: "127.0.0.1", port, resume: true, reconnect: false });
    cleanups.push(
      () => a.destroy(),
      () => b.destroy(),
    );
    await a.connect();
    await b.connect();
    expect(a.connection?.accept).toMatchObject({ qwh: "1.1", features: ["control", "resume"], resume: { resumed: false } });
    expect(b.connection?.accept?.features).toEqual(["control"]);
    expect(b.connection?.accept?.resume).toBeUndefined();
  });

  it("a 1.0 server (resume off) and a resume client work as before; so do a resume server and a 1.0 client", async () => {
    const plain = new QWormholeServer({ host: "127.0.0.1", port: 0 });
    const resuming = new QWormholeServer({ host: "127.0.0.1", port: 0, resume: true });
    cleanups.push(
      () => plain.close(),
      () => resuming.close(),
    );
    const p1 = (await plain.listen()).port;
    const p2 = (await resuming.listen()).port;
    plain.on("message", ({ client, data }) => client.send(data));
    resuming.on("message", ({ client, data }) => client.send(data));
    const c1 = new QWormholeClient({ host: "127.0.0.1", port: p1, resume: true, reconnect: false });
    const c2 = new QWormholeClient({ host: "127.0.0.1", port: p2, reconnect: false });
    cleanups.push(
      () => c1.destroy(),
      () => c2.destroy(),
    );
    await c1.connect();
    await c2.connect();
    expect(c1.connection?.accept).toMatchObject({ qwh: "1.0", features: ["control"] });
    expect(c2.connection?.accept).toMatchObject({ qwh: "1.0", features: ["control"] });
    const echo = (c: QWormholeClient) => new Promise<Buffer>((r) => c.once("message", (m) => r(m)));
    const e1 = echo(c1);
    const e2 = echo(c2);
    c1.send("one");
    c2.send("two");
    expect((await e1).toString()).toBe("one");
    expect((await e2).toString()).toBe("two");
  });
});

describe("resume: a server connection while its client is away", () => {
  it("send() keeps messages for the resume up to maxUnackedBytes (then E_QUEUE_FULL); the resumed client gets them", async () => {
    const server = new QWormholeServer({ host: "127.0.0.1", port: 0, resume: { maxUnackedBytes: 100, ackDelayMs: 60_000 } });
    cleanups.push(() => server.close());
    const { port } = await server.listen();
    const conns: ServerConnection[] = [];
    server.on("connection", (c) => conns.push(c));
    const first = await byteClient(port, RESUME_HELLO);
    await until(() => first.frames.length > 0 && conns.length === 1, 10_000, "the accept");
    const accept = JSON.parse(first.frames[0]!.payload.toString()) as { resume: { id: string; token: string } };
    first.socket.end();
    await until(() => server.getConnectionCount() === 0, 10_000, "the connection lost");
    const conn = conns[0]!;
    expect(conn.send(Buffer.alloc(60, 1))).toBe(false);
    expect(() => conn.send(Buffer.alloc(60, 2))).toThrow(expect.objectContaining({ code: "E_QUEUE_FULL" }));
    const resumed = new Promise((r) => server.once("resumed", r));
    const second = await byteClient(port, {
      ...RESUME_HELLO,
      resume: { ...RESUME_HELLO.resume, id: accept.resume.id, token: accept.resume.token, received: 0 },
    });
    await resumed;
    await until(() => second.data().length === 1, 10_000, "the held message");
    expect(second.data()[0]).toEqual(Buffer.alloc(60, 1));
    expect(JSON.parse(second.frames[0]!.payload.toString())).toMatchObject({ resume: { resumed: true, received: 0 } });
  });
});
