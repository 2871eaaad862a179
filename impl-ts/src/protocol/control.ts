/**
 * Control frames (feature `control`): layout, the type registry's rules, and
 * the CLOSE body. Shared by both roles.
 * @packageDocumentation
 */
import { canonicalJson } from "./canonical-json.js";
import {
  CONTROL_BIT,
  ControlType,
  ERROR_CODE_PATTERN,
  FIRST_IGNORABLE_CONTROL_TYPE,
  FRAME_HEADER_LENGTH,
  HelloLimits,
  MAX_CONTROL_LENGTH,
} from "./constants.js";
import { ProtocolError, QWormholeError } from "./errors.js";
import { parseAckBody } from "./resume.js";
import { codePointLength, containsNonInteger, parseStrictJsonObject } from "./strict-json.js";

/** The decoded CLOSE body. */
export interface CloseInfo {
  /** Registry code, or an unknown code from a newer peer (kept as received). */
  code: string;
  reason?: string;
}

/** A control frame as the receiving side sees it. */
export type ControlEvent =
  | { type: "ping"; body: Buffer }
  | { type: "pong"; body: Buffer }
  | { type: "close"; code: string; reason?: string }
  /** Feature `resume` only (QWH-ACK-001). */
  | { type: "ack"; request: boolean; count: number };

/**
 * Interprets a control frame payload (type byte + body). Returns `null` for an
 * unknown ignorable type (0x80-0xff); throws E_INVALID_CONTROL_FRAME for
 * anything the receiver may not accept, including an ACK when `resume` was
 * not negotiated (QWH-CTRL-005).
 */
export function parseControlPayload(payload: Buffer, resume = false): ControlEvent | null {
  const type = payload[0]!;
  const body = payload.subarray(1);
  switch (type) {
    case ControlType.PING:
      return { type: "ping", body };
    case ControlType.PONG:
      return { type: "pong", body };
    case ControlType.CLOSE:
      return { type: "close", ...parseCloseBody(body) };
    case ControlType.ACK:
      if (resume) return { type: "ack", ...parseAckBody(body) };
      throw new ProtocolError("E_INVALID_CONTROL_FRAME", 'ACK control frame without "resume" negotiated');
    default:
      if (type >= FIRST_IGNORABLE_CONTROL_TYPE) return null;
      // Includes 0x10 (RESUME), reserved and never sent.
      throw new ProtocolError("E_INVALID_CONTROL_FRAME", `unknown control frame type 0x${type.toString(16).padStart(2, "0")}`);
  }
}

/** Parses and validates a CLOSE body (strict JSON object with `code` and optional `reason`). */
export function parseCloseBody(body: Uint8Array): CloseInfo {
  const value = parseStrictJsonObject(body);
  if (typeof value === "string") throw new ProtocolError("E_INVALID_CONTROL_FRAME", `CLOSE body is not a strict-JSON object: ${value}`);
  if (containsNonInteger(value)) throw new ProtocolError("E_INVALID_CONTROL_FRAME", "CLOSE body has a number that is not a safe integer");
  const { code, reason } = value;
  if (typeof code !== "string" || !ERROR_CODE_PATTERN.test(code)) {
    throw new ProtocolError("E_INVALID_CONTROL_FRAME", "CLOSE body has no valid code");
  }
  if (reason === undefined) return { code };
  if (typeof reason !== "string" || codePointLength(reason) > HelloLimits.maxReasonCodePoints) {
    throw new ProtocolError("E_INVALID_CONTROL_FRAME", "CLOSE reason is not a string of at most 256 code points");
  }
  return { code, reason };
}

/** Encodes one control frame (header + type + body). */
export function encodeControlFrame(type: number, body: Uint8Array = EMPTY): Buffer {
  const length = 1 + body.length;
  if (length > MAX_CONTROL_LENGTH) {
    throw new QWormholeError("E_INVALID_CONTROL_FRAME", `control frame payload ${length} exceeds ${MAX_CONTROL_LENGTH} bytes`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + length);
  frame.writeUInt32BE((CONTROL_BIT | length) >>> 0, 0);
  frame[FRAME_HEADER_LENGTH] = type;
  frame.set(body, FRAME_HEADER_LENGTH + 1);
  return frame;
}

/**
 * The CLOSE body bytes: the canonical JSON of `{code, reason?}`. A reason
 * longer than 256 code points, or too long for the 1024-byte control frame,
 * is shortened at a code-point boundary (QWH-CLOSE-007).
 */
export function encodeCloseBody(info: CloseInfo): Buffer {
  if (!ERROR_CODE_PATTERN.test(info.code)) {
    throw new QWormholeError("E_INVALID_CONTROL_FRAME", `invalid close code ${JSON.stringify(info.code)}`);
  }
  if (info.reason === undefined) return Buffer.from(canonicalJson({ code: info.code }), "utf8");
  let points = Array.from(info.reason).slice(0, HelloLimits.maxReasonCodePoints);
  for (;;) {
    const body = Buffer.from(canonicalJson({ code: info.code, reason: points.join("") }), "utf8");
    if (body.length < MAX_CONTROL_LENGTH) return body;
    points = points.slice(0, -1);
  }
}

const EMPTY = new Uint8Array(0);
