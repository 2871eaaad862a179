/**
 * Session resumption (feature `resume`, QWH/1.1, spec section 10.7): the ACK
 * control frame, the hello and accept members "resume", the server's check of
 * a hello that names a session, and {@link ResumeState}, the I/O-free
 * counting, acknowledgement and replay rules of one side of a session.
 * @packageDocumentation
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { FRAME_HEADER_LENGTH, MAX_SAFE_JSON_INTEGER } from "./constants.js";
import type { WireErrorCode } from "./error-codes.js";
import { ProtocolError } from "./errors.js";
import type { JsonValue } from "./strict-json.js";

/** Body length of an ACK: flags byte + 8-byte count (QWH-ACK-001). */
export const ACK_BODY_LENGTH = 9;
/** Bit 0 of the ACK flags: the sender asks for an ACK (QWH-ACK-007). */
export const ACK_REQUEST_BIT = 0x01;
/** Bytes of a session id (QWH-RESUME-006). */
export const SESSION_ID_BYTES = 16;
/** Bytes of a resume token (QWH-RESUME-006). */
export const SESSION_TOKEN_BYTES = 32;
/** Largest maxUnackedMessages (QWH-RESUME-002). */
export const MAX_UNACKED_MESSAGES_LIMIT = 0xffff_ffff;

/** A side's replay-buffer bounds, as announced in its hello or accept. */
export interface ResumeLimits {
  /** Sent data frames kept unacknowledged at most. */
  maxUnackedMessages: number;
  /** Their bytes at most (4 + payload length per frame). */
  maxUnackedBytes: number;
}

/** The hello member "resume" (QWH-RESUME-002). */
export interface HelloResume extends ResumeLimits {
  /** Set together with `token` and `received` to resume a session. */
  id?: string;
  token?: string;
  received?: number;
}

/** The accept member "resume" (QWH-RESUME-005). */
export interface AcceptResume extends ResumeLimits {
  id: string;
  token: string;
  windowMs: number;
  received: number;
  resumed: boolean;
}

/** A decoded ACK body. */
export interface AckBody {
  request: boolean;
  count: number;
}

/** Encodes an ACK body: flags (bit 0 = request), then the count as 8 bytes big-endian. */
export function encodeAckBody(request: boolean, count: number): Buffer {
  const body = Buffer.allocUnsafe(ACK_BODY_LENGTH);
  body[0] = request ? ACK_REQUEST_BIT : 0;
  body.writeUInt32BE(Math.floor(count / 0x1_0000_0000), 1);
  body.writeUInt32BE(count >>> 0, 5);
  return body;
}

/** Decodes an ACK body; throws E_INVALID_CONTROL_FRAME for a wrong length or a count above 2^53-1 (QWH-ACK-001). */
export function parseAckBody(body: Uint8Array): AckBody {
  if (body.length !== ACK_BODY_LENGTH) {
    throw new ProtocolError("E_INVALID_CONTROL_FRAME", `ACK body of ${body.length} bytes (must be ${ACK_BODY_LENGTH})`);
  }
  const high = ((body[1]! << 24) | (body[2]! << 16) | (body[3]! << 8) | body[4]!) >>> 0;
  const low = ((body[5]! << 24) | (body[6]! << 16) | (body[7]! << 8) | body[8]!) >>> 0;
  if (high > 0x1f_ffff) throw new ProtocolError("E_INVALID_CONTROL_FRAME", "ACK count above 2^53-1");
  // Bits 1-7 of the flags are ignored (QWH-ACK-002).
  return { request: (body[0]! & ACK_REQUEST_BIT) !== 0, count: high * 0x1_0000_0000 + low };
}

