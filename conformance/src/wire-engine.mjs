// The scripted peer: plays the other side of a wire case at the byte level, in both roles.
// Server role: the implementation runs `serve`, the engine connects as a client. Client role: the
// engine listens and the implementation runs `connect`. Every byte in either direction goes to
// the case's wire log (hex and printable text, with times relative to the start of the case).
import { createPublicKey, randomBytes, sign as edSign, verify as edVerify } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { validate as validateSchema } from "@qwormhole/schemas";
import { edKey as seedKey, SIG_PREFIX as SIGN_PREFIX } from "../lib/ed25519.mjs";
import { frameBytes, HANDSHAKE_LIMIT, headerBytes as header } from "../lib/frames.mjs";
import { jcs } from "../lib/jcs.mjs";
import { EXIT_UNSUPPORTED, runClient } from "./adapter-process.mjs";
import { hasRacingTimer, runnerSlackMs, scaleConfig, stallHook, watchLoopLag } from "./timekeeping.mjs";
import { deepEqual, HarnessError, sleep } from "./util.mjs";
import { peerTlsOptions, substituteConfig, tlsCapabilityProblem } from "./tls-peer.mjs";

const DEFAULT_STEP_MS = 2000;
const DEFAULT_CASE_MS = 30000;
const DEFAULT_HELLO = { type: "handshake", qwh: "1.0", features: ["control"] };

/** A deviation from the case: FAIL at level MUST, NON_STRICT when `should` (or the case is SHOULD). */
class Mismatch extends Error {
  /** wholeCase: the evidence is the case's own deadline, which a late runner shortens anywhere. */
  constructor(message, { should = false, closeBehavior, wholeCase = false } = {}) {
    super(message);
    this.should = should;
    this.closeBehavior = closeBehavior;
    this.wholeCase = wholeCase;
  }
}

/**
 * Bytes for the wire log: hex, then (up to 4 KiB) the same bytes as text between bars, printable
 * ASCII as itself and every other byte as ".", so JSON in hellos and CLOSE bodies reads at a glance.
 */
export function showBytes(b) {
  const hex = b.toString("hex");
  if (b.length === 0 || b.length > 4096) return hex;
  let text = "";
  for (const c of b) text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
  return `${hex}  |${text}|`;
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
    this.countOnly = false; // expectClose maxBytes: count received bytes without keeping them
    this.counted = 0;
    this.flooding = false; // during sendFlood/expectFlood: big chunks are logged by size only
    socket.on("data", (d) => {
      this.log(
        this.flooding && d.length > 64
          ? `< [${name}] ${d.subarray(0, 32).toString("hex")}... (${d.length} bytes)`
          : `< [${name}] ${showBytes(d)}`,
      );
      if (this.countOnly) {
        this.counted += d.length;
        return;
      }
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
      // On expiry, one more turn of the loop first: bytes that arrived while the runner's loop was
      // held up are delivered in the poll phase, after the timers.
      const t = setTimeout(() => setImmediate(() => resolve(false)), left);
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
    if (!this.flooding) this.log(`> [${this.name}] ${showBytes(bytes)}${note ? `  # ${note}` : ""}`);
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
    if (!head)
      throw new Mismatch(
        `expected ${what}: ${this.ended ? "the connection closed" : "nothing arrived in time"}${this.buf.length ? ` (${this.buf.length} stray bytes)` : ""}`,
        { closeBehavior: this.ended ? "UNCLEAN" : "NOT_CLOSED" },
      );
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

/** The bytes of a sendFrame step: {hex | text | json, controlType?, length?}. */
export const buildFrame = frameBytes;

export function helloWith(members) {
  const h = { ...DEFAULT_HELLO };
  for (const [k, v] of Object.entries(members ?? {})) {
    if (v === null) delete h[k];
    else h[k] = v;
  }
  return h;
}

export { jcs };

const GROUP_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;
const edKey = (seedHex) => seedKey(seedHex).privateKey;

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
  const sig = {
    alg: spec.alg ?? "ed25519",
    key: publicKey,
    nonce: Buffer.from(spec.nonce ?? randomBytes(16).toString("hex"), "hex").toString("base64url"),
    ts: spec.ts ?? Date.now() + (spec.tsOffsetMs ?? 0),
  };
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

const WIRE_SCHEMAS = {
  hello: ["wire/hello.schema.json", "wire/hello-legacy.schema.json"],
  accept: ["wire/accept.schema.json"],
  reject: ["wire/reject.schema.json"],
};

/** The value at a dotted path ("tags.tlsFoo") of a JSON value, and whether it is there. */
function atPath(value, path) {
  let v = value;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, part)) return { found: false };
    v = v[part];
  }
  return { found: true, value: v };
}

const B64URL = /^[A-Za-z0-9_-]*$/;
function b64urlBytes(text, n) {
  if (typeof text !== "string" || !B64URL.test(text)) return null;
  const b = Buffer.from(text, "base64url");
  return b.length === n && b.toString("base64url") === text ? b : null;
}

/** The 32-byte RFC 9266 exporter of the runner's side of a TLS connection, or null without TLS. */
function exporterOf(socket) {
  return socket.encrypted && typeof socket.exportKeyingMaterial === "function"
    ? socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0))
    : null;
}

