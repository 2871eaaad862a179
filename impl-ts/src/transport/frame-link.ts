/**
 * A FrameLink carries QWH/1 frames over one connection: it decodes what
 * arrives (checking limits on every header) and writes, in batches, what its
 * owner encoded into the link's {@link FrameEncoder}. The handshake code and
 * the open-connection channel work on a link, never on a socket, so one
 * client and one server serve every transport: {@link SocketFrameLink}
 * (Node's net/tls sockets, framing in JS) and the native links of
 * `@qwormhole/native` (framing and I/O in C).
 * @packageDocumentation
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { QWormholeError } from "../protocol/errors.js";
import { FrameDecoder, type FrameLimits, type FrameSink } from "../protocol/frame-decoder.js";
import { FrameEncoder } from "../protocol/frame-encoder.js";
import type { ReadTarget, SocketReader } from "./socket-reader.js";
import { tlsFactsOf, type TlsFacts } from "../tls-facts.js";

/**
 * What a link reports. Callbacks run on the event loop, synchronously with
 * the read that caused them. A link's decoder delivers frames straight to
 * these handlers (they are its {@link FrameSink}).
 */
export interface FrameLinkHandlers extends FrameSink {
  /** One data frame's payload (the handshake frames too, while handshaking). */
  onMessage(payload: Buffer): void;
  /** One control frame's payload: type byte + body (only when the limits enable control frames). */
  onControl(payload: Buffer): void;
  /** Bytes after {@link FrameLink.switchToRaw}. */
  onRaw(chunk: Buffer): void;
  /** Every frame of one read has been delivered: the end of a batch (`messageBatch`). */
  readEnd(): void;
  /** The peer ended its direction at a frame boundary. */
  end(): void;
  /** A decoding violation (coded), a truncated frame at the end, or a socket error. The link is unusable after it. */
  error(error: QWormholeError): void;
  /** The link's write buffer has drained. */
  drain(): void;
  /** The underlying connection is closed; always the last callback. */
  close(): void;
  /** No traffic for the idle timeout. */
  timeout(): void;
}

/** Where a link connects, and what TLS says about it. */
export interface LinkPeer {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localPort: number | undefined;
}

/** One framed connection, whatever carries it. */
export interface FrameLink {
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

  setHandlers(handlers: FrameLinkHandlers): void;
  /** Receive limits from the next header on (handshake limits first, then the negotiated ones). */
  setLimits(limits: FrameLimits): void;
  /** Data frames are refused from now on (E_PROTOCOL_ERROR on their header). */
  refuseDataFrames(message: string): void;
  /** From now on received bytes are raw; the rest of the current read is raw too. */
  switchToRaw(): void;
  /** Back from raw to frames: the next byte starts a header (used after the VERIFYING wait). */
  switchToFrames(): void;

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

const noop = () => undefined;
/** Handlers that ignore everything: a link's state before its owner sets real ones. */
export const NO_HANDLERS: FrameLinkHandlers = {
  onMessage: noop,
  onControl: noop,
  onRaw: noop,
  readEnd: noop,
  end: noop,
  error: noop,
  drain: noop,
  close: noop,
  timeout: noop,
};

/**
 * A {@link FrameLink} over a Node `net.Socket` or `tls.TLSSocket`, framing in
 * JS: received bytes go into its {@link FrameDecoder}, which hands each frame
 * to the current handlers. It is the {@link ReadTarget} of its socket's reader.
 */
export class SocketFrameLink implements FrameLink, ReadTarget {
  readonly peer: LinkPeer;
  readonly encoder = new FrameEncoder();
  private handlers: FrameLinkHandlers = NO_HANDLERS;
  private readonly decoder: FrameDecoder;
  private read = 0;
  private written = 0;
  private failed = false;