/** Decodes canonical unpadded base64url of exactly `bytes` bytes, or null. */
function b64(text: unknown, bytes: number): Buffer | null {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const out = Buffer.from(text, "base64url");
  return out.length === bytes && out.toString("base64url") === text ? out : null;
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const isObject = (v: unknown): v is { [key: string]: JsonValue } => typeof v === "object" && v !== null && !Array.isArray(v);

function checkLimits(v: { [key: string]: JsonValue }): string | null {
  if (!isInt(v["maxUnackedMessages"], 1, MAX_UNACKED_MESSAGES_LIMIT))
    return "resume.maxUnackedMessages is not an integer from 1 to 4294967295";
  if (!isInt(v["maxUnackedBytes"], 1, MAX_SAFE_JSON_INTEGER)) return "resume.maxUnackedBytes is not an integer from 1 to 2^53-1";
  return null;
}

/** Checks a hello member "resume" (QWH-RESUME-002); returns the reason it is invalid, or null. */
export function checkHelloResume(v: unknown): string | null {
  if (!isObject(v)) return "resume is not an object";
  const limits = checkLimits(v);
  if (limits) return limits;
  const named = ["id", "token", "received"].filter((k) => v[k] !== undefined).length;
  if (named === 0) return null;
  if (named !== 3) return "resume names a session without all of id, token and received";
  if (!b64(v["id"], SESSION_ID_BYTES)) return "resume.id is not 16 bytes of canonical base64url";
  if (!b64(v["token"], SESSION_TOKEN_BYTES)) return "resume.token is not 32 bytes of canonical base64url";
  if (!isInt(v["received"], 0, MAX_SAFE_JSON_INTEGER)) return "resume.received is not an integer from 0 to 2^53-1";
  return null;
}

/** Checks an accept member "resume" (QWH-RESUME-005); returns the reason it is invalid, or null. */
export function checkAcceptResume(v: unknown): string | null {
  if (!isObject(v)) return "resume is not an object";
  const limits = checkLimits(v);
  if (limits) return limits;
  if (!b64(v["id"], SESSION_ID_BYTES)) return "resume.id is not 16 bytes of canonical base64url";
  if (!b64(v["token"], SESSION_TOKEN_BYTES)) return "resume.token is not 32 bytes of canonical base64url";
  if (!isInt(v["windowMs"], 0, MAX_SAFE_JSON_INTEGER)) return "resume.windowMs is not an integer from 0 to 2^53-1";
  if (!isInt(v["received"], 0, MAX_SAFE_JSON_INTEGER)) return "resume.received is not an integer from 0 to 2^53-1";
  if (typeof v["resumed"] !== "boolean") return "resume.resumed is not a boolean";
  return null;
}

/** A checked hello member as an object. */
export function toHelloResume(v: { [key: string]: JsonValue }): HelloResume {
  const out: HelloResume = { maxUnackedMessages: v["maxUnackedMessages"] as number, maxUnackedBytes: v["maxUnackedBytes"] as number };
  if (v["id"] !== undefined) {
    out.id = v["id"] as string;
    out.token = v["token"] as string;
    out.received = v["received"] as number;
  }
  return out;
}

/** A checked accept member as an object. */
export function toAcceptResume(v: { [key: string]: JsonValue }): AcceptResume {
  return {
    id: v["id"] as string,
    token: v["token"] as string,
    windowMs: v["windowMs"] as number,
    maxUnackedMessages: v["maxUnackedMessages"] as number,
    maxUnackedBytes: v["maxUnackedBytes"] as number,
    received: v["received"] as number,
    resumed: v["resumed"] as boolean,
  };
}

/** The hello member as JSON. */
export function helloResumeToJson(r: HelloResume): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = { maxUnackedMessages: r.maxUnackedMessages, maxUnackedBytes: r.maxUnackedBytes };
  if (r.id !== undefined) {
    out["id"] = r.id;
    out["token"] = r.token!;
    out["received"] = r.received!;
  }
  return out;
}

/** The accept member as JSON. */
export function acceptResumeToJson(r: AcceptResume): { [key: string]: JsonValue } {
  return { ...r };
}

/** Random bytes for ids and tokens (QWH-RESUME-006); replaceable for golden vectors. */
export type RandomSource = (bytes: number) => Buffer;
/** The default {@link RandomSource}: the CSPRNG of node:crypto. */
export const secureRandom: RandomSource = (n) => randomBytes(n);

/** Compares two tokens in a time that does not depend on their content (QWH-RESUME-006). */
export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, "base64url");
  const y = Buffer.from(b, "base64url");
  if (x.length !== SESSION_TOKEN_BYTES || y.length !== SESSION_TOKEN_BYTES) return false;
  return timingSafeEqual(x, y);
}

