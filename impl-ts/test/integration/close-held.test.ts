/**
 * A graceful close on a session (feature `resume`) sends the messages held
 * past a full replay buffer before its CLOSE (QWH-RESUME-010): none is
 * dropped; what cannot be sent within `drainTimeoutMs` is reported.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { QWormholeClient } from "../../src/client/client.js";
import type { QWormholeError } from "../../src/protocol/errors.js";
import { QWormholeServer } from "../../src/server/server.js";
import { encodeHandshakeJson } from "../../src/protocol/hello.js";
import { acceptToJson } from "../../src/protocol/server-answer.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function numbered(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 0);
  return b;
}

describe("close() on a session with messages held past the replay limits", () => {
  it("sends every held and queued message, in order, before the CLOSE", async () => {
    const server = new QWormholeServer({ host: "127.0.0.1", port: 0, resume: true });
    cleanups.push(() => server.close());
    const { port } = await server.listen();
    const got: number[] = [];
    server.on("message", ({ data }) => got.push(data.readUInt32BE(0)));
    const closed = new Promise<{ hadError: boolean; peerClose?: { code: string } }>((r) =>
      server.once("clientClosed", (e) => r(e as { hadError: boolean; peerClose?: { code: string } })),
    );
    const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false, resume: { maxUnackedMessages: 4 } });
    cleanups.push(() => client.destroy());
    const errors: QWormholeError[] = [];
    const lost: unknown[] = [];
    client.on("error", (e) => errors.push(e));
    client.on("sessionLost", (l) => lost.push(l));
    await client.connect();
    const accepted: boolean[] = [];
    for (let i = 0; i < 50; i++) accepted.push(client.send(numbered(i)));
    // Four fill the replay buffer; the fourth and every later one had to wait.
    expect(accepted.indexOf(false)).toBe(3);
    await client.close();
    const info = await closed;
    expect(got).toEqual([...Array(50).keys()]);
    expect(info.hadError).toBe(false);
    expect(info.peerClose?.code).toBe("E_NORMAL_CLOSE");
    expect(errors).toEqual([]);
    expect(lost).toEqual([]);
    expect(client.telemetry().lostMessages).toBe(0);
  });

  it("reports every message still held when the peer makes no room within drainTimeoutMs", async () => {
    // A server that accepts the session and then reads nothing: no ACK ever comes.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.once("data", () => {
        socket.pause();
        const accept = acceptToJson({
          qwh: "1.1",
          features: ["control", "resume"],
          maxFrameLength: 1 << 20,
          resume: {
            id: Buffer.alloc(16, 1).toString("base64url"),
            token: Buffer.alloc(32, 2).toString("base64url"),
            windowMs: 30_000,
            received: 0,
            resumed: false,
            maxUnackedMessages: 4096,
            maxUnackedBytes: 1 << 22,
          },
        });
        const body = encodeHandshakeJson(accept);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(body.length);
        socket.write(Buffer.concat([header, body]));
      });
    });
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          silent.close(() => r());
        }),
    );
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const { port } = silent.address() as net.AddressInfo;
    const client = new QWormholeClient({
      host: "127.0.0.1",
      port,
      reconnect: false,
      drainTimeoutMs: 300,
      resume: { maxUnackedMessages: 4 },
    });
    cleanups.push(() => client.destroy());
    const errors: QWormholeError[] = [];
    const lost: { messages: unknown[] }[] = [];
    client.on("error", (e) => errors.push(e));
    client.on("sessionLost", (l) => lost.push(l));
    await client.connect();
    for (let i = 0; i < 10; i++) client.send(numbered(i));
    await client.close();
    // Four were sent and never acknowledged (sessionLost); six were never sent (E_CLOSED).
    expect(lost.map((l) => l.messages.length)).toEqual([4]);
    expect(errors.map((e) => e.code)).toContain("E_CLOSED");
    expect(errors.find((e) => e.code === "E_CLOSED")!.message).toMatch(/^6 queued message/);
    expect(client.telemetry().lostMessages).toBe(10);
  });
});
