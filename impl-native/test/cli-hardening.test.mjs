// `qwh-native serve` under hostile load, on both backends (posix epoll, lws): descriptors up to the
// open-file limit and back to their baseline, refusal beyond capacity, the handshake timeout for
// plain and TLS connections that never finish it, the per-address pending-handshake limit
// (slowloris from one address), and bounded memory for stalled large frames.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestPki } from "../../conformance/lib/tls-certs.mjs";
import { fdCount, frame, openSocket, startServer, statusKiB, until } from "./cli-server.mjs";

const BACKENDS = ["posix", "lws"];
const x = Buffer.from("x");

/** Receive queues of the server's established sockets on `port` (from /proc/net/tcp). */
function serverRecvQueues(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 4 && f[1].endsWith(`:${hexPort}`) && f[3] === "01")
    .map((f) => parseInt(f[4].split(":")[1], 16));
}

let certs;
beforeAll(() => {
  certs = makeTestPki();
});

describe.each(BACKENDS)("qwh-native serve, backend %s", (backend) => {
  const servers = [];
  const sockets = [];
  const start = async (opts) => {
    const s = await startServer({ backend, ...opts });
    servers.push(s);
    return s;
  };
  const open = async (port, local) => {
    const s = await openSocket(port, local);
    sockets.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of sockets.splice(0)) s.socket.destroy();
    for (const s of servers.splice(0)) await s.stop();
  });
  const closeAll = () => {
    for (const s of sockets.splice(0)) s.socket.destroy();
  };
  /** Every connection closed: the server's descriptors come back to `base`, and a new connection is served. */
  const closeAllAndServeAgain = async (srv, base) => {
    closeAll();
    await until(() => fdCount(srv.proc.pid) === base);
    const again = await open(srv.port);
    again.socket.write(frame(x));
    expect(await again.received(5)).toBe(true);
    closeAll();
  };

  it("serves 1,100 connections at once, then its descriptors return to the baseline", async () => {
    const srv = await start({ config: { profile: "bare" } });
    const pid = srv.proc.pid;
    const base = fdCount(pid);
    const conns = [];
    for (let i = 0; i < 1100; i++) conns.push(await open(srv.port));
    for (const c of conns) c.socket.write(frame(x));
    const echoed = await Promise.all(conns.map((c) => c.received(5)));
    expect(echoed.filter(Boolean).length).toBe(1100);
    expect(fdCount(pid)).toBeGreaterThanOrEqual(base + 1100);
    await closeAllAndServeAgain(srv, base);
    await srv.stop();
  }, 180_000);

  it("with an open-file limit of 256, 356 connections: serves what fits, refuses the rest at once, descriptors back to the baseline", async () => {
    const limit = 256;
    const srv = await start({ config: { profile: "bare" }, nofile: limit });
    const pid = srv.proc.pid;
    const base = fdCount(pid);
    const conns = [];
    for (let i = 0; i < limit + 100; i++) conns.push(await open(srv.port));
    for (const c of conns) if (!c.isEnded) c.socket.write(frame(x));
    const echoed = await Promise.all(conns.map((c) => c.received(5)));
    const served = echoed.filter(Boolean).length;
    const refused = conns.filter((c, i) => !echoed[i] && c.isEnded).length;
    expect(served + refused).toBe(limit + 100); // every connection either served or closed: none left hanging
    expect(served).toBeGreaterThan(limit - 64);
    expect(refused).toBeGreaterThanOrEqual(100);
    await srv.waitFor((evs) => evs.filter((e) => e.event === "rejected" && e.code === "E_MAX_CLIENTS").length >= refused);
    await closeAllAndServeAgain(srv, base);
    await srv.stop();
  }, 180_000);

  for (const tls of [false, true]) {
    for (const partial of [false, true]) {
      // As on the TS and addon servers: a TLS handshake not done fails with E_TLS_HANDSHAKE, a QWH/1 one with E_HANDSHAKE_TIMEOUT.
      const code = tls ? "E_TLS_HANDSHAKE" : "E_HANDSHAKE_TIMEOUT";
      it(`closes a ${tls ? "TLS" : "plain"} connection that ${partial ? "sent 3 bytes" : "sent nothing"} at the handshake timeout, ${code}`, async () => {
        const srv = await start({ config: { handshakeTimeoutMs: 300 }, tls: tls ? certs : undefined });
        const c = await open(srv.port);
        if (partial) c.socket.write(Buffer.from(tls ? [0x16, 0x03, 0x01] : [0x00, 0x00, 0x00]));
        await c.ended;
        await srv.waitFor((evs) => evs.some((e) => e.event === "closed"));
        expect(srv.events).toContainEqual({ event: "rejected", code });
        expect(srv.events.find((e) => e.event === "closed")).toMatchObject({ error: code });
        await srv.stop();
      }, 60_000);
    }
  }

  it("2,000 silent connections from 127.0.0.1 do not lock out a client from 127.0.0.2 (per-address pending limit)", async () => {
    const { QWormholeClient } = await import("../../impl-ts/dist/index.js");
    const srv = await start({ config: { handshakeTimeoutMs: 600_000 } });
    for (let i = 0; i < 2000; i++) await open(srv.port);
    await srv.waitFor((evs) => evs.filter((e) => e.code === "E_MAX_PENDING_HANDSHAKES").length >= 2000 - 64);
    const client = new QWormholeClient({ host: "127.0.0.1", port: srv.port, localAddress: "127.0.0.2", reconnect: false });
    try {
      await client.connect();
      const echoed = new Promise((r) => client.once("message", r));
      client.send(Buffer.from("probe"));
      expect(Buffer.from(await echoed).toString()).toBe("probe");
    } finally {
      client.destroy();
    }
    expect(srv.events.filter((e) => e.code === "E_MAX_PENDING_HANDSHAKES").length).toBe(2000 - 64);
    closeAll();
    await srv.stop();
  }, 180_000);

  it("200 connections that announce 4 MiB frames and stall hold little memory", async () => {
    const srv = await start({ config: { profile: "bare", maxFrameLength: 8 << 20 } });
    const pid = srv.proc.pid;
    const warm = await open(srv.port);
    warm.socket.write(frame(x));
    await warm.received(5);
    const before = statusKiB(pid, "VmData");
    const head = Buffer.alloc(5);
    head.writeUInt32BE(4 << 20, 0);
    for (let i = 0; i < 200; i++) (await open(srv.port)).socket.write(head);
    // every announced frame's first byte has been read by the server
    await until(() => {
      const q = serverRecvQueues(srv.port);
      return q.length >= 201 && q.every((n) => n === 0);
    });
    const grown = statusKiB(pid, "VmData") - before;
    expect(grown).toBeLessThan(50 * 1024);
    closeAll();
    await srv.stop();
  }, 120_000);
});
