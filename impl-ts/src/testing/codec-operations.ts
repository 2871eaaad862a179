/**
 * The codec operations of the conformance adapter contract, implemented on
 * the TS codec: each golden-vector kind maps to one operation taking the
 * vector's group parameters and inputs and returning its outputs. Used by the
 * vector tests and by the conformance adapter, so both test the same code.
 *
 * For a conformance adapter written in TypeScript (spec Appendix D): answer
 * each codec-mode request line with `codecOperations[request.op](request.params, input)`.
 *
 * @example
 * ```ts
 * import { codecOperations } from "qwormhole/testing";
 *
 * const out = codecOperations["frame-decode"]!(
 *   { phase: "open", maxFrameLength: 16, features: [] },
 *   { hex: "000000026869", end: true },
 * );
 * // { events: [{ type: "message", hex: "6869" }], error: null }
 * ```
 * @module qwormhole/testing
 */
import { canonicalJson } from "../protocol/canonical-json.js";
import { DEFAULT_SIGNATURE_WINDOW_MS, Feature, MAX_HANDSHAKE_LENGTH } from "../protocol/constants.js";
import { QWormholeError } from "../protocol/errors.js";
import { FrameDecoder } from "../protocol/frame-decoder.js";
import { FrameEncoder } from "../protocol/frame-encoder.js";
import { FrameReceiver } from "../protocol/frame-receiver.js";
import { parseHello } from "../protocol/hello.js";
import { decideHandshake } from "../protocol/negotiate.js";
import { parseServerAnswer } from "../protocol/server-answer.js";
import { ReplayCache, helloSignedBytes, verifyHelloSignature } from "../protocol/signature.js";
import { containsNonInteger, isJsonObject, parseStrictJson } from "../protocol/strict-json.js";
import { parseControlPayload } from "../protocol/control.js";
import { ResumeState, type ResumeLimits } from "../protocol/resume.js";
import { SessionStore } from "../server/session-store.js";
import { RESUME_DEFAULTS } from "../transport/resume-session.js";

/** An event in vector notation. */
export type VectorEvent =
  | { type: "message"; hex: string }
  | { type: "ping"; hex: string }
  | { type: "pong"; hex: string }
  | { type: "close"; code: string; reason?: string };

/** A vector group's parameters or a test's inputs, as in the vector files. */
// The vector files' JSON, read by every operation with its own shape in mind.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Params = Record<string, any>;
/** An operation's outputs, under the names the vector files use. */
export type Output = Record<string, unknown>;

const hexToBuffer = (hex: string): Buffer => Buffer.from(hex, "hex");

/** Splits `bytes` into chunks of the given sizes (the last chunk takes the rest). */
export function splitChunks(bytes: Buffer, sizes?: readonly number[]): Buffer[] {
  if (!sizes || sizes.length === 0) return [bytes];
  const out: Buffer[] = [];
  let off = 0;
  for (const n of sizes) {
    if (off >= bytes.length) break;
    out.push(bytes.subarray(off, Math.min(bytes.length, off + n)));
    off += n;
  }
  if (off < bytes.length) out.push(bytes.subarray(off));
  return out;
}

function codeOf(err: unknown): string {
  if (err instanceof QWormholeError) return err.code;
  throw err;
}

