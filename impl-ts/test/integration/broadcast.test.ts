/**
 * broadcast(): one serialization and one frame for every connection, writes
 * spread over turns of the loop, and each connection's order kept against its
 * own sends. Ported to the native transports (see test/native/suite.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { QWormholeClient, textDeserializer, type ServerConnection } from "../../src/index.js";
import { collect, startClient, startServer, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** `n` connected text clients, opened in groups of 32 (below the per-address handshake limit). */
async function clients(port: number, n: number, options: { maxFrameLength?: number } = {}): Promise<QWormholeClient<string, string>[]> {
  const out: QWormholeClient<string, string>[] = [];
  for (let i = 0; i < n; i += 32) {
    const group = await Promise.all(
      Array.from({ length: Math.min(32, n - i) }, () => startClient<string, string>(port, { deserializer: textDeserializer, ...options })),
    );
    out.push(...group);
  }
  cleanup.push(() => out.forEach((c) => c.destroy()));
  return out;
}

describe("broadcast", () => {
  it("serializes once and reaches every connection but the excepted one", async () => {
    let serialized = 0;
    const { server, port } = await startServer<string, string>({
      serializer: (s) => {
        serialized++;
        return Buffer.from(s);
      },
    });
    cleanup.push(() => server.close());
    const connected = collect<ServerConnection<string>>(server, "connection", 200);
    const all = await clients(port, 200);
    const conns = await connected;
    const got = all.map(() => [] as string[]);
    all.forEach((c, i) => c.on("message", (m) => got[i]!.push(m)));
    const except = conns[0]!;
    expect(server.broadcast("to everyone", { except })).toBe(199);
    expect(serialized).toBe(1);
    await until(() => got.filter((g) => g.length === 1).length === 199, 20_000, "199 clients to receive it");
    const skipped = all.findIndex((c) => c.telemetry().messagesIn === 0);
    expect(skipped).toBeGreaterThanOrEqual(0);
    expect(got.flat()).toEqual(Array(199).fill("to everyone"));
  }, 60_000);

  it("keeps each connection's order across broadcasts and its own sends", async () => {
    const { server, port } = await startServer<string, string>();
    cleanup.push(() => server.close());
    const connected = collect<ServerConnection<string>>(server, "connection", 100);
    const all = await clients(port, 100);
    const conns = await connected;
    const got = new Map<QWormholeClient<string, string>, string[]>(all.map((c) => [c, []]));
    for (const c of all) c.on("message", (m) => got.get(c)!.push(m));
    const rounds = 30;
    for (let r = 0; r < rounds; r++) {
      server.broadcast(`b${r}`);
      for (const conn of conns) conn.send(`d${r}`);
      if (r % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => [...got.values()].every((g) => g.length === 2 * rounds), 30_000, "every message at every client");
    const expected = Array.from({ length: rounds }, (_, r) => [`b${r}`, `d${r}`]).flat();
    for (const g of got.values()) expect(g).toEqual(expected);
  }, 60_000);

  it("skips and reports a connection whose maximum frame length is too small; the others get the message", async () => {
    const { server, port } = await startServer<string, string>();
    cleanup.push(() => server.close());
    const errors: string[] = [];
    server.on("error", (e) => errors.push(e.code));
    const big = await clients(port, 3);
    const small = await startClient<string, string>(port, { deserializer: textDeserializer, maxFrameLength: 16 });
    cleanup.push(() => small.destroy());
    const received = Promise.all(big.map((c) => collect<string>(c, "message", 1)));
    expect(server.broadcast("x".repeat(100))).toBe(3);
    expect(errors).toEqual(["E_FRAME_TOO_LARGE"]);
    expect((await received).flat()).toEqual(Array(3).fill("x".repeat(100)));
    const echo = collect<string>(small, "message", 1);
    server.broadcast("short");
    expect(await echo).toEqual(["short"]);
  });

  it("sends raw bytes without a frame header on a raw-stream server", async () => {
    const { server, port } = await startServer<string, string>({ framing: "none" });
    cleanup.push(() => server.close());
    const client = await startClient<string, string>(port, { framing: "none", deserializer: textDeserializer });
    cleanup.push(() => client.destroy());
    await until(() => server.getConnectionCount() === 1, 5_000, "the connection");
    const chunks: string[] = [];
    client.on("message", (m) => chunks.push(m));
    server.broadcast("raw bytes");
    await until(() => chunks.join("").length >= 9, 5_000, "the bytes");
    expect(chunks.join("")).toBe("raw bytes");
  });
});
