import { afterEach, describe, expect, it } from "vitest";
import { jsonDeserializer, textDeserializer, QWormholeServer, QWormholeClient } from "../../src/index.js";
import { newClient } from "./target.js";
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
    server.on("message", ({ data }) => received.push(data));
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
      atServer.push(data);
      client.send(data);
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

describe("message batches (messageBatch: the messages of one read)", () => {
  it("batches carry every message once, in order, beside the message events, both ways", async () => {
    const count = 20_000;
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    track(server);
    const perMessage: string[] = [];
    const batches: string[][] = [];
    server.on("message", ({ data }) => perMessage.push(data));
    server.on("messageBatch", ({ client, messages }) => {
      batches.push(messages);
      for (const m of messages) client.send(`echo:${m}`);
    });
    const client = track(await startClient<string, string>(port, { deserializer: textDeserializer }));
    // Only a batch listener on this side: messages still arrive, and no event per message is needed.
    const echoed: string[] = [];
    let clientBatches = 0;
    const allBack = new Promise<void>((resolve) => {
      client.on("messageBatch", (messages) => {
        clientBatches++;
        echoed.push(...messages);
        if (echoed.length >= count) resolve();
      });
    });
    const sent = Array.from({ length: count }, (_, i) => `m${i}`);
    for (const m of sent) client.send(m);
    await allBack;
    expect(perMessage).toEqual(sent);
    expect(batches.flat()).toEqual(sent);
    expect(batches.every((b) => b.length > 0)).toBe(true);
    // A burst is read in large reads: far fewer batches than messages.
    expect(batches.length).toBeLessThan(count / 10);
    expect(echoed).toEqual(sent.map((m) => `echo:${m}`));
    expect(clientBatches).toBeLessThan(count / 10);
  });

  it("a message that fails to decode is reported and left out of its batch; the others arrive", async () => {
    const { server, port } = await startServer({ deserializer: jsonDeserializer });
    track(server);
    const errors: string[] = [];
    server.on("error", (e) => errors.push(e.code));
    const got: unknown[] = [];
    const done = new Promise<void>((resolve) =>
      server.on("messageBatch", ({ messages }) => {
        got.push(...messages);
        if (got.length === 2) resolve();
      }),
    );
    const client = track(await startClient(port));
    client.send(Buffer.from('{"a":1}'));
    client.send(Buffer.from("not json"));
    client.send(Buffer.from('{"b":2}'));
    await done;
    expect(got).toEqual([{ a: 1 }, { b: 2 }]);
    expect(errors).toEqual(["E_CODEC"]);
    expect(server.getConnectionCount()).toBe(1);
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
    const client = newClient({ host: "127.0.0.1", port, reconnect: false });
    const events: unknown[] = [];
    client.on("close", (e) => events.push(e));
    await client.connect();
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([{ hadError: false, willReconnect: false, peerClose: { code: "E_NORMAL_CLOSE" } }]);
  });

  it("one close event on a user close, without an error even after earlier failures", async () => {
    const { server, port } = await startServer();
    track(server);
    const client = newClient({ host: "127.0.0.1", port, reconnect: false });
    const events: unknown[] = [];
    client.on("close", (e) => events.push(e));
    await client.connect();
    await client.close();
    expect(events).toEqual([{ hadError: false, willReconnect: false }]);
  });
});
