import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  createHelloSigner,
  type QWormholeClient,
  type QWormholeServer,
  textDeserializer,
  type HandshakeSnapshot,
} from "../../src/index.js";
import { newClient } from "./target.js";
import { buildHello, encodeHandshakeJson, signHello } from "../../src/protocol/index.js";
import { collect, frame, once, rawPeer, startClient, startServer, until } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
function server<TIn = Buffer>(s: QWormholeServer<TIn, any>) {
  cleanup.push(() => s.close());
  return s;
}
function client<T extends QWormholeClient<any, any>>(c: T): T {
  cleanup.push(() => c.destroy());
  return c;
}

describe("handshake (QWH-ACCEPT-001, QWH-NEG-*)", () => {
  it("accepts a v1 hello and shows the snapshot to verifyHandshake and the connection", async () => {
    const seen: HandshakeSnapshot[] = [];
    const { server: s, port } = await startServer({
      protocolVersion: "1.2.0",
      handshakeTags: { role: "server" },
      verifyHandshake: (h) => {
        seen.push(h);
        return true;
      },
    });
    server(s);
    const conn = collect<any>(s, "connection", 1);
    const c = client(await startClient(port, { protocolVersion: "1.0.5", handshakeTags: { service: "t", n: 7 } }));
    const [connection] = await conn;
    expect(seen[0]).toMatchObject({
      profile: "v1",
      qwh: "1.0",
      version: "1.0.5",
      tags: { service: "t", n: 7 },
      features: ["control"],
      signed: false,
    });
    expect(connection.handshake).toBe(seen[0]);
    expect(c.connection?.accept).toMatchObject({ qwh: "1.0", version: "1.2.0", tags: { role: "server" } });
  });

  it("an async verifier decides before any message is delivered (QWH-STATE-004)", async () => {
    let release!: (ok: boolean) => void;
    const { server: s, port } = await startServer<string>({
      deserializer: textDeserializer,
      verifyHandshake: () => new Promise<boolean>((r) => (release = r)),
    });
    server(s);
    const received: string[] = [];
    s.on("message", ({ data }) => received.push(data));
    const c = client(await startClient(port, {}, false));
    const ready = c.connect();
    c.send("queued before ready");
    await until(() => release !== undefined, 5000, "verifier called");
    expect(received).toEqual([]);
    release(true);
    await ready;
    await until(() => received.length === 1, 5000, "message");
    expect(received).toEqual(["queued before ready"]);
  });

  it("an async verifier's refusal rejects with E_POLICY_REJECTED and the client does not retry (QWH-NEG-008)", async () => {
    const { server: s, port } = await startServer({ verifyHandshake: async () => false });
    server(s);
    const c = client(newClient({ host: "127.0.0.1", port, reconnect: { initialDelayMs: 1 } }));
    const reconnecting: unknown[] = [];
    c.on("reconnecting", (r) => reconnecting.push(r));
    await expect(c.connect()).rejects.toMatchObject({ code: "E_POLICY_REJECTED" });
    expect(reconnecting).toEqual([]);
  });

  it("a different application major version is refused with E_VERSION_MISMATCH, terminal (QWH-NEG-005, QWH-ERR-007)", async () => {
    const { server: s, port } = await startServer({ protocolVersion: "2.0.0" });
    server(s);
    const rejected = collect<any>(s, "handshakeRejected", 1);
    const c = client(newClient({ host: "127.0.0.1", port, protocolVersion: "1.9.0", reconnect: { initialDelayMs: 1 } }));
    await expect(c.connect()).rejects.toMatchObject({ code: "E_VERSION_MISMATCH" });
    expect((await rejected)[0].code).toBe("E_VERSION_MISMATCH");
    expect(s.getConnectionCount()).toBe(0);
  });

  it("a frame sent before the accept fails the connection with E_PROTOCOL_ERROR (QWH-STATE-003)", async () => {
    const { server: s, port } = await startServer({ verifyHandshake: () => new Promise((r) => setTimeout(() => r(true), 50)) });
    server(s);
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    const chunks: Buffer[] = [];
    socket.on("data", (c) => chunks.push(c));
    socket.write(frame(encodeHandshakeJson(buildHello({ features: ["control"] }))));
    await new Promise((r) => setTimeout(r, 5));
    socket.write(frame("too early"));
    await once(socket, "close");
    const answer = Buffer.concat(chunks);
    expect(JSON.parse(answer.subarray(4).toString())).toMatchObject({ type: "reject", code: "E_PROTOCOL_ERROR" });
  });

  it("a first frame that is not a hello is refused with E_INVALID_HANDSHAKE (QWH-BARE-003)", async () => {
    const { server: s, port } = await startServer();
    server(s);
    const p = await rawPeer(port, { hello: Buffer.from("just data") });
    expect(p.answer).toMatchObject({ outcome: "reject", reject: { code: "E_INVALID_HANDSHAKE" } });
    await p.ended;
  });

  it("a silent peer is refused with E_HANDSHAKE_TIMEOUT, and half a frame does not extend it (QWH-TIME-001, QWH-TIME-004)", async () => {
    const { server: s, port } = await startServer({ handshakeTimeoutMs: 50 });
    server(s);
    const silent = await rawPeer(port, { hello: null });
    const half = await rawPeer(port, { hello: null });
    half.send(Buffer.from("0000001000", "hex"));
    const rejected = collect<any>(s, "handshakeRejected", 2);
    await Promise.all([silent.ended, half.ended]);
    expect((await rejected).map((r) => r.code)).toEqual(["E_HANDSHAKE_TIMEOUT", "E_HANDSHAKE_TIMEOUT"]);
  });

  it("the client times out a server that never answers (QWH-TIME-002)", async () => {
    const accepted: net.Socket[] = [];
    const mute = net.createServer((s) => accepted.push(s));
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => mute.close(r)));
    cleanup.push(() => accepted.forEach((s) => s.destroy()));
    const c = client(
      newClient({ host: "127.0.0.1", port: (mute.address() as net.AddressInfo).port, handshakeTimeoutMs: 50, reconnect: false }),
    );
    await expect(c.connect()).rejects.toMatchObject({ code: "E_HANDSHAKE_TIMEOUT" });
  });
});

