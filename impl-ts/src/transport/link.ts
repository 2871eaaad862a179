/**
 * The link contract: what the handshake and the open connection need from
 * whatever carries one connection.
 *
 * - Bytes out: the owner encodes frames into the link's {@link FrameEncoder};
 *   {@link Link.flush} writes what it holds, in one write or one writev.
 * - Bytes in: the link hands what it receives to its one {@link LinkReceiver}
 *   (the `Receiver` of transport/receiver.ts, which owns the frame decoder). A link that moves
 *   bytes (the socket link) hands over chunks, or reads straight into the
 *   frame being assembled; a link that decodes (the native addons decode in C)
 *   hands over frames, at the receiver's frame entry point, and takes the
 *   receive mode (limits, raw or frames) from the receiver.
 * - End, close: {@link Link.end} ends our direction after what is written,
 *   {@link Link.destroy} closes at once; the receiver hears the peer's end,
 *   errors, drain, close and the idle timeout.
 * - TLS facts: the peer certificate, ALPN, the RFC 5705 exporter.
 *
 * Implementations: `SocketLink` (transport/socket-link.ts, Node's net and
 * tls sockets) and `NativeFrameLink` (native/native-link.ts, the addons).
 * @packageDocumentation
 */
import type { QWormholeError } from "../protocol/errors.js";
import type { FrameLimits, FrameSink } from "../protocol/frame-decoder.js";
import type { FrameEncoder } from "../protocol/frame-encoder.js";
import type { TlsFacts } from "../tls-facts.js";

/** Where a link connects. */
export interface LinkPeer {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localPort: number | undefined;
}

/** Bytes in, for a link that moves bytes: where its reads go. */
export interface ReadTarget {
  /** Where the next read may land directly (the rest of the frame being assembled), or null. */
  inPlaceTarget(minBytes: number): Buffer | null;
  /** The length field of the last header read. */
  readonly lastFrameLength: number;
  /** `n` bytes arrived in the buffer {@link inPlaceTarget} returned; the end of one read. */
  receivedInPlace(n: number): void;
  /** One read's bytes; `transient`: a view of a shared read buffer, which must not escape. */
  received(chunk: Buffer, transient: boolean): void;
}

/**
 * What a link reports, to its one receiver. Callbacks run on the event loop,
 * synchronously with the read that caused them.
 */
export interface LinkReceiver extends ReadTarget {
  /** Frames in, for a link that decodes: its frame entry point (its own decoder uses the same). */
  readonly frames: FrameSink;
  /** Every frame of one read (a link that decodes) has been handed over. */
  readEnd(): void;
  /** The peer ended its direction. */
  end(): void;
  /** A socket error, or a decoding violation of a link that decodes (coded). The link is unusable after it. */
  error(error: QWormholeError): void;
  /** The link's write buffer has drained. */
  drain(): void;
  /** The connection is closed; always the last callback. */
  close(): void;
  /** No traffic for the idle timeout. */
  timeout(): void;
}

/** How received bytes are read: frames under limits (data frames refused with `refusal` once set), or raw. */
export interface ReceiveMode {
  raw: boolean;
  limits: FrameLimits;
  /** Set once data frames are a violation (after the peer's CLOSE): the E_PROTOCOL_ERROR message. */
  refusal: string | null;
}

/** One connection, whatever carries it. */
export interface Link {
  readonly peer: LinkPeer;
  /** Bytes received and written so far. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /**
   * Where the owner (handshake, then the open connection) encodes what it
   * sends: data, raw and control frames, batched in slabs, checked against
   * the peer's maximum; {@link flush} writes what it holds.
   */
  readonly encoder: FrameEncoder;
  /** Bytes flushed but not yet accepted by the kernel. */
  readonly writableLength: number;
  /** True when the transport asked to wait for `drain`. */
  readonly writableNeedDrain: boolean;
  readonly destroyed: boolean;

  /** Hands everything received, and every event, to `receiver` (once, before reading starts). */
  attach(receiver: LinkReceiver): void;
  /**
   * A link that decodes: the receive mode from the next header on (may be
   * called from inside a frame callback; the rest of that read follows it).
   * Absent on a link that moves bytes: its receiver decodes.
   */
  setReceiveMode?(mode: ReceiveMode): void;
  /** Writes everything encoded since the last flush; `done` learns whether the batch was written. Returns its size. */
  flush(done?: (error?: Error | null) => void): number;

  pauseReading(): void;
  resumeReading(): void;
  /** Ends our direction after what is flushed. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  /** Idle timeout in ms (0: none); reported through `timeout`. */
  setIdleTimeout(ms: number): void;

  /** TLS facts, or null without TLS. */
  tlsFacts(): TlsFacts | null;
  /** RFC 5705 exporter; throws without TLS. */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
}
