/**
 * The session side of one open connection (feature `resume`, spec section
 * 10.7): each message sent goes into the replay buffer, or waits (held) while
 * the buffer is full; the peer's ACKs free room; our ACKs go at their cadence
 * (count, bytes, time) and answer requests; a resumed connection first sends
 * again what the peer has not received. The {@link FramedChannel} of a
 * connection with a session owns one.
 * @packageDocumentation
 */
import { checkMessageSize, payloadLength } from "../payload.js";
import type { ReplayPayload } from "../protocol/resume.js";
import type { Link } from "./link.js";
import type { ResumeSession } from "./resume-session.js";

/** What the session needs of its open connection. */
export interface SessionChannel {
  readonly link: Link;
  /** True while ACKs may still be sent (no CLOSE of ours yet, connection not ended). */
  readonly mayAck: boolean;
  /** `count` data frames were encoded: counted as sent, and the flush scheduled. */
  encoded(count: number): void;
  /** Schedules a flush of what is encoded (an ACK). */
  scheduleFlush(): void;
}

/** The session of one open connection (see the module comment). */
export class ChannelSession {
  private ackTimer: NodeJS.Timeout | null = null;
  private ackRequested = false;
  private firstFrameOwed: boolean;

  constructor(
    readonly session: ResumeSession,
    private readonly channel: SessionChannel,
  ) {
    this.firstFrameOwed = session.onFirstFrame !== null;
  }

  /**
   * The start of the connection: an ACK first when `firstAck` (QWH-RESUME-020),
   * then every frame the peer has not received, byte for byte and in order,
   * before any other data frame (QWH-RESUME-021), then held messages there is room for.
   */
  start(firstAck: boolean): void {
    const state = this.session.state;
    if (firstAck) this.channel.link.encoder.addAck(false, state.report());
    for (const p of state.pending()) this.encode(p);
    this.releaseHeld();
    if (this.channel.link.encoder.pendingBytes > 0) this.channel.scheduleFlush();
  }

  /** True while the replay buffer is full or messages wait for room. */
  get blocked(): boolean {
    return this.session.held.length > 0 || this.session.state.full;
  }

  /** Messages held for room in the replay buffer, and their bytes. */
  get held(): number {
    return this.session.held.length;
  }
  get heldBytes(): number {
    return this.session.heldBytes;
  }

  /**
   * Sends one message and keeps it for the peer, or holds it while the replay
   * buffer is full (QWH-RESUME-010). Returns false when it was held or filled
   * the buffer (an ACK is then requested). Throws E_FRAME_TOO_LARGE, nothing recorded.
   */
  send(payload: ReplayPayload): boolean {
    const session = this.session;
    const bytes = payloadLength(payload);
    if (session.held.length > 0 || !session.state.canSend(bytes)) {
      checkMessageSize(bytes, this.channel.link.encoder.peerMaxFrameLength, "peer");
      session.held.push(payload);
      session.heldBytes += bytes;
      this.requestAck();
      return false;
    }
    this.encode(payload);
    session.state.recordSent(payload, bytes);
    this.channel.encoded(1);
    if (session.state.full) {
      this.requestAck();
      return false;
    }
    return true;
  }

  /** A data frame arrived (before it is delivered): a resumed connection's first frame retires the previous token (QWH-RESUME-018). */
  frameArrived(): void {
    if (!this.firstFrameOwed) return;
    this.firstFrameOwed = false;
    const confirm = this.session.onFirstFrame;
    this.session.onFirstFrame = null;
    confirm?.();
  }

  /** A data frame of `bytes` was delivered: ACK now, or within the ACK delay (QWH-ACK-006). */
  delivered(bytes: number): void {
    if (this.session.state.delivered(bytes)) this.sendAck(false);
    else if (this.ackTimer === null) this.startAckTimer();
  }

  /** The peer's count (QWH-ACK-004); answers a request (QWH-ACK-007); frees room for held messages. */
  onAck(request: boolean, count: number): void {
    const state = this.session.state;
    state.acknowledge(count);
    if (count === state.sent) this.ackRequested = false;
    if (request) this.sendAck(false);
    if (this.session.held.length > 0) this.releaseHeld();
  }

  /** Asks the peer for an ACK once per episode of a full replay buffer (QWH-ACK-008). */
  requestAck(): void {
    if (this.ackRequested) return;
    this.ackRequested = true;
    this.sendAck(true);
  }

  /** Both CLOSE frames went without a failure: the peer read every frame before ours (QWH-CLOSE-003, QWH-CLOSE-008). */
  closedCleanly(): void {
    this.session.state.acknowledge(this.session.state.sent);
  }

  /** The connection ended: no more ACKs from it. */
  stop(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }

  private encode(payload: ReplayPayload): void {
    const encoder = this.channel.link.encoder;
    if (typeof payload === "string") encoder.addText(payload);
    else encoder.addData(payload);
  }

  /** Moves held messages into the replay buffer while there is room. */
  private releaseHeld(): void {
    const session = this.session;
    const held = session.held;
    let i = 0;
    while (i < held.length) {
      const p = held[i]!;
      const bytes = payloadLength(p);
      if (!session.state.canSend(bytes)) break;
      this.encode(p);
      session.state.recordSent(p, bytes);
      session.heldBytes -= bytes;
      i++;
    }
    if (i > 0) {
      held.splice(0, i);
      this.channel.encoded(i);
    }
  }

  private sendAck(request: boolean): void {
    if (this.ackTimer !== null) {
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
    if (!this.channel.mayAck) return;
    this.channel.link.encoder.addAck(request, this.session.state.report());
    this.channel.scheduleFlush();
  }

  private startAckTimer(): void {
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      if (this.session.state.ackPending) this.sendAck(false);
    }, this.session.ackDelayMs);
    this.ackTimer.unref();
  }
}
