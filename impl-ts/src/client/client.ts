/**
 * QWormholeClient: connects, performs the QWH/1 handshake, delivers typed
 * messages, reconnects with backoff, and queues what is sent while it is
 * disconnected (bounded, delivered once and in order after the reconnect).
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";
import { AsyncQueue } from "../async-queue.js";
import { backoffDelay } from "../backoff.js";
import { UNDECODABLE, bufferDeserializer, defaultSerializer, deserializeOrReport, type Deserializer, type Serializer } from "../codecs.js";
import { HotEvent } from "../hot-event.js";
import { resolveInterfaceAddress } from "../interface-binding.js";
import { DEFAULT_MAX_FRAME_LENGTH } from "../protocol/constants.js";
import { isTerminalErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import type { AcceptFrame } from "../protocol/server-answer.js";
import { RateLimitedQueue, TokenBucket } from "../rate-limiter.js";
import { DiagnosticsChannels, addCounters, emptySnapshot, publish, startTelemetry, type TelemetrySnapshot } from "../telemetry.js";
import type { TlsFacts } from "../tls-facts.js";
import { FramedChannel, channelOptions, type ChannelCloseInfo } from "../transport/channel.js";
import type { FrameLink } from "../transport/frame-link.js";
import { socketDialer, type DialAttempt, type Dialer } from "../transport/socket-transport.js";
import { runClientHandshake } from "./client-handshake.js";
import { resolveClientOptions, type QWormholeClientOptions, type ResolvedClientOptions } from "./client-options.js";

/** What the client knows once a connection is ready. */
export interface ClientReadyInfo {
  profile: "v1" | "legacy" | "bare";
  /** The server's accept (v1 only). */
  accept?: AcceptFrame;
  /** TLS facts, when TLS is on. */
  tls?: TlsFacts;
}

/** Why a connection of the client ended. */
export interface ClientCloseInfo {
  hadError: boolean;
  error?: QWormholeError;
  willReconnect: boolean;
  /** The server's CLOSE frame, when it sent one (graceful close, or a failure it reported). */
  peerClose?: { code: string; reason?: string };
}

/** Client lifecycle, as reported by {@link QWormholeClient.statusChanges}. */
export type ClientStatus =
  | { type: "connecting"; attempt: number }
  | { type: "ready"; info: ClientReadyInfo }
  | { type: "disconnected"; error?: QWormholeError }
  /** Heartbeats went unanswered; a disconnect (and reconnect) follows. */
  | { type: "stale" }
  | { type: "reconnecting"; attempt: number; delayMs: number }
  | { type: "closed"; error?: QWormholeError };

/** Events of {@link QWormholeClient}. */
export interface ClientEvents<TIn> {
  /** TCP (and TLS) connected; the handshake follows. */
  connect: [];
  /** Handshake done: messages flow. */
  ready: [info: ClientReadyInfo];
  message: [data: TIn];
  /**
   * The messages of one read, in order, once the read is decoded: for
   * consumers that work per batch. Only built while listened to; `message`
   * listeners still get each message as it is decoded.
   */
  messageBatch: [messages: TIn[]];
  /**
   * An open connection ended; `willReconnect` tells whether the client tries
   * again, `peerClose` carries the server's CLOSE code and reason when it sent one.
   */
  close: [info: ClientCloseInfo];
  /** Emitted only when listened to: failures are also reported through `close` and `statusChanges`. */
  error: [error: QWormholeError];
  /** The idle timeout fired. */
  timeout: [];
  reconnecting: [info: { attempt: number; delayMs: number }];
  backpressure: [info: { queuedBytes: number; threshold: number }];
  drain: [];
  telemetry: [snapshot: TelemetrySnapshot];
}

type State = "idle" | "connecting" | "open" | "waiting" | "closing" | "closed";
type Payload = Uint8Array | string;

const byteLength = (p: Payload): number => (typeof p === "string" ? Buffer.byteLength(p) : p.length);

/**
 * A QWH/1 client: connects, runs the handshake, then sends and receives
 * messages; reconnects with backoff unless told not to. Events are listed in
 * {@link ClientEvents}.
 *
 * @example
 * ```ts
 * import { QWormholeClient, jsonDeserializer } from "qwormhole";
 *
 * const client = new QWormholeClient<{ sum: number }, { a: number; b: number }>({
 *   host: "127.0.0.1",
 *   port: 9000,
 *   deserializer: jsonDeserializer,
 * });
 * client.on("message", (reply) => console.log(reply.sum));
 * await client.connect(); // the server accepted the handshake
 * client.send({ a: 2, b: 3 }); // objects go out as JSON by default
 * await client.close(); // graceful: flush, CLOSE, wait for the server's CLOSE
 * ```
 */
