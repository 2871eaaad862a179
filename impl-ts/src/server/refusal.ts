/**
 * Refusing a connection before it opens: a reject frame when the peer speaks
 * v1, then FIN; what the peer still sends is read and discarded (so our FIN
 * is not turned into a reset) until it ends, or a grace period passes.
 * @packageDocumentation
 */
import { foreignPeerHint } from "../connection-errors.js";
import { MAX_HANDSHAKE_LENGTH, QWH_VERSION } from "../protocol/constants.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import { encodeHandshakeJson } from "../protocol/hello.js";
import { rejectToJson } from "../protocol/server-answer.js";
import type { Receiver } from "../transport/receiver.js";

/** Grace given to a refused peer to read the reject frame before the socket is destroyed. */
export const REJECT_LINGER_MS = 1_000;

/** The reason a refusal reports: with a hint when the peer looks like another protocol. */
export function refusalReason(code: WireErrorCode, reason: string): string {
  if (code !== "E_HANDSHAKE_TOO_LARGE") return reason;
  const hint = foreignPeerHint(new QWormholeError(code, reason));
  return hint ? `${reason}: ${hint}` : reason;
}

/**
 * Refuses the receiver's connection (see the module comment): with a reject
 * frame when `sendFrame`; `gone` runs once the connection is closed.
 */
export function refuseConnection(receiver: Receiver, code: WireErrorCode, reason: string, sendFrame: boolean, gone: () => void): void {
  const link = receiver.link;
  const noop = () => undefined;
  receiver.setHandlers({
    onMessage: noop,
    onControl: noop,
    onRaw: noop,
    onReadEnd: noop,
    onEnd: () => link.destroy(),
    onError: () => link.destroy(),
    onDrain: noop,
    onClosed: gone,
    onTimeout: noop,
  });
  // Whatever still comes is discarded without being decoded (unless a frame is half received).
  try {
    receiver.switchToRaw();
  } catch {
    // Mid-frame: decoding goes on, and the handlers above discard everything.
  }
  if (sendFrame) {
    link.encoder.setPeerMaxFrameLength(MAX_HANDSHAKE_LENGTH);
    // With E_UNSUPPORTED_VERSION, say which versions this server speaks (QWH-NEG-001).
    const versions = code === "E_UNSUPPORTED_VERSION" ? { qwh: [QWH_VERSION] } : {};
    link.encoder.addData(encodeHandshakeJson(rejectToJson({ code, reason: reason.slice(0, 200), ...versions })));
    link.flush();
  }
  link.end();
  link.resumeReading();
  setTimeout(() => link.destroy(), REJECT_LINGER_MS).unref();
}