describe("legacy 0.3 and bare profiles (QWH-LEGACY-*, QWH-BARE-*)", () => {
  it("a 0.3 client (hello without features, data right behind it) is served without an accept", async () => {
    const { server: s, port } = await startServer<string>({ allowLegacy: true, protocolVersion: "1.0.0", deserializer: textDeserializer });
    server(s);
    const got = collect<any>(s, "message", 2);
    const socket = net.connect(port, "127.0.0.1");
    cleanup.push(() => socket.destroy());
    await once(socket, "connect");
    const received: Buffer[] = [];
    socket.on("data", (c) => received.push(c));
    socket.write(
      Buffer.concat([frame(JSON.stringify({ type: "handshake", version: "1.0.0", tags: { id: 1.5 } })), frame("one"), frame("two")]),
    );
    const msgs = await got;
    expect(msgs.map((m) => m.data)).toEqual(["one", "two"]);
    expect(msgs[0].client.handshake).toMatchObject({ profile: "legacy", version: "1.0.0", tags: { id: 1.5 } });
    msgs[0].client.send("reply");
    await until(() => Buffer.concat(received).length === 9);
    expect(Buffer.concat(received)).toEqual(frame("reply")); // no accept frame before it
  });

  it("a bad header while a 0.3 hello is still judged closes without any frame (QWH-LEGACY-006)", async () => {
    let judged!: () => void;
    const asked = new Promise<void>((r) => (judged = r));
    const { server: s, port } = await startServer({
      allowLegacy: true,
      verifyHandshake: () => {
        judged();
        return new Promise<boolean>(() => {}); // still judging when the bad header arrives
      },
    });
    server(s);
    const socket = net.connect(port, "127.0.0.1");
    cleanup.push(() => socket.destroy());
    await once(socket, "connect");
    const received: Buffer[] = [];
    socket.on("data", (c) => received.push(c));
    socket.write(frame(JSON.stringify({ type: "handshake", version: "1.0.0", tags: { service: "a" } })));
    await asked;
    socket.write(Buffer.from("80000009010001020304050607", "hex")); // a control bit: too large for a legacy connection
    await once(socket, "close");
    expect(Buffer.concat(received)).toEqual(Buffer.alloc(0));
  });

  it("a server without the legacy profile refuses a 0.3 hello with E_LEGACY_NOT_ALLOWED (QWH-LEGACY-002)", async () => {
    const { server: s, port } = await startServer();
    server(s);
    const p = await rawPeer(port, { hello: { type: "handshake", version: "1.0.0" } });
    expect(p.answer).toMatchObject({ outcome: "reject", reject: { code: "E_LEGACY_NOT_ALLOWED" } });
  });

  it("a 1.0 client in the legacy profile talks to a 0.3-style server that never answers (QWH-LEGACY-005)", async () => {
    const hellos: unknown[] = [];
    const frames: string[] = [];
    const old = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on("data", (c) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const p = buf.subarray(4, 4 + buf.readUInt32BE(0)).toString();
          buf = buf.subarray(4 + buf.readUInt32BE(0));
          if (hellos.length === 0) hellos.push(JSON.parse(p));
          else {
            frames.push(p);
            sock.write(frame(`0.3 echo ${p}`));
          }
        }
      });
    });
    await new Promise<void>((r) => old.listen(0, "127.0.0.1", r));
    cleanup.push(() => new Promise((r) => old.close(r)));
    const c = client(
      await startClient<string, string>((old.address() as net.AddressInfo).port, {
        handshakeProfile: "legacy",
        protocolVersion: "0.3.0",
        deserializer: textDeserializer,
      }),
    );
    const got = collect<string>(c, "message", 1);
    c.send("hi");
    expect(await got).toEqual(["0.3 echo hi"]);
    expect(hellos).toEqual([{ type: "handshake", version: "0.3.0" }]);
  });

  it("bare profile on both sides: frames from the first byte (QWH-BARE-001, QWH-BARE-002)", async () => {
    const { server: s, port } = await startServer<string>({ handshakeProfile: "bare", deserializer: textDeserializer });
    server(s);
    const got = collect<any>(s, "message", 1);
    const c = client(await startClient(port, { handshakeProfile: "bare" }));
    c.send(JSON.stringify({ type: "handshake", qwh: "1.0", features: [] }));
    expect((await got)[0].data).toContain('"handshake"');
  });
});