/** kind "frame-decode". `input.chunks` optionally lists chunk sizes. */
export function frameDecode(group: Params, input: Params): Output {
  const events: VectorEvent[] = [];
  const bytes = hexToBuffer(input.hex);
  const onMessage = (p: Buffer) => {
    events.push({ type: "message", hex: p.toString("hex") });
  };
  let target: { push(c: Buffer): void; end(): void };
  if (group.phase === "handshake") {
    target = new FrameDecoder(
      { onMessage, onControl: () => undefined },
      { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" },
    );
  } else {
    target = new FrameReceiver(
      {
        onMessage,
        onPing: (b) => events.push({ type: "ping", hex: b.toString("hex") }),
        onPong: (b) => events.push({ type: "pong", hex: b.toString("hex") }),
        onClose: (info) => events.push({ type: "close", ...info }),
      },
      { maxFrameLength: group.maxFrameLength, features: group.features ?? [] },
    );
  }
  let error: string | null = null;
  try {
    for (const chunk of splitChunks(bytes, input.chunks)) target.push(chunk);
    if (input.end !== false) target.end();
  } catch (err) {
    error = codeOf(err);
  }
  return { events, error };
}

/** kind "frame-encode". */
export function frameEncode(group: Params, input: Params): Output {
  const encoder = new FrameEncoder({ peerMaxFrameLength: group.peerMaxFrameLength });
  const control = (group.features ?? []).includes(Feature.CONTROL);
  let error: string | null = null;
  try {
    for (const ev of input.events as VectorEvent[]) {
      if (ev.type === "message") {
        encoder.addData(hexToBuffer(ev.hex));
        continue;
      }
      if (!control) throw new QWormholeError("E_INVALID_CONTROL_FRAME", "control frames need the control feature");
      if (ev.type === "ping") encoder.addPing(hexToBuffer(ev.hex));
      else if (ev.type === "pong") encoder.addPong(hexToBuffer(ev.hex));
      else encoder.addClose(ev.reason === undefined ? { code: ev.code } : { code: ev.code, reason: ev.reason });
    }
  } catch (err) {
    error = codeOf(err);
  }
  return { hex: encoder.takeBuffer().toString("hex"), error };
}

/** kind "hello". */
export function hello(group: Params, input: Params): Output {
  try {
    const h = parseHello(hexToBuffer(input.hex), { legacyAllowed: group.legacyAllowed ?? false });
    const out: Record<string, unknown> = {};
    if (h.profile === "v1") {
      out["qwh"] = h.qwh;
      out["features"] = h.features;
    }
    if (h.version !== undefined) out["version"] = h.version;
    if (h.tags !== undefined) out["tags"] = h.tags;
    if (h.profile === "v1" && h.maxFrameLength !== undefined) out["maxFrameLength"] = h.maxFrameLength;
    out["signed"] = h.profile === "v1" && (h.sig !== undefined || h.sigMalformed !== undefined);
    return { profile: h.profile, hello: out, error: null };
  } catch (err) {
    return { error: codeOf(err) };
  }
}

/** kind "accept". */
export function accept(group: Params, input: Params): Output {
  try {
    const answer = parseServerAnswer(hexToBuffer(input.hex), group.offered);
    return answer.outcome === "accept"
      ? { outcome: "accept", accept: answer.accept, error: null }
      : {
          outcome: "reject",
          reject: { code: answer.reject.code, ...(answer.reject.reason !== undefined ? { reason: answer.reject.reason } : {}) },
          error: null,
        };
  } catch (err) {
    return { error: codeOf(err) };
  }
}

function replayCacheOf(entries: { key: string; nonce: string }[] | undefined, now: number, windowMs: number): ReplayCache {
  const cache = new ReplayCache(windowMs);
  for (const e of entries ?? []) cache.add(e.key, e.nonce, now, now);
  return cache;
}

/** kind "negotiate". */
export function negotiate(group: Params, input: Params): Output {
  const s = group.server;
  const windowMs = s.signatureWindowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  const decision = decideHandshake(hexToBuffer(input.hex), {
    qwh: s.qwh,
    features: s.features ?? [],
    maxFrameLength: s.maxFrameLength,
    version: s.version,
    tags: s.tags,
    framing: s.framing,
    legacyAllowed: s.legacyAllowed,
    requireSignature: s.requireSignature,
    signatureWindowMs: windowMs,
    exporter: s.tls ? hexToBuffer(s.tls.exporterHex) : null,
    replayCache: replayCacheOf(input.replayCache, s.now, windowMs),
    now: () => s.now,
  });
  switch (decision.type) {
    case "accept":
      if (s.policy === "reject") return { error: "E_POLICY_REJECTED", answer: { type: "reject", code: "E_POLICY_REJECTED" } };
      return { error: null, answer: { type: "accept", ...decision.accept } };
    case "legacy":
      if (s.policy === "reject") return { error: "E_POLICY_REJECTED", answer: { type: "close" } };
      return { error: null, answer: { type: "legacy" } };
    case "reject":
      return { error: decision.code, answer: { type: "reject", code: decision.code } };
    case "close":
      return { error: decision.code, answer: { type: "close" } };
  }
}

/** One session event in vector notation (kind "resume", model "session"). */
type SessionEvent = { type: "data"; n: number } | { type: "held" } | { type: "deliver"; n: number } | { type: "ack"; count: number };

/**
 * kind "resume" (feature `resume`, spec section 10.7). Model "session": the
 * counting, ACK and replay rules of one side ({@link ResumeState}), driven by
 * `steps`. Model "server-hello": the server's answer to a hello offering
 * "resume" with the sessions it holds. Model "client-accept": the client's
 * check of an accept listing "resume".
 */
export function resume(group: Params, input: Params): Output {
  switch (group.model) {
    case "session":
      return resumeSession(group, input);
    case "server-hello":
      return resumeServerHello(group, input);
    case "client-accept": {
      try {
        const answer = parseServerAnswer(hexToBuffer(input.hex), {
          qwh: "1.1",
          features: group.offered.features,
          session: group.session ?? null,
        });
        if (answer.outcome === "reject") return { error: null, answer: { type: "reject", code: answer.reject.code } };
        return { error: null, answer: { type: "accept", ...answer.accept } };
      } catch (err) {
        return { error: codeOf(err) };
      }
    }
    default:
      throw new Error(`unknown resume model ${String(group.model)}`);
  }
}

function resumeSession(group: Params, input: Params): Output {
  const state = new ResumeState(group.own as ResumeLimits, group.peer as ResumeLimits);
  const events: SessionEvent[] = [];
  const held: number[] = [];
  const release = () => {
    while (held.length > 0 && state.canSend(held[0]!)) events.push({ type: "data", n: state.recordSent(EMPTY_PAYLOAD, held.shift()!) });
  };
  try {
    for (const step of input.steps as Params[]) {
      if (step.send !== undefined) {
        if (held.length > 0 || !state.canSend(step.send)) {
          held.push(step.send);
          events.push({ type: "held" });
        } else events.push({ type: "data", n: state.recordSent(EMPTY_PAYLOAD, step.send) });
      } else if (step.receive !== undefined) {
        events.push({ type: "deliver", n: state.received + 1 });
        if (state.delivered(step.receive)) events.push({ type: "ack", count: state.report() });
      } else if (step.control !== undefined) {
        const event = parseControlPayload(hexToBuffer(step.control), true);
        if (event?.type === "ack") {
          state.acknowledge(event.count);
          if (event.request) events.push({ type: "ack", count: state.report() });
          release();
        }
      } else if (step.resume !== undefined) {
        state.acknowledge(step.resume, "E_RESUME_MISMATCH");
        const from = state.peerReceived;
        for (let i = 1; i <= state.unacked; i++) events.push({ type: "data", n: from + i });
        release();
      }
    }
  } catch (err) {
    return { events, error: codeOf(err) };
  }
  return { events, error: null };
}

const EMPTY_PAYLOAD = new Uint8Array(0);

function resumeServerHello(group: Params, input: Params): Output {
  const s = group.server;
  const windowMs = s.signatureWindowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  const decision = decideHandshake(hexToBuffer(input.hex), {
    qwh: s.qwh,
    features: s.features ?? [],
    maxFrameLength: s.maxFrameLength,
    framing: "length-prefixed",
    resume: true,
    signatureWindowMs: windowMs,
    replayCache: replayCacheOf(undefined, s.now, windowMs),
    now: () => s.now,
  });
  if (decision.type === "reject") return { error: decision.code, answer: { type: "reject", code: decision.code } };
  if (decision.type !== "accept") throw new Error("a v1 hello was expected");
  const accept = decision.accept;
  if (accept.features.includes("resume")) {
    let random = hexToBuffer(group.random ?? "");
    const store = new SessionStore<null>({ ...RESUME_DEFAULTS, ...s.resume }, (n) => {
      if (random.length < n) throw new Error("the vector's random bytes ran out");
      const out = random.subarray(0, n);
      random = random.subarray(n);
      return Buffer.from(out);
    });
    for (const h of (group.sessions ?? []) as Params[]) store.load(h as never);
    const d = store.decide(decision.hello, s.tls === true, () => undefined);
    if (d.type === "refuse") return { error: d.refusal.code, answer: { type: "reject", code: d.refusal.code } };
    if (d.type === "none") accept.features.splice(accept.features.indexOf("resume"), 1);
    else accept.resume = d.grant;
    store.clear();
  }
  return { error: null, answer: { type: "accept", ...accept } };
}

/** kind "signature". */
export function signature(group: Params, input: Params): Output {
  let h;
  try {
    h = parseHello(hexToBuffer(input.hex), { legacyAllowed: false });
  } catch (err) {
    return { error: codeOf(err) };
  }
  const sig = h.profile === "v1" ? (h.sig ?? h.sigMalformed) : undefined;
  if (h.profile !== "v1" || sig === undefined) return { error: "E_SIGNATURE_REQUIRED" };
  const exporter = group.tls ? hexToBuffer(group.tls.exporterHex) : null;
  const signedHex = helloSignedBytes(h.raw, exporter).toString("hex");
  const windowMs = group.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  const error = verifyHelloSignature(h.raw, sig, {
    now: group.now,
    windowMs,
    exporter,
    replayCache: replayCacheOf(input.replayCache, group.now, windowMs),
  });
  return { signedHex, error };
}

/** kind "canonical-json". */
export function canonicalJsonOperation(_group: Params, input: Params): Output {
  try {
    const value = parseStrictJson(hexToBuffer(input.hex));
    if (!isJsonObject(value) || containsNonInteger(value)) return { error: "E_INVALID_HANDSHAKE" };
    return { canonicalHex: Buffer.from(canonicalJson(value), "utf8").toString("hex"), error: null };
  } catch {
    return { error: "E_INVALID_HANDSHAKE" };
  }
}

/** Operation by vector kind / adapter op name. */
export const codecOperations: Record<string, (group: Params, input: Params) => Output> = {
  "frame-decode": frameDecode,
  "frame-encode": frameEncode,
  hello,
  accept,
  negotiate,
  resume,
  signature,
  "canonical-json": canonicalJsonOperation,
};
