import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { textDeserializer, type ServerConnection } from "../../src/index.js";
import { newClient } from "./target.js";
import { FrameDecoder, FrameEncoder, MAX_HANDSHAKE_LENGTH, acceptToJson, encodeHandshakeJson } from "../../src/protocol/index.js";
import { collect, frame, rawPeer, startClient, startServer, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
const keep = <T extends { close?: () => unknown; destroy?: () => unknown }>(x: T, how: "close" | "destroy"): T => {
  cleanup.push(() => (x as any)[how]());
  return x;
};

describe("maximum frame length on send and receive (QWH-FRAME-005, QWH-FRAME-007)", () => {
  it("send refuses a message over the peer's maximum and the connection keeps working", async () => {
    const { server, port } = await startServer<string>({ maxFrameLength: 1024, deserializer: textDeserializer });
    keep(server, "close");
    const got: string[] = [];
    server.on("message", ({ data }) => got.push(data));
    const client = keep(await startClient(port), "destroy");
    expect(client.connection?.accept?.maxFrameLength).toBe(1024);
    expect(() => client.send(Buffer.alloc(1025))).toThrowError(expect.objectContaining({ code: "E_FRAME_TOO_LARGE" }));
    client.send(Buffer.alloc(1024, 0x61));
    client.send("after");
    await until(() => got.length === 2);
    expect(got[1]).toBe("after");
  });

  it("an oversized header closes that connection with E_FRAME_TOO_LARGE and disturbs no other", async () => {
    const { server, port } = await startServer<string>({ maxFrameLength: 1024, deserializer: textDeserializer });
    keep(server, "close");
    const closed = collect<any>(server, "clientClosed", 1);
    const good = keep(await startClient<string, string>(port, { deserializer: textDeserializer }), "destroy");
    server.on("message", ({ client, data }) => client.send(data));
    const bad = await rawPeer(port);
    bad.send(Buffer.from("00000401", "hex"));
    await bad.ended;
    expect(bad.closes).toEqual([expect.objectContaining({ code: "E_FRAME_TOO_LARGE" })]);
    expect((await closed)[0].error.code).toBe("E_FRAME_TOO_LARGE");
    const echo = collect<string>(good, "message", 1);
    good.send("still here");
    expect(await echo).toEqual(["still here"]);
  });
});

describe("backpressure guard (QWH-LIMIT)", () => {
  it("closes only the connection that will not read, with E_BACKPRESSURE (QWH-LIMIT-005, QWH-LIMIT-006)", async () => {
    const { server, port } = await startServer({ maxBackpressureBytes: 512 * 1024, highWaterMarkBytes: 128 * 1024 });
    keep(server, "close");
    const connections = collect<ServerConnection>(server, "connection", 2);
    const fast = keep(await startClient(port), "destroy");
    const slow = await rawPeer(port);
    slow.socket.pause(); // never reads again
    const [a, b] = await connections;
    const fastConn = a!.handshake.remotePort === slow.socket.localPort ? b! : a!;
    const closed = collect<any>(server, "clientClosed", 1);
    let received = 0;
    fast.on("message", () => received++);
    const total = 800;
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < total; i++) {
      server.broadcast(chunk); // ignores the slow reader's backpressure on purpose
      if (fastConn.backpressured) await new Promise((r) => server.once("drain", r));
    }
    const [ev] = await closed;
    expect(ev.error.code).toBe("E_BACKPRESSURE");
    expect(ev.client.handshake.remotePort).toBe(slow.socket.localPort);
    await until(() => received === total, 20_000, "every message at the fast reader");
    expect(server.getConnectionCount()).toBe(1);
  });
});

describe("heartbeats (QWH-PING-001, QWH-PING-003)", () => {
  it("the server answers PINGs and detects a client that stops answering", async () => {
    const { server, port } = await startServer({ heartbeatIntervalMs: 15, heartbeatMissedLimit: 2 });
    keep(server, "close");
    const closed = collect<any>(server, "clientClosed", 1);
    const silent = await rawPeer(port, { answerPings: false });
    const [ev] = await closed;
    expect(ev.error.code).toBe("E_HEARTBEAT_TIMEOUT");
    expect(silent.pings.length).toBeGreaterThanOrEqual(2);
    expect(silent.pings[0]!.length).toBe(8);
  });

  it("a client detects a server that stops answering and reports it stale", async () => {
    // A server that accepts with "control" and then never answers anything.
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => {
      sockets.push(s);
      const d = new FrameDecoder(
        {
          onMessage: () => {
            s.write(frame(encodeHandshakeJson(acceptToJson({ qwh: "1.0", features: ["control"], maxFrameLength: 4194304 }))));
            d.switchToRaw();
          },
          onControl: () => undefined,
          onRaw: () => undefined,
        },
        { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false },
      );
      s.on("data", (c) => d.push(c));
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => mute.close(r)));
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const client = keep(
      newClient({
        host: "127.0.0.1",
        port: (mute.address() as net.AddressInfo).port,
        heartbeatIntervalMs: 15,
        heartbeatMissedLimit: 2,
        reconnect: false,
      }),
      "destroy",
    );
    const closed = collect<any>(client, "close", 1);
    await client.connect();
    const [info] = await closed;
    expect(info).toMatchObject({ hadError: true, willReconnect: false });
    expect(info.error.code).toBe("E_HEARTBEAT_TIMEOUT");
  });
});

