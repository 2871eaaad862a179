/**
 * The receive side of one connection: the {@link LinkReceiver} of its link,
 * from the first byte to the close. It owns the frame decoder, fed by a link
 * that moves bytes (chunks, or reads straight into the frame being
 * assembled), and the receive mode (limits, raw or frames, refused data
 * frames), which a link that decodes (native) applies itself; frames from
 * either reach the same entry point, its owner's handlers. Its owner is the
 * handshake, then the open connection ({@link FramedChannel}), which set their
 * handlers in turn; frames of the same read after a change go to the new ones.
 * @packageDocumentation
 */
import { MAX_HANDSHAKE_LENGTH } from "../protocol/constants.js";
import { QWormholeError } from "../protocol/errors.js";
import { checkFrameLimits, FrameDecoder, type FrameLimits, type FrameSink } from "../protocol/frame-decoder.js";
import type { Link, LinkReceiver, ReceiveMode } from "./link.js";

/** Receive limits while handshaking: one frame of at most 16384 bytes, no control frames. */
export const HANDSHAKE_LIMITS: FrameLimits = {
  maxFrameLength: MAX_HANDSHAKE_LENGTH,
  control: false,
  oversizeCode: "E_HANDSHAKE_TOO_LARGE",
};

/** What the owner of a connection hears: its frames (it is the frame entry point itself) and the link's events. */
export interface ReceiverHandlers extends FrameSink {
  /** One data frame's payload (the handshake frames too, while handshaking). */
  onMessage(payload: Buffer): void;
  /** One control frame's payload: type byte + body (only when the limits enable control frames). */
  onControl(payload: Buffer): void;
  /** A chunk of bytes in raw mode. */
  onRaw(chunk: Buffer): void;
  /** Every frame of one read has been delivered: the end of a batch (`messageBatch`). */
  onReadEnd(): void;
  /** The peer ended its direction at a frame boundary. */
  onEnd(): void;
  /** A decoding violation (coded), a truncated frame at the end, or a socket error. Nothing is received after it. */
  onError(error: QWormholeError): void;
  /** The link's write buffer has drained. */
  onDrain(): void;
  /** The connection is closed; always the last callback. */
  onClosed(): void;
  /** No traffic for the idle timeout. */
  onTimeout(): void;
}

const noop = () => undefined;
/** Handlers that ignore everything. */
export const NO_HANDLERS: ReceiverHandlers = {
  onMessage: noop,
  onControl: noop,
  onRaw: noop,
  onReadEnd: noop,
  onEnd: noop,
  onError: noop,
  onDrain: noop,
  onClosed: noop,
  onTimeout: noop,
};

/** The receive side of one connection (see the module comment). */
export class Receiver implements LinkReceiver, ReceiveMode {
  private handlers: ReceiverHandlers = NO_HANDLERS;
  // Null when the link decodes: the mode (this receiver's own members) is then the link's to apply.
  private readonly decoder: FrameDecoder | null;
  private failed = false;
  /** {@inheritDoc ReceiveMode.raw} */
  raw = false;
  /** {@inheritDoc ReceiveMode.limits} */
  limits: FrameLimits;
  /** {@inheritDoc ReceiveMode.refusal} */
  refusal: string | null = null;

  /** The frame entry point: the current handlers. */
  get frames(): FrameSink {
    return this.handlers;
  }

  /** Attaches to `link`; reading starts at `limits` (the handshake's unless given). */
  constructor(
    readonly link: Link,
    limits: FrameLimits = HANDSHAKE_LIMITS,
  ) {
    checkFrameLimits(limits);
    this.limits = limits;
    this.decoder = link.setReceiveMode ? null : new FrameDecoder(NO_HANDLERS, limits);
    link.setReceiveMode?.(this);
    link.attach(this);
  }

  /** From now on (also later in the current read) frames and events go to `handlers`. */
  setHandlers(handlers: ReceiverHandlers): void {
    this.handlers = handlers;
    this.decoder?.setSink(handlers);
  }

  /** Receive limits from the next header on (handshake limits first, then the negotiated ones). Throws E_INVALID_OPTION. */
  setLimits(limits: FrameLimits): void {
    checkFrameLimits(limits);
    this.limits = limits;
    this.apply((d) => d.setLimits(limits));
  }

  /** Data frames are refused from now on (E_PROTOCOL_ERROR on their header, with `message`). */
  refuseDataFrames(message: string): void {
    this.refusal = message;
    this.apply((d) => d.refuseDataFrames(message));
  }

  /** From now on received bytes are raw; the rest of the current read is raw too. Throws inside a frame. */
  switchToRaw(): void {
    this.decoder?.switchToRaw();
    this.raw = true;
    this.link.setReceiveMode?.(this);
  }

  /** Back from raw to frames: the next byte starts a header (used after the VERIFYING wait). */
  switchToFrames(): void {
    this.raw = false;
    this.apply((d) => d.switchToFrames());
  }

  private apply(change: (decoder: FrameDecoder) => void): void {
    if (this.decoder !== null) change(this.decoder);
    else this.link.setReceiveMode!(this);
  }

  /** {@inheritDoc ReadTarget.inPlaceTarget} */
  inPlaceTarget(minBytes: number): Buffer | null {
    return this.failed ? null : this.decoder!.inPlaceTarget(minBytes);
  }
  /** {@inheritDoc ReadTarget.lastFrameLength} */
  get lastFrameLength(): number {
    return this.decoder!.lastFrameLength;
  }
  /** {@inheritDoc ReadTarget.receivedInPlace} */
  receivedInPlace(n: number): void {
    if (this.failed) return;
    try {
      this.decoder!.commitInPlace(n);
    } catch (err) {
      this.fail(err);
    }
    this.handlers.onReadEnd();
  }
  /** {@inheritDoc ReadTarget.received} */
  received(chunk: Buffer, transient: boolean): void {
    if (this.failed) return;
    try {
      this.decoder!.push(chunk, transient);
    } catch (err) {
      this.fail(err);
    }
    this.handlers.onReadEnd();
  }

  readEnd(): void {
    this.handlers.onReadEnd();
  }
  end(): void {
    if (this.failed) return;
    try {
      this.decoder?.end();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.handlers.onEnd();
  }
  error(error: QWormholeError): void {
    this.fail(error);
  }
  drain(): void {
    this.handlers.onDrain();
  }
  close(): void {
    this.handlers.onClosed();
  }
  timeout(): void {
    this.handlers.onTimeout();
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.handlers.onError(err instanceof QWormholeError ? err : new QWormholeError("E_INTERNAL", String(err), { cause: err }));
  }
}
