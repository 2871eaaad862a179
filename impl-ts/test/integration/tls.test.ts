import net from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHelloSigner, textDeserializer, type ServerConnection } from "../../src/index.js";
import { newClient } from "./target.js";
import { collect, startServer, until } from "./helpers.js";
import { makePki, type TestPki } from "./tls-certs.js";

let pki: TestPki;
beforeAll(() => {
  pki = makePki();
});

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function tlsServer(extra: Record<string, unknown> = {}, tls: Record<string, unknown> = {}) {
  const r = await startServer<string>({
    deserializer: textDeserializer,
    tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, ...tls },
    ...extra,
  });
  cleanup.push(() => r.server.close());
  r.server.on("message", ({ client, data }) => client.send(`echo:${data}`));
  return r;
}

function tlsClient(port: number, tls: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const c = newClient<string, string>({
    host: "127.0.0.1",
    port,
    reconnect: false,
    deserializer: textDeserializer,
    tls: { ca: pki.ca, servername: "localhost", ...tls },
    ...extra,
  });
  cleanup.push(() => c.destroy());
  return c;
}

describe("TLS (QWH-TLS-*)", () => {
  it("round trip over TLS 1.3 with TLS facts on both sides", async () => {
    const { server, port } = await tlsServer();
    const conn = collect<ServerConnection>(server, "connection", 1);
    const client = tlsClient(port);
    await client.connect();
    const [c] = await conn;
    expect(client.connection?.tls).toMatchObject({ protocol: "TLSv1.3", authorized: true, peerFingerprint256: pki.serverFingerprint256 });
    expect(c!.handshake.tls).toMatchObject({ protocol: "TLSv1.3" });
    const got = collect<string>(client, "message", 1);
    client.send("over tls");
    expect(await got).toEqual(["echo:over tls"]);
    // Both ends derive the same exported keying material.
    expect(client.exportKeyingMaterial(32, "EXPORTER-test").equals(c!.exportKeyingMaterial(32, "EXPORTER-test"))).toBe(true);
  });

  it("a matching server pin connects; a wrong pin fails with E_TLS_PIN_MISMATCH before any application byte, without retry (QWH-TLS-004)", async () => {
    const { server, port } = await tlsServer();
    const ok = tlsClient(port, { pinnedFingerprints256: [pki.serverFingerprint256.toLowerCase().replace(/:/g, "")] });
    await ok.connect();
    let helloSeen = 0;
    server.on("handshakeRejected", () => helloSeen++);
    const connections = server.getConnectionCount();
    const bad = tlsClient(port, { pinnedFingerprints256: ["00".repeat(32)] }, { reconnect: { initialDelayMs: 1 } });
    await expect(bad.connect()).rejects.toMatchObject({ code: "E_TLS_PIN_MISMATCH" });
    expect(server.getConnectionCount()).toBe(connections);
  });

  it("mutual TLS: the server pins the client certificate; a wrong pin is rejected with E_TLS_PIN_MISMATCH (QWH-TLS-005, QWH-TLS-006)", async () => {
    const good = await tlsServer({}, { requestCert: true, pinnedFingerprints256: [pki.clientFingerprint256] });
    const conn = collect<ServerConnection>(good.server, "connection", 1);
    const c1 = tlsClient(good.port, { key: pki.clientKey, cert: pki.clientCert });
    await c1.connect();
    const [sc] = await conn;
    // The server learns the client certificate from the session, not from a tag (QWH-TLS-006).
    expect(sc!.handshake.tags["tlsFingerprint256"]).toBeUndefined();
    expect(sc!.handshake.tls?.peerFingerprint256).toBe(pki.clientFingerprint256);

    const strict = await tlsServer({}, { requestCert: true, pinnedFingerprints256: ["AB".repeat(32)] });
    const c2 = tlsClient(strict.port, { key: pki.clientKey, cert: pki.clientCert });
    await expect(c2.connect()).rejects.toMatchObject({ code: "E_TLS_PIN_MISMATCH" });
  });

  it("an untrusted server certificate fails with E_TLS_HANDSHAKE", async () => {
    const { port } = await tlsServer();
    const c = tlsClient(port, { ca: pki.otherCa });
    await expect(c.connect()).rejects.toMatchObject({ code: "E_TLS_HANDSHAKE" });
  });

  it("a signed hello bound to the TLS session (tls-exporter) verifies (QWH-SIG-002)", async () => {
    const { server, port } = await tlsServer({ requireSignedHandshake: true });
    const conn = collect<ServerConnection>(server, "connection", 1);
    const signer = createHelloSigner(Buffer.alloc(32, 3));
    const c = tlsClient(port, {}, { handshakeSigner: signer });
    await c.connect();
    expect((await conn)[0]!.handshake).toMatchObject({ signed: true, publicKey: signer.publicKey });
  });

  it("garbage instead of a TLS ClientHello is refused without disturbing an open connection", async () => {
    const { server, port } = await tlsServer();
    const good = tlsClient(port);
    await good.connect();
    const rejected = collect<any>(server, "handshakeRejected", 1);
    const raw = net.connect(port, "127.0.0.1");
    raw.on("error", () => undefined);
    cleanup.push(() => raw.destroy());
    raw.write(Buffer.from("this is not TLS at all\r\n\r\n".repeat(20)));
    expect((await rejected)[0].code).toBe("E_TLS_HANDSHAKE");
    const got = collect<string>(good, "message", 1);
    good.send("unharmed");
    expect(await got).toEqual(["echo:unharmed"]);
    await until(() => raw.destroyed || raw.readableEnded, 5000, "garbage connection closed");
  });

  it("a TLS handshake not done by the handshake timeout is refused with E_TLS_HANDSHAKE and closed: silent, or 3 bytes of a record (QWH-TIME-005)", async () => {
    const { server, port } = await tlsServer({ handshakeTimeoutMs: 200 });
    const rejected = collect<any>(server, "handshakeRejected", 2);
    const closed: Promise<void>[] = [];
    for (const first of [null, Buffer.from([0x16, 0x03, 0x01])]) {
      const raw = net.connect(port, "127.0.0.1");
      raw.on("error", () => undefined);
      raw.on("data", () => undefined);
      cleanup.push(() => raw.destroy());
      closed.push(new Promise((resolve) => raw.once("close", () => resolve())));
      if (first) raw.write(first);
    }
    expect((await rejected).map((r) => r.code)).toEqual(["E_TLS_HANDSHAKE", "E_TLS_HANDSHAKE"]);
    await Promise.all(closed);
  });
});
