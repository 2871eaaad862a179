/**
 * The client's send path: a message goes straight to the open connection, or
 * waits in order (for a connection, or while the connection is backpressured
 * or rate limited) in a bounded queue, and is handed over as the connection
 * takes it; `drain` once nothing waits after a `send()` returned false, and
 * `flush()` until everything is with the socket.
 * @packageDocumentation
 */
import { DEFAULT_MAX_FRAME_LENGTH } from "../protocol/constants.js";
import { QWormholeError } from "../protocol/errors.js";
import { checkMessageSize, payloadLength, type Payload } from "../payload.js";
import { RateLimitedQueue, TokenBucket } from "../rate-limiter.js";
import type { FramedChannel } from "../transport/channel.js";
import type { ResolvedClientOptions } from "./client-options.js";

/** What the send path needs of its client. */
export interface SendQueueHost {
  /** The connection, while the client is open; null otherwise. */
  openChannel(): FramedChannel | null;
  /** A message that cannot be sent any more (counted as lost, reported). */
  lost(error: QWormholeError): void;
  /** Everything that waited has been handed over: emit `drain`. */
  drained(): void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Messages on their way from `send()` to a connection (see the module comment). */
export class ClientSendQueue {
  private pending: Payload[] = [];
  private pendingBytes = 0;
  private readonly limiter: RateLimitedQueue<Payload> | null;
  private flushWaiters: Waiter[] = [];
  // A send() returned false: "drain" is emitted once nothing waits any more.
  private drainOwed = false;
  /** The peer's receive maximum (of the last connection). */
  peerMaxFrameLength = DEFAULT_MAX_FRAME_LENGTH;

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly host: SendQueueHost,
  ) {
    const o = options;
    this.limiter =
      o.rateLimitBytesPerSec > 0
        ? new RateLimitedQueue(new TokenBucket(o.rateLimitBytesPerSec, o.rateLimitBurstBytes || o.rateLimitBytesPerSec), (p) =>
            this.dispatchLimited(p),
          )
        : null;
  }

  /** Messages and bytes waiting (queue and rate limiter). */
  get depth(): number {
    return this.pending.length + (this.limiter?.length ?? 0);
  }
  get bytes(): number {
    return this.pendingBytes + (this.limiter?.bytes ?? 0);
  }

  /** One message from `send()`; returns false when it has to wait (see QWormholeClient.send). */
  send(payload: Payload, priority: number): boolean {
    if (this.limiter) {
      const bytes = payloadLength(payload);
      checkMessageSize(bytes, this.peerMaxFrameLength, "peer");
      const now = this.limiter.push(payload, bytes, priority) && this.host.openChannel() !== null;
      if (!now) this.drainOwed = true;
      return now;
    }
    return this.dispatch(payload);
  }

  /** The connection ended a backpressure episode: a false send() owes a `drain`. */
  connectionDrained(channel: FramedChannel): void {
    this.drainOwed = true;
    this.flushTo(channel);
  }

  /** Puts messages first in the queue (a lost session's never-sent ones). */
  requeue(payloads: readonly Payload[]): void {
    if (payloads.length === 0) return;
    this.pending.unshift(...payloads);
    for (const p of payloads) this.pendingBytes += payloadLength(p);
  }

  /**
   * Moves queued messages to `channel` while it takes them; `drain` once none wait.
   * `all`: every one of them, backpressure or not (a session holds what its replay buffer has no room for).
   */
  flushTo(channel: FramedChannel, all = false): void {
    let i = 0;
    try {
      while (i < this.pending.length && !channel.isClosing && (all || !channel.isBackpressured)) {
        const p = this.pending[i++]!;
        this.pendingBytes -= payloadLength(p);
        try {
          channel.send(p);
        } catch (err) {
          // Too large for this peer's maximum: drop it, tell the application.
          if ((err as QWormholeError).code !== "E_FRAME_TOO_LARGE") throw err;
          this.host.lost(err as QWormholeError);
        }
      }
    } finally {
      this.pending.splice(0, i);
    }
    this.settleDrain();
  }

  /** Resolves once everything is with the socket (QWormholeClient.flush, when {@link flushed} is not yet true). */
  waitFlushed(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e: Error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        this.flushWaiters = this.flushWaiters.filter((w) => w !== waiter);
        reject(new QWormholeError("E_ABORTED", "flush aborted", { cause: signal!.reason }));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.flushWaiters.push(waiter);
    });
  }

  /** True when nothing sent waits in the client: every message is with the socket. */
  flushed(): boolean {
    if (this.depth > 0) return false;
    const channel = this.host.openChannel();
    if (channel === null) return true; // nothing queued and no connection: nothing to flush
    if (channel.isBackpressured) return false;
    channel.flush(); // hands the frame batch to the socket now instead of at the end of the turn
    return !channel.isBackpressured;
  }

  /** The client closed: drops what waits (returns how many) and rejects the flush() waiters. */
  clear(): number {
    const dropped = this.pending.length + (this.limiter?.clear().length ?? 0);
    this.pending = [];
    this.pendingBytes = 0;
    for (const w of this.flushWaiters.splice(0))
      w.reject(new QWormholeError("E_CLOSED", "the client closed before its queued messages were sent"));
    return dropped;
  }

  private dispatch(payload: Payload): boolean {
    const channel = this.host.openChannel();
    if (channel !== null && this.pending.length === 0 && !channel.isBackpressured && !channel.isClosing) {
      if (channel.send(payload)) return true;
      // The connection may die before its "drain": the next one then owes it.
      this.drainOwed = true;
      return false;
    }
    // A connection that is closing is as good as gone: the message waits for the next one.
    if ((channel === null || channel.isClosing) && this.options.requireConnectedForSend)
      throw new QWormholeError("E_NOT_CONNECTED", "not connected");
    const bytes = payloadLength(payload);
    checkMessageSize(bytes, this.peerMaxFrameLength, "peer");
    const o = this.options;
    if (this.pending.length >= o.maxQueuedMessages || this.pendingBytes + bytes > o.maxQueuedBytes) {
      throw new QWormholeError(
        "E_QUEUE_FULL",
        `send queue full (${this.pending.length} messages, ${this.pendingBytes} bytes; limits ${o.maxQueuedMessages}, ${o.maxQueuedBytes})`,
      );
    }
    this.pending.push(payload);
    this.pendingBytes += bytes;
    this.drainOwed = true;
    return false;
  }

  /** A rate-limited message's turn came (on a timer): a failure is reported, never thrown. */
  private dispatchLimited(payload: Payload): void {
    try {
      this.dispatch(payload);
    } catch (err) {
      this.host.lost(err as QWormholeError);
    }
    this.settleDrain();
  }

  /** Once no message waits: wakes flush() and emits the "drain" a false send() promised. */
  private settleDrain(): void {
    if (this.depth > 0) return;
    if (this.flushWaiters.length > 0 && this.flushed()) for (const w of this.flushWaiters.splice(0)) w.resolve();
    const channel = this.host.openChannel();
    if (this.drainOwed && channel !== null && !channel.isBackpressured && !channel.isClosing) {
      this.drainOwed = false;
      this.host.drained();
    }
  }
}
