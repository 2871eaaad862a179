// A short round trip through each native addon, plain and TLS, client and server in this
// process: run by `make sanitize-addon` against the ASan builds (QWORMHOLE_NATIVE_PATH=build-san)
// and usable against any build. Last line: "N passed, M failed". A case that fails closes what it
// opened, and the whole run has a deadline, so the script always ends.
import { readFileSync } from "node:fs";
import { makeTestPki } from "../../conformance/lib/tls-certs.mjs";
import { watchdog } from "./deadline.mjs";

watchdog(240_000, "addon round trip");

const { createQWormholeServer, createQWormholeClient } = await import(new URL("../../impl-ts/dist/index.js", import.meta.url).href);
const certs = makeTestPki();

let passed = 0;
let failed = 0;
for (const backend of ["libsocket", "lws"]) {
  for (const tls of [false, true]) {
    const label = `${backend} ${tls ? "TLS" : "plain"}`;
    let s;
    let c;
    try {
      s = createQWormholeServer({
        host: "127.0.0.1",
        port: 0,
        preferNative: true,
        preferredNativeBackend: backend,
        ...(tls ? { tls: { key: readFileSync(certs.key), cert: readFileSync(certs.cert) } } : {}),
      });
      if (s.mode !== `native-${backend}`) throw new Error(`server mode ${s.mode}: ${s.reason}`);
      s.server.on("message", ({ client, data }) => client.send(data));
      const { port } = await s.server.listen();
      // PINGs every 20 ms, answered behind up to 20,000 queued echoes: a slow (ASan, loaded) run
      // must not turn their latency into E_HEARTBEAT_TIMEOUT, so the missed limit is out of reach.
      c = createQWormholeClient({
        host: "127.0.0.1",
        port,
        reconnect: false,
        heartbeatIntervalMs: 20,
        heartbeatMissedLimit: 1_000_000,
        preferNative: true,
        preferredNativeBackend: backend,
        ...(tls ? { tls: { ca: readFileSync(certs.ca) } } : {}),
      });
      if (c.mode !== `native-${backend}`) throw new Error(`client mode ${c.mode}: ${c.reason}`);
      await c.client.connect();
      let got = 0;
      let bytes = 0;
      const N = 20000;
      const client = c.client;
      const done = new Promise((resolve, reject) => {
        client.on("message", (m) => {
          bytes += m.length;
          if (++got === N) resolve();
        });
        client.on("close", (e) => reject(new Error(`closed after ${got} of ${N} echoes: ${e?.error?.code ?? JSON.stringify(e)}`)));
      });
      done.catch(() => {}); // awaited below; a close during the sends surfaces through send() first
      for (let i = 0; i < N; i++) {
        const size = i % 1000 === 0 ? 70000 : i % 7;
        client.send(Buffer.alloc(size, i & 255));
        if (i % 500 === 0) await new Promise((r) => setImmediate(r));
      }
      await done;
      if (tls) client.exportKeyingMaterial(32, "EXPORTER-x");
      await new Promise((r) => setTimeout(r, 60)); // a few heartbeats
      console.log(`ok   ${label}: ${got} messages, ${bytes} bytes echoed`);
      passed++;
    } catch (err) {
      console.log(`FAIL ${label}: ${err.stack ?? err}`);
      failed++;
    } finally {
      await c?.client.close().catch(() => {});
      await s?.server.close().catch(() => {});
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
