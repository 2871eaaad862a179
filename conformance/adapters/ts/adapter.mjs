#!/usr/bin/env node
// The conformance adapter of the TypeScript reference (`qwormhole`), in the three modes of the
// adapter contract (spec/qwh-1.md, Appendix D): codec (JSON lines over stdin/stdout), serve and
// connect. Needs `npm run build` (it loads impl-ts/dist through the `qwormhole` package).
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const UNSUPPORTED = 127;
const [mode, ...rest] = process.argv.slice(2);


// ---------------------------------------------------------------------------------------------
// codec mode

async function runCodec() {
  const { codecOperations } = await import("qwormhole/testing");
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const out = [];
  let scheduled = false;
  const write = (obj) => {
    out.push(JSON.stringify(obj));
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        process.stdout.write(out.join("\n") + "\n");
        out.length = 0;
      });
    }
  };
  for await (const line of lines) {
    if (line.trim() === "") continue;
    let req;
    try {
      req = JSON.parse(line);
    } catch (err) {
      write({ id: 0, ok: false, error: { code: "bad-request", message: `not JSON: ${err.message}` } });
      continue;
    }
    const op = codecOperations[req.op];
    if (!op || !Object.hasOwn(codecOperations, req.op)) {
      write({ id: req.id, ok: false, error: { code: "unsupported", message: `op ${req.op} is not supported` } });
      continue;
    }
    try {
      const input = req.chunks ? { ...req.input, chunks: req.chunks } : req.input;
      write({ id: req.id, ok: true, output: op(req.params ?? {}, input ?? {}) });
    } catch (err) {
      write({ id: req.id, ok: false, error: { code: "internal", message: String(err?.stack ?? err) } });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// shared: arguments, TLS files, generated messages

function parseCommon(args, extra = {}) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-ca": { type: "string" },
      config: { type: "string", default: "{}" },
      ...extra,
    },
    strict: true,
  });
  const config = JSON.parse(values.config);
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new Error("--config must be a JSON object");
  const port = Number(values.port ?? "0");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be 0..65535");
  let tls;
  if (values["tls-cert"] || values["tls-key"] || values["tls-ca"]) {
    tls = {
      cert: values["tls-cert"] ? readFileSync(values["tls-cert"]) : undefined,
      key: values["tls-key"] ? readFileSync(values["tls-key"]) : undefined,
      ca: values["tls-ca"] ? readFileSync(values["tls-ca"]) : undefined,
    };
  }
  return { values, config, port, host: values.host, tls };
}

/** The messages of a `messages` list: hex strings, or {size, count} generated (byte j of message i is (i + j) mod 256). */
function expandMessages(list = []) {
  const out = [];
  for (const item of list) {
    if (typeof item === "string") {
      out.push(Buffer.from(item, "hex"));
      continue;
    }
    const count = item.count ?? 1;
    for (let k = 0; k < count; k++) out.push(generated(out.length, item.size));
  }
  return out;
}

function generated(i, size) {
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (i + j) & 0xff;
  return b;
}

/** sha256 over length-prefixed messages (or, raw, over the byte stream). */
function digestOf(messages, raw) {
  const h = createHash("sha256");
  for (const m of messages) {
    if (!raw) {
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32BE(m.length);
      h.update(len);
    }
    h.update(m);
  }
  return h.digest("hex");
}

/** Options both roles share, from a --config object. */
function commonOptions(config) {
  const o = {};
  if (config.profile === "bare") o.handshakeProfile = "bare";
  if (config.profile === "legacy") o.handshakeProfile = "legacy";
  for (const k of ["framing", "maxFrameLength", "protocolVersion", "handshakeTimeoutMs", "heartbeatIntervalMs", "heartbeatMissedLimit", "idleTimeoutMs", "drainTimeoutMs", "highWaterMarkBytes"]) {
    if (config[k] !== undefined) o[k] = config[k];
  }
  // `features` is the exact set (the qwormhole options split it into `control` and the rest).
  if (Array.isArray(config.features)) {
    o.control = config.features.includes("control");
    o.features = config.features.filter((f) => f !== "control" && f !== "raw");
  }
  if (config.tags !== undefined) o.handshakeTags = config.tags;
  return o;
}

