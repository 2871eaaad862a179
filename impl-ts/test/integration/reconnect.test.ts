import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backoffDelay, textDeserializer, type QWormholeClient } from "../../src/index.js";
import { newServer, newClient } from "./target.js";
import { DEFAULT_RECONNECT } from "../../src/backoff.js";
import { collect, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  vi.useRealTimers();
});

describe("backoff (capped exponential with jitter)", () => {
  it("grows by the multiplier, caps at maxDelayMs, and randomises only the jitter share", () => {
    const o = { ...DEFAULT_RECONNECT, initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, o))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const j = { ...o, jitter: 0.5 };
    expect(backoffDelay(3, j, () => 0)).toBe(200);
    expect(backoffDelay(3, j, () => 0.999999)).toBe(400);
  });

  it("schedules attempts with those delays and stops after maxAttempts (fake timers)", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    // Nothing listens on port 1: every attempt fails fast with ECONNREFUSED.
    const c = newClient({
      host: "127.0.0.1",
      port: 1,
      reconnect: { initialDelayMs: 100, maxDelayMs: 300, multiplier: 2, jitter: 0, maxAttempts: 4 },
    });
    cleanup.push(() => c.destroy());
    const delays: number[] = [];
    c.on("reconnecting", ({ delayMs }) => delays.push(delayMs));
    const done = c.connect().catch((e) => e);
    // setTimeout is faked; I/O and setImmediate are real, so wait for each refusal by turning the loop.
    const turns = async (cond: () => boolean) => {
      for (let n = 0; n < 10_000 && !cond(); n++) await new Promise((r) => setImmediate(r));
    };
    for (let i = 0; i < 3; i++) {
      await turns(() => delays.length > i);
      vi.advanceTimersByTime(delays[i] ?? 0);
    }
    const err = await done;
    // Named for what happened; the last attempt's failure is the cause, its OS error name kept.
    expect(err.code).toBe("E_ATTEMPTS_EXHAUSTED");
    expect(err.cause.code).toBe("E_SOCKET");
    expect(err.syscallCode).toBe("ECONNREFUSED");
    expect(err.message).toMatch(/gave up after 4 connection attempt/);
    expect(delays).toEqual([100, 200, 300]);
  });
});

