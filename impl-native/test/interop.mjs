#!/usr/bin/env node
// Interop between the C implementation (qwh-native, backend posix) and the TypeScript reference:
// a TS client against `qwh-native serve`, `qwh-native connect` against a TS server, and the
// codec mode of the adapter contract. Plain Node ESM; needs impl-ts built (npm run build).
// usage: node test/interop.mjs [path/to/qwh-native]
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { spawnBounded, watchdog } from "./deadline.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const native = resolve(process.argv[2] ?? process.env.QWH_NATIVE ?? join(here, "../build/qwh-native"));
const tsDist = join(here, "../../impl-ts/dist/index.js");
watchdog(100_000, "interop");
if (!existsSync(native)) throw new Error(`${native} not found: run make first`);
if (!existsSync(tsDist)) throw new Error(`${tsDist} not found: run npm run build -w qwormhole first`);
const { QWormholeClient, QWormholeServer } = await import(tsDist);

let failures = 0;
const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failures++;
    results.push(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}

/** Starts `qwh-native serve`; resolves with {port, proc, lines}. */
function startNativeServer(config = {}) {
  const proc = spawnBounded(
    native,
    ["serve", "--port", "0", "--config", JSON.stringify(config)],
    { stdio: ["pipe", "pipe", "inherit"] },
    60_000,
  );
  const lines = [];
  return new Promise((res, rej) => {
    const rl = createInterface({ input: proc.stdout });
    rl.on("line", (l) => {
      const msg = JSON.parse(l);
      lines.push(msg);
      if (msg.ready) res({ port: msg.port, proc, lines });
    });
    proc.on("exit", (code) => rej(new Error(`qwh-native serve exited with ${code}`)));
  });
}

function stop(proc) {
  return new Promise((res) => {
    if (proc.exitCode !== null) return res(proc.exitCode);
    proc.once("exit", (code) => res(code));
    proc.stdin.end();
  });
}

function runNative(args, input) {
  return new Promise((res, rej) => {
    const proc = spawnBounded(native, args, { stdio: ["pipe", "pipe", "inherit"] }, 60_000);
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.on("error", rej);
    proc.on("exit", (code) => res({ code, out }));
    if (input !== undefined) proc.stdin.end(input);
    else proc.stdin.end();
  });
}

const message = (i, size) => {
  const b = Buffer.alloc(size);
  for (let j = 0; j < size; j++) b[j] = (i + j) & 0xff;
  return b;
};

async function tsClientAgainstNative(config, messages, clientOptions = {}) {
  const { port, proc, lines } = await startNativeServer(config);
  const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false, ...clientOptions });
  const received = [];
  let done;
  const all = new Promise((r) => (done = r));
  client.on("message", (m) => {
    received.push(Buffer.from(m));
    if (received.length === messages.length) done();
  });
  client.on("error", () => undefined);
  await client.connect();
  for (const m of messages) client.send(m);
  await Promise.race([
    all,
    new Promise((_, j) => setTimeout(() => j(new Error(`timeout: ${received.length}/${messages.length} echoed`)), 10000)),
  ]);
  await client.close();
  assert.equal(received.length, messages.length);
  for (let i = 0; i < messages.length; i++) assert.ok(received[i].equals(messages[i]), `message ${i} differs`);
  await stop(proc);
  return lines;
}

await check("TS client -> qwh-native serve: 1000 x 64 B echo, control negotiated, graceful close", async () => {
  const lines = await tsClientAgainstNative(
    { features: ["control"] },
    Array.from({ length: 1000 }, (_, i) => message(i, 64)),
  );
  const closed = lines.find((l) => l.event === "closed");
  assert.equal(closed?.messages, 1000);
  assert.equal(closed?.error, null);
});

await check("TS client -> qwh-native serve: empty, 1 MiB and 4 MiB messages, no control", async () => {
  await tsClientAgainstNative({ features: [] }, [Buffer.alloc(0), message(1, 1 << 20), message(2, 4 << 20)], { control: false });
});

