import { afterEach, describe, expect, it } from "vitest";
import { jsonDeserializer, textDeserializer, QWormholeServer, QWormholeClient } from "../../src/index.js";
import { collect, startClient, startServer } from "./helpers.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function track<T extends QWormholeServer<any, any> | QWormholeClient<any, any>>(x: T): T {
  cleanup.push(() => (x instanceof QWormholeServer ? x.close() : x.destroy()));
  return x;
}

describe("client and server over TCP on 127.0.0.1", () => {
  it("handshake then echo of text messages", async () => {
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    track(server);
    server.on("message", ({ client, data }) => client.send(`echo:${data}`));
    const client = track(await startClient<string, string>(port, { deserializer: textDeserializer }));
    expect(client.connection?.accept?.features).toEqual(["control"]);
    const got = collect<string>(client, "message", 3);
    client.send("a");
    client.send("b");
    client.send("");
    expect(await got).toEqual(["echo:a", "echo:b", "echo:"]);
    expect(server.getConnectionCount()).toBe(1);
  });

  it("JSON messages both ways", async () => {
    const { server, port } = await startServer({ deserializer: jsonDeserializer });
    track(server);
    server.on("message", ({ client, data }) => client.send({ got: data }));
    const client = track(await startClient(port, { deserializer: jsonDeserializer }));
    const got = collect(client, "message", 1);
    client.send({ n: 1, s: "x" });
    expect(await got).toEqual([{ got: { n: 1, s: "x" } }]);
  });

  it("graceful close delivers everything sent before it", async () => {
    const { server, port } = await startServer({ deserializer: textDeserializer });
    track(server);
    const received: string[] = [];
    server.on("message", ({ data }) => received.push(data as string));
    const closed = collect(server, "clientClosed", 1);
    const client = await startClient(port);
    for (let i = 0; i < 1000; i++) client.send(`m${i}`);
    await client.close();
    const [ev] = await closed;
    expect((ev as { hadError: boolean }).hadError).toBe(false);
    expect(received.length).toBe(1000);
    expect(received[999]).toBe("m999");
  });
});

describe("reads of plain TCP (large frames received in place, one shared read buffer)", () => {
  it("a burst of large and small messages arrives byte-exact both ways, and kept messages stay intact", async () => {
    const lengths = [70_000, 3, 16_383, 16_384, 65_536, 0, 1 << 20, 40_000, 5, 65_540, 200, 300_000, 1];
    const messages = lengths.map((n, i) => Buffer.alloc(n, (i * 53 + 7) & 0xff));
    const { server, port } = await startServer();
    track(server);
    const atServer: Buffer[] = [];
    server.on("message", ({ client, data }) => {
      atServer.push(data as Buffer);
      client.send(data as Buffer);
    });
    const client = track(await startClient(port));
    // A second connection reads in between, through the same shared read buffer.
    const other = track(await startClient(port));
    const fromOther = collect<Buffer>(other, "message", 50);
    const back = collect<Buffer>(client, "message", messages.length);
    for (const m of messages) client.send(m);
    for (let i = 0; i < 50; i++) other.send(Buffer.alloc(1000 + i, i));
    const echoed = await back;
    await fromOther;
    expect(echoed.map((b) => b.length)).toEqual(lengths);
    for (let i = 0; i < messages.length; i++) {
      expect(echoed[i]!.equals(messages[i]!)).toBe(true);
      expect(atServer.find((b) => b.length === lengths[i])?.equals(messages[i]!)).toBe(true);
    }
  });
});

describe("raw mode (framing none, QWH-RAW-*)", () => {
  it("after a framed handshake both directions are a plain byte stream (QWH-RAW-002, QWH-RAW-003)", async () => {
    const { server, port } = await startServer<string, string>({ framing: "none", deserializer: textDeserializer });
    track(server);
    server.on("message", ({ client, data }) => client.send(data.toUpperCase()));
    const client = track(await startClient<string, string>(port, { framing: "none", deserializer: textDeserializer }));
    expect(client.connection?.accept?.features).toEqual(["raw"]);
    let text = "";
    const done = new Promise<void>((r) =>
      client.on("message", (chunk) => {
        text += chunk;
        if (text.length === 26) r();
      }),
    );
    client.send("abcdefghijklm");
    client.send("nopqrstuvwxyz");
    await done;
    expect(text).toBe("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  });

  it("a framed client is refused by a raw server with E_FRAMING_MISMATCH", async () => {
    const { server, port } = await startServer({ framing: "none" });
    track(server);
    const client = track(await startClient(port, {}, false));
    await expect(client.connect()).rejects.toMatchObject({ code: "E_FRAMING_MISMATCH" });
  });
});

describe("close events", () => {
  it("one close event per connection: server-initiated end without reconnect", async () => {
    const { server, port } = await startServer();
    track(server);
    server.on("connection", (c) => void c.end());
    const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false });
    const events: unknown[] = [];
    client.on("close", (e) => events.push(e));
    await client.connect();
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([{ hadError: false, willReconnect: false, peerClose: { code: "E_NORMAL_CLOSE" } }]);
  });

  it("one close event on a user close, without an error even after earlier failures", async () => {
    const { server, port } = await startServer();
    track(server);
    const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false });
    const events: unknown[] = [];
    client.on("close", (e) => events.push(e));
    await client.connect();
    await client.close();
    expect(events).toEqual([{ hadError: false, willReconnect: false }]);
  });
});
