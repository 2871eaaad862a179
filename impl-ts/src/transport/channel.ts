/**
 * An open QWH/1 connection on a link, after the handshake: the frames its
 * receiver hands over (control frames by their rules), batched writes,
 * heartbeats, graceful close, backpressure and counters; with a session
 * (feature `resume`), its {@link ChannelSession}. The client and every
 * server-side connection own one.
 * @packageDocumentation
 */
import { Feature } from "../protocol/constants.js";
import type { CloseInfo } from "../protocol/control.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import type { Link } from "./link.js";
import type { Receiver, ReceiverHandlers } from "./receiver.js";
import { dispatchControl, type ControlTarget } from "../protocol/frame-receiver.js";
import type { ChannelOptions, Negotiated } from "./channel-options.js";
import type { SharedMessage } from "./shared-message.js";
import type { TrafficCounters } from "../telemetry.js";
import type { ResumeSession } from "./resume-session.js";
import { ChannelSession, type SessionChannel } from "./channel-session.js";

/** Why an open connection ended. */
export interface ChannelCloseInfo {
  /** The failure, if the connection did not end gracefully. */
  error?: QWormholeError;
  /** The peer's CLOSE, if it sent one. */
  peerClose?: CloseInfo;
  /** Messages handed to the socket whose write failed (at-most-once delivery; 0 with a session, which sends them again). */
  lostMessages: number;
  /** A CLOSE was sent or received: a session of this connection is over (QWH-RESUME-013). */
  closeExchanged: boolean;
}

/** Callbacks of a {@link FramedChannel}. */
export interface ChannelHandlers {
  message(payload: Buffer): void;
  /** Optional: the messages of one read have all been delivered (a batch boundary). */
  readEnd?(): void;
  closed(info: ChannelCloseInfo, channel: FramedChannel): void;
  backpressure(queuedBytes: number): void;
  drain(channel: FramedChannel): void;
  /** Optional: idle timeout fired (before the close). */
  timeout?(): void;
  /** Optional: a heartbeat found the peer silent (before the close). */
  stale?(): void;
  /**
   * Optional: the first CLOSE was sent or received. A session of this connection ends here, not when
   * the socket closes, so a resume that arrives in between is refused (QWH-RESUME-013).
   */
  closeExchanged?(): void;
}

/** Traffic counters of one connection. */
export type ChannelCounters = TrafficCounters;

const PING_BODY_LENGTH = 8;

/** The heartbeats of a connection: PINGs carry an increasing 8-byte counter; a PONG echoing counter k answers every PING up to k. */
interface Heartbeat {
  timer: NodeJS.Timeout;
  sent: bigint;
  answered: bigint;
}

/** A graceful close under way. */
interface CloseWait {
  /** Resolved when the connection is closed. */
  waiters: (() => void)[];
  /** Bounds the wait for the peer's CLOSE (and for room for held messages). */
  timer: NodeJS.Timeout | null;
  /** A CLOSE waiting for held messages to be sent first. */
  owed: { code: string; reason?: string } | null;
}

/**
 * The open state of a connection, on any {@link Link}. It is its receiver's
 * handlers and its control frames' target itself (methods, not closures: an
 * idle connection holds no function of its own).
 */
export class FramedChannel implements SessionChannel, ReceiverHandlers, ControlTarget {
  private readonly control: boolean;
  private readonly raw: boolean;
  private messagesIn = 0;
  private messagesOut = 0;
  private backpressureEvents = 0;
  private drainEvents = 0;
  private flushScheduled = false;
  private batchMessages = 0;
  private lost = 0;
  private backpressured = false;
  private closing = false;
  private closeSent = false;
  private ended = false;
  private peerClose: CloseInfo | undefined;
  // Made by close(): who waits for the end, the drain timer and a CLOSE owed once held messages are sent.
  private closeWait: CloseWait | null = null;
  private finished = false;
  private failure: QWormholeError | undefined;
  // Made when heartbeats are on.
  private heartbeat: Heartbeat | null = null;
  // Made at the first flush scheduled.
  private flushBound: (() => void) | null = null;
  // Feature `resume`: the session this connection carries.
  private readonly session: ChannelSession | null;

  /** The connection's link. */
  readonly link: Link;
  private readonly receiver: Receiver;