  /**
   * @param reader - set when the socket was created with this reader's `onread`
   *   (plain TCP): reads land where the decoder wants them. Without it the link
   *   listens to `data` events (TLS).
   */
  constructor(
    readonly socket: Socket,
    limits: FrameLimits,
    reader?: SocketReader,
  ) {
    this.peer = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localPort: socket.localPort };
    this.decoder = new FrameDecoder(NO_HANDLERS, limits);
    if (reader) reader.attach(this);
    else socket.on("data", (chunk: Buffer) => this.received(chunk, false));
    // Flowing mode (also for a socket paused on accept; with onread, so that the end is reported).
    socket.resume();
    socket.on("end", () => {
      if (this.failed) return;
      try {
        this.decoder.end();
      } catch (err) {
        this.fail(err);
        return;
      }
      this.handlers.end();
    });
    socket.on("error", (err) => this.fail(new QWormholeError("E_SOCKET", err.message, { cause: err })));
    socket.on("drain", () => this.handlers.drain());
    socket.on("close", () => this.handlers.close());
  }

  /** {@inheritDoc ReadTarget.inPlaceTarget} */
  inPlaceTarget(minBytes: number): Buffer | null {
    return this.failed ? null : this.decoder.inPlaceTarget(minBytes);
  }
  /** {@inheritDoc ReadTarget.lastFrameLength} */
  get lastFrameLength(): number {
    return this.decoder.lastFrameLength;
  }
  /** {@inheritDoc ReadTarget.receivedInPlace} */
  receivedInPlace(n: number): void {
    if (this.failed) return;
    this.read += n;
    try {
      this.decoder.commitInPlace(n);
    } catch (err) {
      this.fail(err);
    }
    this.handlers.readEnd();
  }
  /** {@inheritDoc ReadTarget.received} */
  received(chunk: Buffer, transient: boolean): void {
    if (this.failed) return;
    this.read += chunk.length;
    try {
      this.decoder.push(chunk, transient);
    } catch (err) {
      this.fail(err);
    }
    this.handlers.readEnd();
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.handlers.error(err instanceof QWormholeError ? err : new QWormholeError("E_INTERNAL", String(err), { cause: err }));
  }

  get bytesIn(): number {
    return this.read;
  }
  get bytesOut(): number {
    return this.written;
  }
  get writableLength(): number {
    return this.socket.writableLength;
  }
  get writableNeedDrain(): boolean {
    return this.socket.writableNeedDrain;
  }
  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  setHandlers(handlers: FrameLinkHandlers): void {
    this.handlers = handlers;
    // Frames from the next one on (also later in the current read) go to these handlers.
    this.decoder.setSink(handlers);
  }
  setLimits(limits: FrameLimits): void {
    this.decoder.setLimits(limits);
  }
  refuseDataFrames(message: string): void {
    this.decoder.refuseDataFrames(message);
  }
  switchToRaw(): void {
    this.decoder.switchToRaw();
  }
  switchToFrames(): void {
    this.decoder.switchToFrames();
  }

  flush(done?: (error?: Error | null) => void): number {
    if (this.encoder.pendingBytes === 0 || this.socket.destroyed) return 0;
    const parts = this.encoder.take();
    const socket = this.socket;
    let bytes = 0;
    if (parts.length === 1) {
      bytes = parts[0]!.length;
      socket.write(parts[0]!, done);
    } else {
      // cork/uncork turns the parts into one writev.
      socket.cork();
      for (let i = 0; i < parts.length; i++) {
        bytes += parts[i]!.length;
        socket.write(parts[i]!, i === parts.length - 1 ? done : undefined);
      }
      socket.uncork();
    }
    this.written += bytes;
    return bytes;
  }

  pauseReading(): void {
    this.socket.pause();
  }
  resumeReading(): void {
    this.socket.resume();
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
  setIdleTimeout(ms: number): void {
    this.socket.setTimeout(ms, ms > 0 ? () => this.handlers.timeout() : undefined);
  }

  tlsFacts(): TlsFacts | null {
    return "encrypted" in this.socket ? tlsFactsOf(this.socket as TLSSocket) : null;
  }
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    const s = this.socket as TLSSocket;
    if (!("encrypted" in s) || typeof s.exportKeyingMaterial !== "function") {
      throw new QWormholeError("E_INVALID_OPTION", "exportKeyingMaterial needs a TLS connection");
    }
    return s.exportKeyingMaterial(length, label, context as Buffer);
  }
}