/**
 * verifySignature: the hello carries a "sig" that verifies as QWH-SIG-002 defines it, over the
 * hello exactly as received (so a member added, removed or changed after signing fails), with the
 * exporter of this session when "cb" is "tls-exporter"; and its "ts" is within 60 s of the runner's clock.
 */
function signatureProblem(hello, socket) {
  const sig = hello?.sig;
  if (sig === null || typeof sig !== "object" || Array.isArray(sig)) return "the hello is not signed (no sig object)";
  if (sig.alg !== "ed25519") return `sig.alg is ${JSON.stringify(sig.alg)}, not "ed25519"`;
  const key = b64urlBytes(sig.key, 32);
  if (!key) return `sig.key ${JSON.stringify(sig.key)} is not canonical base64url of 32 bytes`;
  const value = b64urlBytes(sig.value, 64);
  if (!value) return "sig.value is not canonical base64url of 64 bytes";
  const nonce = typeof sig.nonce === "string" && B64URL.test(sig.nonce) ? Buffer.from(sig.nonce, "base64url") : null;
  if (!nonce || nonce.length < 16 || nonce.length > 32 || nonce.toString("base64url") !== sig.nonce)
    return "sig.nonce is not canonical base64url of 16 to 32 bytes";
  if (!Number.isSafeInteger(sig.ts) || sig.ts < 0) return "sig.ts is not a non-negative integer";
  if (Math.abs(Date.now() - sig.ts) > 60000)
    return `sig.ts ${sig.ts} is ${Date.now() - sig.ts} ms away from the runner's clock (more than 60 s)`;
  const { value: _v, ...unsigned } = sig;
  let canonical;
  try {
    canonical = jcs({ ...hello, sig: unsigned });
  } catch (err) {
    return `the signed content is not strict JSON (${err.message})`;
  }
  const parts = [SIGN_PREFIX, Buffer.from(canonical, "utf8")];
  if (sig.cb !== undefined) {
    if (sig.cb !== "tls-exporter") return `sig.cb ${JSON.stringify(sig.cb)} is not "tls-exporter"`;
    const exporter = exporterOf(socket);
    if (!exporter) return 'sig.cb "tls-exporter" on a connection without TLS';
    parts.push(exporter);
  }
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: sig.key }, format: "jwk" });
  if (!edVerify(null, Buffer.concat(parts), publicKey, value))
    return `the signature does not verify over "QWH/1 hello\\n" || JCS(hello without sig.value)${sig.cb ? " || exporter" : ""} of the hello as received`;
  return null;
}

/** tlsTags: every "tls"-prefixed tag of the hello is defined (12.3) and states a fact of this TLS session. */
function tlsTagsProblem(hello, socket) {
  const tags = hello?.tags;
  if (tags === undefined) return null;
  if (tags === null || typeof tags !== "object" || Array.isArray(tags)) return null;
  for (const [name, v] of Object.entries(tags)) {
    if (!name.startsWith("tls")) continue;
    if (name !== "tlsFingerprint256" && name !== "tlsAlpn") return `the hello carries the undefined TLS tag ${name}`;
    if (!socket.encrypted) return `the hello carries ${name} on a connection without TLS`;
    if (name === "tlsFingerprint256") {
      const cert = socket.getPeerCertificate();
      if (!cert?.fingerprint256) return "the hello carries tlsFingerprint256 but the client presented no certificate";
      if (v !== cert.fingerprint256)
        return `tlsFingerprint256 ${JSON.stringify(v)} is not the client's certificate (${cert.fingerprint256})`;
    } else if (typeof socket.alpnProtocol !== "string" || v !== socket.alpnProtocol) {
      return `tlsAlpn ${JSON.stringify(v)} is not the ALPN protocol of the session (${JSON.stringify(socket.alpnProtocol || null)})`;
    }
  }
  return null;
}

function checkFrame(m, f, socket) {
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
  if (WIRE_SCHEMAS[m.kind] || m.json !== undefined || m.absent !== undefined || m.verifySignature || m.tlsTags) {
    if (WIRE_SCHEMAS[m.kind] && f.length > HANDSHAKE_LIMIT)
      throw new Mismatch(`a ${m.kind} frame of ${f.length} bytes exceeds the handshake limit`);
    const parsed = parseJson(f.payload);
    if (!parsed.ok) throw new Mismatch(`expected JSON in ${shown}: ${parsed.error}`);
    value = parsed.value;
  }
  if (WIRE_SCHEMAS[m.kind]) {
    const results = WIRE_SCHEMAS[m.kind].map((s) => validateSchema(s, value));
    if (!results.some((r) => r.valid)) {
      const e = results[0].errors[0];
      throw new Mismatch(
        `expected a valid ${m.kind}, got ${JSON.stringify(value).slice(0, 300)} (${e?.instancePath ?? ""} ${e?.message ?? ""})`,
      );
    }
  }
  if (m.json !== undefined && !jsonMatches(m.json, value))
    throw new Mismatch(`expected JSON containing ${JSON.stringify(m.json)}, got ${JSON.stringify(value).slice(0, 300)}`);
  for (const name of m.absent ?? [])
    if (atPath(value, name).found) throw new Mismatch(`member ${name} must be absent from ${JSON.stringify(value).slice(0, 300)}`);
  if (m.verifySignature) {
    const problem = signatureProblem(value, socket);
    if (problem) throw new Mismatch(`${problem}: ${JSON.stringify(value).slice(0, 400)}`);
  }
  if (m.tlsTags) {
    const problem = tlsTagsProblem(value, socket);
    if (problem) throw new Mismatch(problem);
  }
  return value;
}

