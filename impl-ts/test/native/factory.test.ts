/**
 * The factory's native selection: seed order (lws, then libsocket, then ts),
 * preferredNativeBackend and the environment switches, TS-only options that
 * force a reported fallback, and real round trips (plain and TLS, both
 * directions of mixed pairs) through the factory on each native mode.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createQWormholeClient, createQWormholeServer, textDeserializer } from "../../src/index.js";
import { loadNative } from "../../src/native/load.js";
import { makePki } from "../integration/tls-certs.js";

const lws = loadNative("lws");
const posix = loadNative("libsocket");
const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith("QWORMHOLE_")) delete process.env[k];
  for (const [k, v] of Object.entries(saved)) if (k.startsWith("QWORMHOLE_")) process.env[k] = v;
});

describe("factory native selection", () => {
  it("has both addons built (CI builds them; a missing one fails, never skips)", () => {
    expect(lws.binding, `lws addon: ${"reason" in lws ? lws.reason : ""}`).toBeTruthy();
    expect(posix.binding, `posix addon: ${"reason" in posix ? posix.reason : ""}`).toBeTruthy();
  });

  it("picks native-lws, then native-libsocket (preferredNativeBackend and env), and reports ts without preferNative", () => {
    expect(createQWormholeServer({ preferNative: true }).mode).toBe("native-lws");
    expect(createQWormholeServer({ preferNative: true, preferredNativeBackend: "libsocket" }).mode).toBe("native-libsocket");
    process.env["QWORMHOLE_NATIVE_PREFERRED"] = "libsocket";
    expect(createQWormholeClient({ port: 1, preferNative: true }).mode).toBe("native-libsocket");
    process.env["QWORMHOLE_NATIVE_CLIENT_PREFERRED"] = "lws";
    expect(createQWormholeClient({ port: 1, preferNative: true }).mode).toBe("native-lws");
    expect(createQWormholeServer({ preferNative: true }).mode).toBe("native-libsocket");
    const plain = createQWormholeServer({});
    expect(plain).toMatchObject({ mode: "ts", nativeBackend: null });
    expect(createQWormholeServer({ preferNative: true, forceTs: true }).mode).toBe("ts");
  });

  it("falls back to ts with the reason when disabled or when an option is TS-only", () => {
    process.env["QWORMHOLE_DISABLE_NATIVE"] = "1";
    const off = createQWormholeServer({ preferNative: true });
    expect(off).toMatchObject({ mode: "ts", nativeAvailable: false });
    expect(off.reason).toMatch(/QWORMHOLE_DISABLE_NATIVE/);
    delete process.env["QWORMHOLE_DISABLE_NATIVE"];
    const extra = createQWormholeServer({ preferNative: true, tls: { extra: { ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" } } });
    expect(extra).toMatchObject({ mode: "ts", nativeAvailable: true, nativeBackend: null });
    expect(extra.reason).toMatch(/tls\.extra \(ciphers\) is only supported by the TS transport/);
    expect(() => createQWormholeServer({ preferNative: true, preferredNativeBackend: "zmq" as never })).toThrowError(
      /preferredNativeBackend/,
    );
  });

  it("requireNative: uses the demanded backend or throws E_NATIVE_UNAVAILABLE with the reason, never falls back", () => {
    expect(createQWormholeServer({ requireNative: true }).mode).toBe("native-lws");
    expect(createQWormholeServer({ requireNative: true, preferredNativeBackend: "libsocket" }).mode).toBe("native-libsocket");
    expect(createQWormholeClient({ port: 1, requireNative: "libsocket" }).mode).toBe("native-libsocket");
    expect(createQWormholeClient({ port: 1, requireNative: "lws", preferredNativeBackend: "libsocket" }).mode).toBe("native-lws");
    process.env["QWORMHOLE_DISABLE_NATIVE"] = "1";
    expect(() => createQWormholeServer({ requireNative: true })).toThrowError(
      expect.objectContaining({ code: "E_NATIVE_UNAVAILABLE", message: expect.stringMatching(/QWORMHOLE_DISABLE_NATIVE/) }),
    );
    delete process.env["QWORMHOLE_DISABLE_NATIVE"];
    const tlsExtra = { tls: { extra: { ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" } } };
    expect(() => createQWormholeClient({ port: 1, requireNative: "lws", ...tlsExtra })).toThrowError(
      expect.objectContaining({
        code: "E_NATIVE_UNAVAILABLE",
        message: expect.stringMatching(/lws backend was required.*tls\.extra \(ciphers\)/),
      }),
    );
    expect(() => createQWormholeServer({ requireNative: true, forceTs: true })).toThrowError(
      expect.objectContaining({ code: "E_INVALID_OPTION" }),
    );
    expect(() => createQWormholeServer({ requireNative: "zmq" as never })).toThrowError(/requireNative/);
  });

  it("NODE_DEBUG=qwormhole logs where each addon loaded from and the factory's choice (a fresh process: loading is cached)", async () => {
    const { execFile } = await import("node:child_process");
    const script = `import("${new URL("../../dist/index.js", import.meta.url).href}").then((q) => {
      q.createQWormholeServer({ requireNative: "libsocket" });
      q.createQWormholeClient({ port: 1, preferNative: true, preferredNativeBackend: "libsocket" });
    })`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["-e", script],
        { timeout: 20_000, env: { ...process.env, NODE_DEBUG: "qwormhole" } },
        (err, stdout, stderr) => (err ? reject(err) : resolve(stdout + stderr)),
      ),
    );
    expect(out).toMatch(/QWORMHOLE \d+: native libsocket: loaded from /);
    expect(out).toMatch(/QWORMHOLE \d+: server: native-libsocket/);
    expect(out).toMatch(/QWORMHOLE \d+: client: native-libsocket/);
  });

  const pki = makePki();
  const modes = [
    ["lws", "lws"],
    ["libsocket", "libsocket"],
    ["lws", "libsocket"],
    ["libsocket", "lws"],
    ["ts", "lws"],
    ["lws", "ts"],
  ] as const;
  for (const tls of [false, true]) {
    for (const [sb, cb] of modes) {
      it(`${tls ? "TLS" : "plain"}: server ${sb}, client ${cb}: echo, pins and channel binding`, async () => {
        const so = sb === "ts" ? {} : { preferNative: true, preferredNativeBackend: sb };
        const co = cb === "ts" ? {} : { preferNative: true, preferredNativeBackend: cb };
        const s = createQWormholeServer<string, string>({
          host: "127.0.0.1",
          port: 0,
          deserializer: textDeserializer,
          ...(tls
            ? {
                tls: {
                  key: pki.serverKey,
                  cert: pki.serverCert,
                  ca: pki.ca,
                  requestCert: true,
                  pinnedFingerprints256: [pki.clientFingerprint256],
                },
              }
            : {}),
          ...so,
        });
        expect(s.mode).toBe(sb === "ts" ? "ts" : `native-${sb}`);
        s.server.on("message", ({ client, data }) => client.send(`echo:${data}`));
        const { port } = await s.server.listen();
        const c = createQWormholeClient<string, string>({
          host: "127.0.0.1",
          port,
          reconnect: false,
          deserializer: textDeserializer,
          ...(tls
            ? {
                tls: {
                  ca: pki.ca,
                  key: pki.clientKey,
                  cert: pki.clientCert,
                  servername: "localhost",
                  pinnedFingerprints256: [pki.serverFingerprint256],
                },
              }
            : {}),
          ...co,
        });
        expect(c.mode).toBe(cb === "ts" ? "ts" : `native-${cb}`);
        await c.client.connect();
        const got: string[] = [];
        const done = new Promise<void>((resolve) => c.client.on("message", (m) => got.push(m) === 200 && resolve()));
        for (let i = 0; i < 200; i++) c.client.send(`m${i}`);
        await done;
        expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `echo:m${i}`));
        if (tls) {
          const a = c.client.exportKeyingMaterial(32, "EXPORTER-test", Buffer.from("ctx"));
          const conn = [...s.server.getConnections()][0]!;
          expect(conn.exportKeyingMaterial(32, "EXPORTER-test", Buffer.from("ctx")).equals(a)).toBe(true);
        }
        await c.client.close();
        await s.server.close();
      });
    }
  }
});