/**
 * serve: with --tls-ca the server asks for a client certificate and verifies it against that CA
 * (unless config.requestClientCert is false); with config.pins it asks for one and checks it
 * against the pins only (a missing or unpinned certificate is refused with E_TLS_PIN_MISMATCH).
 * connect: verifies the server against --tls-ca (and config.pins: the server certificate's
 * SHA-256 digests) and presents --tls-cert/--tls-key unless config.clientCert is false.
 * config.alpn: the ALPN protocols offered (client) or accepted (server).
 */
function tlsOptions(tls, server, config) {
  if (!tls) return undefined;
  const extra = {};
  if (Array.isArray(config.pins)) extra.pinnedFingerprints256 = config.pins;
  if (Array.isArray(config.alpn)) extra.alpnProtocols = config.alpn;
  if (server) {
    if (Array.isArray(config.pins)) return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false, ...extra };
    const ask = tls.ca !== undefined && config.requestClientCert !== false;
    return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: ask, rejectUnauthorized: ask, ...extra };
  }
  const own = config.clientCert === false ? {} : { cert: tls.cert, key: tls.key };
  return { ...own, ca: tls.ca, rejectUnauthorized: tls.ca !== undefined, servername: "localhost", ...extra };
}

function line(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// ---------------------------------------------------------------------------------------------
// serve mode

const SERVER_SCENARIOS = new Set(["echo", "sink", "broadcast", "push-on-connect", "close-after", "hello-info"]);

async function runServe(args) {
  const { config, port, host, tls } = parseCommon(args);
  const scenario = config.scenario ?? "echo";
  if (!SERVER_SCENARIOS.has(scenario)) {
    process.stderr.write(`ts adapter: unsupported server scenario ${scenario}\n`);
    process.exit(UNSUPPORTED);
  }
  const { QWormholeServer, createHandshakeVerifier } = await import("qwormhole");
  const options = { host, port, ...commonOptions(config) };
  delete options.handshakeProfile;
  if (config.profile === "bare") options.handshakeProfile = "bare";
  if (config.profile === "legacy" || config.allowLegacy) options.allowLegacy = true;
  if (config.requireSignature) options.requireSignedHandshake = true;
  for (const k of ["maxClients", "maxPendingHandshakes", "maxBackpressureBytes", "signatureWindowMs"]) if (config[k] !== undefined) options[k] = config[k];
  if (tls) options.tls = tlsOptions(tls, true, config);
  if (config.allowConnection === false) options.allowConnection = () => false;
  // trustedKeys: the policy relies on signatures: only hellos signed by one of these keys pass (QWH-SIG-014).
  const trusted = Array.isArray(config.trustedKeys) ? createHandshakeVerifier({ trustedKeys: config.trustedKeys }) : () => true;
  if (config.trustedKeys !== undefined) options.verifyHandshake = trusted;
  if (config.policy !== undefined || config.verifyDelayMs !== undefined) {
    const decide = (h) => {
      if (config.policy === "throw") throw new Error("policy hook failure (adapter config)");
      return config.policy !== "reject" && trusted(h);
    };
    options.verifyHandshake = config.verifyDelayMs ? (h) => new Promise((r, j) => setTimeout(() => {
      try {
        r(decide(h));
      } catch (err) {
        j(err);
      }
    }, config.verifyDelayMs)) : decide;
  }
  const initial = expandMessages(config.messages);
  if (config.replayCacheMaxEntries !== undefined) options.replayCacheMaxEntries = config.replayCacheMaxEntries;
  const server = new QWormholeServer(options);
  const counts = new Map();
  server.on("connection", (c) => {
    counts.set(c.id, { messages: 0, bytes: 0 });
    for (const m of initial) {
      try {
        c.send(m);
      } catch (err) {
        // E_FRAME_TOO_LARGE for this message only (QWH-FRAME-007): the others still go out.
        line({ event: "send-error", code: err.code ?? "E_INTERNAL" });
      }
    }
    if (scenario === "close-after" && (config.closeAfter ?? 1) === 0) void c.end(config.closeCode ?? "E_NORMAL_CLOSE");
    if (scenario === "push-on-connect") {
      for (let i = 0; i < (config.pushCount ?? 1); i++) {
        try {
          c.send(generated(i, config.pushSize ?? 16));
        } catch (err) {
          line({ event: "send-error", code: err.code ?? "E_INTERNAL" });
        }
      }
    } else if (scenario === "hello-info") {
      const h = c.handshake;
      c.send(JSON.stringify({ profile: h.profile, version: h.version ?? null, tags: h.tags, features: h.features, maxFrameLength: h.maxFrameLength, signed: h.signed }));
    } else if (scenario === "broadcast" && server.getConnectionCount() === (config.groupSize ?? 2)) {
      server.broadcast(Buffer.from("go"));
    }
  });
  server.on("message", ({ client, data }) => {
    const n = counts.get(client.id);
    if (n) {
      n.messages++;
      n.bytes += data.length;
    }
    try {
      if (scenario === "echo" || scenario === "push-on-connect" || scenario === "hello-info") client.send(data);
      else if (scenario === "broadcast") server.broadcast(data);
      else if (scenario === "close-after") {
        client.send(data);
        if (n && n.messages === (config.closeAfter ?? 1)) void client.end(config.closeCode ?? "E_NORMAL_CLOSE");
      }
    } catch {
      // a send on a closing connection: nothing to echo to
    }
  });
  server.on("clientClosed", ({ client, error }) => {
    const n = counts.get(client.id) ?? { messages: 0, bytes: 0 };
    counts.delete(client.id);
    line({ event: "closed", messages: n.messages, bytes: n.bytes, error: error?.code ?? null });
  });
  server.on("handshakeRejected", ({ code }) => line({ event: "rejected", code }));
  server.on("error", () => undefined);
  const address = await server.listen();
  line({ ready: true, port: address.port });
  const stop = async () => {
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, 500))]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
}

