/**
 * Admission under a slowloris attack: connections from one address that never
 * finish their hello may take at most `maxPendingHandshakesPerAddress` slots,
 * so a client from another address is still accepted and served. Ported to the
 * native transports (see test/native/suite.ts).
 */
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { textDeserializer, type QWormholeServer } from "../../src/index.js";
import { collect, startClient, startServer, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** `count` TCP connections from `localAddress` that never complete a hello: half send nothing, half 3 bytes of a header. */
async function slowConnections(port: number, count: number, localAddress: string): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  cleanup.push(() => sockets.forEach((s) => s.destroy()));
  // In waves, so the listen backlog never overflows (a dropped SYN is retried only after a second).
  for (let start = 0; start < count; start += 200) {
    const wave: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + 200); i++) {
      const s = net.connect({ port, host: "127.0.0.1", localAddress });
      s.on("error", () => undefined);
      sockets.push(s);
      wave.push(
        new Promise((resolve) =>
          s.once("connect", () => {
            if (i % 2 === 1) s.write(Buffer.from([0, 0, 0]));
            resolve();
          }),
        ),
      );
    }
    await Promise.all(wave);
  }
  return sockets;
}

/** Counts the server's refusals with `code`. */
function refusals(server: QWormholeServer<any, any>, code: string): { count: number } {
  const seen = { count: 0 };
  server.on("handshakeRejected", (e) => {
    if (e.code === code) seen.count++;
  });
  return seen;
}

/** A client bound to `localAddress` connects and gets its message echoed. */
async function echoFrom(port: number, localAddress: string): Promise<string[]> {
  const client = await startClient<string, string>(port, { localAddress, deserializer: textDeserializer });
  cleanup.push(() => client.destroy());
  const echoed = collect<string>(client, "message", 1);
  client.send(`hello from ${localAddress}`);
  return echoed;
}

describe("per-address pending-handshake limit (slowloris)", () => {
  it("2,000 silent connections from 127.0.0.1 hold at most 64 slots; a client from 127.0.0.2 is accepted and echoed", async () => {
    // A long handshake timeout: no slot is freed by a timer while the test runs.
    const { server, port } = await startServer<string, string>({ handshakeTimeoutMs: 600_000, deserializer: textDeserializer });
    cleanup.push(() => server.close());
    server.on("message", ({ client, data }) => client.send(data));
    expect(server.options.maxPendingHandshakesPerAddress).toBe(64);
    const refused = refusals(server, "E_MAX_PENDING_HANDSHAKES");
    await slowConnections(port, 2000, "127.0.0.1");
    await until(() => refused.count === 2000 - 64, 60_000, "the server to judge every slow connection");
    expect(await echoFrom(port, "127.0.0.2")).toEqual(["hello from 127.0.0.2"]);
    // The attacker's own address is what the limit shuts out.
    const err = await startClient(port, { localAddress: "127.0.0.1" }).catch((e) => e);
    expect(err.code).toBe("E_MAX_PENDING_HANDSHAKES");
  }, 120_000);

  it("without the per-address limit the same attack locks every address out (the limit is what protects)", async () => {
    const { server, port } = await startServer<string, string>({
      handshakeTimeoutMs: 600_000,
      maxPendingHandshakes: 100,
      maxPendingHandshakesPerAddress: Infinity,
    });
    cleanup.push(() => server.close());
    const refused = refusals(server, "E_MAX_PENDING_HANDSHAKES");
    await slowConnections(port, 150, "127.0.0.1");
    await until(() => refused.count === 50, 20_000, "the server to judge every slow connection");
    const err = await startClient(port, { localAddress: "127.0.0.2" }).catch((e) => e);
    expect(err.code).toBe("E_MAX_PENDING_HANDSHAKES");
  }, 60_000);

  it("a connection that finishes its handshake frees its address's slot", async () => {
    const { server, port } = await startServer<string, string>({ maxPendingHandshakesPerAddress: 1, deserializer: textDeserializer });
    cleanup.push(() => server.close());
    server.on("message", ({ client, data }) => client.send(data));
    for (let i = 0; i < 3; i++) expect(await echoFrom(port, "127.0.0.3")).toEqual(["hello from 127.0.0.3"]);
    expect(server.getConnectionCount()).toBe(3);
  });

  it("close() does not wait out the grace period of a refused connection whose peer stays", async () => {
    const { server, port } = await startServer({ maxPendingHandshakes: 0 });
    // From here the grace period's timer is a fake that never fires: only close() can end the refused link.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    cleanup.push(() => vi.useRealTimers());
    const refused = collect(server, "handshakeRejected", 1);
    const peer = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    peer.on("error", () => undefined);
    peer.resume(); // reads the reject and our FIN, but never ends its side
    cleanup.push(() => peer.destroy());
    await refused;
    await server.close();
    expect(server.getConnectionCount()).toBe(0);
  });

  it("rejects a negative limit naming the option", async () => {
    const err = await startServer({ maxPendingHandshakesPerAddress: -1 }).catch((e) => e);
    expect(err.code).toBe("E_INVALID_OPTION");
    expect(err.message).toContain("maxPendingHandshakesPerAddress");
  });
});
