/**
 * What users of ws, nats.js and undici expect on first contact: no early
 * message lost to a late iterator, iterators that pause the socket and throw
 * the coded error, flush() that keeps the connection, errors that say what
 * happened (OS error name, attempts exhausted, a peer that speaks HTTP, TLS
 * or SSH, the verifier rule), per-connection events and iterators, options
 * checked by name, CBOR that other decoders read. Real sockets on 127.0.0.1;
 * also run on both native transports (test/native/suite.ts).
 */
import diagnostics from "node:diagnostics_channel";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  QWormholeClient,
  QWormholeRuntime,
  QWormholeServer,
  createCborDeserializer,
  createCborSerializer,
  createHandshakeVerifier,
  createHelloSigner,
  createQWormholeClient,
  createQWormholeServer,
  textDeserializer,
  type QWormholeError,
  type ServerConnection,
} from "../../src/index.js";
import { collect, frame, once, rawPeer, startClient, startServer, until } from "./helpers.js";
import { newClient, newServer, testTarget } from "./target.js";
import { makePki } from "./tls-certs.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function keep<T extends QWormholeServer<any, any> | QWormholeClient<any, any> | net.Server | net.Socket>(x: T): T {
  cleanup.push(() => {
    if (x instanceof QWormholeServer) return x.close();
    if (x instanceof QWormholeClient) return x.destroy();
    if (x instanceof net.Server) return new Promise((r) => x.close(() => r(undefined)));
    return x.destroy();
  });
  return x;
}

/** A plain TCP listener that answers every connection with `bytes` (as HTTP, TLS or SSH servers do). */
async function foreignServer(bytes: Buffer, when: "connect" | "data"): Promise<number> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    if (when === "connect") s.end(bytes);
    else s.once("data", () => s.end(bytes));
  });
  keep(srv);
  cleanup.push(() => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as net.AddressInfo).port;
}

/** A port on which nothing listens (bound, then released). */
async function deadPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The error `p` rejects with (fails the test when it resolves). */
function failure(p: Promise<unknown>): Promise<QWormholeError> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: QWormholeError) => e,
  );
}

const onNative = testTarget() !== "ts";

