// The scripted peer: plays the other side of a wire case at the byte level, in both roles.
// Server role: the implementation runs `serve`, the engine connects as a client. Client role: the
// engine listens and the implementation runs `connect`. Every byte in either direction goes to
// the case's wire log (hex, with times relative to the start of the case).
import { createPrivateKey, createPublicKey, randomBytes, sign as edSign } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { validate as validateSchema } from "@qwormhole/schemas";
import { EXIT_UNSUPPORTED, startClient } from "./adapter-process.mjs";
import { deepEqual, HarnessError, sleep } from "./util.mjs";

const HANDSHAKE_LIMIT = 16384;
const DEFAULT_STEP_MS = 2000;
const DEFAULT_CASE_MS = 30000;
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const DEFAULT_HELLO = { type: "handshake", qwh: "1.0", features: ["control"] };

/** A deviation from the case: FAIL at level MUST, NON_STRICT when `should` (or the case is SHOULD). */
class Mismatch extends Error {
  constructor(message, { should = false, closeBehavior } = {}) {
    super(message);
    this.should = should;
    this.closeBehavior = closeBehavior;
  }
}

// ---------------------------------------------------------------------------------------------
// one connection of the scripted peer

class PeerConnection {
  constructor(name, socket, log) {
    this.name = name;
    this.socket = socket;
    this.log = log;
    this.buf = Buffer.alloc(0);
    this.ended = false; // FIN or close received
    this.reset = false;
    this.writable = true;
    this.waiters = [];
    this.autoPong = false;
    socket.on("data", (d) => {
      this.log(`< [${name}] ${d.toString("hex")}`);
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.pongHead();
      this.wake();
    });
    socket.on("end", () => {
      this.log(`! [${name}] FIN received`);
      this.ended = true;
      this.wake();
    });
    socket.on("error", (err) => {
      this.log(`! [${name}] ${err.code ?? err.message}`);
      if (err.code === "ECONNRESET") this.reset = true;
      this.writable = false;
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.writable = false;
      this.ended = true;
      this.wake();
    });
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until something changes or the deadline passes; false on timeout. */
  async change(deadline) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), left);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  write(bytes, note) {
    if (!this.writable || this.socket.destroyed) {
      this.log(`# [${this.name}] not written (${bytes.length} bytes): the connection is closed`);
      return;
    }
    this.log(`> [${this.name}] ${bytes.toString("hex")}${note ? `  # ${note}` : ""}`);
    this.socket.write(bytes);
  }

  /** autoPong: answers and removes a complete PING at the head of the buffer. */
  pongHead() {
    while (this.autoPong && this.buf.length >= 5) {
      const h = this.buf.readUInt32BE(0);
      const l = h & 0x7fffffff;
      if (!(h & 0x80000000) || l < 1 || l > 1024 || this.buf[4] !== 0x01 || this.buf.length < 4 + l) return;
      const body = this.buf.subarray(5, 4 + l);
      this.buf = this.buf.subarray(4 + l);
      const pong = Buffer.alloc(5 + body.length);
      pong.writeUInt32BE((0x80000000 | l) >>> 0);
      pong[4] = 0x02;
      body.copy(pong, 5);
      this.log(`# [${this.name}] autoPong`);
      this.write(pong);
    }
  }

  /** The next n bytes, consumed; null when the connection ended first or the deadline passed. */
  async take(n, deadline) {
    while (this.buf.length < n) {
      if (this.ended) return null;
      if (!(await this.change(deadline))) return null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /**
   * The next frame: {header, control, type, payload} (payload = body after the type byte for a
   * control frame). handshake: bit 31 is part of the length. Throws Mismatch on timeout/close.
   */
  async frame(deadline, { handshake = false, what = "a frame" } = {}) {
    const head = await this.take(4, deadline);
    if (!head) throw new Mismatch(`expected ${what}: ${this.ended ? "the connection closed" : "nothing arrived in time"}${this.buf.length ? ` (${this.buf.length} stray bytes)` : ""}`, { closeBehavior: this.ended ? "UNCLEAN" : "NOT_CLOSED" });
    const header = head.readUInt32BE(0);
    const control = !handshake && (header & 0x80000000) !== 0;
    const length = control ? header & 0x7fffffff : header;
    if (length > 64 * 1024 * 1024) throw new Mismatch(`expected ${what}: header ${head.toString("hex")} announces ${length} bytes`);
    const payload = await this.take(length, deadline);
    if (!payload) throw new Mismatch(`expected ${what}: only part of a ${length}-byte frame arrived`);
    if (control) return { header, control, length, type: payload[0], payload: payload.subarray(1) };
    return { header, control, length, type: null, payload };
  }

  /** Resolves true when the transport closes before the deadline. */
  async closed(deadline) {
    while (!this.ended) if (!(await this.change(deadline))) return false;
    return true;
  }

  destroy() {
    this.writable = false;
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// building bytes

function header(value) {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(value >>> 0);
  return h;
}

function payloadOf(spec) {
  if (spec.hex !== undefined) return Buffer.from(spec.hex, "hex");
  if (spec.text !== undefined) return Buffer.from(spec.text, "utf8");
  if (spec.json !== undefined) return Buffer.from(JSON.stringify(spec.json), "utf8");
  return Buffer.alloc(0);
}

export function buildFrame(spec) {
  const body = payloadOf(spec);
  if (spec.controlType !== undefined) {
    const len = spec.length ?? 1 + body.length;
    return Buffer.concat([header((0x80000000 | len) >>> 0), Buffer.from([spec.controlType]), body]);
  }
  return Buffer.concat([header(spec.length ?? body.length), body]);
}

export function helloWith(members) {
  const h = { ...DEFAULT_HELLO };
  for (const [k, v] of Object.entries(members ?? {})) {
    if (v === null) delete h[k];
    else h[k] = v;
  }
  return h;
}

/** RFC 8785 for the JSON values a hello holds (integers, strings, booleans, null, arrays, objects). */
export function jcs(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(",")}}`;
}

const GROUP_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;
const SIGN_PREFIX = Buffer.from("QWH/1 hello\n", "ascii");

function edKey(seedHex) {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(seedHex, "hex")]), format: "der", type: "pkcs8" });
}

function bumpSeed(seedHex) {
  const b = Buffer.from(seedHex, "hex");
  b[31] = (b[31] + 1) & 0xff;
  return b.toString("hex");
}

/** The hello of a sendSignedHello step, signed now. */
export function signedHello(spec, exporter) {
  const seed = spec.seed ?? "00".repeat(32);
  const keyObj = edKey(seed);
  const publicKey = createPublicKey(keyObj).export({ format: "jwk" }).x;
  const sig = { alg: spec.alg ?? "ed25519", key: publicKey, nonce: Buffer.from(spec.nonce ?? randomBytes(16).toString("hex"), "hex").toString("base64url"), ts: spec.ts ?? Date.now() + (spec.tsOffsetMs ?? 0) };
  if (spec.cb !== undefined) sig.cb = spec.cb;
  const hello = { ...(spec.hello ?? DEFAULT_HELLO), sig };
  const canonical = Buffer.from(jcs(hello), "utf8");
  const withExporter = spec.cb === "tls-exporter" && exporter ? [exporter] : [];
  let signed;
  switch (spec.tamper) {
    case "no-prefix":
      signed = Buffer.concat([canonical, ...withExporter]);
      break;
    case "sign-received-bytes":
      signed = Buffer.concat([SIGN_PREFIX, Buffer.from(JSON.stringify(hello), "utf8"), ...withExporter]);
      break;
    default:
      signed = Buffer.concat([SIGN_PREFIX, canonical, ...withExporter]);
  }
  const signer = spec.tamper === "other-key" ? edKey(bumpSeed(seed)) : keyObj;
  const value = Buffer.from(edSign(null, signed, signer));
  if (spec.tamper === "flip-value-bit") value[0] ^= 1;
  if (spec.tamper === "s-plus-l") {
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(value[i]);
    s += GROUP_ORDER;
    for (let i = 32; i < 64; i++) {
      value[i] = Number(s & 0xffn);
      s >>= 8n;
    }
  }
  sig.value = value.toString("base64url");
  if (spec.keyText !== undefined) sig.key = spec.keyText;
  if (spec.nonceText !== undefined) sig.nonce = spec.nonceText;
  if (spec.valueText !== undefined) sig.value = spec.valueText;
  return { ...hello, ...(spec.extraAfterSigning ?? {}) };
}

// ---------------------------------------------------------------------------------------------
// matching

/** Objects: deep subset; arrays: equal as sets (same length, same members, any order). */
export function jsonMatches(want, got) {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return false;
    const left = [...got];
    for (const w of want) {
      const i = left.findIndex((g) => jsonMatches(w, g));
      if (i < 0) return false;
      left.splice(i, 1);
    }
    return true;
  }
  if (want !== null && typeof want === "object") {
    if (got === null || typeof got !== "object" || Array.isArray(got)) return false;
    return Object.entries(want).every(([k, v]) => Object.hasOwn(got, k) && jsonMatches(v, got[k]));
  }
  return deepEqual(want, got);
}

function parseJson(payload) {
  try {
    return { ok: true, value: JSON.parse(payload.toString("utf8")) };
  } catch (err) {
    return { ok: false, error: err.message };
  }
}

const WIRE_SCHEMAS = { hello: ["wire/hello.schema.json", "wire/hello-legacy.schema.json"], accept: ["wire/accept.schema.json"], reject: ["wire/reject.schema.json"] };

function checkFrame(m, f) {
  const shown = `${f.control ? "control" : "data"} frame ${header(f.header).toString("hex")} ${f.control ? `type ${f.type} ` : ""}${f.payload.toString("hex").slice(0, 200)}`;
  if (m.kind === "control") {
    if (!f.control) throw new Mismatch(`expected a control frame of type ${m.controlType}, got ${shown}`);
    if (f.type !== m.controlType) throw new Mismatch(`expected control type ${m.controlType}, got ${shown}`);
  } else if (m.kind === "data" && f.control) {
    throw new Mismatch(`expected a data frame, got ${shown}`);
  }
  if (m.length !== undefined && f.length !== m.length) throw new Mismatch(`expected length ${m.length}, got ${f.length} (${shown})`);
  if (m.hex !== undefined && f.payload.toString("hex") !== m.hex) throw new Mismatch(`expected payload ${m.hex}, got ${shown}`);
  let value;
  if (WIRE_SCHEMAS[m.kind] || m.json !== undefined || m.absent !== undefined) {
    if (WIRE_SCHEMAS[m.kind] && f.length > HANDSHAKE_LIMIT) throw new Mismatch(`a ${m.kind} frame of ${f.length} bytes exceeds the handshake limit`);
    const parsed = parseJson(f.payload);
    if (!parsed.ok) throw new Mismatch(`expected JSON in ${shown}: ${parsed.error}`);
    value = parsed.value;
  }
  if (WIRE_SCHEMAS[m.kind]) {
    const results = WIRE_SCHEMAS[m.kind].map((s) => validateSchema(s, value));
    if (!results.some((r) => r.valid)) {
      const e = results[0].errors[0];
      throw new Mismatch(`expected a valid ${m.kind}, got ${JSON.stringify(value).slice(0, 300)} (${e?.instancePath ?? ""} ${e?.message ?? ""})`);
    }
  }
  if (m.json !== undefined && !jsonMatches(m.json, value)) throw new Mismatch(`expected JSON containing ${JSON.stringify(m.json)}, got ${JSON.stringify(value).slice(0, 300)}`);
  for (const name of m.absent ?? []) if (value && Object.hasOwn(value, name)) throw new Mismatch(`member ${name} must be absent from ${JSON.stringify(value).slice(0, 300)}`);
}

/** A closing frame's code: a reject's or a CLOSE's, or undefined when the frame is neither. */
function closingFrame(f) {
  if (f.control) {
    if (f.type !== 0x03) return null;
    const p = parseJson(f.payload);
    return { via: "close", code: p.ok ? p.value?.code : undefined };
  }
  const p = parseJson(f.payload);
  if (p.ok && p.value?.type === "reject") return { via: "reject", code: p.value.code };
  return null;
}

// ---------------------------------------------------------------------------------------------
// the case

/**
 * Runs one wire case. ctx: {agent, scale, features (declared, or null), server(config, fresh) →
 * server handle, tls (certificate paths, or null), log(line)}. Resolves
 * {grade, closeBehavior, message}.
 */
export async function runWireCase(c, ctx) {
  const scale = ctx.scale ?? 1;
  const ms = (v, d = DEFAULT_STEP_MS) => Math.max(1, Math.round((v ?? d) * scale));
  const log = ctx.log;
  const t0 = Date.now();
  const caseDeadline = t0 + ms(c.timeoutMs, DEFAULT_CASE_MS);
  const useTls = c.transport === "tls";
  if (c.feature && ctx.features && !ctx.features.includes(c.feature)) return { grade: "UNSUPPORTED", closeBehavior: null, message: `feature ${c.feature} not declared by the adapter` };
  if (useTls && !ctx.tls) throw new HarnessError("a TLS case needs certificates");
  const conns = new Map();
  let closeBehavior = null;
  let client = null;
  let listener = null;
  const accepted = [];
  const acceptWaiters = [];
  const config = { ...(c.config ?? {}) };
  try {
    let getConn;
    if (c.role === "server") {
      const server = await ctx.server(config, useTls);
      if (server.unsupported) return { grade: "UNSUPPORTED", closeBehavior: null, message: `serve exited 127 for config ${JSON.stringify(config)}` };
      getConn = async (name) => {
        if (conns.has(name)) return conns.get(name);
        const socket = useTls
          ? tls.connect({ host: "127.0.0.1", port: server.port, ca: ctx.tls.caPem, cert: ctx.tls.certPem, key: ctx.tls.keyPem, servername: "localhost" })
          : net.connect({ host: "127.0.0.1", port: server.port });
        socket.setNoDelay(true);
        const ready = await new Promise((resolve) => {
          socket.once(useTls ? "secureConnect" : "connect", () => resolve(null));
          socket.once("error", (err) => resolve(err));
        });
        if (ready) {
          if (!server.alive()) throw new Mismatch(`the server process is gone (${ready.code ?? ready.message})`);
          throw new HarnessError(`cannot connect to the adapter's server on port ${server.port}: ${ready.message}`);
        }
        log(`# [${name}] connected to 127.0.0.1:${server.port}${useTls ? " (TLS)" : ""}`);
        const conn = new PeerConnection(name, socket, log);
        conn.autoPong = Boolean(c.autoPong);
        conns.set(name, conn);
        return conn;
      };
    } else {
      listener = useTls
        ? tls.createServer({ cert: ctx.tls.certPem, key: ctx.tls.keyPem, ca: ctx.tls.caPem })
        : net.createServer();
      listener.on(useTls ? "secureConnection" : "connection", (socket) => {
        socket.setNoDelay(true);
        const name = String.fromCharCode(97 + accepted.length);
        log(`# [${name}] accepted a connection from the client`);
        const conn = new PeerConnection(name, socket, log);
        conn.autoPong = Boolean(c.autoPong);
        accepted.push(conn);
        conns.set(name, conn);
        for (const w of acceptWaiters.splice(0)) w();
      });
      listener.on("tlsClientError", (err) => log(`! TLS handshake with the client failed: ${err.message}`));
      await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve));
      const port = listener.address().port;
      const scenario = config.scenario ?? "hold";
      delete config.scenario;
      log(`# starting the client: connect --port ${port} --scenario ${scenario} --config ${JSON.stringify(config)}`);
      client = startClient(ctx.agent, { port, scenario, config, tls: useTls ? ctx.tls : undefined, timeoutMs: Math.max(1000, caseDeadline - Date.now() + 2000) });
      client.done.then((r) => {
        client.finished = r;
        for (const w of acceptWaiters.splice(0)) w();
      });
      getConn = async (name) => {
        const index = name.charCodeAt(0) - 97;
        const deadline = Math.min(caseDeadline, Date.now() + ms(undefined, 5000));
        while (accepted.length <= index) {
          if (client.finished) {
            if (client.finished.unsupported) throw Object.assign(new Error("unsupported"), { unsupported: true });
            const r = client.finished;
            throw new Mismatch(`the client made no connection ${name} (exit ${r.exitCode}${r.result ? `, result ${JSON.stringify(r.result).slice(0, 300)}` : ""}; stderr: ${r.stderr.trim().slice(-300)})`);
          }
          if (Date.now() >= deadline) throw new Mismatch(`the client did not open connection ${name} in time`);
          await new Promise((resolve) => {
            const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
            acceptWaiters.push(() => {
              clearTimeout(t);
              resolve();
            });
          });
        }
        return accepted[index];
      };
    }

    for (const [i, step] of c.steps.entries()) {
      if (Date.now() > caseDeadline) throw new Mismatch(`the case ran out of time before step ${i + 1}`);
      const conn = await getConn(step.conn ?? "a");
      const note = step.comment ? ` (${step.comment})` : "";
      const kind = Object.keys(step).find((k) => k !== "comment" && k !== "conn");
      log(`# step ${i + 1}: ${kind}${note}`);
      const within = (v) => Math.min(caseDeadline, Date.now() + ms(v));
      switch (kind) {
        case "send":
          conn.write(Buffer.from(step.send, "hex"));
          break;
        case "sendFrame":
          conn.write(buildFrame(step.sendFrame));
          break;
        case "sendHello":
          conn.write(buildFrame({ json: helloWith(step.sendHello) }));
          break;
        case "sendSignedHello": {
          const exporter = useTls && typeof conn.socket.exportKeyingMaterial === "function" ? conn.socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0)) : null;
          conn.write(buildFrame({ json: signedHello(step.sendSignedHello, exporter) }));
          break;
        }
        case "sendSlowly": {
          const bytes = Buffer.from(step.sendSlowly, "hex");
          const size = step.chunkSize ?? 1;
          for (let off = 0; off < bytes.length; off += size) {
            if (!conn.writable) {
              log(`# [${conn.name}] stopped writing: the connection is closed`);
              break;
            }
            conn.write(bytes.subarray(off, off + size));
            if (off + size < bytes.length) await sleep(ms(step.delayMs, 0));
          }
          break;
        }
        case "expect": {
          const want = Buffer.from(step.expect, "hex");
          const got = await conn.take(want.length, within(step.withinMs));
          if (!got) throw new Mismatch(`expected ${step.expect}: ${conn.ended ? "the connection closed" : "not in time"} (have ${conn.buf.toString("hex").slice(0, 200)})`);
          if (!got.equals(want)) throw new Mismatch(`expected ${step.expect}, got ${got.toString("hex")}`);
          break;
        }
        case "expectFrame": {
          const m = step.expectFrame;
          const f = await conn.frame(within(m.withinMs), { handshake: ["hello", "accept", "reject"].includes(m.kind), what: `a ${m.kind} frame` });
          checkFrame(m, f);
          break;
        }
        case "expectClose":
          closeBehavior = await expectClose(conn, step.expectClose, within(step.expectClose.withinMs));
          break;
        case "expectSilence": {
          const end = Date.now() + ms(step.expectSilence, 0);
          const startLen = conn.buf.length;
          while (Date.now() < end) {
            if (conn.buf.length > startLen) throw new Mismatch(`expected silence, got ${conn.buf.subarray(startLen).toString("hex").slice(0, 200)}`);
            if (conn.ended) throw new Mismatch("expected silence, but the connection closed", { closeBehavior: "UNCLEAN" });
            await conn.change(end);
          }
          if (conn.buf.length > startLen) throw new Mismatch(`expected silence, got ${conn.buf.subarray(startLen).toString("hex").slice(0, 200)}`);
          break;
        }
        case "wait":
          await sleep(ms(step.wait, 0));
          break;
        case "closeWrite":
          log(`> [${conn.name}] FIN`);
          conn.socket.end();
          break;
        case "expectResult": {
          if (!client) throw new HarnessError("expectResult is only valid in the client role");
          const deadline = within(step.expectResult.withinMs ?? 5000);
          if (!client.finished) {
            // The result comes when the client's connections end: end ours (FIN), keep reading.
            for (const conn of conns.values()) {
              if (conn.writable && !conn.socket.writableEnded) {
                log(`> [${conn.name}] FIN (before expectResult)`);
                conn.socket.end();
              }
            }
          }
          while (!client.finished && Date.now() < deadline) {
            await new Promise((resolve) => {
              const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
              acceptWaiters.push(() => {
                clearTimeout(t);
                resolve();
              });
            });
          }
          if (!client.finished) throw new Mismatch("the client printed no result in time");
          checkResult(step.expectResult, client.finished, log);
          break;
        }
        default:
          throw new HarnessError(`unknown step ${JSON.stringify(step)}`);
      }
    }
    return { grade: "PASS", closeBehavior, message: "" };
  } catch (err) {
    if (err.unsupported) return { grade: "UNSUPPORTED", closeBehavior: null, message: "connect exited 127 for this scenario" };
    if (err instanceof Mismatch) {
      log(`# mismatch: ${err.message}`);
      const should = err.should || c.level === "SHOULD";
      return { grade: should ? "NON_STRICT" : "FAIL", closeBehavior: err.closeBehavior ?? closeBehavior, message: err.message };
    }
    throw err;
  } finally {
    for (const conn of conns.values()) conn.destroy();
    if (listener) listener.close();
    if (client) {
      const r = await Promise.race([client.done, sleep(ms(undefined, 3000)).then(() => null)]);
      if (r?.result) log(`# client result: ${JSON.stringify(r.result)}`);
      if (r?.stderr?.trim()) log(`# client stderr: ${r.stderr.trim().slice(-1000)}`);
    }
    log(`# done after ${Date.now() - t0} ms`);
  }
}

