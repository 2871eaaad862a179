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

/** An event in vector notation. */
export type VectorEvent =
  | { type: "message"; hex: string }
  | { type: "ping"; hex: string }
  | { type: "pong"; hex: string }
  | { type: "close"; code: string; reason?: string };

/** A vector group's parameters or a test's inputs, as in the vector files. */
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
      : { outcome: "reject", reject: { code: answer.reject.code, ...(answer.reject.reason !== undefined ? { reason: answer.reject.reason } : {}) }, error: null };
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
  signature,
  "canonical-json": canonicalJsonOperation,
};