export class QWormholeClient<TIn = Buffer, TOut = unknown> extends EventEmitter<ClientEvents<TIn>> {
  /** Validated options. */
  readonly options: ResolvedClientOptions;
  private readonly serialize: Serializer<TOut>;
  private readonly deserialize: Deserializer<TIn>;
  private state: State = "idle";
  private link: FrameLink | null = null;
  private dial: DialAttempt | null = null;
  private readonly dialer: Dialer;
  private channel: FramedChannel | null = null;
  private pending: Payload[] = [];
  private pendingBytes = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly limiter: RateLimitedQueue<Payload> | null;
  private readonly stats = emptySnapshot();
  private telemetryTimer: NodeJS.Timeout | null = null;
  private info: ClientReadyInfo | null = null;
  private lastError: QWormholeError | undefined;
  private finalError: QWormholeError | undefined;
  private peerMax = DEFAULT_MAX_FRAME_LENGTH;
  private readonly iterators = new Set<AsyncQueue<unknown>>();
  private drainWaiters: (() => void)[] = [];
  // True while an opened connection has not had its "close" event yet.
  private closeOwed = false;
  // A send() returned false: "drain" is emitted once nothing waits any more.
  private drainOwed = false;
  private readonly messageEvent: HotEvent<TIn>;
  private readonly batchEvent: HotEvent<TIn[]>;
  // Messages of the read being decoded, while someone listens to batches.
  private batch: TIn[] | null = null;

  constructor(options: QWormholeClientOptions<TIn, TOut>) {
    super();
    this.messageEvent = new HotEvent(this as EventEmitter, "message");
    this.batchEvent = new HotEvent(this as EventEmitter, "messageBatch");
    this.options = resolveClientOptions(options as QWormholeClientOptions<unknown, unknown>);
    this.dialer = options.dialer ?? socketDialer;
    this.serialize = options.serializer ?? (defaultSerializer as Serializer<TOut>);
    this.deserialize = options.deserializer ?? (bufferDeserializer as unknown as Deserializer<TIn>);
    const o = this.options;
    this.limiter =
      o.rateLimitBytesPerSec > 0
        ? new RateLimitedQueue(new TokenBucket(o.rateLimitBytesPerSec, o.rateLimitBurstBytes || o.rateLimitBytesPerSec), (p) => this.dispatchLimited(p))
        : null;
    if (options.onTelemetry) {
      const emit = options.onTelemetry;
      this.telemetryTimer = startTelemetry(o.telemetryIntervalMs, () => this.telemetry(), (s) => {
        emit(s);
        this.emit("telemetry", s);
      });
    }
  }

  /** True while a connection is open (handshake done). */
  get connected(): boolean {
    return this.state === "open";
  }

  /** Facts of the current connection, or null when not connected. */
  get connection(): ClientReadyInfo | null {
    return this.state === "open" ? this.info : null;
  }

