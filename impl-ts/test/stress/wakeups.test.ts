/**
 * Stalls on the native transports (the lws addon's service thread in
 * particular): bulk replies far larger than the socket buffers, so the rest of
 * each reply is queued and flushed by the transport as the socket drains;
 * thousands of small request/response round trips, one at a time and in
 * pipelined bursts; and a graceful close whose peer answers with FIN only. A
 * watchdog counts stalls (no message arrived between two of its ticks while
 * some were outstanding) and fails the test with what was outstanding instead
 * of letting it hang; every byte is checked. Runs on both addons.
 */
import { describe, expect, it } from "vitest";
import { QWormholeClient, QWormholeServer } from "../../src/index.js";
import { loadNative, type NativeBackendName, type NativeBinding } from "../../src/native/load.js";
import { nativeDialer, nativeListener } from "../../src/native/native-transport.js";
import { rawPeer } from "../integration/helpers.js";

/** Runs `work`; a tick of the watchdog that sees no progress while work is outstanding counts a stall and ends the run. */
async function watched<T>(progress: () => number, work: (stalls: () => number) => Promise<T>): Promise<{ result: T; stalls: number }> {
  let stalls = 0;
  let last = -1;
  let fail: (e: Error) => void = () => undefined;
  const stalled = new Promise<never>((_, reject) => (fail = reject));
  const timer = setInterval(() => {
    const now = progress();
    if (now === last) {
      stalls++;
      fail(new Error(`stalled: no progress since ${now} messages`));
    }
    last = now;
  }, 2000);
  try {
    const result = await Promise.race([work(() => stalls), stalled]);
    return { result, stalls };
  } finally {
    clearInterval(timer);
  }
}

async function pair(binding: NativeBinding) {
  // The bulk replies queue far more than the default backpressure limit (5 MiB) on purpose.
  const server = new QWormholeServer({ host: "127.0.0.1", port: 0, maxBackpressureBytes: 256 << 20, listener: nativeListener(binding) });
  const { port } = await server.listen();
  const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false, dialer: nativeDialer(binding) });
  await client.connect();
  return { server, client };
}

for (const name of ["lws", "libsocket"] as NativeBackendName[]) {
  const loaded = loadNative(name);
  describe(`native-${name}: no stalls`, () => {
    it("has its addon built", () => expect(loaded.binding, loaded.binding ? "" : loaded.reason).toBeTruthy());
    if (!loaded.binding) return;
    const binding = loaded.binding;

    it("bulk replies far larger than the socket buffers arrive whole, round after round", async () => {
      const { server, client } = await pair(binding);
      const REPLIES = 12;
      const SIZE = 4 << 20; // the default maximum frame length
      const ROUNDS = 6;
      server.on("message", ({ client: peer, data }) => {
        for (let k = 0; k < REPLIES; k++) peer.send(Buffer.alloc(SIZE, (data[0]! + k) & 255));
      });
      let got = 0;
      let bad = 0;
      let onReply: (() => void) | null = null;
      client.on("message", (m: Buffer) => {
        const want = (Math.floor(got / REPLIES) + (got % REPLIES)) & 255;
        if (m.length !== SIZE || m[0] !== want || m[SIZE - 1] !== want) bad++;
        got++;
        if (got % REPLIES === 0) onReply?.();
      });
      const before = binding.stats();
      const { stalls } = await watched(
        () => got,
        async () => {
          for (let r = 0; r < ROUNDS; r++) {
            const done = new Promise<void>((resolve) => (onReply = resolve));
            client.send(Buffer.from([r]));
            await done;
          }
        },
      );
      expect(stalls).toBe(0);
      expect(got).toBe(REPLIES * ROUNDS);
      expect(bad).toBe(0);
      // lws: the replies did go through the service thread's partial-flush path (queued, re-armed).
      if (name === "lws") expect(binding.stats().rearms! - before.rearms!).toBeGreaterThan(0);
      client.destroy();
      await server.close();
    }, 120_000);

    it("thousands of small round trips, one at a time and in pipelined bursts", async () => {
      const { server, client } = await pair(binding);
      server.on("message", ({ client: peer, data }) => peer.send(data));
      let got = 0;
      let bad = 0;
      let expected = 0;
      let waiting: { until: number; resolve: () => void } | null = null;
      client.on("message", (m: Buffer) => {
        if (m.readUInt32BE(0) !== got) bad++;
        got++;
        if (waiting && got === waiting.until) {
          const w = waiting;
          waiting = null;
          w.resolve();
        }
      });
      const msg = (i: number) => {
        const b = Buffer.alloc(64, i & 255);
        b.writeUInt32BE(i, 0);
        return b;
      };
      const SINGLE = 3000;
      const BURSTS = 40;
      const BURST = 250;
      const { stalls } = await watched(
        () => got,
        async () => {
          for (let i = 0; i < SINGLE; i++) {
            const done = new Promise<void>((resolve) => (waiting = { until: expected + 1, resolve }));
            client.send(msg(expected++));
            await done;
          }
          for (let b = 0; b < BURSTS; b++) {
            const done = new Promise<void>((resolve) => (waiting = { until: expected + BURST, resolve }));
            for (let i = 0; i < BURST; i++) client.send(msg(expected++));
            await done;
          }
        },
      );
      expect(stalls).toBe(0);
      expect(got).toBe(SINGLE + BURSTS * BURST);
      expect(bad).toBe(0);
      client.destroy();
      await server.close();
    }, 120_000);

    it("a graceful close ends when the peer answers our CLOSE with FIN only (allowHalfOpen: false, as net)", async () => {
      // The peer's FIN ends our side too, so the close never waits for the drain timeout.
      const server = new QWormholeServer({ host: "127.0.0.1", port: 0, drainTimeoutMs: 10_000, listener: nativeListener(binding) });
      const { port } = await server.listen();
      const closed: { error?: { code: string } }[] = [];
      server.on("clientClosed", (e) => closed.push(e));
      const peer = await rawPeer(port);
      expect(peer.answer?.outcome).toBe("accept");
      peer.socket.on("data", () => {
        if (peer.closes.length > 0 && !peer.socket.writableEnded) peer.socket.end();
      });
      await server.close();
      await peer.ended;
      expect(peer.closes.map((c) => c.code)).toEqual(["E_GOING_AWAY"]);
      expect(closed).toHaveLength(1);
      expect(closed[0]!.error?.code).toBeUndefined();
    }, 30_000);
  });
}
