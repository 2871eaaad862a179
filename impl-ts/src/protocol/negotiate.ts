/**
 * The server's handshake decision for a received hello, in the order the
 * spec fixes: shape, profile, QWH version, framing, application version,
 * signature. The policy hook (possibly async) runs after this, in the server.
 * @packageDocumentation
 */
import { DEFAULT_MAX_FRAME_LENGTH, DEFAULT_SIGNATURE_WINDOW_MS, Feature, QWH_RESUME_VERSION, QWH_VERSION } from "./constants.js";
import type { WireErrorCode } from "./error-codes.js";
import { InvalidHelloError, type ProtocolError } from "./errors.js";
import { parseQwhVersion, type QwhVersion, type Tags } from "./fields.js";
import { parseHello, type HelloLegacy, type HelloV1, type ParsedHello } from "./hello.js";
import type { AcceptFrame } from "./server-answer.js";
import { verifyHelloSignature, type ReplayCache } from "./signature.js";
import { checkHelloResume } from "./resume.js";

/** The server-side handshake configuration. */
export interface ServerHandshakePolicy {
  /** QWH version the server speaks; default "1.0". */
  qwh?: string;
  /** Features the server is willing to use (e.g. ["control"]). */
  features: readonly string[];
  /** The server's receive maximum, sent in the accept. */
  maxFrameLength?: number;
  /** The application protocol version (0.3's `protocolVersion`). */
  version?: string;
  /** Server tags sent in the accept. */
  tags?: Tags;
  framing?: "length-prefixed" | "none";
  legacyAllowed?: boolean;
  requireSignature?: boolean;
  signatureWindowMs?: number;
  /** TLS exporter bytes of this connection (RFC 9266), or null without TLS. */
  exporter?: Uint8Array | null;
  replayCache?: ReplayCache | null;
  /** Clock, in ms since the epoch. */
  now?: () => number;
  /**
   * Session resumption enabled (feature `resume`, QWH/1.1): the server then
   * speaks 1.1, checks the hello member "resume" at step 3 (QWH-RESUME-004)
   * and lists "resume" where QWH-RESUME-003 allows; the session itself
   * (step 11) is the caller's.
   */
  resume?: boolean;
  /** Step 8: checks "tls"-prefixed tags against the TLS session; returns a reason on mismatch. */
  checkTlsTags?: (tags: Tags | undefined) => string | null;
}

/** The outcome of {@link decideHandshake}. */
export type HandshakeDecision =
  | { type: "accept"; accept: AcceptFrame; hello: HelloV1 }
  | { type: "legacy"; hello: HelloLegacy }
  | { type: "reject"; code: WireErrorCode; reason: string; hello?: ParsedHello }
  /** A refused 0.3 hello: close without any frame (a 0.3 client cannot read one). */
  | { type: "close"; code: WireErrorCode; reason: string; hello?: HelloLegacy };

/**
 * Major of an application version: its leading ASCII digits when "." or the
 * end follows, as a digit string without leading zeros (compared exactly,
 * whatever its length), or null.
 */
function appMajor(v: string): string | null {
  const m = /^([0-9]+)(?:\.|$)/.exec(v);
  return m ? m[1]!.replace(/^0+(?=[0-9])/, "") : null;
}

/** True when two application versions are compatible (same major, or equal when either has none). */
export function appVersionsCompatible(server: string, client: string): boolean {
  const a = appMajor(server);
  const b = appMajor(client);
  if (a === null || b === null) return server === client;
  return a === b;
}

/**
 * Decides the answer to the hello in `payload`, running the checks in the
 * order of spec section 8.1 (the policy hook, step 10, is the caller's).
 * Never throws for peer input.
 */