  /**
   * Takes over the connection's `receiver` once the handshake is done: from
   * the next frame on, the negotiated limits apply and frames are this
   * channel's. Call it from inside the callback that completed the handshake,
   * so no frame of the same read is missed.
   */
  constructor(
    receiver: Receiver,
    private readonly options: ChannelOptions,
    negotiated: Negotiated,
    private readonly handlers: ChannelHandlers,
    /**
     * The session, when `resume` was negotiated. The caller has already taken
     * the peer's count from the accept or hello (`state.acknowledge`); the
     * channel sends again every frame the peer has not received
     * (QWH-RESUME-021), after an ACK when `firstAck` (QWH-RESUME-020).
     */
    resume?: { session: ResumeSession; firstAck: boolean },
  ) {
    const link = receiver.link;
    this.link = link;
    this.receiver = receiver;
    this.raw = options.framing === "none";
    const features = negotiated.features;
    this.control = !this.raw && features.includes(Feature.CONTROL);
    const session = resume && this.control && features.includes(Feature.RESUME) ? new ChannelSession(resume.session, this) : null;
    this.session = session;
    link.encoder.setPeerMaxFrameLength(negotiated.peerMaxFrameLength);
    receiver.setHandlers(this);
    if (this.raw) receiver.switchToRaw();
    else receiver.setLimits(this.control ? options.limits.control : options.limits.plain);
    // The handshake's slab is not needed by an idle connection.
    link.encoder.releaseSlab();
    if (options.idleTimeoutMs > 0) link.setIdleTimeout(options.idleTimeoutMs);
    if (this.control && options.heartbeatIntervalMs > 0) {
      const heartbeat = { timer: setInterval(() => this.beat(), options.heartbeatIntervalMs), sent: 0n, answered: 0n };
      heartbeat.timer.unref();
      this.heartbeat = heartbeat;
    }
    if (session !== null) session.start(resume?.firstAck === true);
  }

  /** Delivers payloads that arrived before the channel existed (a 0.3 client's early frames), as one batch. */
  deliver(payloads: readonly Buffer[]): void {
    if (payloads.length === 0) return;
    for (const payload of payloads) {
      if (this.ended) break;
      this.messagesIn++;
      this.handlers.message(payload);
    }
    this.handlers.readEnd?.();
  }

  /** @internal {@inheritDoc ReceiverHandlers.onMessage} */
  onMessage(payload: Buffer): void {
    if (this.ended) return;
    const session = this.session;
    if (session !== null) session.frameArrived();
    this.messagesIn++;
    this.handlers.message(payload);
    if (session !== null) session.delivered(payload.length);
  }
  /** @internal {@inheritDoc ReceiverHandlers.onRaw} */
  onRaw(chunk: Buffer): void {
    this.onMessage(chunk);
  }
  /** @internal {@inheritDoc ReceiverHandlers.onControl} */
  onControl(payload: Buffer): void {
    if (this.ended) return;
    this.session?.frameArrived();
    try {
      dispatchControl(payload, this, this.session !== null, this.peerClose !== undefined);
    } catch (err) {
      this.protocolFailure(err as QWormholeError);
    }
  }
  /** @internal {@inheritDoc ReceiverHandlers.onReadEnd} */
  onReadEnd(): void {
    this.handlers.readEnd?.();
  }
  /** @internal {@inheritDoc ReceiverHandlers.onError} */
  onError(error: QWormholeError): void {
    this.protocolFailure(error);
  }
  /** @internal {@inheritDoc ReceiverHandlers.onClosed} */
  onClosed(): void {
    this.finish();
  }
  /** @internal {@inheritDoc ReceiverHandlers.onTimeout} */
  onTimeout(): void {
    this.handlers.timeout?.();
    // A failure of the open phase: CLOSE with the code (QWH-ERR-008), then close without waiting (QWH-ERR-003).
    this.fail(new QWormholeError("E_IDLE_TIMEOUT", `no traffic for ${this.options.idleTimeoutMs} ms`), true);
  }
  /** @internal {@inheritDoc ControlTarget.refuseData} */
  refuseData(message: string): void {
    this.receiver.refuseDataFrames(message);
  }

  /** Traffic counters of this connection. */
  get counters(): ChannelCounters {
    return {
      bytesIn: this.link.bytesIn,
      bytesOut: this.link.bytesOut,
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
      backpressureEvents: this.backpressureEvents,
      drainEvents: this.drainEvents,
    };
  }