/**
 * Replaces every string "@accept.<path>" in a step's JSON with that member of the last accept an
 * expectFrame matched (feature "resume": the session id and token the server issued).
 */
function fromLastAccept(v, accept) {
  if (typeof v === "string" && v.startsWith("@accept.")) {
    const at = atPath(accept ?? {}, v.slice("@accept.".length));
    if (!at.found) throw new Mismatch(`${v}: no such member in the last accept`);
    return at.value;
  }
  if (Array.isArray(v)) return v.map((x) => fromLastAccept(x, accept));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromLastAccept(x, accept)]));
  return v;
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
 * What each kind of step does: (run, conn, step) with `run` the state of the case being run (see
 * runWireCase) and `conn` the step's connection (null for steps in NO_CONNECTION_STEPS).
 */
const STEP_HANDLERS = {
  send(run, conn, step) {
    conn.write(Buffer.from(step.send, "hex"));
  },
  sendFrame(run, conn, step) {
    conn.write(buildFrame(step.sendFrame));
  },
  sendHello(run, conn, step) {
    conn.write(buildFrame({ json: helloWith(fromLastAccept(step.sendHello, run.lastAccept)) }));
  },
  sendSignedHello(run, conn, step) {
    conn.write(buildFrame({ json: signedHello(step.sendSignedHello, run.useTls ? exporterOf(conn.socket) : null) }));
  },
  async sendSlowly(run, conn, step) {
    run.lag.open();
    const bytes = Buffer.from(step.sendSlowly, "hex");
    const size = step.chunkSize ?? 1;
    for (let off = 0; off < bytes.length; off += size) {
      if (!conn.writable) {
        run.log(`# [${conn.name}] stopped writing: the connection is closed`);
        break;
      }
      conn.write(bytes.subarray(off, off + size));
      if (off + size < bytes.length) {
        const t = Date.now();
        await sleep(run.win(step.delayMs));
        run.overshoot("a delay between chunks", run.win(step.delayMs), Date.now() - t);
      }
    }
    run.lag.close();
  },
  async expect(run, conn, step) {
    const want = Buffer.from(step.expect, "hex");
    const got = await conn.take(want.length, run.within(step.withinMs));
    if (!got)
      throw new Mismatch(
        `expected ${step.expect}: ${conn.ended ? "the connection closed" : "not in time"} (have ${conn.buf.toString("hex").slice(0, 200)})`,
      );
    if (!got.equals(want)) throw new Mismatch(`expected ${step.expect}, got ${got.toString("hex")}`);
  },
  async expectFrame(run, conn, step) {
    const m = step.expectFrame;
    const f = await conn.frame(run.within(m.withinMs), {
      handshake: ["hello", "accept", "reject"].includes(m.kind),
      what: `a ${m.kind} frame`,
    });
    const value = checkFrame(m, f, conn.socket);
    if (m.kind === "accept") run.lastAccept = value;
  },
  async expectClose(run, conn, step) {
    run.closeBehavior = await expectClose(conn, step.expectClose, run.within(step.expectClose.withinMs));
  },
  async expectSilence(run, conn, step) {
    // "No byte" counts from the end of the previous expect step: bytes already buffered when
    // this step starts (they came in the same read as an expected frame, or during a wait) fail it too.
    run.lag.open();
    const end = Date.now() + run.win(step.expectSilence);
    const stray = () => (conn.buf.length > 0 ? new Mismatch(`expected silence, got ${conn.buf.toString("hex").slice(0, 200)}`) : null);
    while (Date.now() < end) {
      if (stray()) throw stray();
      if (conn.ended) throw new Mismatch("expected silence, but the connection closed", { closeBehavior: "UNCLEAN" });
      await conn.change(end);
    }
    run.overshoot("a silence window", run.win(step.expectSilence), run.win(step.expectSilence) + Date.now() - end);
    if (stray()) throw stray();
    run.lag.close();
  },
  async wait(run, conn, step) {
    run.lag.open();
    run.afterWait = true;
    const t = Date.now();
    await sleep(run.win(step.wait));
    run.overshoot("a wait", run.win(step.wait), Date.now() - t);
  },
  closeWrite(run, conn) {
    run.log(`> [${conn.name}] FIN`);
    conn.socket.end();
  },
  stopReading(run, conn) {
    run.log(`# [${conn.name}] stop reading`);
    conn.socket.pause();
  },
  resumeReading(run, conn) {
    run.log(`# [${conn.name}] resume reading`);
    conn.socket.resume();
  },
  sendFlood(run, conn, step) {
    const { size, count, start = 0 } = step.sendFlood;
    const pattern = patternBuffer(size);
    conn.flooding = true;
    run.log(`> [${conn.name}] ${count} data frames of ${size} bytes (message i: byte j is (i + j) mod 256, i from ${start})`);
    for (let k = 0; k < count && conn.writable; k++) {
      const off = (start + k) & 0xff;
      conn.write(Buffer.concat([header(size), pattern.subarray(off, off + size)]));
    }
  },
  async expectWriteStall(run, conn, step) {
    await expectWriteStall(
      conn,
      step.expectWriteStall,
      run.within(step.expectWriteStall.withinMs),
      run.ms(step.expectWriteStall.stallMs, 0),
      run.log,
    );
  },
  async expectFlood(run, conn, step) {
    const { size, count, start = 0 } = step.expectFlood;
    const pattern = patternBuffer(size);
    const deadline = run.within(step.expectFlood.withinMs);
    conn.flooding = true;
    for (let k = 0; k < count; k++) {
      const f = await conn.frame(deadline, { what: `echo ${k + 1} of ${count}` });
      const off = (start + k) & 0xff;
      if (f.control || f.length !== size || !f.payload.equals(pattern.subarray(off, off + size))) {
        throw new Mismatch(
          `message ${k + 1} of ${count}: expected a data frame of ${size} bytes with the pattern of message ${start + k}, got ${f.control ? `control type ${f.type}` : `${f.length} bytes`} ${f.payload.subarray(0, 32).toString("hex")}`,
        );
      }
    }
    conn.flooding = false;
    run.log(`# [${conn.name}] got all ${count} messages of ${size} bytes`);
  },
  async expectServerEvent(run, conn, step) {
    if (!run.serverHandle) throw new HarnessError("expectServerEvent is only valid in the server role");
    const want = step.expectServerEvent.match;
    const hit = await run.serverHandle.waitFor(
      (e) => jsonMatches(want, e),
      Math.max(1, run.within(step.expectServerEvent.withinMs) - Date.now()),
    );
    if (!hit)
      throw new Mismatch(
        `the server printed no event matching ${JSON.stringify(want)} (events: ${JSON.stringify(run.serverHandle.events.slice(-5)).slice(0, 400)})`,
      );
    run.log(`# server event: ${JSON.stringify(hit)}`);
  },
  async expectNoConnection(run, conn, step) {
    if (!run.client) throw new HarnessError("expectNoConnection is only valid in the client role");
    run.lag.open();
    const end = Date.now() + run.win(step.expectNoConnection);
    while (Date.now() < end && run.tcpAttempts <= run.used.size) await run.waitAcceptChange(end);
    run.lag.close();
    if (run.tcpAttempts > run.used.size)
      throw new Mismatch(
        `the client opened another connection (${run.tcpAttempts} in all, the case expects ${run.used.size}): it reconnected`,
      );
  },
  async expectTlsRecord(run, conn, step) {
    const want = step.expectTlsRecord.contentType;
    const head = await conn.take(5, run.within(step.expectTlsRecord.withinMs));
    if (!head) throw new Mismatch(`expected a TLS record: ${conn.ended ? "the connection closed" : "nothing arrived in time"}`);
    const len = head.readUInt16BE(3);
    if (head[0] !== want || head[1] !== 0x03 || head[2] > 0x04)
      throw new Mismatch(
        `expected a TLS record of content type ${want}, got ${head.toString("hex")} ${conn.buf.subarray(0, 40).toString("hex")} (QWH bytes outside TLS?)`,
      );
    if (!(await conn.take(len, run.within(step.expectTlsRecord.withinMs))))
      throw new Mismatch(`only part of a ${len}-byte TLS record arrived`);
  },
  async expectResult(run, conn, step) {
    if (!run.client) throw new HarnessError("expectResult is only valid in the client role");
    const deadline = run.within(step.expectResult.withinMs ?? 5000);
    if (!run.client.finished) {
      // The result comes when the client's connections end: end ours (FIN), keep reading.
      for (const conn of run.conns.values()) {
        if (conn.writable && !conn.socket.writableEnded) {
          run.log(`> [${conn.name}] FIN (before expectResult)`);
          conn.socket.end();
        }
      }
    }
    while (!run.client.finished && Date.now() < deadline) await run.waitAcceptChange(deadline);
    if (!run.client.finished) throw new Mismatch("the client printed no result in time");
    checkResult(step.expectResult, run.client.finished, run.log);
  },
};

