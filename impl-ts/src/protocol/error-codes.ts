/**
 * The QWH/1 error-code registry (spec/qwh-1.md, "Error-code registry").
 * A test checks this table against spec/error-codes.json, so the strings are
 * never typed twice in two meanings.
 * @packageDocumentation
 */

/** Codes that may travel in a reject frame or a CLOSE control frame. */
export const WIRE_ERROR_CODES = [
  "E_FRAME_TOO_LARGE",
  "E_HANDSHAKE_TOO_LARGE",
  "E_INVALID_HANDSHAKE",
  "E_UNSUPPORTED_VERSION",
  "E_VERSION_MISMATCH",
  "E_FRAMING_MISMATCH",
  "E_LEGACY_NOT_ALLOWED",
  "E_HANDSHAKE_TIMEOUT",
  "E_INVALID_HANDSHAKE_SIGNATURE",
  "E_HANDSHAKE_EXPIRED",
  "E_HANDSHAKE_REPLAY",
  "E_SIGNATURE_REQUIRED",
  "E_POLICY_REJECTED",
  "E_MAX_CLIENTS",
  "E_MAX_PENDING_HANDSHAKES",
  "E_TLS_PIN_MISMATCH",
  "E_PROTOCOL_ERROR",
  "E_INVALID_CONTROL_FRAME",
  "E_HEARTBEAT_TIMEOUT",
  "E_IDLE_TIMEOUT",
  "E_RATE_LIMITED",
  "E_BACKPRESSURE",
  "E_NORMAL_CLOSE",
  "E_GOING_AWAY",
  "E_INTERNAL",
  "E_SESSION_UNKNOWN",
  "E_RESUME_MISMATCH",
] as const;

/** Codes an implementation reports locally; they never appear on the wire. */
export const LOCAL_ERROR_CODES = [
  "E_TRUNCATED_FRAME",
  "E_CONNECT_TIMEOUT",
  "E_NOT_CONNECTED",
  "E_CLOSED",
  "E_QUEUE_FULL",
  "E_DRAIN_TIMEOUT",
  "E_ABORTED",
  "E_INTERFACE_NOT_FOUND",
  "E_NATIVE_UNAVAILABLE",
  "E_CODEC",
  "E_CODEC_UNAVAILABLE",
  "E_INVALID_OPTION",
  "E_TLS_HANDSHAKE",
  "E_SOCKET",
  "E_ATTEMPTS_EXHAUSTED",
] as const;

/** A code from the wire part of the registry. */
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];
/** A code from the local-only part of the registry. */
export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number];
/** Any registered error code. */
export type ErrorCode = WireErrorCode | LocalErrorCode;

/** Failures after which a client does not reconnect: retrying cannot succeed. */
export const TERMINAL_ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "E_UNSUPPORTED_VERSION",
  "E_VERSION_MISMATCH",
  "E_FRAMING_MISMATCH",
  "E_LEGACY_NOT_ALLOWED",
  "E_INVALID_HANDSHAKE_SIGNATURE",
  "E_SIGNATURE_REQUIRED",
  "E_POLICY_REJECTED",
  "E_TLS_PIN_MISMATCH",
  "E_INVALID_HANDSHAKE",
]);

const wireSet: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

/** True when `code` may be sent to a peer. */
export function isWireErrorCode(code: string): code is WireErrorCode {
  return wireSet.has(code);
}

/** True when a failure with `code` should stop reconnect attempts. */
export function isTerminalErrorCode(code: string): boolean {
  return TERMINAL_ERROR_CODES.has(code);
}