describe("signed hellos (QWH-SIG-*)", () => {
  const signer = createHelloSigner(Buffer.alloc(32, 7));

  it("a signed hello verifies and the key reaches the snapshot", async () => {
    const { server: s, port } = await startServer({ requireSignedHandshake: true });
    server(s);
    const conn = collect<any>(s, "connection", 1);
    client(await startClient(port, { handshakeSigner: signer }));
    expect((await conn)[0].handshake).toMatchObject({ signed: true, publicKey: signer.publicKey });
  });

  it("an unsigned hello is refused with E_SIGNATURE_REQUIRED when signatures are required (QWH-SIG-006)", async () => {
    const { server: s, port } = await startServer({ requireSignedHandshake: true });
    server(s);
    await expect(client(await startClient(port, {}, false)).connect()).rejects.toMatchObject({ code: "E_SIGNATURE_REQUIRED" });
  });

  it("a replayed signed hello is refused with E_HANDSHAKE_REPLAY (QWH-SIG-005)", async () => {
    const { server: s, port } = await startServer({ requireSignedHandshake: true });
    server(s);
    const hello = signHello(buildHello({ features: ["control"] }), signer);
    const bytes = encodeHandshakeJson(hello);
    const first = await rawPeer(port, { hello: bytes });
    expect(first.answer?.outcome).toBe("accept");
    const replay = await rawPeer(port, { hello: bytes });
    expect(replay.answer).toMatchObject({ outcome: "reject", reject: { code: "E_HANDSHAKE_REPLAY" } });
    first.socket.destroy();
  });

  it("a tampered signed hello is refused with E_INVALID_HANDSHAKE_SIGNATURE (QWH-SIG-003)", async () => {
    const { server: s, port } = await startServer();
    server(s);
    const hello = signHello(buildHello({ features: ["control"], tags: { role: "reader" } }), signer);
    (hello as any).tags.role = "admin";
    const p = await rawPeer(port, { hello: encodeHandshakeJson(hello) });
    expect(p.answer).toMatchObject({ outcome: "reject", reject: { code: "E_INVALID_HANDSHAKE_SIGNATURE" } });
  });
});

