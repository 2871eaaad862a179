/**
 * NODE_DEBUG=qwormhole (util.debuglog, read by Node at start-up, hence a
 * child process running the built package): connection lifecycle, handshake
 * decisions, reconnects and the native backend chosen, on each transport.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Runs the lifecycle program with NODE_DEBUG=qwormhole on `mode`; resolves with its stderr. */
function run(mode: "ts" | "lws" | "libsocket"): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const requireNative = mode === "ts" ? "undefined" : JSON.stringify(mode);
  const program = `
    import { createQWormholeClient, createQWormholeServer, createHandshakeVerifier, createHelloSigner } from ${JSON.stringify(dist)};
    import net from "node:net";
    const { server, mode } = createQWormholeServer({ host: "127.0.0.1", port: 0, requireNative: ${requireNative},
      verifyHandshake: createHandshakeVerifier({ requiredTags: { team: "blue" } }) });
    server.on("message", ({ client, data }) => client.send(data));
    const { port } = await server.listen();
    const { client } = createQWormholeClient({ host: "127.0.0.1", port, requireNative: ${requireNative}, reconnect: false, handshakeTags: { team: "blue" } });
    await client.connect();
    client.send("hi");
    for await (const m of client.messages()) break;
    await client.close();
    const { client: refused } = createQWormholeClient({ host: "127.0.0.1", port, requireNative: ${requireNative}, reconnect: false });
    await refused.connect().catch(() => undefined);
    await server.close();
    const dead = net.createServer();
    await new Promise((r) => dead.listen(0, "127.0.0.1", r));
    const deadPort = dead.address().port;
    await new Promise((r) => dead.close(r));
    const { client: retrying } = createQWormholeClient({ host: "127.0.0.1", port: deadPort, requireNative: ${requireNative}, reconnect: { initialDelayMs: 1, maxAttempts: 2 } });
    await retrying.connect().catch(() => undefined);
    console.log(mode);
  `;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("QWORMHOLE_")));
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ["--input-type=module", "-e", program],
      { env: { ...env, NODE_DEBUG: "qwormhole" }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe("NODE_DEBUG=qwormhole", () => {
  for (const mode of ["ts", "lws", "libsocket"] as const) {
    it(`logs lifecycle, handshake decisions, reconnects${mode === "ts" ? "" : " and the native backend"} (${mode})`, async () => {
      const { code, stdout, stderr } = await run(mode);
      expect(code, stderr).toBe(0);
      expect(stdout.trim()).toBe(mode === "ts" ? "ts" : `native-${mode}`);
      const lines = stderr.split("\n").filter((l) => /^QWORMHOLE \d+: /.test(l));
      const has = (re: RegExp) =>
        expect(
          lines.some((l) => re.test(l)),
          `${re} in\n${lines.join("\n")}`,
        ).toBe(true);
      has(/client 127\.0\.0\.1:\d+: connecting \(attempt 1\)/);
      has(/client 127\.0\.0\.1:\d+: connected, v1 handshake/);
      has(/client 127\.0\.0\.1:\d+: ready \(v1, features control\)/);
      has(/server: c1 open from 127\.0\.0\.1/);
      has(/client 127\.0\.0\.1:\d+: close$/);
      has(/server: refused 127\.0\.0\.1: E_POLICY_REJECTED verifyHandshake: requiredTags\.team: the tag is missing/);
      has(/client 127\.0\.0\.1:\d+: attempt 1 failed: E_SOCKET/);
      has(/client 127\.0\.0\.1:\d+: reconnecting in \d+ ms \(attempt 2\) after E_SOCKET/);
      has(/client 127\.0\.0\.1:\d+: closed \(E_ATTEMPTS_EXHAUSTED/);
      if (mode !== "ts") {
        has(new RegExp(`native ${mode}: loaded from`));
        has(new RegExp(`server: native-${mode}`));
      }
    });
  }
});
