/**
 * An open QWH/1 connection over a socket, after the handshake: receive
 * pipeline, batched writes, heartbeats, graceful close, backpressure and
 * counters. The client and every server-side connection own one.
 * @packageDocumentation
 */
import type { Socket } from "node:net";
import { Feature } from "../protocol/constants.js";
import type { CloseInfo } from "../protocol/control.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { ProtocolError, QWormholeError } from "../protocol/errors.js";
import { FrameEncoder } from "../protocol/frame-encoder.js";
import { FrameReceiver } from "../protocol/frame-receiver.js";
import type { ResolvedCommonOptions } from "../options.js";
import type { TrafficCounters } from "../telemetry.js";

/** How an open connection behaves. */
export interface ChannelOptions {
  framing: "length-prefixed" | "none";
  /** Negotiated features (`control` enables heartbeats and the CLOSE handshake). */
  features: readonly string[];
  /** Our receive maximum. */
  maxFrameLength: number;
  /** The peer's receive maximum. */
  peerMaxFrameLength: number;
  /** PING interval; 0 disables heartbeats. */
  heartbeatIntervalMs: number;
  /** Unanswered PINGs after which the peer is declared stale. */
  heartbeatMissedLimit: number;
  /** How long a graceful close waits for the peer's CLOSE. */
  drainTimeoutMs: number;
  /** Above this many unsent bytes, `send` reports backpressure (and a server stops reading). */
  highWaterMarkBytes: number;
  /** Above this many unsent bytes the connection is destroyed with E_BACKPRESSURE; 0 disables. */
  maxBackpressureBytes: number;
  /** Stop reading while backpressured (server side). */
  pauseReadingOnBackpressure: boolean;
  /** Close after this long without traffic (E_IDLE_TIMEOUT); 0 disables. */
  idleTimeoutMs: number;
}

/** Channel options from the resolved common options and what the handshake negotiated. */
export function channelOptions(
  o: ResolvedCommonOptions,
  features: readonly string[],
  peerMaxFrameLength: number,
  side: { maxBackpressureBytes: number; pauseReadingOnBackpressure: boolean },
): ChannelOptions {
  return {
    framing: o.framing,
    features,
    maxFrameLength: o.maxFrameLength,
    peerMaxFrameLength,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    heartbeatMissedLimit: o.heartbeatMissedLimit,
    drainTimeoutMs: o.drainTimeoutMs,
    highWaterMarkBytes: o.highWaterMarkBytes,
    idleTimeoutMs: o.idleTimeoutMs,
    ...side,
  };
}

/** Why an open connection ended. */
export interface ChannelCloseInfo {
  /** The failure, if the connection did not end gracefully. */
  error?: QWormholeError;
  /** The peer's CLOSE, if it sent one. */
  peerClose?: CloseInfo;
  /** Messages handed to the socket whose write failed (at-most-once delivery). */
  lostMessages: number;
}

/** Callbacks of a {@link FramedChannel}. */
export interface ChannelHandlers {
  message(payload: Buffer): void;
  closed(info: ChannelCloseInfo): void;
  backpressure(queuedBytes: number): void;
  drain(): void;
  /** Optional: idle timeout fired (before the close). */
  timeout?(): void;
  /** Optional: a heartbeat found the peer silent (before the close). */
  stale?(): void;
}

/** Traffic counters of one connection. */
export type ChannelCounters = TrafficCounters;

const PING_BODY_LENGTH = 8;