export function decideHandshake(payload: Uint8Array, policy: ServerHandshakePolicy): HandshakeDecision {
  let hello: ParsedHello;
  try {
    hello = parseHello(payload, { legacyAllowed: policy.legacyAllowed ?? false });
  } catch (err) {
    const e = err as ProtocolError;
    // A malformed 0.3 hello on a legacy listener is refused like any 0.3 hello: without a frame.
    if (e instanceof InvalidHelloError && e.legacy && policy.legacyAllowed && e.code === "E_INVALID_HANDSHAKE") {
      return { type: "close", code: e.code, reason: e.message };
    }
    return { type: "reject", code: e.code as WireErrorCode, reason: e.message };
  }
  const framing = policy.framing ?? "length-prefixed";
  if (hello.profile === "legacy") {
    const refuse = (code: WireErrorCode, reason: string) => ({ type: "close" as const, code, reason, hello });
    if (framing === "none") return refuse("E_FRAMING_MISMATCH", "raw framing needs a v1 hello");
    if (policy.version !== undefined && hello.version !== undefined && !appVersionsCompatible(policy.version, hello.version)) {
      return refuse("E_VERSION_MISMATCH", `application version ${hello.version} does not match ${policy.version}`);
    }
    if (policy.requireSignature) return refuse("E_SIGNATURE_REQUIRED", "a 0.3 hello cannot carry a QWH/1 signature");
    return { type: "legacy", hello };
  }
  const reject = (code: WireErrorCode, reason: string) => ({ type: "reject" as const, code, reason, hello });
  const resume = policy.resume === true;
  const offersResume = resume && hello.qwhVersion.major === 1 && hello.qwhVersion.minor >= 1 && hello.features.includes(Feature.RESUME);
  if (offersResume) {
    // Part of the shape check (step 3), where a malformed member is E_INVALID_HANDSHAKE.
    const bad = checkHelloResume(hello.raw["resume"]);
    if (bad) return reject("E_INVALID_HANDSHAKE", bad);
  }
  const mine = parseQwhVersion(policy.qwh ?? (resume ? QWH_RESUME_VERSION : QWH_VERSION)) as QwhVersion;
  if (hello.qwhVersion.major !== mine.major) {
    return reject("E_UNSUPPORTED_VERSION", `qwh ${hello.qwh} is not major ${mine.major}`);
  }
  const offersRaw = hello.features.includes(Feature.RAW);
  if (offersRaw !== (framing === "none")) {
    return reject("E_FRAMING_MISMATCH", offersRaw ? "server uses length-prefixed framing" : "server uses raw framing; offer feature raw");
  }
  if (policy.version !== undefined && (hello.version === undefined || !appVersionsCompatible(policy.version, hello.version))) {
    return reject("E_VERSION_MISMATCH", `application version ${hello.version ?? "(none)"} does not match ${policy.version}`);
  }
  const tlsMismatch = policy.checkTlsTags?.(hello.tags) ?? null;
  if (tlsMismatch) return reject("E_TLS_PIN_MISMATCH", tlsMismatch);
  const sig = hello.sig ?? hello.sigMalformed;
  if (sig === undefined) {
    if (policy.requireSignature) return reject("E_SIGNATURE_REQUIRED", "this server requires a signed hello");
  } else {
    const code = verifyHelloSignature(hello.raw, sig, {
      now: policy.now ? policy.now() : Date.now(),
      windowMs: policy.signatureWindowMs ?? DEFAULT_SIGNATURE_WINDOW_MS,
      exporter: policy.exporter ?? null,
      replayCache: policy.replayCache ?? null,
    });
    if (code) return reject(code, typeof sig === "string" ? `malformed sig: ${sig}` : "hello signature does not verify");
  }
  // Raw framing carries no control frames; "raw" is enabled exactly when the framing is "none".
  const enabled = new Set(framing === "none" ? [Feature.RAW] : policy.features.filter((f) => f !== Feature.RAW));
  const minor = Math.min(hello.qwhVersion.minor, mine.minor);
  // "resume" needs 1.1 and "control" (QWH-RESUME-003, QWH-NEG-004); whether a session can be held is the caller's.
  if (!resume || minor < 1 || !hello.features.includes(Feature.CONTROL) || !enabled.has(Feature.CONTROL)) enabled.delete(Feature.RESUME);
  else enabled.add(Feature.RESUME);
  const accept: AcceptFrame = {
    qwh: `${mine.major}.${minor}`,
    features: hello.features.filter((f) => enabled.has(f)),
    maxFrameLength: policy.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
  };
  if (policy.tags !== undefined) accept.tags = { ...policy.tags };
  if (policy.version !== undefined) accept.version = policy.version;
  return { type: "accept", accept, hello };
}