/** What a server holds about a session for the check of a hello that names it. */
export interface SessionFacts {
  token: string;
  /** The token a resume presented, valid until the first frame on the resumed connection (QWH-RESUME-018). */
  previousToken: string | null;
  /** The key that signed the session's first hello, or null (unsigned). */
  key: string | null;
  /** Whether the session began over TLS. */
  tls: boolean;
  /** The client's receive maximum in the session's first hello. */
  maxFrameLength: number;
  /** Data frames the server sent in the session. */
  sent: number;
  /** The highest count the client reported. */
  clientReported: number;
}

/** A refusal of a resume: the code and why. */
export interface ResumeRefusal {
  code: Extract<WireErrorCode, "E_SESSION_UNKNOWN" | "E_RESUME_MISMATCH">;
  reason: string;
}

/**
 * The server's check of a hello that names a session (step 11 of spec
 * section 8.1): QWH-RESUME-015 (E_SESSION_UNKNOWN, session untouched), then
 * QWH-RESUME-016 (E_RESUME_MISMATCH, the caller ends the session).
 */
export function checkResumeHello(
  session: SessionFacts | undefined,
  hello: { token: string; received: number; key: string | null; tls: boolean; maxFrameLength: number },
): ResumeRefusal | null {
  if (!session) return { code: "E_SESSION_UNKNOWN", reason: "no such session (never issued, expired or ended)" };
  // Both comparisons run whatever the first one gives.
  const latest = tokensEqual(hello.token, session.token);
  const previous = session.previousToken !== null && tokensEqual(hello.token, session.previousToken);
  if (!latest && !previous) return { code: "E_SESSION_UNKNOWN", reason: "wrong token" };
  if (hello.key !== session.key) return { code: "E_SESSION_UNKNOWN", reason: "not signed by the key of the session's first hello" };
  if (session.tls && !hello.tls) return { code: "E_SESSION_UNKNOWN", reason: "the session began over TLS" };
  if (hello.received < session.clientReported || hello.received > session.sent) {
    return { code: "E_RESUME_MISMATCH", reason: `received ${hello.received} is outside ${session.clientReported}..${session.sent}` };
  }
  if (hello.maxFrameLength < session.maxFrameLength) {
    return { code: "E_RESUME_MISMATCH", reason: `maxFrameLength ${hello.maxFrameLength} is below the session's ${session.maxFrameLength}` };
  }
  return null;
}

const EMPTY = "";

/** A message as the application handed it over (re-encoded byte for byte when sent again). */
export type ReplayPayload = Uint8Array | string;

const half = (n: number) => Math.ceil(n / 2);

/**
 * One side of a session, without I/O: numbers the data frames it sends and
 * receives (QWH-RESUME-008), keeps what it sent until the peer's count covers
 * it (QWH-RESUME-009), bounds that by its own limits (QWH-RESUME-010), says
 * when an ACK is due (QWH-ACK-005) and checks the peer's counts (QWH-ACK-004,
 * QWH-RESUME-016, QWH-RESUME-019). The frames kept are a ring that grows to
 * at most the own maxUnackedMessages: no allocation per message.
 */
export class ResumeState {
  /** Data frames sent in the session: the number of the last one. */
  sent = 0;
  /** The highest count the peer reported. */
  peerReceived = 0;
  /** Data frames received and delivered in the session. */
  received = 0;
  /** The count this side last reported (ACK, resume hello or accept). */
  reported = 0;
  /** Bytes (4 + payload) of the frames kept for the peer. */
  replayBytes = 0;
  // Bytes (4 + payload) of every frame sent in the session, and of those sent up to each kept frame.
  private sentBytes = 0;
  private unreportedBytes = 0;
  private ackEveryMessages = 1;
  private ackEveryBytes = 1;
  private peerLimits!: ResumeLimits;
  // Frames peerReceived+1 .. sent: ring[(head + i) % capacity], i < unacked; the capacity is a power of 2.
  private ring: ReplayPayload[] = new Array<ReplayPayload>(16).fill(EMPTY);
  private upTo = new Float64Array(16);
  private head = 0;

  constructor(
    readonly own: ResumeLimits,
    peer: ResumeLimits,
  ) {
    this.peer = peer;
  }