// ---------------------------------------------------------------------------------------------
// connect mode

const CLIENT_SCENARIOS = new Set(["mirror", "close", "echo", "hold", "receive", "broadcast", "await-close", "expect-reject", "oversize", "reconnect", "heartbeat", "retry"]);

async function runConnect(args) {
  const { values, config, port, host, tls } = parseCommon(args, { scenario: { type: "string", default: "echo" } });
  const scenario = values.scenario;
  if (!CLIENT_SCENARIOS.has(scenario)) {
    process.stderr.write(`ts adapter: unsupported client scenario ${scenario}\n`);
    process.exit(UNSUPPORTED);
  }
  const { QWormholeClient, createHelloSigner } = await import("qwormhole");
  const raw = config.framing === "none";
  const options = {
    host,
    port,
    ...commonOptions(config),
    reconnect: scenario === "reconnect" ? { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 100 } : scenario === "retry" ? { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: config.maxAttempts ?? 5 } : false,
    connectTimeoutMs: config.connectTimeoutMs ?? 5000,
  };
  if (config.sign) options.handshakeSigner = createHelloSigner(generateKeyPairSync("ed25519").privateKey);
  if (tls) options.tls = tlsOptions(tls, false, config);
  const client = new QWormholeClient(options);
  const received = [];
  const result = { ok: false, scenario, sent: 0, received: 0, receivedSha256: "", receivedHex: [], error: null, closeCode: null, closedByPeer: false, accept: null };
  let closingOurselves = false;
  const waiters = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  client.on("message", (m) => {
    received.push(Buffer.from(m));
    wake();
  });
  client.on("error", (e) => {
    if (!/^server closed the connection/.test(e.message)) result.error ??= e.code;
    wake();
  });
  let closed = false;
  client.on("close", (info) => {
    // qwormhole reports a peer's CLOSE with a code other than E_NORMAL_CLOSE as an error whose
    // message starts "server closed the connection"; here it is the close code, not a failure.
    const peerCode = info.error && /^server closed the connection/.test(info.error.message) ? info.error.code : null;
    if (peerCode && result.error === peerCode) result.error = null;
    if (!closingOurselves && scenario !== "reconnect") {
      result.closedByPeer = true;
      // The code of the peer's CLOSE; null when none came (an unclean end with "control", QWH-CLOSE-013).
      result.closeCode = peerCode ?? (info.error ? null : (info.peerClose?.code ?? null));
      if (info.error && !peerCode) result.error ??= info.error.code;
    }
    if (!info.willReconnect) closed = true;
    wake();
  });
  const deadline = Date.now() + (config.timeoutMs ?? 10000);
  const until = async (cond) => {
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const finish = async (ok, message) => {
    result.ok = ok && (["expect-reject", "await-close", "hold", "mirror", "close", "retry"].includes(scenario) || result.error === null);
    if (message) result.message = message;
    if (!closed && client.connected) {
      closingOurselves = true;
      await Promise.race([client.close(), sleep(2000)]);
    } else client.destroy();
    result.received = received.length;
    result.receivedSha256 = digestOf(received, raw);
    // The first messages in hex, up to 64 of them and 64 KiB (the digest covers all).
    let budget = 65536;
    result.receivedHex = [];
    for (const b of received.slice(0, 64)) {
      if ((budget -= b.length) < 0) break;
      result.receivedHex.push(b.toString("hex"));
    }
    // Exit only once the line is out: process.exit() can cut a pending write to a pipe.
    printed = true;
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
  };
  // If the event loop drains while a promise of the client is still pending (it should never),
  // say so instead of exiting silently.
  let printed = false;
  process.on("beforeExit", () => {
    if (printed) return;
    printed = true;
    result.message = "the event loop drained while waiting for the client (a promise never settled)";
    result.received = received.length;
    result.receivedSha256 = digestOf(received, raw);
    result.receivedHex = received.slice(0, 64).map((b) => b.toString("hex"));
    process.stdout.write(JSON.stringify(result) + "\n");
  });
  const messages = expandMessages(config.messages);
  const sendAll = (list) => {
    for (const m of list) {
      client.send(m);
      result.sent++;
    }
  };
  // mirror and close queue their messages before the accept has arrived (QWH-STATE-001).
  const early = scenario === "mirror" || scenario === "close";
  if (scenario === "mirror") {
    client.on("message", (m) => {
      try {
        client.send(m);
        result.sent++;
      } catch {
        // closing: nothing more to mirror
      }
    });
  }
  // retry: automatic reconnect on; counts the ends of open connections, queues whileDownMessages
  // at the first end that a reconnect follows, sends laterMessages once the next handshake is done.
  let closesSeen = 0;
  let readies = 0;
  if (scenario === "retry") {
    client.on("close", (info) => {
      closesSeen++;
      if (info.willReconnect && closesSeen === 1) sendAll(expandMessages(config.whileDownMessages));
      wake();
    });
    client.on("ready", () => {
      readies++;
      result.reconnects = readies - 1;
      if (readies === 2) sendAll(expandMessages(config.laterMessages));
      wake();
    });
  }
  const connecting = client.connect();
  if (early) sendAll(messages);
  try {
    await connecting;
  } catch (err) {
    result.error = err.code ?? "E_INTERNAL";
    if (scenario === "expect-reject") return finish(result.error === config.expectError, `connect failed with ${result.error}`);
    return finish(false, `connect failed: ${err.message}`);
  }
  result.accept = client.connection?.accept ?? null;
  const total = (list) => list.reduce((n, m) => n + m.length, 0);
  switch (scenario) {
    case "expect-reject":
      return finish(false, "connected although a reject was expected");
    case "echo": {
      sendAll(messages);
      const want = raw ? total(messages) : messages.length;
      const ok = await until(() => (raw ? total(received) >= want : received.length >= want) || closed);
      return finish(ok && digestOf(raw ? [Buffer.concat(received)] : received, raw) === digestOf(raw ? [Buffer.concat(messages)] : messages, raw), ok ? undefined : "timed out waiting for the echo");
    }
    case "mirror": {
      const end = Date.now() + (config.holdMs ?? 10000);
      await until(() => closed || Date.now() >= end);
      return finish(true);
    }
    case "close": {
      closingOurselves = true;
      await Promise.race([client.close(), sleep((config.drainTimeoutMs ?? 5000) + 1000)]);
      closed = true;
      return finish(true);
    }
    case "hold": {
      sendAll(messages);
      const end = Date.now() + (config.holdMs ?? 1000);
      await until(() => closed || Date.now() >= end);
      return finish(true);
    }
    case "heartbeat": {
      await sleep(config.holdMs ?? 500);
      if (closed) return finish(false, "connection closed while idle");
      sendAll(messages.length ? messages : [Buffer.from("after-idle")]);
      const ok = await until(() => received.length >= Math.max(1, messages.length) || closed);
      return finish(ok && !closed);
    }
    case "receive": {
      sendAll(messages);
      const ok = await until(() => received.length >= (config.expectCount ?? 1) || closed);
      return finish(ok && received.length >= (config.expectCount ?? 1));
    }
    case "broadcast": {
      const go = await until(() => received.length >= 1 || closed);
      if (!go) return finish(false, "no go message");
      received.shift();
      sendAll(messages);
      const ok = await until(() => received.length >= (config.expectCount ?? 1) || closed);
      return finish(ok && received.length >= (config.expectCount ?? 1));
    }
    case "await-close": {
      sendAll(messages);
      const ok = await until(() => closed);
      return finish(ok && result.closedByPeer, ok ? undefined : "the server did not close");
    }
    case "oversize": {
      let code = null;
      try {
        client.send(Buffer.alloc(config.size ?? 1));
      } catch (err) {
        code = err.code;
      }
      result.localError = code;
      sendAll(messages.length ? messages : [Buffer.from("still-open")]);
      const ok = await until(() => received.length >= Math.max(1, messages.length) || closed);
      return finish(ok && code === "E_FRAME_TOO_LARGE" && !closed, `local error ${code}`);
    }
    case "retry": {
      sendAll(messages);
      const ok = await until(() => closed || closesSeen >= (config.closes ?? 1));
      return finish(ok, ok ? undefined : "timed out waiting for the connection to end");
    }
    case "reconnect": {
      sendAll(messages.slice(0, 1));
      if (!(await until(() => received.length >= 1))) return finish(false, "no first echo");
      let readyAgain = false;
      client.once("ready", () => {
        readyAgain = true;
        wake();
      });
      line({ event: "checkpoint" });
      if (!(await until(() => readyAgain || closed))) return finish(false, "did not reconnect");
      result.reconnected = true;
      sendAll(messages.slice(1));
      const ok = await until(() => received.length >= messages.length || closed);
      result.error = null; // the drop itself is expected
      return finish(ok && received.length >= messages.length);
    }
  }
}

// ---------------------------------------------------------------------------------------------

const modes = { codec: runCodec, serve: runServe, connect: runConnect, info: runInfo };

// The optional features this adapter can exercise (cases needing another one grade UNSUPPORTED).
function runInfo() {
  line({ name: "ts", implementation: "qwormhole (impl-ts)", features: ["control", "raw", "legacy", "bare", "tls", "sign", "heartbeat"] });
}
if (!Object.hasOwn(modes, mode ?? "")) {
  process.stderr.write(`ts adapter: unsupported mode ${JSON.stringify(mode ?? "")}\n`);
  process.exit(UNSUPPORTED);
}
try {
  await modes[mode](rest);
} catch (err) {
  process.stderr.write(`ts adapter: ${err?.stack ?? err}\n`);
  process.exit(2);
}