describe("graceful close and drain (QWH-CLOSE-003)", () => {
  it("flush() hands everything queued to the socket and keeps the connection; close() then closes cleanly", async () => {
    const { server, port } = await startServer<string>({ deserializer: textDeserializer });
    keep(server, "close");
    const got: string[] = [];
    server.on("message", ({ data }) => got.push(data));
    const closed = collect<any>(server, "clientClosed", 1);
    const client = newClient<Buffer, string>({ host: "127.0.0.1", port, reconnect: false });
    for (let i = 0; i < 2000; i++) client.send(`early-${i}`); // queued before the connection exists
    await client.connect();
    for (let i = 0; i < 8000; i++) client.send(`late-${i}`);
    await client.flush();
    expect(client.connected).toBe(true);
    expect(client.telemetry().queueDepth).toBe(0);
    expect(client.send("after-flush")).toBe(true);
    await client.drain(); // the old name: the same as flush(), it does not close
    expect(client.connected).toBe(true);
    await client.close();
    expect((await closed)[0].hadError).toBe(false);
    expect(got.length).toBe(10_001);
    expect(got[0]).toBe("early-0");
    expect(got[9999]).toBe("late-7999");
    expect(got[10_000]).toBe("after-flush");
  });

  it("server close() sends E_GOING_AWAY and the client learns the code", async () => {
    const { server, port } = await startServer();
    const client = keep(await startClient(port, { reconnect: false }), "destroy");
    const closed = collect<any>(client, "close", 1);
    await server.close();
    const [info] = await closed;
    expect(info.error?.code).toBe("E_GOING_AWAY");
  });
});

describe("idle timeout", () => {
  it("closes a connection without traffic with E_IDLE_TIMEOUT and emits timeout (QWH-LIMIT-007)", async () => {
    const { server, port } = await startServer({ idleTimeoutMs: 30 });
    keep(server, "close");
    const closed = collect<any>(server, "clientClosed", 1);
    const client = keep(await startClient(port, { reconnect: false }), "destroy");
    const clientClosed = collect<any>(client, "close", 1);
    const [ev] = await closed;
    expect(ev.error?.code).toBe("E_IDLE_TIMEOUT");
    expect((await clientClosed)[0].error?.code).toBe("E_IDLE_TIMEOUT");
  });
});

describe("heartbeat answers and close timeouts (QWH-PING-002, QWH-PING-004, QWH-CLOSE-008, QWH-DELIV-003)", () => {
  it("unsolicited PONGs do not keep a silent peer alive", async () => {
    const { server, port } = await startServer({ heartbeatIntervalMs: 15, heartbeatMissedLimit: 2 });
    keep(server, "close");
    const closed = collect<any>(server, "clientClosed", 1);
    const peer = await rawPeer(port, { answerPings: false });
    const timer = setInterval(() => peer.send(Buffer.from("800000090200000000000000ff", "hex")), 5);
    cleanup.push(() => clearInterval(timer));
    expect((await closed)[0].error.code).toBe("E_HEARTBEAT_TIMEOUT");
  });

  it("a peer that never answers our CLOSE is cut after drainTimeoutMs with E_DRAIN_TIMEOUT", async () => {
    const { server, port } = await startServer({ drainTimeoutMs: 30 });
    keep(server, "close");
    const conn = collect<ServerConnection>(server, "connection", 1);
    const closed = collect<any>(server, "clientClosed", 1);
    const peer = await rawPeer(port); // reads, but never sends CLOSE back
    await (await conn)[0]!.end();
    expect((await closed)[0].error.code).toBe("E_DRAIN_TIMEOUT");
    expect(peer.closes).toEqual([{ code: "E_NORMAL_CLOSE" }]);
  });

  it("a server that resets the connection right after our CLOSE reply: the client still reports the server's code", async () => {
    // A server that accepts, sends CLOSE E_GOING_AWAY, and resets the connection when the reply arrives.
    const sockets: net.Socket[] = [];
    const abrupt = net.createServer((s) => {
      sockets.push(s);
      s.on("error", () => undefined);
      const d = new FrameDecoder(
        {
          onMessage: () => {
            const e = new FrameEncoder();
            e.addData(encodeHandshakeJson(acceptToJson({ qwh: "1.0", features: ["control"], maxFrameLength: 4194304 })));
            e.addClose({ code: "E_GOING_AWAY" });
            s.write(e.takeBuffer());
            d.switchToRaw();
          },
          onControl: () => undefined,
          onRaw: () => s.resetAndDestroy(),
        },
        { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false },
      );
      s.on("data", (c) => d.push(c));
    });
    await new Promise<void>((r) => abrupt.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => abrupt.close(r)));
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const client = keep(newClient({ host: "127.0.0.1", port: (abrupt.address() as net.AddressInfo).port, reconnect: false }), "destroy");
    const closed = collect<any>(client, "close", 1);
    await client.connect();
    const [info] = await closed;
    expect(info.peerClose).toEqual({ code: "E_GOING_AWAY" });
    expect(info.error?.code).toBe("E_GOING_AWAY");
  });

  it("messages still queued when the client stops are reported with E_CLOSED", async () => {
    const client = newClient({ host: "127.0.0.1", port: 1, reconnect: false });
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    client.send("never sent");
    await client.close();
    expect(errors).toContain("E_CLOSED");
    expect(client.telemetry().lostMessages).toBe(1);
  });
});