  /** True while unsent output is above the high-water mark, or the session's replay buffer is full. */
  get isBackpressured(): boolean {
    return this.backpressured || (this.session !== null && this.session.blocked);
  }

  /** Bytes accepted but not yet written to the kernel. */
  get queuedBytes(): number {
    return this.link.encoder.pendingBytes + this.link.writableLength;
  }

  /** True once a CLOSE was sent or received (a graceful close, not just a lost connection). */
  get closeStarted(): boolean {
    return this.closeSent || this.peerClose !== undefined;
  }

  /** True once a close started (ours or the peer's). */
  get isClosing(): boolean {
    return this.closing || this.ended;
  }

  /** The peer's receive maximum. */
  get peerMaxFrameLength(): number {
    return this.link.encoder.peerMaxFrameLength;
  }

  /**
   * Queues one message for the next flush. Throws E_FRAME_TOO_LARGE (nothing
   * sent) over the peer's maximum, E_CLOSED once closing. Returns false when
   * the connection is backpressured (the message is still sent).
   */
  send(payload: Uint8Array | string): boolean {
    if (this.closing || this.ended) throw new QWormholeError("E_CLOSED", "connection is closing");
    if (this.session !== null) return this.sendInSession(payload, this.session);
    const link = this.link;
    if (this.raw) link.encoder.addRaw(typeof payload === "string" ? Buffer.from(payload, "utf8") : payload);
    else if (typeof payload === "string") link.encoder.addText(payload);
    else link.encoder.addData(payload);
    this.encoded(1);
    this.checkBurst();
    return !this.backpressured;
  }

  /** {@inheritDoc SessionChannel.encoded} */
  encoded(count: number): void {
    this.messagesOut += count;
    this.batchMessages += count;
    this.scheduleFlush();
  }

  /** {@inheritDoc SessionChannel.mayAck} */
  get mayAck(): boolean {
    return !this.closeSent && !this.ended && !this.link.destroyed;
  }

  /** A burst within one turn counts too, so a synchronous send loop sees backpressure. */
  private checkBurst(): void {
    const pending = this.link.encoder.pendingBytes;
    if (!this.backpressured && pending > this.options.highWaterMarkBytes) this.enterBackpressure(pending);
  }

  /** A message on a session: sent and kept for the peer, or held while the replay buffer is full (QWH-RESUME-010). */
  private sendInSession(payload: Uint8Array | string, session: ChannelSession): boolean {
    const room = session.send(payload);
    const max = this.options.maxBackpressureBytes;
    if (max > 0 && session.heldBytes > max) {
      this.fail(new QWormholeError("E_BACKPRESSURE", `peer does not acknowledge: ${session.heldBytes} bytes held (limit ${max})`));
    }
    this.checkBurst();
    return room && !this.backpressured;
  }

  /** @internal The peer's ACK: room for held messages, and the drain a false send() promised once none waits. */
  onAck(request: boolean, count: number): void {
    const session = this.session!;
    const wasBlocked = this.isBackpressured;
    session.onAck(request, count);
    const owed = this.closeWait?.owed ?? null;
    if (owed !== null && session.held === 0 && !this.ended) this.startClose(owed.code, owed.reason);
    if (wasBlocked && !this.isBackpressured && !this.closing && !this.ended) {
      this.drainEvents++;
      this.handlers.drain(this);
    }
  }