describe("messages(): nothing lost before the iterator, flow control, coded end", () => {
  it("the server's greeting, sent on 'connection', reaches an iterator made after connect() and after an await of the caller's own", async () => {
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    keep(server);
    server.on("connection", (conn) => {
      conn.send("welcome");
      conn.send("second");
    });
    const client = keep(await startClient<string, string>(port, { deserializer: textDeserializer }));
    // The greeting is in before anyone consumes it.
    await until(() => client.telemetry().messagesIn === 2, 10_000, "the greeting to arrive");
    await new Promise((r) => setImmediate(r));
    const got: string[] = [];
    for await (const m of client.messages()) {
      got.push(m);
      if (got.length === 2) break;
    }
    expect(got).toEqual(["welcome", "second"]);
  });

  it("a 'message' listener added late gets the held messages first, then the live ones, in order", async () => {
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    keep(server);
    server.on("connection", (conn) => {
      for (let i = 0; i < 50; i++) conn.send(`early-${i}`);
    });
    server.on("message", ({ client, data }) => client.send(`reply-${data}`));
    const client = keep(await startClient<string, string>(port, { deserializer: textDeserializer }));
    await until(() => client.telemetry().messagesIn === 50, 10_000, "the early messages");
    const got = collect<string>(client, "message", 51);
    client.send("x");
    const all = await got;
    expect(all.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `early-${i}`));
    expect(all[50]).toBe("reply-x");
  });

  it("an iterator that falls behind pauses the socket (the server sees backpressure), then resumes and gets everything in order", async () => {
    const { server, port } = await startServer<Buffer, Buffer>({ maxBackpressureBytes: 0 });
    keep(server);
    const count = 256;
    const size = 64 * 1024;
    const serverConn = collect<ServerConnection<Buffer>>(server, "connection", 1);
    const client = keep(await startClient<Buffer, Buffer>(port));
    const iterator = client.messages({ highWaterMark: 4 });
    const [conn] = await serverConn;
    const backpressure = once(server, "backpressure");
    for (let i = 0; i < count; i++) conn!.send(Buffer.alloc(size, i & 0xff));
    // 16 MiB cannot all sit in socket buffers: the paused client stops reading and the server's queue grows.
    await backpressure;
    let n = 0;
    for await (const m of iterator) {
      expect(m.length).toBe(size);
      expect(m[0]).toBe(n & 0xff);
      if (++n === count) break;
    }
    expect(n).toBe(count);
  });

  it("throws the connection's coded error after the messages that came before it; a clean close() ends it quietly", async () => {
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    keep(server);
    server.on("connection", (conn) => {
      conn.send("a");
      conn.send("b");
      void conn.end("E_GOING_AWAY", "restarting");
    });
    const client = keep(await startClient<string, string>(port, { deserializer: textDeserializer }));
    const got: string[] = [];
    let thrown: QWormholeError | undefined;
    try {
      for await (const m of client.messages()) got.push(m);
    } catch (err) {
      thrown = err as QWormholeError;
    }
    expect(got).toEqual(["a", "b"]);
    expect(thrown?.code).toBe("E_GOING_AWAY");

    const other = keep((await startServer()).server);
    const quiet = keep(await startClient<string, string>(other.address()!.port, { deserializer: textDeserializer }));
    const it = quiet.messages();
    await quiet.close();
    expect(await it.next()).toMatchObject({ done: true });
  });

  it("a server connection's iterator yields its messages and throws its coded error (a frame cut short)", async () => {
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    keep(server);
    const conns = server.connections();
    const peer = await rawPeer(port);
    cleanup.push(() => peer.socket.destroy());
    const { value: conn } = await conns.next();
    await conns.return!();
    peer.send(frame("one"));
    peer.send(frame("two"));
    // A header that announces 10 bytes, then the end of the stream.
    peer.send(Buffer.from([0, 0, 0, 10, 1, 2]));
    peer.socket.end();
    const got: string[] = [];
    let thrown: QWormholeError | undefined;
    try {
      for await (const m of (conn as ServerConnection<string, string>).messages()) got.push(m);
    } catch (err) {
      thrown = err as QWormholeError;
    }
    expect(got).toEqual(["one", "two"]);
    expect(thrown?.code).toBe("E_TRUNCATED_FRAME");
  });
});

describe("flush(): the queue handed to the socket, the connection kept", () => {
  it("resolves with everything written and the client still connected; rejects with E_CLOSED when the client closes first", async () => {
    const { server, port } = await startServer<string, string>({ deserializer: textDeserializer });
    keep(server);
    const got: string[] = [];
    server.on("message", ({ data }) => got.push(data));
    const client = keep(await startClient<string, string>(port));
    for (let i = 0; i < 5000; i++) client.send(`m${i}`);
    await client.flush();
    expect(client.connected).toBe(true);
    expect(client.telemetry().queueDepth).toBe(0);
    await until(() => got.length === 5000, 10_000, "all messages at the server");
    expect(got[4999]).toBe("m4999");

    const waiting = keep(newClient<string, string>({ host: "127.0.0.1", port: await deadPort(), reconnect: { initialDelayMs: 60_000 } }));
    waiting.send("never");
    void waiting.connect().catch(() => undefined);
    const flushed = waiting.flush();
    waiting.destroy();
    await expect(flushed).rejects.toMatchObject({ code: "E_CLOSED" });
  });
});