describe("admission limits (QWH-LIMIT-*)", () => {
  it("maxClients refuses the connection over the limit with E_MAX_CLIENTS, without retry, and keeps the others (QWH-LIMIT-001, QWH-LIMIT-004)", async () => {
    const { server: s, port } = await startServer({ maxClients: 1 });
    server(s);
    const first = client(await startClient(port));
    const second = client(newClient({ host: "127.0.0.1", port, reconnect: false }));
    await expect(second.connect()).rejects.toMatchObject({ code: "E_MAX_CLIENTS" });
    expect(first.connected).toBe(true);
    expect(s.getConnectionCount()).toBe(1);
  });

  it("allowConnection (async) refuses before any byte is read, with E_POLICY_REJECTED (QWH-LIMIT-003)", async () => {
    const seen: unknown[] = [];
    const { server: s, port } = await startServer({
      allowConnection: async (info) => {
        seen.push(info);
        return false;
      },
    });
    server(s);
    await expect(client(await startClient(port, {}, false)).connect()).rejects.toMatchObject({ code: "E_POLICY_REJECTED" });
    expect(seen[0]).toMatchObject({ remoteAddress: "127.0.0.1" });
  });

  it("maxPendingHandshakes refuses further handshakes with E_MAX_PENDING_HANDSHAKES (QWH-LIMIT-002)", async () => {
    const { server: s, port } = await startServer({ maxPendingHandshakes: 1 });
    server(s);
    const silent = await rawPeer(port, { hello: null }); // occupies the only handshake slot
    await until(() => (s as any).handshaking.size === 1, 5000, "pending handshake");
    const rejected = collect<any>(s, "handshakeRejected", 1);
    const p = await rawPeer(port, { hello: null });
    await p.ended;
    expect((await rejected)[0].code).toBe("E_MAX_PENDING_HANDSHAKES");
    silent.socket.destroy();
  });
});

describe("TLS tags and reserved names (QWH-TLS-006, QWH-TLS-007, QWH-TLS-008, QWH-HELLO-018)", () => {
  it("a tlsFingerprint256 tag on a connection without TLS is refused with E_TLS_PIN_MISMATCH", async () => {
    const { server: s, port } = await startServer();
    server(s);
    const p = await rawPeer(port, { hello: buildHello({ features: ["control"], tags: { tlsFingerprint256: "AB:CD" } }) as never });
    expect(p.answer).toMatchObject({ outcome: "reject", reject: { code: "E_TLS_PIN_MISMATCH" } });
  });

  it("unverified tls-prefixed tags never reach the application", async () => {
    const { server: s, port } = await startServer({ allowLegacy: true });
    server(s);
    const conns = collect<any>(s, "connection", 2);
    const v1 = await rawPeer(port, { hello: buildHello({ features: [], tags: { tlsSessionKey: "x", node: "a" } }) as never });
    expect(v1.answer?.outcome).toBe("accept");
    const legacy = net.connect(port, "127.0.0.1");
    cleanup.push(() => legacy.destroy());
    await once(legacy, "connect");
    legacy.write(frame(JSON.stringify({ type: "handshake", tags: { tlsFingerprint256: "AB", node: "b" } })));
    const [a, b] = await conns;
    expect([a.handshake.tags, b.handshake.tags]).toEqual([{ node: "a" }, { node: "b" }]);
    v1.socket.destroy();
  });

  it("a client refuses tls-prefixed tags and the reserved resume feature in its options", () => {
    expect(() => newClient({ port: 1, handshakeTags: { tlsAlpn: "h2" } })).toThrowError(
      expect.objectContaining({ code: "E_INVALID_OPTION" }),
    );
    expect(() => newClient({ port: 1, features: ["resume"] })).toThrowError(expect.objectContaining({ code: "E_INVALID_OPTION" }));
  });
});