await check("TS client -> qwh-native serve: application version mismatch is rejected", async () => {
  const { port, proc } = await startNativeServer({ protocolVersion: "2.0.0" });
  const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false, protocolVersion: "1.0.0" });
  client.on("error", () => undefined);
  await assert.rejects(client.connect(), (err) => err.code === "E_VERSION_MISMATCH");
  client.destroy?.();
  await stop(proc);
});

async function withTsServer(options, fn) {
  const server = new QWormholeServer({ host: "127.0.0.1", port: 0, ...options });
  server.on("message", ({ client, data }) => {
    try {
      client.send(data);
    } catch {
      // closing
    }
  });
  server.on("error", () => undefined);
  const address = await server.listen();
  try {
    return await fn(address.port);
  } finally {
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, 1000))]);
  }
}

await check("qwh-native connect -> TS server: echo of 2000 generated messages (64 B and 70 KiB)", async () => {
  await withTsServer({}, async (port) => {
    const config = {
      messages: [
        { size: 64, count: 1000 },
        { size: 70000, count: 1000 },
      ],
    };
    const { code, out } = await runNative(["connect", "--port", String(port), "--scenario", "echo", "--config", JSON.stringify(config)]);
    assert.equal(code, 0);
    const r = JSON.parse(out.trim().split("\n").pop());
    assert.equal(r.ok, true, out.slice(0, 500));
    assert.equal(r.received, 2000);
  });
});

await check("qwh-native connect -> TS server: server closes after 1 message (CLOSE E_NORMAL_CLOSE seen by the C client)", async () => {
  const server = new QWormholeServer({ host: "127.0.0.1", port: 0 });
  server.on("message", ({ client, data }) => {
    client.send(data);
    void client.end?.("E_NORMAL_CLOSE");
  });
  server.on("error", () => undefined);
  const { port } = await server.listen();
  try {
    const config = { messages: ["6869"] };
    const { code, out } = await runNative([
      "connect",
      "--port",
      String(port),
      "--scenario",
      "await-close",
      "--config",
      JSON.stringify(config),
    ]);
    assert.equal(code, 0);
    const r = JSON.parse(out.trim());
    assert.equal(r.ok, true, out);
    assert.equal(r.closedByPeer, true);
    assert.deepEqual(r.receivedHex, ["6869"]);
  } finally {
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, 1000))]);
  }
});

await check("qwh-native connect -> TS server requiring a version: expect-reject E_VERSION_MISMATCH", async () => {
  await withTsServer({ protocolVersion: "3.0.0" }, async (port) => {
    const config = { protocolVersion: "1.0.0", expectError: "E_VERSION_MISMATCH" };
    const { out } = await runNative(["connect", "--port", String(port), "--scenario", "expect-reject", "--config", JSON.stringify(config)]);
    const r = JSON.parse(out.trim());
    assert.equal(r.ok, true, out);
    assert.equal(r.error, "E_VERSION_MISMATCH");
  });
});

await check("qwh-native codec: JSON lines, unsupported op, exit 127 for an unknown mode", async () => {
  const lines = [
    { id: 1, op: "frame-decode", params: { phase: "open", maxFrameLength: 16, features: [] }, input: { hex: "000000026869", end: true } },
    { id: 2, op: "frame-decode", params: { phase: "open", maxFrameLength: 16, features: [] }, input: { hex: "00000011" }, chunks: [1, 3] },
    { id: 3, op: "no-such-op", params: {}, input: {} },
  ];
  const { code, out } = await runNative(["codec"], lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  assert.equal(code, 0);
  const answers = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(answers[0], { id: 1, ok: true, output: { error: null, events: [{ type: "message", hex: "6869" }] } });
  assert.deepEqual(answers[1].output, { error: "E_FRAME_TOO_LARGE", events: [] });
  assert.equal(answers[2].ok, false);
  assert.equal(answers[2].error.code, "unsupported");
  assert.equal((await runNative(["nonsense"])).code, 127);
  assert.equal((await runNative(["serve", "--port", "0", "--config", '{"scenario":"nope"}'])).code, 127);
});

for (const r of results) console.log(r);
console.log(`${results.length - failures} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