describe("connect timeout", () => {
  it("a connect that gets no answer fails with E_CONNECT_TIMEOUT (a listener whose accept queue is full drops the SYN)", async () => {
    // python3 listens with a backlog of 0 and never accepts: once its queue is full, SYNs go unanswered.
    const listener = spawn(
      "python3",
      [
        "-c",
        "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    cleanup.push(() => listener.kill());
    const [line] = (await once(listener.stdout, "data")) as [Buffer];
    const port = Number(line.toString().trim());
    const fillers: net.Socket[] = [];
    cleanup.push(() => fillers.forEach((f) => f.destroy()));
    for (let i = 0; i < 4; i++) {
      const f = net.connect(port, "127.0.0.1");
      f.on("error", () => undefined);
      fillers.push(f);
    }
    await new Promise((r) => setTimeout(r, 50));
    const c = newClient({ host: "127.0.0.1", port, reconnect: false, connectTimeoutMs: 200 });
    cleanup.push(() => c.destroy());
    const err = await c.connect().catch((e) => e);
    expect(err.code).toBe("E_CONNECT_TIMEOUT");
  });
});

describe("reconnect after a server restart (QWH-DELIV)", () => {
  it("delivers messages queued while disconnected exactly once and in order (QWH-DELIV-001)", async () => {
    const first = newServer<string>({ host: "127.0.0.1", port: 0, deserializer: textDeserializer });
    const { port } = await first.listen();
    const received: string[] = [];
    first.on("message", ({ data }) => received.push(data));
    const client = newClient<Buffer, string>({ host: "127.0.0.1", port, reconnect: { initialDelayMs: 10, maxDelayMs: 20, jitter: 0 } });
    cleanup.push(() => client.destroy());
    await client.connect();
    for (let i = 0; i < 100; i++) client.send(`before-${i}`);
    await until(() => received.length === 100, 5000, "first batch");
    const disconnected = collect(client, "close", 1);
    await first.close();
    const [closeInfo] = await disconnected;
    expect(closeInfo).toMatchObject({ willReconnect: true });
    // Sent while no server exists: queued, not lost.
    for (let i = 0; i < 500; i++) expect(client.send(`queued-${i}`)).toBe(false);
    expect(client.telemetry().queueDepth).toBe(500);
    const second = newServer<string>({ host: "127.0.0.1", port, deserializer: textDeserializer });
    cleanup.push(() => second.close());
    const again: string[] = [];
    second.on("message", ({ data }) => again.push(data));
    await second.listen();
    await until(() => again.length === 500, 10_000, "queued messages after reconnect");
    expect(again).toEqual(Array.from({ length: 500 }, (_, i) => `queued-${i}`));
    expect(new Set(again).size).toBe(500);
    expect(client.telemetry().reconnects).toBeGreaterThanOrEqual(1);
  });

  it("refuses to queue beyond maxQueuedMessages with E_QUEUE_FULL (QWH-DELIV-003)", async () => {
    const client = newClient({ host: "127.0.0.1", port: 1, maxQueuedMessages: 2, reconnect: false });
    cleanup.push(() => client.destroy());
    client.send("a");
    client.send("b");
    expect(() => client.send("c")).toThrowError(expect.objectContaining({ code: "E_QUEUE_FULL" }));
  });

  it("requireConnectedForSend throws E_NOT_CONNECTED instead of queueing", () => {
    const client = newClient({ host: "127.0.0.1", port: 1, requireConnectedForSend: true, reconnect: false });
    cleanup.push(() => client.destroy());
    expect(() => client.send("a")).toThrowError(expect.objectContaining({ code: "E_NOT_CONNECTED" }));
  });
});

describe("the close events of a lost connection", () => {
  type CloseEvent = { hadError: boolean; error?: { code: string }; willReconnect: boolean };
  const lifecycle = <T>(client: QWormholeClient<T>) => {
    const events: string[] = [];
    const closes: CloseEvent[] = [];
    client.on("close", (info) => {
      closes.push(info);
      events.push(`close ${info.willReconnect ? "will reconnect" : "final"}`);
    });
    client.on("reconnecting", () => events.push("reconnecting"));
    const ended = (async () => {
      for await (const st of client.statusChanges()) if (st.type === "closed") events.push("closed");
    })();
    return { events, closes, ended };
  };

  it("a client that runs out of reconnect attempts ends with a final close (E_ATTEMPTS_EXHAUSTED)", async () => {
    const server = newServer({ host: "127.0.0.1", port: 0 });
    const { port } = await server.listen();
    const client = newClient({ host: "127.0.0.1", port, reconnect: { initialDelayMs: 1, maxDelayMs: 2, jitter: 0, maxAttempts: 2 } });
    cleanup.push(() => client.destroy());
    const { events, closes, ended } = lifecycle(client);
    await client.connect();
    // Nothing listens on the port once the server is closed: each attempt is refused.
    await server.close();
    await ended;
    expect(events).toEqual(["close will reconnect", "reconnecting", "reconnecting", "close final", "closed"]);
    expect(closes[1]).toMatchObject({ hadError: true, willReconnect: false, error: { code: "E_ATTEMPTS_EXHAUSTED" } });
  });

  it("close() while a reconnect is pending ends with a final close without an error", async () => {
    const server = newServer({ host: "127.0.0.1", port: 0 });
    const { port } = await server.listen();
    const client = newClient({ host: "127.0.0.1", port, reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: 0 } });
    cleanup.push(() => client.destroy());
    const { events, closes, ended } = lifecycle(client);
    await client.connect();
    // (events.once would listen to "error" too, and the server's E_GOING_AWAY is reported there.)
    const waiting = new Promise((resolve) => client.once("reconnecting", resolve));
    await server.close();
    await waiting;
    await client.close();
    await ended;
    expect(events).toEqual(["close will reconnect", "reconnecting", "close final", "closed"]);
    expect(closes[1]).toEqual({ hadError: false, willReconnect: false });
  });
});