const NO_CONNECTION_STEPS = new Set(["expectResult", "expectNoConnection", "expectServerEvent"]);
/** Steps that write: after a wait, the runner's cadence matters until the next of them is done. */
const SEND_STEPS = new Set(["send", "sendFrame", "sendHello", "sendSignedHello", "sendSlowly", "sendFlood", "closeWrite"]);

/**
 * Runs one wire case. ctx: {agent, scale, features (declared, or null), server(config, fresh) →
 * server handle, tls (certificate paths, or null), log(line)}. Resolves
 * {grade, closeBehavior, message}. Each step is done by its handler in STEP_HANDLERS.
 */
export async function runWireCase(c, ctx) {
  const scale = ctx.scale ?? 1;
  // Deadlines (withinMs, timeoutMs) scale; the runner's own windows (wait, expectSilence, delays)
  // scale with the implementation's timers they race, and stay as written when the case sets none
  // (they then race only the spec's defaults, which the runner cannot scale).
  const ms = (v, d = DEFAULT_STEP_MS) => Math.max(1, Math.round((v ?? d) * scale));
  const windowScale = hasRacingTimer(c.config) ? scale : 1;
  const win = (v) => Math.max(1, Math.round((v ?? 0) * windowScale));
  const log = ctx.log;
  const t0 = Date.now();
  let caseDeadline = t0 + ms(c.timeoutMs, DEFAULT_CASE_MS);
  let lag = null; // watches the runner's event loop while the case runs
  const slackMs = runnerSlackMs(c.config, scale);
  let stepLate = 0; // the largest overshoot of one of the runner's own timed steps
  const overshoot = (what, planned, took) => {
    const late = took - planned;
    if (late > slackMs) log(`# runner late: ${what} of ${planned} ms took ${took} ms (late by ${late} ms, the case allows ${slackMs} ms)`);
    stepLate = Math.max(stepLate, late);
  };
  // How late the runner was where it mattered: while the verdict depended on its cadence, or, for
  // a case that ran out of time, at all.
  const timing = (err) => ({ late: Math.max(stepLate, (err?.wholeCase ? lag?.late() : lag?.cadenceLate()) ?? 0), slackMs });
  // The adapter gets the TLS files when the case is TLS; the runner speaks TLS itself unless tlsPeer.plain.
  const adapterTls = c.transport === "tls";
  const peer = c.tlsPeer ?? {};
  const useTls = adapterTls && !peer.plain;
  if (c.feature && ctx.features && !ctx.features.includes(c.feature))
    return { grade: "UNSUPPORTED", closeBehavior: null, message: `feature ${c.feature} not declared by the adapter` };
  if (adapterTls && !ctx.tls) throw new HarnessError("a TLS case needs certificates");
  if (useTls) {
    const problem = await tlsCapabilityProblem(peer, ctx.tls);
    if (problem) throw new HarnessError(`the runner cannot play this case's TLS peer: ${problem}`);
  }
  const peerOpts = peerTlsOptions(peer);
  const conns = new Map();
  const used = new Set(); // connection names the steps have used
  let client = null;
  let listener = null;
  let serverHandle = null;
  const accepted = [];
  const acceptWaiters = [];
  const tlsFailures = [];
  let consumedTlsFailures = 0;
  let tcpAttempts = 0;
  const wakeAll = () => {
    for (const w of acceptWaiters.splice(0)) w();
  };
  const waitAcceptChange = (deadline) =>
    new Promise((resolve) => {
      const t = setTimeout(() => setImmediate(resolve), Math.max(1, deadline - Date.now()));
      acceptWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  const config = scaleConfig(substituteConfig({ ...(c.config ?? {}) }, ctx.tls), scale);
  let getConn;
  /** Server role: opens connection `name`; resolves {conn} or {failed: error} (TLS handshake refused). */
  let openServerConn;
  /** What the step handlers see of the case being run. */
  const run = {
    log,
    ms,
    win,
    overshoot,
    useTls,
    conns,
    used,
    waitAcceptChange,
    within: (v) => Math.min(caseDeadline, Date.now() + ms(v)),
    get lag() {
      return lag;
    },
    get serverHandle() {
      return serverHandle;
    },
    get client() {
      return client;
    },
    get tcpAttempts() {
      return tcpAttempts;
    },
    afterWait: false, // a wait's cadence window stays open through the send that follows it
    closeBehavior: null, // of the last expectClose
    lastAccept: null, // the last accept an expectFrame matched, for "@accept.<path>" in later hellos
  };
  try {
    lag = watchLoopLag();
    if (c.role === "server") {
      const server = await ctx.server(config, adapterTls);
      serverHandle = server;
      if (server.unsupported)
        return { grade: "UNSUPPORTED", closeBehavior: null, message: `serve exited 127 for config ${JSON.stringify(config)}` };
      openServerConn = async (name, withinMs) => {
        const own = peer.clientCert === false ? {} : { cert: ctx.tls?.certPem, key: ctx.tls?.keyPem };
        const socket = useTls
          ? tls.connect({ host: "127.0.0.1", port: server.port, ca: ctx.tls.caPem, ...own, servername: "localhost", ...peerOpts })
          : net.connect({ host: "127.0.0.1", port: server.port });
        socket.setNoDelay(true);
        const ready = await new Promise((resolve) => {
          const t = withinMs ? setTimeout(() => resolve(new Error(`no TLS handshake within ${withinMs} ms`)), withinMs) : null;
          socket.once(useTls ? "secureConnect" : "connect", () => (clearTimeout(t), resolve(null)));
          socket.once("error", (err) => (clearTimeout(t), resolve(err)));
          socket.once("close", () => (clearTimeout(t), resolve(new Error("closed before the TLS handshake completed"))));
        });
        if (ready) {
          socket.destroy();
          return { failed: ready };
        }
        log(
          `# [${name}] connected to 127.0.0.1:${server.port}${useTls ? ` (${socket.getProtocol()}${socket.alpnProtocol ? `, ALPN ${socket.alpnProtocol}` : ""})` : peer.plain && adapterTls ? " (plain TCP to a TLS server)" : ""}`,
        );
        const conn = new PeerConnection(name, socket, log);
        conn.autoPong = Boolean(c.autoPong);
        conns.set(name, conn);
        return { conn };
      };
      getConn = async (name) => {
        if (conns.has(name)) return conns.get(name);
        const r = await openServerConn(name);
        if (r.failed) {
          if (!server.alive()) throw new Mismatch(`the server process is gone (${r.failed.code ?? r.failed.message})`);
          if (useTls) throw new Mismatch(`the TLS handshake with the server failed: ${r.failed.message}`);
          throw new HarnessError(`cannot connect to the adapter's server on port ${server.port}: ${r.failed.message}`);
        }
        return r.conn;
      };
    } else {
      listener = useTls
        ? tls.createServer({
            cert: ctx.tls.certPem,
            key: ctx.tls.keyPem,
            ca: ctx.tls.caPem,
            requestCert: peer.requestCert !== false,
            rejectUnauthorized: false,
            ...peerOpts,
          })
        : net.createServer();
      listener.on("connection", () => tcpAttempts++);
      listener.on(useTls ? "secureConnection" : "connection", (socket) => {
        socket.setNoDelay(true);
        const name = String.fromCharCode(97 + accepted.length);
        log(
          `# [${name}] accepted a connection from the client${useTls ? ` (${socket.getProtocol()}${socket.alpnProtocol ? `, ALPN ${socket.alpnProtocol}` : ""})` : ""}`,
        );
        const conn = new PeerConnection(name, socket, log);
        conn.autoPong = Boolean(c.autoPong);
        accepted.push(conn);
        conns.set(name, conn);
        wakeAll();
      });
      listener.on("tlsClientError", (err) => {
        log(`! TLS handshake with the client failed: ${err.message}`);
        tlsFailures.push(err);
        wakeAll();
      });
      await new Promise((resolve) => listener.listen(0, "127.0.0.1", resolve));
      const port = listener.address().port;
      const scenario = config.scenario ?? "hold";
      delete config.scenario;
      log(`# starting the client: connect --port ${port} --scenario ${scenario} --config ${JSON.stringify(config)}`);
      const startupMs = ctx.startupMs ?? ms(undefined, 20000);
      const clientOptions = {
        port,
        scenario,
        config,
        tls: adapterTls ? ctx.tls : undefined,
        timeoutMs: startupMs + Math.max(1000, caseDeadline - Date.now() + 2000),
      };
      // One process per client unless the run shares a connect-many process (ctx.clients).
      client = ctx.clients ? ctx.clients.start(clientOptions) : { done: runClient(ctx.agent, clientOptions) };
      client.done.then((r) => {
        client.finished = r;
        wakeAll();
      });
      // Starting the client's process is harness time: the case's clock starts at its first
      // connection attempt (every client case expects one).
      const startupDeadline = Date.now() + startupMs;
      while (tcpAttempts === 0 && !client.finished) {
        if (Date.now() >= startupDeadline)
          throw new HarnessError(`the client made no connection attempt within ${startupMs} ms of its start (start-up time is not graded)`);
        await waitAcceptChange(startupDeadline);
      }
      // An adapter that exits 127 for the scenario or its config has said "unsupported", whatever the steps expect.
      if (tcpAttempts === 0 && client.finished?.unsupported) throw Object.assign(new Error("unsupported"), { unsupported: true });
      if (tcpAttempts > 0) log("# the client's first connection attempt: the case's clock starts");
      caseDeadline = Date.now() + ms(c.timeoutMs, DEFAULT_CASE_MS);
      getConn = async (name) => {
        const index = name.charCodeAt(0) - 97;
        const deadline = Math.min(caseDeadline, Date.now() + ms(undefined, 5000));
        while (accepted.length <= index) {
          if (client.finished) {
            if (client.finished.unsupported) throw Object.assign(new Error("unsupported"), { unsupported: true });
            const r = client.finished;
            throw new Mismatch(
              `the client made no connection ${name} (exit ${r.exitCode}${r.result ? `, result ${JSON.stringify(r.result).slice(0, 300)}` : ""}; stderr: ${r.stderr.trim().slice(-300)})`,
            );
          }
          if (Date.now() >= deadline)
            throw new Mismatch(
              `the client did not open connection ${name} in time${tlsFailures.length ? ` (${tlsFailures.length} failed TLS handshake(s): ${tlsFailures.at(-1).message})` : ""}`,
            );
          await waitAcceptChange(deadline);
        }
        return accepted[index];
      };
    }

    // The runner's answers to heartbeats race the implementation's heartbeat timer all along.
    if (c.autoPong) lag.open();
    for (const [i, step] of c.steps.entries()) {
      stallHook(c.id, i + 1, ctx.attempt ?? 1, log);
      if (Date.now() > caseDeadline) throw new Mismatch(`the case ran out of time before step ${i + 1}`, { wholeCase: true });
      const name = step.conn ?? "a";
      const note = step.comment ? ` (${step.comment})` : "";
      const kind = Object.keys(step).find((k) => k !== "comment" && k !== "conn");
      const within = run.within;
      if (kind === "expectTlsRefused") {
        log(`# step ${i + 1}: ${kind}${note}`);
        await expectTlsRefused(step.expectTlsRefused, within(step.expectTlsRefused.withinMs));
        used.add(name);
        continue;
      }
      // Steps about the client process or the server process as a whole need no connection.
      const conn = NO_CONNECTION_STEPS.has(kind) ? null : await getConn(name);
      if (conn) used.add(name);
      log(`# step ${i + 1}: ${kind}${note}`);
      if (run.afterWait && !SEND_STEPS.has(kind)) {
        lag.close();
        run.afterWait = false;
      }
      const handler = Object.hasOwn(STEP_HANDLERS, kind) ? STEP_HANDLERS[kind] : null;
      if (!handler) throw new HarnessError(`unknown step ${JSON.stringify(step)}`);
      await handler(run, conn, step);
      if (run.afterWait && kind !== "wait") {
        lag.close();
        run.afterWait = false;
      }
    }
    return { grade: "PASS", closeBehavior: run.closeBehavior, message: "", ...timing() };
  } catch (err) {
    if (err.unsupported) return { grade: "UNSUPPORTED", closeBehavior: null, message: "connect exited 127 for this scenario" };
    if (err instanceof Mismatch) {
      log(`# mismatch: ${err.message}`);
      const should = err.should || c.level === "SHOULD";
      return {
        grade: should ? "NON_STRICT" : "FAIL",
        closeBehavior: err.closeBehavior ?? run.closeBehavior,
        message: err.message,
        ...timing(err),
      };
    }
    throw err;
  } finally {
    lag?.stop();
    for (const conn of conns.values()) conn.destroy();
    if (listener) listener.close();
    if (client) {
      const r = await Promise.race([client.done, sleep(ms(undefined, 3000)).then(() => null)]);
      if (r?.result) log(`# client result: ${JSON.stringify(r.result)}`);
      if (r?.stderr?.trim()) log(`# client stderr: ${r.stderr.trim().slice(-1000)}`);
    }
    log(`# done after ${Date.now() - t0} ms`);
  }

  /** The TLS handshake of the next connection must fail (server role: ours; client role: the client's). */
  async function expectTlsRefused(spec, deadline) {
    const limit = peer.maxVersion ? ` with a peer limited to ${peer.maxVersion}` : "";
    if (c.role === "server") {
      const r = await openServerConn(`tls-attempt`, Math.max(1, deadline - Date.now()));
      if (r.conn) {
        const protocol = r.conn.socket.getProtocol();
        conns.set(`tls-attempt-${conns.size}`, r.conn);
        throw new Mismatch(`the server completed a TLS handshake (${protocol})${limit}`);
      }
      log(`# TLS handshake refused as expected: ${r.failed.message}`);
      return;
    }
    for (;;) {
      if (accepted.length > used.size)
        throw new Mismatch(`the client completed a TLS handshake (${accepted.at(-1).socket.getProtocol()})${limit}`);
      if (tlsFailures.length > consumedTlsFailures) {
        consumedTlsFailures++;
        return;
      }
      if (client.finished?.unsupported) throw Object.assign(new Error("unsupported"), { unsupported: true });
      if (client.finished)
        throw new Mismatch(
          `the client ended without a (failed) TLS handshake${tcpAttempts === 0 ? ": it made no connection attempt" : ""}`,
        );
      if (Date.now() >= deadline) throw new Mismatch("no failed TLS handshake from the client in time");
      await waitAcceptChange(deadline);
    }
  }
}

/** size + 256 bytes of the counting pattern: message i is the slice at offset i mod 256. */
const patterns = new Map();
function patternBuffer(size) {
  let p = patterns.get(size);
  if (!p) {
    p = Buffer.allocUnsafe(size + 256);
    for (let j = 0; j < p.length; j++) p[j] = j & 0xff;
    patterns.set(size, p);
    if (patterns.size > 8) patterns.delete(patterns.keys().next().value);
  }
  return p;
}

/**
 * The runner's writes stop making progress: its unsent bytes (socket.writableLength) stay above
 * zero and unchanged for stallMs, i.e. the implementation stopped reading. Fails when they drain
 * to zero (it read everything) or the connection closes.
 */
async function expectWriteStall(conn, spec, deadline, stallMs, log) {
  const socket = conn.socket;
  let last = socket.writableLength;
  let since = Date.now();
  for (;;) {
    if (conn.ended)
      throw new Mismatch(`the connection closed while the runner was writing (${socket.writableLength} bytes unsent)`, {
        closeBehavior: "UNCLEAN",
      });
    const now = Date.now();
    const left = socket.writableLength;
    if (left === 0)
      throw new Mismatch(
        "the implementation read every byte the runner wrote while the runner did not read its answers: it did not stop reading",
      );
    if (left !== last) {
      last = left;
      since = now;
    } else if (now - since >= stallMs) {
      log(`# [${conn.name}] writes stalled with ${left} bytes unsent for ${now - since} ms`);
      return;
    }
    if (now >= deadline) throw new Mismatch(`the runner's writes never stalled for ${stallMs} ms (${left} bytes unsent)`);
    await sleep(Math.min(20, Math.max(1, deadline - now)));
  }
}

async function expectClose(conn, spec, deadline) {
  const wantFrame = spec.via === "reject" || spec.via === "close" || (spec.via === undefined && spec.code !== undefined);
  if (spec.via === "none") {
    // Bytes already buffered when the step starts count too (R9): "no byte" means none since the previous expect.
    if (!(await conn.closed(deadline)))
      throw new Mismatch("expected the connection to close, it stayed open", { closeBehavior: "NOT_CLOSED" });
    if (conn.buf.length > 0)
      throw new Mismatch(`expected a close without any frame, got ${conn.buf.toString("hex").slice(0, 200)}`, {
        closeBehavior: "WRONG_CODE",
      });
    return "OK";
  }
  if (spec.via === "tls-alert") {
    // Plain TCP to a TLS endpoint: whatever arrives must be TLS records (an alert), never a QWH frame.
    if (!(await conn.closed(deadline)))
      throw new Mismatch("expected the connection to close, it stayed open", { closeBehavior: "NOT_CLOSED" });
    let b = conn.buf;
    while (b.length > 0) {
      if (b.length < 5 || b[0] < 20 || b[0] > 24 || b[1] !== 0x03 || b[2] > 0x04 || b.length < 5 + b.readUInt16BE(3)) {
        throw new Mismatch(`expected only TLS records before the close, got ${b.toString("hex").slice(0, 200)}`, {
          closeBehavior: "WRONG_CODE",
        });
      }
      b = b.subarray(5 + b.readUInt16BE(3));
    }
    conn.buf = Buffer.alloc(0);
    return "OK";
  }
  if (!wantFrame) {
    if (spec.maxBytes !== undefined) {
      // Count, do not keep: a flood may follow.
      conn.counted = conn.buf.length;
      conn.buf = Buffer.alloc(0);
      conn.countOnly = true;
      conn.flooding = true;
    }
    if (!(await conn.closed(deadline)))
      throw new Mismatch("expected the connection to close, it stayed open", { closeBehavior: "NOT_CLOSED" });
    if (spec.maxBytes !== undefined && conn.counted > spec.maxBytes) {
      throw new Mismatch(`${conn.counted} bytes arrived before the close, more than ${spec.maxBytes}: the queued data was not discarded`);
    }
    conn.buf = Buffer.alloc(0);
    return "OK";
  }
  const expected = `${spec.via === "reject" ? "a reject" : spec.via === "close" ? "a CLOSE" : "a reject or CLOSE"}${spec.code ? ` with ${spec.code}` : ""}`;
  for (;;) {
    if (conn.buf.length === 0 && conn.ended) {
      // Closed without the frame: a missing reject is a MUST (QWH-ERR-002), a missing CLOSE a SHOULD (QWH-ERR-008).
      throw new Mismatch(`expected ${expected}, the transport closed without it`, {
        closeBehavior: "UNCLEAN",
        should: spec.via === "close",
      });
    }
    let f;
    try {
      f = await conn.frame(deadline, { what: expected });
    } catch (err) {
      if (err instanceof Mismatch && conn.ended && conn.buf.length === 0)
        throw new Mismatch(`expected ${expected}, the transport closed without it`, {
          closeBehavior: "UNCLEAN",
          should: spec.via === "close",
        });
      if (err instanceof Mismatch) err.closeBehavior ??= "NOT_CLOSED";
      throw err;
    }
    if (f.control && (f.type === 0x01 || f.type === 0x02) && (spec.skipControl || conn.autoPong)) continue;
    const closing = closingFrame(f);
    if (!closing || (spec.via && closing.via !== spec.via)) {
      throw new Mismatch(
        `expected ${expected}, got ${f.control ? `control type ${f.type}` : "frame"} ${header(f.header).toString("hex")} ${f.payload.toString("hex").slice(0, 200)}`,
        { closeBehavior: "WRONG_CODE" },
      );
    }
    if (spec.code && closing.code !== spec.code)
      throw new Mismatch(`expected ${expected}, got ${closing.via} with ${closing.code}`, { closeBehavior: "WRONG_CODE" });
    break;
  }
  if (!(await conn.closed(deadline))) throw new Mismatch(`got ${expected}, but the transport stayed open`, { closeBehavior: "NOT_CLOSED" });
  return "OK";
}

function checkResult(want, finished, log) {
  if (finished.unsupported) throw Object.assign(new Error("unsupported"), { unsupported: true });
  const r = finished.result;
  if (!r)
    throw new Mismatch(`the client printed no result line (exit ${finished.exitCode}; stderr: ${finished.stderr.trim().slice(-300)})`);
  log(`# result: ${JSON.stringify(r).slice(0, 2000)}`);
  const cmp = (name, w, g) => {
    if (w !== undefined && !deepEqual(w, g ?? null))
      throw new Mismatch(`client result ${name}: expected ${JSON.stringify(w)}, got ${JSON.stringify(g ?? null)}`);
  };
  cmp("ok", want.ok, r.ok);
  cmp("error", want.error, r.error);
  cmp("closeCode", want.closeCode, r.closeCode);
  cmp("received", want.received, r.receivedHex);
  cmp("receivedCount", want.receivedCount, r.received);
}

export { EXIT_UNSUPPORTED };