describe("E_QUEUE_FULL while connected", () => {
  it("send() keeps being called after it returned false: the waiting queue fills and send() throws E_QUEUE_FULL", async () => {
    const { server, port } = await startServer({ maxBackpressureBytes: 0 });
    keep(server);
    const client = keep(await startClient<Buffer, Buffer>(port, { highWaterMarkBytes: 1, maxQueuedMessages: 5 }));
    const big = Buffer.alloc(2 * 1024 * 1024);
    // 64 MiB in one turn of the event loop: the socket cannot take it all, the connection is backpressured.
    const results: boolean[] = [];
    let thrown: QWormholeError | undefined;
    try {
      for (let i = 0; i < 32; i++) results.push(client.send(big));
    } catch (err) {
      thrown = err as QWormholeError;
    }
    expect(thrown?.code).toBe("E_QUEUE_FULL");
    // The five that waited returned false before it, and the connection is still up.
    expect(results.slice(-5)).toEqual([false, false, false, false, false]);
    expect(client.connected).toBe(true);
  });
});

describe("connection errors say what happened", () => {
  it("a refused connection: code E_SOCKET, the OS error name in syscallCode", async () => {
    const c = keep(newClient({ host: "127.0.0.1", port: await deadPort(), reconnect: false }));
    const err = await failure(c.connect());
    expect(err).toMatchObject({ code: "E_SOCKET", syscallCode: "ECONNREFUSED" });
  });

  it("attempts exhausted is named E_ATTEMPTS_EXHAUSTED; each 'reconnecting' carries the error that caused it", async () => {
    const c = keep(
      newClient({ host: "127.0.0.1", port: await deadPort(), reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 } }),
    );
    const causes: (QWormholeError | undefined)[] = [];
    c.on("reconnecting", ({ error }) => causes.push(error));
    const err = await failure(c.connect());
    expect(err).toMatchObject({ code: "E_ATTEMPTS_EXHAUSTED", syscallCode: "ECONNREFUSED" });
    expect((err.cause as QWormholeError).code).toBe("E_SOCKET");
    expect(causes.map((e) => e?.syscallCode)).toEqual(["ECONNREFUSED", "ECONNREFUSED"]);
  });

  for (const [name, bytes, when] of [
    ["HTTP", Buffer.from("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), "data"],
    ["SSH", Buffer.from("SSH-2.0-OpenSSH_9.6\r\n"), "connect"],
    ["TLS", Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]), "data"],
  ] as const) {
    it(`a peer whose first bytes are ${name}: the error says so`, async () => {
      const port = await foreignServer(bytes, when);
      const c = keep(newClient({ host: "127.0.0.1", port, reconnect: false }));
      const err = await failure(c.connect());
      expect(err.code).toBe("E_HANDSHAKE_TOO_LARGE");
      // The TS transport reads the length (the first 4 bytes); the native ones report the overflow only.
      expect(err.message).toMatch(onNative ? /not a QWH\/1 frame.*HTTP, TLS or SSH/ : new RegExp(`speaks ${name}`));
    });
  }

  it("an HTTP request to the server: handshakeRejected says so, with the peer's address", async () => {
    const { server, port } = await startServer();
    keep(server);
    const rejected = once(server, "handshakeRejected");
    const s = keep(net.connect(port, "127.0.0.1"));
    s.on("error", () => undefined);
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [ev] = (await rejected) as [{ remoteAddress: string; code: string; reason: string }];
    expect(ev.code).toBe("E_HANDSHAKE_TOO_LARGE");
    expect(ev.reason).toMatch(/HTTP/);
    expect(ev.remoteAddress).toBe("127.0.0.1");
  });

  it("a client whose pin does not match: the server's handshakeRejected still has the peer's address", async () => {
    const pki = makePki();
    const { server, port } = await startServer({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    keep(server);
    const rejected = once(server, "handshakeRejected");
    const c = keep(
      newClient({
        host: "127.0.0.1",
        port,
        reconnect: false,
        tls: { ca: pki.ca, servername: "localhost", pinnedFingerprints256: ["00".repeat(32)] },
      }),
    );
    expect((await failure(c.connect())).code).toBe("E_TLS_PIN_MISMATCH");
    const [ev] = (await rejected) as [{ remoteAddress: string | undefined }];
    expect(ev.remoteAddress).toBe("127.0.0.1");
  });

  it("TLS on one side only: both ends say so", async () => {
    const pki = makePki();
    const secure = await startServer({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    keep(secure.server);
    const refusedPlain = once(secure.server, "handshakeRejected");
    const plain = keep(newClient({ host: "127.0.0.1", port: secure.port, reconnect: false }));
    const e1 = await failure(plain.connect());
    const [ev] = (await refusedPlain) as [{ code: string; reason: string; remoteAddress: string }];
    expect(ev).toMatchObject({ code: "E_TLS_HANDSHAKE", remoteAddress: "127.0.0.1" });
    const open = await startServer();
    keep(open.server);
    const tlsClient = keep(
      newClient({ host: "127.0.0.1", port: open.port, reconnect: false, tls: { ca: pki.ca, servername: "localhost" } }),
    );
    const e2 = await failure(tlsClient.connect());
    expect(e1).toMatchObject({ code: "E_CLOSED", message: expect.stringMatching(/is `tls` needed\?/) });
    expect(ev.reason).toMatch(/did not start TLS/);
    expect(e2).toMatchObject({ code: "E_TLS_HANDSHAKE", message: expect.stringMatching(/did not answer with TLS/) });
  });

  it("a verifier refusal names the rule that failed", async () => {
    const trusted = createHelloSigner(Buffer.alloc(32, 1));
    const stranger = createHelloSigner(Buffer.alloc(32, 2));
    const { server, port } = await startServer({ verifyHandshake: createHandshakeVerifier({ trustedKeys: [trusted.publicKey] }) });
    keep(server);
    const rejected = once(server, "handshakeRejected");
    const c = keep(newClient({ host: "127.0.0.1", port, reconnect: false, handshakeSigner: stranger }));
    const err = await failure(c.connect());
    expect(err.code).toBe("E_POLICY_REJECTED");
    expect(err.message).toMatch(/trustedKeys/);
    const [ev] = (await rejected) as [{ remoteAddress: string; reason: string }];
    expect(ev.reason).toMatch(/trustedKeys/);
    expect(ev.remoteAddress).toBe("127.0.0.1");
  });
});

describe("ServerConnection events and server.connections()", () => {
  it("per-connection message, close and error events; connections() yields open then new connections and ends on close", async () => {
    const server = newServer<string, string>({ host: "127.0.0.1", port: 0, deserializer: textDeserializer });
    const { port } = await server.listen();
    const first = keep(await startClient<string, string>(port, { deserializer: textDeserializer }));
    await until(() => server.getConnectionCount() === 1, 10_000, "the first connection");
    const seen: string[] = [];
    const closes: { id: string; code: string | undefined }[] = [];
    const loop = (async () => {
      for await (const conn of server.connections()) {
        seen.push(conn.id);
        conn.on("message", (data) => conn.send(`${conn.id}:${data}`));
        conn.on("close", ({ error }) => closes.push({ id: conn.id, code: error?.code }));
        conn.on("error", () => undefined);
      }
    })();
    const second = keep(await startClient<string, string>(port, { deserializer: textDeserializer }));
    await until(() => seen.length === 2, 10_000, "both connections");
    const r1 = once(first, "message");
    const r2 = once(second, "message");
    first.send("hi");
    second.send("ho");
    expect((await r1)[0]).toBe(`${seen[0]}:hi`);
    expect((await r2)[0]).toBe(`${seen[1]}:ho`);
    await first.close();
    await until(() => closes.length === 1, 10_000, "the first close");
    expect(closes[0]).toEqual({ id: seen[0], code: undefined });
    await server.close();
    await loop;
    expect(closes.map((c) => c.id).sort()).toEqual([...seen].sort());
  });
});

describe("the close diagnostics channel", () => {
  it("qwormhole:client:close is published on the application's own close() and destroy()", async () => {
    const { server, port } = await startServer();
    keep(server);
    const published: unknown[] = [];
    const onClose = (m: unknown) => published.push(m);
    diagnostics.subscribe("qwormhole:client:close", onClose);
    cleanup.push(() => diagnostics.unsubscribe("qwormhole:client:close", onClose));
    const a = await startClient(port);
    await a.close();
    const b = await startClient(port);
    b.destroy();
    expect(published).toEqual([
      { error: undefined, willReconnect: false },
      { error: undefined, willReconnect: false },
    ]);
  });
});

describe("options are checked by name, synchronously", () => {
  it("unknown names and malformed values throw E_INVALID_OPTION naming the option, in constructors, factories and the runtime", () => {
    const bad = (f: () => unknown, pattern: RegExp) => {
      let thrown: QWormholeError | undefined;
      try {
        f();
      } catch (err) {
        thrown = err as QWormholeError;
      }
      expect(thrown?.code).toBe("E_INVALID_OPTION");
      expect(thrown?.message).toMatch(pattern);
    };
    bad(() => newClient({ port: 1, reconect: false } as never), /unknown option reconect \(did you mean reconnect\?\)/);
    bad(() => newClient({ port: 1, reconnect: { maxAttempt: 3 } } as never), /reconnect\.maxAttempt/);
    bad(() => newClient({ port: 1, tls: { pinnedFingerprints256: ["xyz"] } }), /tls\.pinnedFingerprints256\[0\]/);
    bad(() => newClient({ port: 1, tls: { pinnedFingerprints256: ["AB".repeat(31)] } }), /pinnedFingerprints256/);
    bad(() => newClient({ port: 1, tls: { rejectUnauthorised: false } } as never), /tls\.rejectUnauthorised/);
    bad(() => newClient({ port: 1, keepAlive: "yes" } as never), /keepAlive/);
    bad(() => newServer({ maxClient: 3 } as never), /unknown option maxClient \(did you mean maxClients\?\)/);
    bad(() => newServer({ allowLegacy: 1 } as never), /allowLegacy/);
    bad(() => createQWormholeClient({ port: 1, prefereNative: true } as never), /prefereNative/);
    bad(() => createQWormholeServer({ requireNative: "yes" } as never), /requireNative/);
    bad(() => createQWormholeServer({ preferNative: "yes" } as never), /preferNative/);
    bad(() => new QWormholeRuntime({ protocolVersio: "1" } as never), /protocolVersio/);
    bad(() => newClient({ port: 1 }).messages({ highWaterMark: 0 }), /highWaterMark/);
    bad(
      () => newClient({ port: 1 }).messages({ highWatermark: 4 } as never),
      /unknown option highWatermark \(did you mean highWaterMark\?\)/,
    );
    // A pin with separators, as openssl prints it, is fine; a runtime's server-only default does not reach clients.
    expect(() => newClient({ port: 1, tls: { pinnedFingerprints256: [Array(32).fill("ab").join(":")] } }).destroy()).not.toThrow();
    const runtime = new QWormholeRuntime({ maxClients: 3, reconnect: false });
    expect(() => runtime.createClient({ port: 1 }).destroy()).not.toThrow();
  });
});

describe("CBOR that other decoders read", () => {
  it("a peer that speaks plain CBOR (hand-written RFC 8949 bytes) exchanges plain objects and numbers with the default codecs", async () => {
    const { server, port } = await startServer<unknown, unknown>({
      serializer: createCborSerializer(),
      deserializer: createCborDeserializer(),
    });
    keep(server);
    const got: unknown[] = [];
    server.on("message", ({ client, data }) => {
      got.push(data);
      client.send({ a: 1, b: [2, 3] });
    });
    const peer = await rawPeer(port);
    cleanup.push(() => peer.socket.destroy());
    // {"a": 1, "b": [2, 3]} (RFC 8949 Appendix A), then 4294967296 as a 64-bit unsigned integer.
    peer.send(frame(Buffer.from("a26161016162820203", "hex")));
    peer.send(frame(Buffer.from("1b0000000100000000", "hex")));
    await until(() => got.length === 2 && peer.messages.length === 2, 10_000, "both exchanges");
    expect(got).toEqual([{ a: 1, b: [2, 3] }, 4294967296]);
    expect(Object.getPrototypeOf(got[0])).toBe(Object.prototype);
    expect(peer.messages[0]!.toString("hex")).toBe("a26161016162820203");
  });
});