  /**
   * Connects and completes the handshake. Retries per the reconnect policy;
   * rejects on a terminal failure (version mismatch, TLS pin mismatch,
   * policy rejection, ...), when attempts run out, or when `signal` aborts.
   */
  connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.state === "closing" || this.state === "closed") {
      return Promise.reject(new QWormholeError("E_CLOSED", "client is closed"));
    }
    if (this.state === "open") return Promise.resolve();
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new QWormholeError("E_ABORTED", "connect aborted", { cause: signal.reason }));
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (signal) {
      const onAbort = () => {
        this.destroy(new QWormholeError("E_ABORTED", "connect aborted", { cause: signal.reason }));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      void done.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
    if (this.state === "idle") this.startAttempt();
    return done;
  }

  /**
   * Sends one message. Returns false when the message had to wait (the
   * connection is backpressured, rate limited, closing or down); it is still
   * sent in order, and `drain` follows once everything waiting has been
   * handed to an open connection. Throws E_FRAME_TOO_LARGE over the peer's
   * maximum, E_QUEUE_FULL when the queue of waiting messages is full,
   * E_NOT_CONNECTED with `requireConnectedForSend`, E_CLOSED after close.
   */
  send(data: TOut, options?: { priority?: number }): boolean {
    if (this.state === "closing" || this.state === "closed") throw new QWormholeError("E_CLOSED", "client is closed");
    let payload: Payload;
    try {
      payload = this.serialize(data);
    } catch (err) {
      throw err instanceof QWormholeError ? err : new QWormholeError("E_CODEC", `serializer failed: ${(err as Error).message}`, { cause: err });
    }
    if (this.limiter) {
      const bytes = byteLength(payload);
      this.checkSize(bytes);
      const now = this.limiter.push(payload, bytes, options?.priority ?? 0) && this.state === "open";
      if (!now) this.drainOwed = true;
      return now;
    }
    return this.dispatch(payload);
  }

  private checkSize(bytes: number): void {
    if (bytes > this.peerMax) {
      throw new QWormholeError("E_FRAME_TOO_LARGE", `message of ${bytes} bytes exceeds the peer's maximum frame length ${this.peerMax}`);
    }
  }

  private dispatch(payload: Payload): boolean {
    const channel = this.channel;
    if (channel !== null && this.pending.length === 0 && !channel.isBackpressured && !channel.isClosing && this.state === "open") {
      if (channel.send(payload)) return true;
      // The connection may die before its "drain": the next one then owes it.
      this.drainOwed = true;
      return false;
    }
    // A connection that is closing is as good as gone: the message waits for the next one.
    if ((channel === null || channel.isClosing) && this.options.requireConnectedForSend) throw new QWormholeError("E_NOT_CONNECTED", "not connected");
    const bytes = byteLength(payload);
    this.checkSize(bytes);
    if (this.pending.length >= this.options.maxQueuedMessages || this.pendingBytes + bytes > this.options.maxQueuedBytes) {
      throw new QWormholeError(
        "E_QUEUE_FULL",
        `send queue full (${this.pending.length} messages, ${this.pendingBytes} bytes; limits ${this.options.maxQueuedMessages}, ${this.options.maxQueuedBytes})`,
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
      this.stats.lostMessages++;
      this.report(err as QWormholeError);
    }
    this.settleDrain();
  }

  /** Moves queued messages to the connection while it takes them; `drain` once none wait. */
  private flushPending(): void {
    const channel = this.channel;
    if (channel === null) return;
    let i = 0;
    try {
      while (i < this.pending.length && !channel.isBackpressured && !channel.isClosing) {
        const p = this.pending[i++]!;
        this.pendingBytes -= byteLength(p);
        try {
          channel.send(p);
        } catch (err) {
          // Too large for this peer's maximum: drop it, tell the application.
          if ((err as QWormholeError).code !== "E_FRAME_TOO_LARGE") throw err;
          this.stats.lostMessages++;
          this.report(err as QWormholeError);
        }
      }
    } finally {
      this.pending.splice(0, i);
    }
    this.settleDrain();
  }

  /** Once no message waits: wakes drain() and emits the "drain" a false send() promised. */
  private settleDrain(): void {
    if (this.pending.length > 0 || (this.limiter !== null && this.limiter.length > 0)) return;
    for (const w of this.drainWaiters.splice(0)) w();
    const channel = this.channel;
    if (this.drainOwed && this.state === "open" && channel !== null && !channel.isBackpressured && !channel.isClosing) {
      this.drainOwed = false;
      this.emit("drain");
    }
  }

  /**
   * Graceful close: queued messages are flushed to an open connection, a
   * CLOSE frame is sent (when negotiated) and the peer's answer awaited for at
   * most `drainTimeoutMs`. Messages still waiting for a connection are
   * dropped (counted in telemetry). No reconnect follows.
   */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    if (this.state === "closing") return new Promise((resolve) => this.once("close", () => resolve()));
    this.state = "closing";
    this.clearRetry();
    const channel = this.channel;
    if (channel) {
      this.flushPending();
      await channel.close("E_NORMAL_CLOSE");
    } else {
      this.abandonAttempt();
    }
    this.finalize();
  }

  private abandonAttempt(): void {
    this.dial?.cancel();
    this.dial = null;
    this.link?.destroy();
    this.link = null;
  }

  /**
   * Waits (at most `drainTimeoutMs`) until every queued and rate-limited
   * message has been handed to an open connection, then closes gracefully.
   */
  async drain(): Promise<void> {
    if (this.pending.length > 0 || (this.limiter?.length ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.drainTimeoutMs);
        this.drainWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.close();
  }

  /** Closes at once, without a graceful drain. */
  destroy(error?: QWormholeError): void {
    if (this.state === "closed") return;
    this.state = "closing";
    this.clearRetry();
    if (error) this.lastError = this.finalError = error;
    this.abandonAttempt();
    this.finalize();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** TLS keying material exporter (RFC 5705) of the open connection, for application-level channel binding. */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    if (!this.link || this.state !== "open") throw new QWormholeError("E_NOT_CONNECTED", "exportKeyingMaterial needs an open TLS connection");
    return this.link.exportKeyingMaterial(length, label, context);
  }

  /** Received messages as an async iterable; it ends when the client closes for good. */
  messages(): AsyncIterableIterator<TIn> {
    const q: AsyncQueue<TIn> = new AsyncQueue(() => {
      this.off("message", onMessage);
      this.iterators.delete(q as AsyncQueue<unknown>);
    });
    const onMessage = (m: TIn) => q.push(m);
    this.on("message", onMessage);
    this.iterators.add(q as AsyncQueue<unknown>);
    if (this.state === "closed") q.end();
    return q;
  }

  /** Lifecycle changes as an async iterable; it ends after `closed`. */
  statusChanges(): AsyncIterableIterator<ClientStatus> {
    const q = new AsyncQueue<ClientStatus>(() => {
      this.statusQueues.delete(q);
    });
    this.statusQueues.add(q);
    if (this.state === "closed") q.end();
    return q;
  }

  private readonly statusQueues = new Set<AsyncQueue<ClientStatus>>();

  private status(s: ClientStatus): void {
    for (const q of this.statusQueues) q.push(s);
  }

  /** A telemetry snapshot now. */
  telemetry(): TelemetrySnapshot {
    const s = { ...this.stats, timestamp: Date.now() };
    if (this.channel) addCounters(s, this.channel.counters);
    s.connections = this.state === "open" ? 1 : 0;
    s.queueDepth = this.pending.length + (this.limiter?.length ?? 0);
    s.queuedBytes = this.pendingBytes + (this.limiter?.bytes ?? 0) + (this.channel?.queuedBytes ?? 0);
    return s;
  }

  private readonly reportBound = (error: QWormholeError) => this.report(error);

  private report(error: QWormholeError): void {
    this.lastError = error;
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private startAttempt(): void {
    this.state = "connecting";
    this.attempt++;
    this.status({ type: "connecting", attempt: this.attempt });
    const o = this.options;
    let localAddress = o.localAddress;
    if (o.interfaceName) {
      try {
        localAddress = resolveInterfaceAddress(o.interfaceName, o.host);
      } catch (err) {
        // A name that never resolved is a configuration error; an interface that was there and is
        // gone (link down, VPN restarting) may come back, so reconnects go on.
        this.attemptFailed(err as QWormholeError, this.info === null);
        return;
      }
    }
    this.dial = this.dialer({ ...o, localAddress }, {
      connected: (link) => {
        this.dial = null;
        this.link = link;
        this.emit("connect");
        publish(DiagnosticsChannels.clientConnect, { host: o.host, port: o.port, attempt: this.attempt });
        this.handshake(link);
      },
      failed: (error) => {
        this.dial = null;
        this.attemptFailed(error, false);
      },
    });
  }

  /** Runs the handshake of the selected profile on a connected link. */
  private handshake(link: FrameLink): void {
    runClientHandshake(link, this.options, {
      opened: (info, features, peerMax) => this.open(link, info, features, peerMax),
      rejected: () => {
        this.stats.handshakeRejections++;
      },
      failed: (error, terminal) => {
        this.link = null;
        this.attemptFailed(error, terminal);
      },
    });
  }

  private open(link: FrameLink, info: ClientReadyInfo, features: readonly string[], peerMax: number): void {
    const o = this.options;
    this.peerMax = peerMax;
    const channel = new FramedChannel(link, channelOptions(o, features, peerMax, { maxBackpressureBytes: 0, pauseReadingOnBackpressure: false }), {
      message: (payload) => this.onMessage(payload),
      readEnd: () => this.onReadEnd(),
      closed: (ci) => this.onChannelClosed(channel, ci),
      backpressure: (queuedBytes) => this.emit("backpressure", { queuedBytes, threshold: o.highWaterMarkBytes }),
      drain: () => {
        this.drainOwed = true; // the backpressure episode made send() return false
        this.flushPending();
      },
      timeout: () => this.emit("timeout"),
      stale: () => this.status({ type: "stale" }),
    });
    this.channel = channel;
    this.state = "open";
    this.attempt = 0;
    this.info = info;
    this.closeOwed = true;
    this.flushPending();
    publish(DiagnosticsChannels.clientReady, { profile: info.profile });
    this.status({ type: "ready", info });
    this.emit("ready", info);
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private onMessage(payload: Buffer): void {
    const data = deserializeOrReport(this.deserialize, payload, this.reportBound);
    if (data === UNDECODABLE) return;
    const listener = this.messageEvent.listener;
    if (listener !== null) listener.call(this, data);
    if (this.batchEvent.listener !== null) (this.batch ??= []).push(data);
  }

  private onReadEnd(): void {
    const messages = this.batch;
    if (messages === null) return;
    this.batch = null;
    this.batchEvent.listener?.call(this, messages);
  }

  private onChannelClosed(channel: FramedChannel, ci: ChannelCloseInfo): void {
    addCounters(this.stats, channel.counters);
    this.stats.lostMessages += ci.lostMessages;
    if (this.channel !== channel) return; // already finalized (destroy)
    this.channel = null;
    this.link = null;
    if (this.state === "closing" || this.state === "closed") return; // close() finalizes and emits "close"
    this.closeOwed = false;
    let error = ci.error;
    if (!error && ci.peerClose && ci.peerClose.code !== "E_NORMAL_CLOSE") {
      error = new QWormholeError(ci.peerClose.code as never, `server closed the connection: ${ci.peerClose.code}${ci.peerClose.reason ? ` (${ci.peerClose.reason})` : ""}`);
    }
    const terminal = error !== undefined && isTerminalErrorCode(error.code);
    const willReconnect = this.options.reconnect.enabled && !terminal && this.attempt < this.options.reconnect.maxAttempts;
    if (error) this.report(error);
    publish(DiagnosticsChannels.clientClose, { error: error?.code, willReconnect });
    this.status(error ? { type: "disconnected", error } : { type: "disconnected" });
    const info: ClientCloseInfo = error ? { hadError: true, error, willReconnect } : { hadError: false, willReconnect };
    if (ci.peerClose) info.peerClose = ci.peerClose;
    this.emit("close", info);
    if (willReconnect) this.scheduleRetry();
    else this.finalize(false); // "close" was just emitted for this connection
  }

  private attemptFailed(error: QWormholeError, terminal: boolean): void {
    this.link = null;
    if (this.state === "closing" || this.state === "closed") return;
    this.report(error);
    const r = this.options.reconnect;
    if (!terminal && r.enabled && this.attempt < r.maxAttempts) {
      this.scheduleRetry();
      return;
    }
    this.finalize();
  }

  private scheduleRetry(): void {
    const delayMs = backoffDelay(Math.max(1, this.attempt), this.options.reconnect);
    this.state = "waiting";
    this.stats.reconnects++;
    publish(DiagnosticsChannels.clientReconnecting, { attempt: this.attempt + 1, delayMs });
    this.status({ type: "reconnecting", attempt: this.attempt + 1, delayMs });
    this.emit("reconnecting", { attempt: this.attempt + 1, delayMs });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === "waiting") this.startAttempt();
    }, delayMs);
  }

  /** Ends the client for good. `closeEvent`: emit "close" for a connection that was open (user close or destroy). */
  private finalize(closeEvent = true): void {
    if (this.state === "closed") return;
    const wasOpen = this.channel !== null || (this.info !== null && this.closeOwed);
    // close()/destroy() set "closing": only destroy(error) makes that an error; otherwise the last failure is why.
    const error = this.state === "closing" ? this.finalError : this.lastError;
    this.state = "closed";
    this.clearRetry();
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    const dropped = this.pending.length + (this.limiter?.clear().length ?? 0);
    if (dropped > 0) {
      this.stats.lostMessages += dropped;
      this.report(new QWormholeError("E_CLOSED", `${dropped} queued message(s) were never sent: the client closed (QWH-DELIV-003)`));
    }
    this.pending = [];
    this.pendingBytes = 0;
    for (const w of this.drainWaiters.splice(0)) w();
    for (const w of this.waiters.splice(0)) w.reject(error ?? this.lastError ?? new QWormholeError("E_CLOSED", "client closed before it connected"));
    if (closeEvent && wasOpen) {
      this.emit("close", error ? { hadError: true, error, willReconnect: false } : { hadError: false, willReconnect: false });
    }
    this.channel = null;
    for (const q of this.iterators) q.end();
    this.status(error ? { type: "closed", error } : { type: "closed" });
    for (const q of this.statusQueues) q.end();
  }
}
