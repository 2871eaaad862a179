/**
 * Typed errors. Every error this package raises is a {@link QWormholeError}
 * with a `code` from the spec's registry.
 * @packageDocumentation
 */
import type { ErrorCode } from "./error-codes.js";

/** Base class of every error raised by qwormhole. */
export class QWormholeError extends Error {
  /** Stable code from the QWH/1 error-code registry. */
  readonly code: ErrorCode;
  /**
   * The operating system's error name ("ECONNREFUSED", "ECONNRESET",
   * "EHOSTUNREACH", ...) when the error comes from a socket call; the same
   * on the TS and native transports.
   */
  syscallCode?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * The peer broke the protocol (malformed frame, bad hello, wrong state).
 * The connection it happened on is failed with this code.
 */
export class ProtocolError extends QWormholeError {}

/**
 * The peer refused our handshake with a reject frame. `code` is the peer's
 * code as received; unknown codes are kept as they came (forward compatible).
 */
export class HandshakeRejectedError extends QWormholeError {
  /** Reason text from the reject frame, if any. */
  readonly reason: string | undefined;

  constructor(code: string, reason?: string) {
    super(code as ErrorCode, reason ? `handshake rejected (${code}): ${reason}` : `handshake rejected (${code})`);
    this.reason = reason;
  }
}

/** A first frame that is not an acceptable hello; `legacy` tells that it was 0.3-shaped (no "features"). */
export class InvalidHelloError extends ProtocolError {
  constructor(
    code: "E_INVALID_HANDSHAKE" | "E_LEGACY_NOT_ALLOWED",
    message: string,
    /** True for a hello without "features": a refusal closes without a frame under the legacy profile. */
    readonly legacy: boolean,
  ) {
    super(code, message);
  }
}
