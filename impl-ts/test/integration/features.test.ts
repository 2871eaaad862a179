import diagnostics from "node:diagnostics_channel";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DiagnosticsChannels,
  QWormholeRuntime,
  RateLimitedQueue,
  TokenBucket,
  createCborDeserializer,
  createCborSerializer,
  createQWormholeClient,
  createQWormholeServer,
  jsonDeserializer,
  jsonSerializer,
  textDeserializer,
  type TelemetrySnapshot,
} from "../../src/index.js";
import { newClient } from "./target.js";
import { collect, startClient, startServer, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  vi.useRealTimers();
});
const keep = <T>(x: T, how: "close" | "destroy"): T => {
  cleanup.push(() => (x as any)[how]());
  return x;
};

describe("codecs and sizes (round trips over TCP)", () => {
  const sizes = [0, 1, 15, 16, 255, 4096, 65_535, 65_536, 1 << 20, 4 * 1024 * 1024];
  it("buffer payloads of every size up to the default maximum, byte-exact", async () => {
    const { server, port } = await startServer();
    keep(server, "close");
    server.on("message", ({ client, data }) => client.send(data));
    const client = keep(await startClient(port), "destroy");
    const got = collect<Buffer>(client, "message", sizes.length);
    const sent = sizes.map((n) => Buffer.alloc(n, n % 251));
    for (const b of sent) client.send(b);
    const back = await got;
    expect(back.map((b) => b.length)).toEqual(sizes);
    back.forEach((b, i) => expect(b.equals(sent[i]!)).toBe(true));
  });

  it("text, JSON and CBOR codecs, and a custom serializer pair", async () => {
    for (const [ser, de, value] of [
      [undefined, textDeserializer, "héllo ✓"],
      [jsonSerializer, jsonDeserializer, { a: [1, 2, { b: null }], s: "x" }],
      [createCborSerializer(), createCborDeserializer(), { big: 2n ** 70n, bytes: Buffer.from([1, 2, 3]), d: 1.5 }], // a byte string decodes as a Buffer
      [(v: { n: number }) => Buffer.from([v.n]), (b: Buffer) => ({ n: b[0] }), { n: 42 }],
    ] as const) {
      const { server, port } = await startServer({ serializer: ser as any, deserializer: de as any });
      server.on("message", ({ client, data }) => client.send(data));
      const client = await startClient(port, { serializer: ser as any, deserializer: de as any });
      const got = collect<unknown>(client, "message", 1);
      client.send(value);
      expect(await got).toEqual([value]);
      client.destroy();
      await server.close();
    }
  });

  it("messages split into single bytes and coalesced into one write arrive intact", async () => {
    const { server, port } = await startServer<string>({ deserializer: textDeserializer });
    keep(server, "close");
    const got: string[] = [];
    server.on("message", ({ data }) => got.push(data));
    const { rawPeer, frame } = await import("./helpers.js");
    const peer = await rawPeer(port);
    const many = Buffer.concat(Array.from({ length: 100 }, (_, i) => frame(`m${i}`)));
    peer.send(many); // coalesced
    for (const b of frame("split across writes")) {
      peer.send(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => got.length === 101);
    expect(got[99]).toBe("m99");
    expect(got[100]).toBe("split across writes");
    peer.socket.destroy();
  });
});

describe("rate limiting (token bucket; every message pays)", () => {
  it("limits small messages too: bytes delivered follow the rate over (fake) time", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const bucket = new TokenBucket(1000, 100); // 1000 B/s, burst 100 B
    const delivered: number[] = [];
    const q = new RateLimitedQueue<number>(bucket, (n) => delivered.push(n));
    for (let i = 0; i < 100; i++) q.push(i, 5); // 500 bytes of 5-byte messages (0.3 let these through free)
    expect(delivered.length).toBe(20); // the burst
    vi.advanceTimersByTime(100); // +100 bytes
    expect(delivered.length).toBeGreaterThanOrEqual(39);
    expect(delivered.length).toBeLessThanOrEqual(41);
    vi.advanceTimersByTime(300); // +300 bytes: everything
    expect(delivered.length).toBe(100);
    expect(delivered).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("higher priority goes first, FIFO within a priority", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const delivered: string[] = [];
    const q = new RateLimitedQueue<string>(new TokenBucket(100, 10), (s) => delivered.push(s));
    q.push("burst", 10);
    q.push("low-1", 10, 0);
    q.push("low-2", 10, 0);
    q.push("high", 10, 5);
    vi.advanceTimersByTime(1000);
    expect(delivered).toEqual(["burst", "high", "low-1", "low-2"]);
  });

  it("a rate-limited client sends everything, and not all at once (generous bound)", async () => {
    const { server, port } = await startServer();
    keep(server, "close");
    let bytes = 0;
    server.on("message", ({ data }) => (bytes += data.length));
    const client = keep(await startClient(port, { rateLimitBytesPerSec: 64 * 1024, rateLimitBurstBytes: 8 * 1024 }), "destroy");
    for (let i = 0; i < 32; i++) client.send(Buffer.alloc(1024));
    await new Promise((r) => setTimeout(r, 20));
    expect(bytes).toBeLessThan(32 * 1024); // 8 KiB burst + ~1.3 KiB per 20 ms; far below 32 KiB
    await until(() => bytes === 32 * 1024, 10_000, "all bytes");
  });
});

describe("interface binding", () => {
  it("binds to lo by name", async () => {
    const { server, port } = await startServer();
    keep(server, "close");
    const conn = collect<any>(server, "connection", 1);
    keep(await startClient(port, { interfaceName: "lo" }), "destroy");
    expect((await conn)[0].remoteAddress).toBe("127.0.0.1");
  });
  it("an unknown interface fails with E_INTERFACE_NOT_FOUND and no retry", async () => {
    const client = keep(newClient({ host: "127.0.0.1", port: 1, interfaceName: "nope0", reconnect: { initialDelayMs: 1 } }), "destroy");
    await expect(client.connect()).rejects.toMatchObject({ code: "E_INTERFACE_NOT_FOUND" });
  });
});

describe("lifecycle APIs", () => {
  it("messages() and statusChanges() iterate and end on close", async () => {
    const { server, port } = await startServer<string>({ deserializer: textDeserializer });
    keep(server, "close");
    server.on("connection", (c) => {
      c.send("one");
      c.send("two");
      void c.end();
    });
    const client = newClient<string>({ host: "127.0.0.1", port, reconnect: false, deserializer: textDeserializer });
    const statuses = client.statusChanges();
    const messages = client.messages();
    await client.connect();
    const got: string[] = [];
    for await (const m of messages) got.push(m);
    expect(got).toEqual(["one", "two"]);
    const types: string[] = [];
    for await (const s of statuses) types.push(s.type);
    expect(types).toEqual(["connecting", "ready", "disconnected", "closed"]);
  });

  it("connect({ signal }) aborts with E_ABORTED", async () => {
    const client = keep(newClient({ host: "127.0.0.1", port: 1, reconnect: { initialDelayMs: 10_000 } }), "destroy");
    const ac = new AbortController();
    const p = client.connect({ signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "E_ABORTED" });
  });

  it("await using closes the client and the server", async () => {
    const { server, port } = await startServer();
    const closed = collect(server, "close", 1);
    {
      await using s = server;
      await using c = await startClient(port);
      expect(c.connected).toBe(true);
      expect(s.getConnectionCount()).toBeGreaterThanOrEqual(0);
    }
    await closed;
  });

  it("telemetry snapshots and diagnostics_channel events on both sides", async () => {
    const events: string[] = [];
    const sub = (name: string) => () => events.push(name);
    const subs = Object.values(DiagnosticsChannels).map((n) => [n, sub(n)] as const);
    for (const [n, f] of subs) diagnostics.subscribe(n, f);
    cleanup.push(() => subs.forEach(([n, f]) => diagnostics.unsubscribe(n, f)));
    const serverSnaps: TelemetrySnapshot[] = [];
    const { server, port } = await startServer({ onTelemetry: (s) => serverSnaps.push(s), telemetryIntervalMs: 10 });
    keep(server, "close");
    server.on("message", ({ client, data }) => client.send(data));
    const clientSnaps: TelemetrySnapshot[] = [];
    const client = keep(await startClient(port, { onTelemetry: (s) => clientSnaps.push(s), telemetryIntervalMs: 10 }), "destroy");
    const got = collect(client, "message", 10);
    for (let i = 0; i < 10; i++) client.send("x");
    await got;
    await until(() => clientSnaps.some((s) => s.messagesIn === 10) && serverSnaps.some((s) => s.messagesIn === 10 && s.connections === 1));
    expect(events).toContain(DiagnosticsChannels.clientReady);
    expect(events).toContain(DiagnosticsChannels.serverConnection);
    expect(events).toContain(DiagnosticsChannels.telemetry);
  });

  it("factories report the TS mode and why native was not used; the runtime shares defaults", async () => {
    // Native may be built in this workspace: disable it to see the TS fallback and its reason.
    const saved = process.env["QWORMHOLE_DISABLE_NATIVE"];
    process.env["QWORMHOLE_DISABLE_NATIVE"] = "1";
    let made;
    try {
      made = createQWormholeServer({ host: "127.0.0.1", port: 0, preferNative: true, protocolVersion: "3.0.0" });
    } finally {
      if (saved === undefined) delete process.env["QWORMHOLE_DISABLE_NATIVE"];
      else process.env["QWORMHOLE_DISABLE_NATIVE"] = saved;
    }
    const { server, mode, nativeAvailable, reason } = made;
    expect(mode).toBe("ts");
    expect(nativeAvailable).toBe(false);
    expect(reason).toMatch(/native/i);
    keep(server, "close");
    const { port } = await server.listen();
    const rt = new QWormholeRuntime({ protocolVersion: "3.1.0", handshakeTags: { node: "alpha" }, reconnect: false });
    const conn = collect<any>(server, "connection", 1);
    const c = keep(rt.createClient({ host: "127.0.0.1", port }), "destroy");
    await c.connect();
    expect((await conn)[0].handshake).toMatchObject({ version: "3.1.0", tags: { node: "alpha" } });
    expect(createQWormholeClient({ port, forceTs: true }).mode).toBe("ts");
  });

  it("options are validated once, naming the option", () => {
    expect(() => newClient({ port: 70_000 })).toThrowError(/option port/);
    expect(() => newClient({ port: 1, maxFrameLength: 2 ** 31 })).toThrowError(/option maxFrameLength/);
    expect(() => newClient({ port: 1, framing: "weird" as never })).toThrowError(expect.objectContaining({ code: "E_INVALID_OPTION" }));
  });
});

describe("codec failures", () => {
  it("a payload the deserializer rejects is reported with E_CODEC and dropped; the connection goes on", async () => {
    const { server, port } = await startServer({ deserializer: jsonDeserializer });
    keep(server, "close");
    const errors: string[] = [];
    server.on("error", (e) => errors.push(e.code));
    const got = collect<any>(server, "message", 1);
    const client = keep(await startClient(port), "destroy");
    client.send("{not json");
    client.send('{"ok":true}');
    expect((await got)[0].data).toEqual({ ok: true });
    expect(errors).toEqual(["E_CODEC"]);
  });
});