/** The open state of a connection. */
export class FramedChannel {
  readonly counters: ChannelCounters = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, backpressureEvents: 0, drainEvents: 0 };
  private readonly encoder: FrameEncoder;
  private readonly receiver: FrameReceiver | null;
  private readonly control: boolean;
  private flushScheduled = false;
  private batchMessages = 0;
  private lost = 0;
  private backpressured = false;
  private closing = false;
  private closeSent = false;
  private ended = false;
  private peerClose: CloseInfo | undefined;
  private closeWaiters: (() => void)[] = [];
  private finished = false;
  private failure: QWormholeError | undefined;
  private heartbeat: NodeJS.Timeout | null = null;
  // PINGs carry an increasing 8-byte counter; a PONG echoing counter k answers every PING up to k.
  private pingsSent = 0n;
  private pingsAnswered = 0n;
  private drainTimer: NodeJS.Timeout | null = null;
  private readonly flushBound = () => this.flush();

  constructor(
    readonly socket: Socket,
    private readonly options: ChannelOptions,
    private readonly handlers: ChannelHandlers,
  ) {
    this.encoder = new FrameEncoder({ peerMaxFrameLength: options.peerMaxFrameLength });
    this.control = options.framing === "length-prefixed" && options.features.includes(Feature.CONTROL);
    if (options.framing === "length-prefixed") {
      const counters = this.counters;
      const onMessage = handlers.message;
      this.receiver = new FrameReceiver(
        {
          onMessage: (payload) => {
            counters.messagesIn++;
            onMessage(payload);
          },
          onPing: (body) => this.onPing(body),
          onPong: (body) => this.onPong(body),
          onClose: (info) => this.onPeerClose(info),
        },
        { maxFrameLength: options.maxFrameLength, features: options.features },
      );
    } else {
      this.receiver = null;
    }
    socket.on("drain", () => this.onDrain());
    socket.on("end", () => this.onEnd());
    socket.on("close", () => this.finish());
    socket.on("error", (err) => this.fail(new QWormholeError("E_SOCKET", err.message, { cause: err })));
    if (options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs, () => {
        this.handlers.timeout?.();
        // A graceful close, but reported with its cause.
        this.failure ??= new QWormholeError("E_IDLE_TIMEOUT", `no traffic for ${options.idleTimeoutMs} ms`);
        void this.close("E_IDLE_TIMEOUT", `no traffic for ${options.idleTimeoutMs} ms`);
      });
    }
    if (this.control && options.heartbeatIntervalMs > 0) {
      this.heartbeat = setInterval(() => this.beat(), options.heartbeatIntervalMs);
      this.heartbeat.unref();
    }
  }

  /** Feeds received bytes (the socket's data, including bytes that followed the handshake). */
  receive(chunk: Buffer): void {
    if (this.ended) return;
    this.counters.bytesIn += chunk.length;
    if (this.receiver === null) {
      this.counters.messagesIn++;
      this.handlers.message(chunk);
      return;
    }
    try {
      this.receiver.push(chunk);
    } catch (err) {
      this.protocolFailure(err);
    }
  }

  /** True while unsent output is above the high-water mark. */
  get isBackpressured(): boolean {
    return this.backpressured;
  }

  /** Bytes accepted but not yet written to the kernel. */
  get queuedBytes(): number {
    return this.encoder.pendingBytes + this.socket.writableLength;
  }

  /** True once a close started (ours or the peer's). */
  get isClosing(): boolean {
    return this.closing || this.ended;
  }

  /** The peer's receive maximum. */
  get peerMaxFrameLength(): number {
    return this.encoder.peerMaxFrameLength;
  }

  /**
   * Queues one message for the next flush. Throws E_FRAME_TOO_LARGE (nothing
   * sent) over the peer's maximum, E_CLOSED once closing. Returns false when
   * the connection is backpressured (the message is still sent).
   */
  send(payload: Uint8Array | string): boolean {
    if (this.closing || this.ended) throw new QWormholeError("E_CLOSED", "connection is closing");
    if (this.receiver === null) {
      this.encoder.addRaw(typeof payload === "string" ? Buffer.from(payload, "utf8") : payload);
    } else if (typeof payload === "string") {
      this.encoder.addText(payload);
    } else {
      this.encoder.addData(payload);
    }
    this.counters.messagesOut++;
    this.batchMessages++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
    // A burst within one turn counts too, so a synchronous send loop sees backpressure.
    if (!this.backpressured && this.encoder.pendingBytes > this.options.highWaterMarkBytes) this.enterBackpressure(this.encoder.pendingBytes);
    return !this.backpressured;
  }

  /** Writes everything queued now (normally done once per turn of the event loop). */
  flush(): void {
    this.flushScheduled = false;
    if (this.encoder.pendingBytes === 0 || this.socket.destroyed) return;
    const parts = this.encoder.take();
    const count = this.batchMessages;
    this.batchMessages = 0;
    let bytes = 0;
    const done = (err?: Error | null) => {
      if (err) this.lost += count;
    };
    if (parts.length === 1) {
      bytes = parts[0]!.length;
      this.socket.write(parts[0]!, done);
    } else {
      this.socket.cork();
      for (let i = 0; i < parts.length; i++) {
        bytes += parts[i]!.length;
        this.socket.write(parts[i]!, i === parts.length - 1 ? done : undefined);
      }
      this.socket.uncork();
    }
    this.counters.bytesOut += bytes;
    this.checkBackpressure();
  }

  private checkBackpressure(): void {
    const queued = this.socket.writableLength;
    const o = this.options;
    if (o.maxBackpressureBytes > 0 && queued > o.maxBackpressureBytes) {
      this.fail(new QWormholeError("E_BACKPRESSURE", `peer is not reading: ${queued} bytes unsent (limit ${o.maxBackpressureBytes})`));
      return;
    }
    if (!this.backpressured) {
      if (queued > o.highWaterMarkBytes) this.enterBackpressure(queued);
    } else if (queued <= o.highWaterMarkBytes && !this.socket.writableNeedDrain) {
      // The kernel took the burst: no socket "drain" will come, so end the episode here.
      queueMicrotask(() => this.onDrain());
    }
  }

  private enterBackpressure(queued: number): void {
    this.backpressured = true;
    this.counters.backpressureEvents++;
    if (this.options.pauseReadingOnBackpressure) this.socket.pause();
    this.handlers.backpressure(queued);
  }

  private onDrain(): void {
    if (!this.backpressured || this.encoder.pendingBytes > 0 || this.socket.writableLength > this.options.highWaterMarkBytes) return;
    this.backpressured = false;
    this.counters.drainEvents++;
    if (this.options.pauseReadingOnBackpressure && !this.ended) this.socket.resume();
    this.handlers.drain();
  }

  private onPing(body: Buffer): void {
    // PONGs stay allowed after our CLOSE (QWH-CLOSE-002).
    this.encoder.addPong(body);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
  }

  private beat(): void {
    if (this.closing || this.ended) return;
    const unanswered = this.pingsSent - this.pingsAnswered;
    if (unanswered >= BigInt(this.options.heartbeatMissedLimit)) {
      this.handlers.stale?.();
      this.fail(new QWormholeError("E_HEARTBEAT_TIMEOUT", `${unanswered} PINGs unanswered`));
      return;
    }
    const body = Buffer.allocUnsafe(PING_BODY_LENGTH);
    body.writeBigUInt64BE(++this.pingsSent);
    this.encoder.addPing(body);
    this.scheduleFlush();
  }

  /** A PONG answers the PING it echoes and every earlier one (QWH-PING-004); anything else is unsolicited and ignored. */
  private onPong(body: Buffer): void {
    if (body.length !== PING_BODY_LENGTH) return;
    const k = body.readBigUInt64BE(0);
    if (k > this.pingsAnswered && k <= this.pingsSent) this.pingsAnswered = k;
  }

  private onPeerClose(info: CloseInfo): void {
    this.peerClose = info;
    if (!this.closing) {
      // The peer drains: everything we queued goes out, then our CLOSE, then FIN.
      this.closing = true;
      this.sendClose("E_NORMAL_CLOSE");
      this.flush();
      this.socket.end();
    } else {
      this.socket.end();
    }
  }

  private sendClose(code: string, reason?: string): void {
    if (this.closeSent || !this.control) return;
    this.closeSent = true;
    this.encoder.addClose(reason === undefined ? { code } : { code, reason });
  }

  /**
   * Graceful close: flush what is queued, send CLOSE (when negotiated), wait
   * for the peer's CLOSE or `drainTimeoutMs`, then end the socket.
   */
  close(code: WireErrorCode = "E_NORMAL_CLOSE", reason?: string): Promise<void> {
    if (this.finished) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    if (this.closing) return done;
    this.closing = true;
    this.sendClose(code, reason); // no-op without "control": then FIN is the close
    this.flush();
    if (!this.control) this.socket.end();
    this.drainTimer = setTimeout(() => {
      // The peer never answered our CLOSE (or never closed its side): an unclean close.
      this.failure ??= new QWormholeError("E_DRAIN_TIMEOUT", `no answer to the close within ${this.options.drainTimeoutMs} ms`);
      this.socket.destroy();
    }, this.options.drainTimeoutMs);
    this.drainTimer.unref();
    return done;
  }

  /** Fails the connection at once with `error`, telling the peer when the code may travel. */
  fail(error: QWormholeError, tellPeer = false): void {
    if (this.ended) return;
    this.ended = true;
    this.failure ??= error;
    if (tellPeer && this.control && !this.closeSent && !this.socket.destroyed) {
      this.sendClose(error.code, error.message.slice(0, 200));
      this.flush();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 100).unref();
    } else {
      this.socket.destroy();
    }
    // finish() runs on the socket's "close", after failed writes were counted.
  }

  private protocolFailure(err: unknown): void {
    const error = err instanceof QWormholeError ? err : new ProtocolError("E_INTERNAL", String(err), { cause: err });
    // Truncation is only noticed at the end of the stream; there is no one left to tell.
    this.fail(error, error.code !== "E_TRUNCATED_FRAME");
  }

  private onEnd(): void {
    if (this.receiver) {
      try {
        this.receiver.end();
      } catch (err) {
        this.protocolFailure(err);
        return;
      }
    }
    if (!this.closing) {
      // FIN without CLOSE: allowed without `control`; with it, the peer skipped the drain.
      this.closing = true;
      this.flush();
      this.socket.end();
    }
  }

  private finish(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.heartbeat = null;
    this.drainTimer = null;
    if (this.finished) return;
    this.finished = true;
    this.ended = true;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    if (!this.socket.destroyed) this.socket.destroy();
    const info: ChannelCloseInfo = { lostMessages: this.lost };
    if (this.failure) info.error = this.failure;
    if (this.peerClose) info.peerClose = this.peerClose;
    this.handlers.closed(info);
    for (const w of waiters) w();
  }
}