async function expectClose(conn, spec, deadline) {
  const wantFrame = spec.via === "reject" || spec.via === "close" || (spec.via === undefined && spec.code !== undefined);
  if (spec.via === "none") {
    const start = conn.buf.length;
    if (!(await conn.closed(deadline))) throw new Mismatch("expected the connection to close, it stayed open", { closeBehavior: "NOT_CLOSED" });
    if (conn.buf.length > start) throw new Mismatch(`expected a close without any frame, got ${conn.buf.subarray(start).toString("hex").slice(0, 200)}`, { closeBehavior: "WRONG_CODE" });
    return "OK";
  }
  if (!wantFrame) {
    if (!(await conn.closed(deadline))) throw new Mismatch("expected the connection to close, it stayed open", { closeBehavior: "NOT_CLOSED" });
    conn.buf = Buffer.alloc(0);
    return "OK";
  }
  const expected = `${spec.via === "reject" ? "a reject" : spec.via === "close" ? "a CLOSE" : "a reject or CLOSE"}${spec.code ? ` with ${spec.code}` : ""}`;
  for (;;) {
    if (conn.buf.length === 0 && conn.ended) {
      // Closed without the frame: a missing reject is a MUST (QWH-ERR-002), a missing CLOSE a SHOULD (QWH-ERR-003).
      throw new Mismatch(`expected ${expected}, the transport closed without it`, { closeBehavior: "UNCLEAN", should: spec.via === "close" });
    }
    let f;
    try {
      f = await conn.frame(deadline, { what: expected });
    } catch (err) {
      if (err instanceof Mismatch && conn.ended && conn.buf.length === 0) throw new Mismatch(`expected ${expected}, the transport closed without it`, { closeBehavior: "UNCLEAN", should: spec.via === "close" });
      if (err instanceof Mismatch) err.closeBehavior ??= "NOT_CLOSED";
      throw err;
    }
    if (f.control && (f.type === 0x01 || f.type === 0x02) && (spec.skipControl || conn.autoPong)) continue;
    const closing = closingFrame(f);
    if (!closing || (spec.via && closing.via !== spec.via)) {
      throw new Mismatch(`expected ${expected}, got ${f.control ? `control type ${f.type}` : "frame"} ${header(f.header).toString("hex")} ${f.payload.toString("hex").slice(0, 200)}`, { closeBehavior: "WRONG_CODE" });
    }
    if (spec.code && closing.code !== spec.code) throw new Mismatch(`expected ${expected}, got ${closing.via} with ${closing.code}`, { closeBehavior: "WRONG_CODE" });
    break;
  }
  if (!(await conn.closed(deadline))) throw new Mismatch(`got ${expected}, but the transport stayed open`, { closeBehavior: "NOT_CLOSED" });
  return "OK";
}

function checkResult(want, finished, log) {
  if (finished.unsupported) throw Object.assign(new Error("unsupported"), { unsupported: true });
  const r = finished.result;
  if (!r) throw new Mismatch(`the client printed no result line (exit ${finished.exitCode}; stderr: ${finished.stderr.trim().slice(-300)})`);
  log(`# result: ${JSON.stringify(r).slice(0, 2000)}`);
  const cmp = (name, w, g) => {
    if (w !== undefined && !deepEqual(w, g ?? null)) throw new Mismatch(`client result ${name}: expected ${JSON.stringify(w)}, got ${JSON.stringify(g ?? null)}`);
  };
  cmp("ok", want.ok, r.ok);
  cmp("error", want.error, r.error);
  cmp("closeCode", want.closeCode, r.closeCode);
  cmp("received", want.received, r.receivedHex);
  cmp("receivedCount", want.receivedCount, r.received);
}

export { EXIT_UNSUPPORTED };