  /** The peer's bounds, which decide when an ACK is due (QWH-ACK-005). */
  get peer(): ResumeLimits {
    return this.peerLimits;
  }
  set peer(limits: ResumeLimits) {
    this.peerLimits = limits;
    this.ackEveryMessages = half(limits.maxUnackedMessages);
    this.ackEveryBytes = half(limits.maxUnackedBytes);
  }

  /** Sent data frames not yet covered by a count of the peer. */
  get unacked(): number {
    return this.sent - this.peerReceived;
  }

  /** True when no further frame may be sent until the peer reports a count (QWH-RESUME-010). */
  get full(): boolean {
    const n = this.sent - this.peerReceived;
    return n > 0 && (n >= this.own.maxUnackedMessages || this.replayBytes >= this.own.maxUnackedBytes);
  }

  /** Whether a data frame with `payloadBytes` may be sent now: within the limits, or alone (QWH-RESUME-010). */
  canSend(payloadBytes: number): boolean {
    const n = this.sent - this.peerReceived;
    return (
      n === 0 || (n < this.own.maxUnackedMessages && this.replayBytes + FRAME_HEADER_LENGTH + payloadBytes <= this.own.maxUnackedBytes)
    );
  }

  /** Records a data frame as sent; returns its number. */
  recordSent(payload: ReplayPayload, payloadBytes: number): number {
    const n = this.sent - this.peerReceived;
    if (n === this.ring.length) this.grow();
    const at = (this.head + n) & (this.ring.length - 1);
    this.ring[at] = payload;
    this.sentBytes += FRAME_HEADER_LENGTH + payloadBytes;
    this.upTo[at] = this.sentBytes;
    this.replayBytes += FRAME_HEADER_LENGTH + payloadBytes;
    return ++this.sent;
  }

  private grow(): void {
    const n = this.ring.length;
    const ring = new Array<ReplayPayload>(n * 2).fill(EMPTY);
    const upTo = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const at = (this.head + i) % n;
      ring[i] = this.ring[at]!;
      upTo[i] = this.upTo[at]!;
    }
    this.ring = ring;
    this.upTo = upTo;
    this.head = 0;
  }

  /**
   * A count from the peer (ACK, resume hello or accept): releases the frames
   * it covers. Throws `code` when the count is below one already reported
   * or above what was sent (QWH-ACK-004, QWH-RESUME-016, QWH-RESUME-019).
   */
  acknowledge(count: number, code: "E_PROTOCOL_ERROR" | "E_RESUME_MISMATCH" = "E_PROTOCOL_ERROR"): void {
    if (count < this.peerReceived || count > this.sent) {
      throw new ProtocolError(code, `the peer reports ${count} data frames received; ${this.peerReceived}..${this.sent} are possible`);
    }
    const drop = count - this.peerReceived;
    if (drop === 0) return;
    const cap = this.ring.length;
    const last = (this.head + drop - 1) % cap;
    this.replayBytes = this.sentBytes - this.upTo[last]!;
    // Let go of the payloads (one native fill, or two around the end of the ring).
    if (last >= this.head) this.ring.fill(EMPTY, this.head, last + 1);
    else {
      this.ring.fill(EMPTY, this.head, cap);
      this.ring.fill(EMPTY, 0, last + 1);
    }
    this.head = last + 1 === cap ? 0 : last + 1;
    this.peerReceived = count;
  }

  /** A data frame was delivered; returns true when an ACK is due at once (QWH-ACK-005). */
  delivered(payloadBytes: number): boolean {
    this.received++;
    this.unreportedBytes += FRAME_HEADER_LENGTH + payloadBytes;
    return this.received - this.reported >= this.ackEveryMessages || this.unreportedBytes >= this.ackEveryBytes;
  }

  /** True when a delivered frame is not covered by a reported count. */
  get ackPending(): boolean {
    return this.received > this.reported;
  }

  /** The count to report now (in an ACK, resume hello or accept); marks it reported. */
  report(): number {
    this.reported = this.received;
    this.unreportedBytes = 0;
    return this.received;
  }

  /** The frames kept for the peer, oldest first (after a resume: exactly those to send again, QWH-RESUME-021). */
  pending(): ReplayPayload[] {
    const n = this.sent - this.peerReceived;
    const out = new Array<ReplayPayload>(n);
    for (let i = 0; i < n; i++) out[i] = this.ring[(this.head + i) % this.ring.length]!;
    return out;
  }
}