  /**
   * Queues a message framed once for many channels, by reference. The write
   * is left to the caller: `deferFlush` is called when this channel has no
   * flush scheduled, and the caller then calls {@link flush} (so that a
   * broadcast to many connections can spread its writes over several turns of
   * the event loop). Throws and returns as {@link send}.
   */
  queueShared(message: SharedMessage, deferFlush: (channel: FramedChannel) => void): boolean {
    if (this.closing || this.ended) throw new QWormholeError("E_CLOSED", "connection is closing");
    if (this.session !== null) return this.sendInSession(message.payload, this.session);
    const link = this.link;
    if (this.raw) link.encoder.addRaw(message.payload);
    else link.encoder.addFrame(message.frame);
    this.messagesOut++;
    this.batchMessages++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      deferFlush(this);
    }
    this.checkBurst();
    return !this.backpressured;
  }

  /** Writes everything queued now (normally done once per turn of the event loop). */
  flush(): void {
    this.flushScheduled = false;
    if (this.link.encoder.pendingBytes === 0 || this.link.destroyed) return;
    const count = this.batchMessages;
    this.batchMessages = 0;
    this.link.flush((err) => {
      if (err) this.lost += count;
    });
    this.checkBackpressure();
  }

  private checkBackpressure(): void {
    const queued = this.link.writableLength;
    const o = this.options;
    if (o.maxBackpressureBytes > 0 && queued > o.maxBackpressureBytes) {
      this.fail(new QWormholeError("E_BACKPRESSURE", `peer is not reading: ${queued} bytes unsent (limit ${o.maxBackpressureBytes})`));
      return;
    }
    if (!this.backpressured) {
      if (queued > o.highWaterMarkBytes) this.enterBackpressure(queued);
    } else if (queued <= o.highWaterMarkBytes && !this.link.writableNeedDrain) {
      // The kernel took the burst: no "drain" will come, so end the episode here.
      queueMicrotask(() => this.onDrain());
    }
  }

  private enterBackpressure(queued: number): void {
    this.backpressured = true;
    this.backpressureEvents++;
    if (this.options.pauseReadingOnBackpressure) this.link.pauseReading();
    this.handlers.backpressure(queued);
  }

  /** @internal {@inheritDoc ReceiverHandlers.onDrain} */
  onDrain(): void {
    if (!this.backpressured || this.link.encoder.pendingBytes > 0 || this.link.writableLength > this.options.highWaterMarkBytes) return;
    this.backpressured = false;
    this.drainEvents++;
    if (this.options.pauseReadingOnBackpressure && !this.ended) this.link.resumeReading();
    this.handlers.drain(this);
  }

  /** @internal The peer's PING: a PONG with its body. */
  onPing(body: Buffer): void {
    // PONGs stay allowed after our CLOSE (QWH-CLOSE-002).
    this.link.encoder.addPong(body);
    this.scheduleFlush();
  }

  /** {@inheritDoc SessionChannel.scheduleFlush} */
  scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask((this.flushBound ??= () => this.flush()));
    }
  }

  private beat(): void {
    const heartbeat = this.heartbeat;
    if (heartbeat === null || this.closing || this.ended) return;
    const unanswered = heartbeat.sent - heartbeat.answered;
    if (unanswered >= BigInt(this.options.heartbeatMissedLimit)) {
      this.handlers.stale?.();
      // On a session no CLOSE: it would end the session (QWH-RESUME-012).
      this.fail(new QWormholeError("E_HEARTBEAT_TIMEOUT", `${unanswered} PINGs unanswered`), this.session === null);
      return;
    }
    const body = Buffer.allocUnsafe(PING_BODY_LENGTH);
    body.writeBigUInt64BE(++heartbeat.sent);
    this.link.encoder.addPing(body);
    this.scheduleFlush();
  }

  /** @internal A PONG answers the PING it echoes and every earlier one (QWH-PING-004); anything else is unsolicited and ignored. */
  onPong(body: Buffer): void {
    const heartbeat = this.heartbeat;
    if (heartbeat === null || body.length !== PING_BODY_LENGTH) return;
    const k = body.readBigUInt64BE(0);
    if (k > heartbeat.answered && k <= heartbeat.sent) heartbeat.answered = k;
  }

  /** @internal The peer's CLOSE. */
  onClose(info: CloseInfo): void {
    const first = !this.closeSent && this.peerClose === undefined;
    this.peerClose = info;
    if (first) this.handlers.closeExchanged?.();
    if (!this.closing) {
      // The peer drains: everything we queued goes out, then our CLOSE, then FIN.
      this.closing = true;
      this.sendClose("E_NORMAL_CLOSE");
      this.flush();
    } else if (this.closeWait?.owed) {
      // Our close was waiting for room for held messages: the peer's CLOSE ends the wait (they stay unsent, and are reported).
      this.startClose(this.closeWait.owed.code, this.closeWait.owed.reason);
    }
    this.link.end();
  }

  private sendClose(code: string, reason?: string): void {
    if (this.closeSent || !this.control) return;
    const first = this.peerClose === undefined;
    this.closeSent = true;
    if (first) this.handlers.closeExchanged?.();
    this.link.encoder.addClose(reason === undefined ? { code } : { code, reason });
  }

  /**
   * Graceful close: flush what is queued, send CLOSE (when negotiated), wait
   * for the peer's CLOSE or `drainTimeoutMs`, then end the connection. On a
   * session, messages held past a full replay buffer are sent first, as the
   * peer's acknowledgements make room (QWH-RESUME-010); `drainTimeoutMs`
   * bounds that wait too.
   */
  close(code: WireErrorCode = "E_NORMAL_CLOSE", reason?: string): Promise<void> {
    if (this.finished) return Promise.resolve();
    const wait = (this.closeWait ??= { waiters: [], timer: null, owed: null });
    const done = new Promise<void>((resolve) => wait.waiters.push(resolve));
    if (this.closing) return done;
    this.closing = true;
    wait.timer = setTimeout(() => {
      // The peer never answered our CLOSE (or never closed its side, or never made room for the held messages): an unclean close.
      this.failure ??= new QWormholeError("E_DRAIN_TIMEOUT", `no answer to the close within ${this.options.drainTimeoutMs} ms`);
      this.link.destroy();
    }, this.options.drainTimeoutMs);
    wait.timer.unref();
    if (this.session !== null && this.session.held > 0) {
      // Messages past a full replay buffer go first: the CLOSE follows once acknowledgements made room for them all.
      wait.owed = reason === undefined ? { code } : { code, reason };
      this.session.requestAck();
      return done;
    }
    this.startClose(code, reason);
    return done;
  }

  /** Sends CLOSE (when negotiated) after everything queued; without `control`, FIN is the close. */
  private startClose(code: string, reason?: string): void {
    if (this.closeWait !== null) this.closeWait.owed = null;
    this.sendClose(code, reason);
    this.flush();
    if (!this.control) this.link.end();
  }

  /** Fails the connection at once with `error`, telling the peer when the code may travel. */
  fail(error: QWormholeError, tellPeer = false): void {
    if (this.ended) return;
    this.ended = true;
    this.failure ??= error;
    if (tellPeer && this.control && !this.closeSent && !this.link.destroyed) {
      this.sendClose(error.code, error.message.slice(0, 200));
      this.flush();
      this.link.end();
      setTimeout(() => this.link.destroy(), 100).unref();
    } else {
      this.link.destroy();
    }
    // finish() runs on the link's "close", after failed writes were counted.
  }

  /** Closes at once, without a CLOSE frame. */
  destroy(): void {
    this.link.destroy();
  }

  /** Closes at once without a CLOSE and delivers nothing more from this connection (QWH-RESUME-017). */
  abandon(): void {
    this.ended = true;
    this.link.destroy();
  }

  private protocolFailure(error: QWormholeError): void {
    if (error.code === "E_SOCKET" && this.peerClose !== undefined && this.closeSent) {
      // Both CLOSE frames went: a reset while the sockets wind down loses nothing.
      this.link.destroy();
      return;
    }
    // A truncated frame or a socket error leaves no one to tell.
    this.fail(error, error.code !== "E_TRUNCATED_FRAME" && error.code !== "E_SOCKET");
  }

  /** @internal {@inheritDoc ReceiverHandlers.onEnd} */
  onEnd(): void {
    if (!this.closing) {
      // FIN without CLOSE: allowed without `control`; with it, the peer skipped the drain.
      this.closing = true;
      this.flush();
      this.link.end();
    }
  }

  private finish(): void {
    if (this.heartbeat) clearInterval(this.heartbeat.timer);
    this.heartbeat = null;
    const wait = this.closeWait;
    if (wait?.timer) clearTimeout(wait.timer);
    if (wait) wait.timer = null;
    this.session?.stop();
    if (this.finished) return;
    this.finished = true;
    this.ended = true;
    this.closeWait = null;
    if (!this.link.destroyed) this.link.destroy();
    // Both CLOSE frames went without a failure: the peer read every frame before ours (QWH-CLOSE-003, QWH-CLOSE-008).
    if (this.session && this.closeSent && this.peerClose !== undefined && !this.failure) this.session.closedCleanly();
    const info: ChannelCloseInfo = {
      lostMessages: this.session ? 0 : this.lost,
      closeExchanged: this.closeSent || this.peerClose !== undefined,
    };
    if (this.failure) info.error = this.failure;
    if (this.peerClose) info.peerClose = this.peerClose;
    this.handlers.closed(info, this);
    if (wait !== null) for (const w of wait.waiters) w();
  }
}
