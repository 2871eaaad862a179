/**
 * send() on a reconnecting client never throws because the connection is
 * closing or gone: the message waits for the next connection and `drain`
 * follows (QWH-DELIV-001, QWH-DELIV-002). Through a proxy that resets the
 * connection every 200,000 bytes. Ported to the native transports (see
 * test/native/suite.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { textDeserializer } from "../../src/index.js";
import { newClient } from "./target.js";
import { resettingProxy } from "./proxy.js";
import { startServer, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * The next `event`, or a failure after `ms` (unlike events.once, an "error"
 * event does not reject it: errors are reported while reconnecting).
 */
const next = (emitter: NodeJS.EventEmitter, event: string, ms = 30_000) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Message `i`: its index, padded to 64 bytes. */
const message = (i: number) => String(i).padStart(64, "0");

describe("send() while the connection resets (reconnect on)", () => {
  it("64-byte messages sent with send() and a wait on false: no throw, each delivered at most once and in order, every message that waited delivered", async () => {
    const { server, port } = await startServer<string>({ deserializer: textDeserializer });
    cleanup.push(() => server.close());
    const received: number[] = [];
    server.on("message", ({ data }) => received.push(Number(data)));
    const proxy = await resettingProxy(port, { resetEvery: 200_000, maxResets: 3 });
    cleanup.push(() => proxy.close());
    const client = newClient<Buffer, string>({
      host: "127.0.0.1",
      port: proxy.port,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 },
    });
    cleanup.push(() => client.destroy());
    client.on("error", () => undefined);
    let disconnected = false;
    client.on("close", () => (disconnected = true));
    client.on("ready", () => (disconnected = false));
    await client.connect();
    // Until the proxy has reset three connections, then one more message on the connection that
    // follows, which nothing resets. (Each burst fills the kernel's buffers before the reset is
    // seen: what was written to a connection that died is lost, at most once, QWH-DELIV-002.)
    const waited: number[] = [];
    let i = 0;
    const send = async () => {
      const wasDown = disconnected;
      if (!client.send(message(i))) {
        if (wasDown) waited.push(i);
        await next(client, "drain");
      }
      i++;
    };
    while (proxy.resets < 3 && i < 2_000_000) await send();
    await send();
    const last = i - 1;
    await until(() => received.at(-1) === last, 60_000, "the last message");
    expect(proxy.resets).toBe(3);
    for (let k = 1; k < received.length; k++) expect(received[k]).toBeGreaterThan(received[k - 1]!);
    const got = new Set(received);
    expect(waited.filter((i) => !got.has(i))).toEqual([]);
    expect(client.telemetry().reconnects).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it("a send while a stale connection is being closed (heartbeat timeout) waits for the next connection", async () => {
    const { server, port } = await startServer<string>({ deserializer: textDeserializer });
    cleanup.push(() => server.close());
    const received: string[] = [];
    server.on("message", ({ data }) => received.push(data));
    const proxy = await resettingProxy(port);
    cleanup.push(() => proxy.close());
    const client = newClient<Buffer, string>({
      host: "127.0.0.1",
      port: proxy.port,
      heartbeatIntervalMs: 20,
      heartbeatMissedLimit: 2,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 },
    });
    cleanup.push(() => client.destroy());
    client.on("error", () => undefined);
    await client.connect();
    client.send("before");
    await until(() => received.length === 1, 10_000, "the first message");
    // "stale" comes while the connection is failing: it sends its CLOSE and waits a moment before it is gone.
    const inWindow = (async () => {
      for await (const s of client.statusChanges()) if (s.type === "stale") return client.send("in the window");
      return undefined;
    })();
    proxy.freezeAll(); // a half-open path: nothing more arrives either way
    expect(await inWindow).toBe(false);
    await until(() => received.includes("in the window"), 10_000, "the message sent while the connection closed");
    expect(received).toEqual(["before", "in the window"]);
  });
});
