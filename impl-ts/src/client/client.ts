/**
 * QWormholeClient: connects, performs the QWH/1 handshake, delivers typed
 * messages, reconnects with backoff, and queues what is sent while it is
 * disconnected (bounded, delivered once and in order after the reconnect).
 * This file holds the connection lifecycle (attempts, backoff, handshake,
 * open, close); the send path is in send-queue.ts, the delivery to consumers
 * in client-delivery.ts, the events in client-events.ts.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";
import { debuglog } from "node:util";
import { AsyncQueue } from "../async-queue.js";
import { backoffDelay } from "../backoff.js";
import { bufferDeserializer, defaultSerializer, type Deserializer, type Serializer } from "../codecs.js";
import { serializeOrThrow } from "../payload.js";
import { withPeerHint, withSyscallCode, withTlsMismatchHint } from "../connection-errors.js";
import { resolveInterfaceAddress } from "../interface-binding.js";
import { isTerminalErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import { DiagnosticsChannels, addCounters, emptySnapshot, publish, startTelemetry, type TelemetrySnapshot } from "../telemetry.js";
import { FramedChannel, type ChannelCloseInfo, type ChannelHandlers } from "../transport/channel.js";
import { channelOptions } from "../transport/channel-options.js";
import type { Link } from "../transport/link.js";
import { Receiver } from "../transport/receiver.js";
import { socketDialer, type DialAttempt, type Dialer } from "../transport/socket-transport.js";
import { runClientHandshake } from "./client-handshake.js";
import { ClientResume, type LostSession } from "./resume-client.js";
import { resolveClientOptions, type QWormholeClientOptions, type ResolvedClientOptions } from "./client-options.js";
import type { ClientCloseInfo, ClientEvents, ClientReadyInfo, ClientStatus } from "./client-events.js";

export type { ClientCloseInfo, ClientEvents, ClientReadyInfo, ClientStatus };
import { ClientSendQueue, type SendQueueHost } from "./send-queue.js";
import { ClientDelivery, type DeliveryHost } from "./client-delivery.js";

/** The `qwormhole` section of NODE_DEBUG (util.debuglog). */
const debug = debuglog("qwormhole");

type State = "idle" | "connecting" | "open" | "waiting" | "closing" | "closed";

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
  private state: State = "idle";
  private link: Link | null = null;
  private dial: DialAttempt | null = null;
  private readonly dialer: Dialer;
  private channel: FramedChannel | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly sends: ClientSendQueue;
  private readonly stats = emptySnapshot();
  private telemetryTimer: NodeJS.Timeout | null = null;
  private info: ClientReadyInfo | null = null;
  private lastError: QWormholeError | undefined;
  private finalError: QWormholeError | undefined;
  // True from an opened connection until a "close" event with willReconnect false: a
  // "close" that promised a reconnect is followed by a final one if the client gives up.
  private closeOwed = false;
  private readonly delivery: ClientDelivery<TIn>;
  private readonly resume: ClientResume | null;
  // What the delivery, the send queue and each channel call back: one object, methods rather than closures.
  private static readonly Hooks = class Hooks<TIn, TOut> implements DeliveryHost, SendQueueHost, ChannelHandlers {
    constructor(private readonly client: QWormholeClient<TIn, TOut>) {}
    readingLink(): Link | null {
      return this.client.channel === null ? null : this.client.link;
    }
    readingChanged(paused: boolean, reason: string): void {
      const o = this.client.options;
      debug("client %s:%d: %s reading (%s)", o.host, o.port, paused ? "pause" : "resume", reason);
    }
    report(error: QWormholeError): void {
      this.client.report(error);
    }
    openChannel(): FramedChannel | null {
      return this.client.state === "open" ? this.client.channel : null;
    }
    lost(error: QWormholeError): void {
      this.client.stats.lostMessages++;
      this.client.report(error);
    }
    drained(): void {
      this.client.emit("drain");
    }
    message(payload: Buffer): void {
      this.client.delivery.onMessage(payload);
    }
    readEnd(): void {
      this.client.delivery.onReadEnd();
    }
    closed(info: ChannelCloseInfo, channel: FramedChannel): void {
      this.client.onChannelClosed(channel, info);
    }
    backpressure(queuedBytes: number): void {
      this.client.emit("backpressure", { queuedBytes, threshold: this.client.options.highWaterMarkBytes });
    }
    drain(channel: FramedChannel): void {
      // The backpressure episode made send() return false: a "drain" is owed.
      this.client.sends.connectionDrained(channel);
    }
    timeout(): void {
      this.client.emit("timeout");
    }
    stale(): void {
      this.client.status({ type: "stale" });
    }
  };
  private readonly hooks = new QWormholeClient.Hooks<TIn, TOut>(this);

  constructor(options: QWormholeClientOptions<TIn, TOut>) {
    super();
    this.options = resolveClientOptions(options as QWormholeClientOptions<unknown, unknown>);
    this.dialer = options.dialer ?? socketDialer;
    this.serialize = options.serializer ?? defaultSerializer;
    const o = this.options;
    const deserializer = options.deserializer ?? (bufferDeserializer as unknown as Deserializer<TIn>);
    this.delivery = new ClientDelivery(this, deserializer, o.highWaterMarkBytes, this.hooks);
    this.resume = o.resume ? new ClientResume(o.resume) : null;
    this.sends = new ClientSendQueue(o, this.hooks);
    if (options.onTelemetry) {
      const emit = options.onTelemetry;
      this.telemetryTimer = startTelemetry(
        o.telemetryIntervalMs,
        () => this.telemetry(),
        (s) => {
          emit(s);
          this.emit("telemetry", s);
        },
      );
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
   * maximum, E_NOT_CONNECTED with `requireConnectedForSend`, E_CLOSED after
   * close, and E_QUEUE_FULL when the queue of waiting messages is full
   * (`maxQueuedMessages`, `maxQueuedBytes`): while disconnected, and also
   * while connected when `send()` kept being called after it returned false
   * (the waiting messages are those the backpressured connection has not
   * taken yet). Wait for `drain`, or `await client.flush()`, before sending more.
   */
  send(data: TOut, options?: { priority?: number }): boolean {
    if (this.state === "closing" || this.state === "closed") throw new QWormholeError("E_CLOSED", "client is closed");
    return this.sends.send(serializeOrThrow(this.serialize, data), options?.priority ?? 0);
  }

  /**
   * Graceful close: queued messages are flushed to an open connection, a
   * CLOSE frame is sent (when negotiated) and the peer's answer awaited for at
   * most `drainTimeoutMs`. With `resume`, messages waiting for room in the
   * replay buffer are sent first, within the same bound. Messages still
   * waiting for a connection, or for room when the bound passes, are
   * dropped and reported (an `error` event with E_CLOSED, counted in
   * `lostMessages`). No reconnect follows.
   */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    if (this.state === "closing") return new Promise((resolve) => this.once("close", () => resolve()));
    debug("client %s:%d: close", this.options.host, this.options.port);
    this.state = "closing";
    this.clearRetry();
    const channel = this.channel;
    if (channel) {
      // On a session every queued message goes out before the CLOSE, as acknowledgements make room.
      this.sends.flushTo(channel, this.resume?.active === true);
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
   * Resolves once every message sent so far has been handed to the socket:
   * nothing waits in the disconnected queue, the rate limiter or the frame
   * batch, and the connection is not backpressured. The connection stays
   * open (closing is {@link QWormholeClient.close}). While disconnected with
   * messages queued, it waits for the reconnect that sends them. Rejects
   * with E_CLOSED when the client closes first (the queued messages are then
   * dropped), with E_ABORTED when `signal` aborts. Resolves at once when
   * nothing is queued.
   */
  flush(options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new QWormholeError("E_ABORTED", "flush aborted", { cause: signal.reason }));
    if (this.sends.flushed()) return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new QWormholeError("E_CLOSED", "client is closed"));
    return this.sends.waitFlushed(signal);
  }

  /**
   * The same as {@link QWormholeClient.flush}: waits until the queued
   * messages are handed to the socket. It does not close the client.
   * @deprecated Use `flush()`, then `close()` to close.
   */
  drain(): Promise<void> {
    return this.flush();
  }

  /** Closes at once, without a graceful drain. */
  destroy(error?: QWormholeError): void {
    if (this.state === "closed") return;
    debug("client %s:%d: destroy%s", this.options.host, this.options.port, error ? ` (${error.code})` : "");
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
    if (!this.link || this.state !== "open")
      throw new QWormholeError("E_NOT_CONNECTED", "exportKeyingMaterial needs an open TLS connection");
    return this.link.exportKeyingMaterial(length, label, context);
  }

  /**
   * Received messages as an async iterable, across reconnects. Nothing
   * received is lost before it is made: while no `message` or
   * `messageBatch` listener and no iterator exists, the client holds what
   * arrives (up to 1024 messages or `highWaterMarkBytes`, then it stops
   * reading the socket) and hands it to the first one that comes, so
   * `await client.connect()` followed, even after other awaits, by
   * `for await (const m of client.messages())` sees the server's greeting.
   * When the loop falls `highWaterMark` messages behind (default 1024), the
   * client stops reading the socket (the server then sees backpressure)
   * until the loop has caught up to half of it. The iteration ends when the
   * client is closed by the application, and throws the coded error that
   * ended the client otherwise (attempts exhausted, a terminal refusal,
   * `destroy(error)`), after the messages received before it.
   */
  messages(options?: { highWaterMark?: number }): AsyncIterableIterator<TIn> {
    return this.delivery.iterate(options);
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
    s.queueDepth = this.sends.depth;
    s.queuedBytes = this.sends.bytes + (this.channel?.queuedBytes ?? 0);
    return s;
  }

  private report(error: QWormholeError): void {
    withSyscallCode(error);
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
    debug("client %s:%d: connecting (attempt %d)", o.host, o.port, this.attempt);
    this.dial = this.dialer(
      { ...o, localAddress },
      {
        connected: (link) => {
          const receiver = new Receiver(link);
          this.dial = null;
          this.link = link;
          this.delivery.connected();
          debug("client %s:%d: connected, %s handshake", o.host, o.port, o.handshakeProfile);
          this.emit("connect");
          publish(DiagnosticsChannels.clientConnect, { host: o.host, port: o.port, attempt: this.attempt });
          this.handshake(receiver);
        },
        failed: (error) => {
          this.dial = null;
          this.attemptFailed(withTlsMismatchHint(error, o.tls !== undefined), false);
        },
      },
    );
  }

  /** Runs the handshake of the selected profile on a connected link. */
  private handshake(receiver: Receiver): void {
    runClientHandshake(
      receiver,
      this.options,
      {
        opened: (info, features, peerMax) => this.open(receiver, info, features, peerMax),
        rejected: () => {
          this.stats.handshakeRejections++;
        },
        failed: (error, terminal) => {
          this.link = null;
          // A resume that cannot succeed: the session is over, the next hello starts a new one (QWH-RESUME-025).
          if (error.code === "E_SESSION_UNKNOWN" || error.code === "E_RESUME_MISMATCH")
            this.loseSession(this.resume?.drop() ?? null, error);
          this.attemptFailed(withTlsMismatchHint(withPeerHint(error), this.options.tls !== undefined), terminal);
        },
      },
      this.resume?.request() ?? null,
    );
  }

  /** Reports a session's unacknowledged messages (exact `lostMessages`), and queues its never-sent ones first. */
  private loseSession(lost: LostSession | null, error?: QWormholeError): void {
    if (lost === null) return;
    this.sends.requeue(lost.held);
    if (lost.unacknowledged.length === 0) return;
    this.stats.lostMessages += lost.unacknowledged.length;
    this.emit("sessionLost", error ? { messages: lost.unacknowledged, error } : { messages: lost.unacknowledged });
  }

  private open(receiver: Receiver, info: ClientReadyInfo, features: readonly string[], peerMax: number): void {
    const o = this.options;
    this.sends.peerMaxFrameLength = peerMax;
    const resumed = this.resume?.opened(info.accept);
    if (resumed) this.loseSession(resumed.lost);
    const channel = new FramedChannel(
      receiver,
      channelOptions(o, { maxBackpressureBytes: 0, pauseReadingOnBackpressure: false }),
      { features, peerMaxFrameLength: peerMax },
      this.hooks,
      resumed?.channel,
    );
    this.channel = channel;
    this.state = "open";
    this.attempt = 0;
    this.info = info;
    this.closeOwed = true;
    debug("client %s:%d: ready (%s, features %s)", o.host, o.port, info.profile, features.join(",") || "none");
    this.delivery.updateReading();
    this.sends.flushTo(channel);
    publish(DiagnosticsChannels.clientReady, { profile: info.profile });
    this.status({ type: "ready", info });
    this.emit(resumed?.resumed ? "resumed" : "ready", info);
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private onChannelClosed(channel: FramedChannel, ci: ChannelCloseInfo): void {
    addCounters(this.stats, channel.counters);
    this.stats.lostMessages += ci.lostMessages;
    // A CLOSE ends the session (QWH-RESUME-013); an end without one keeps it for the resume.
    if (ci.closeExchanged) this.loseSession(this.resume?.drop() ?? null, ci.error);
    if (this.channel !== channel) return; // already finalized (destroy)
    this.channel = null;
    this.link = null;
    if (this.state === "closing" || this.state === "closed") return; // close() finalizes and emits "close"
    let error = ci.error;
    if (!error && ci.peerClose && ci.peerClose.code !== "E_NORMAL_CLOSE") {
      error = new QWormholeError(
        ci.peerClose.code as never,
        `server closed the connection: ${ci.peerClose.code}${ci.peerClose.reason ? ` (${ci.peerClose.reason})` : ""}`,
      );
    }
    const terminal = error !== undefined && isTerminalErrorCode(error.code);
    const willReconnect = this.options.reconnect.enabled && !terminal && this.attempt < this.options.reconnect.maxAttempts;
    this.closeOwed = willReconnect;
    if (error) this.report(error);
    debug(
      "client %s:%d: connection closed%s%s",
      this.options.host,
      this.options.port,
      error ? ` (${error.code}: ${error.message})` : "",
      willReconnect ? ", will reconnect" : "",
    );
    publish(DiagnosticsChannels.clientClose, { error: error?.code, willReconnect });
    this.status(error ? { type: "disconnected", error } : { type: "disconnected" });
    const info: ClientCloseInfo = error ? { hadError: true, error, willReconnect } : { hadError: false, willReconnect };
    if (ci.peerClose) info.peerClose = ci.peerClose;
    this.emit("close", info);
    if (willReconnect) this.scheduleRetry(error);
    else this.finalize(false); // "close" was just emitted for this connection
  }

  private attemptFailed(error: QWormholeError, terminal: boolean): void {
    this.link = null;
    if (this.state === "closing" || this.state === "closed") return;
    this.report(error);
    debug(
      "client %s:%d: attempt %d failed: %s %s%s",
      this.options.host,
      this.options.port,
      this.attempt,
      error.code,
      error.message,
      terminal ? " (terminal)" : "",
    );
    const r = this.options.reconnect;
    if (!terminal && r.enabled && this.attempt < r.maxAttempts) {
      this.scheduleRetry(error);
      return;
    }
    if (!terminal && r.enabled) {
      // Named for what it is; the last attempt's error is the cause (and its OS error name is kept).
      const exhausted = new QWormholeError(
        "E_ATTEMPTS_EXHAUSTED",
        `gave up after ${this.attempt} connection attempt(s) (reconnect.maxAttempts ${r.maxAttempts}): last ${error.code}: ${error.message}`,
        {
          cause: error,
        },
      );
      if (error.syscallCode !== undefined) exhausted.syscallCode = error.syscallCode;
      this.lastError = exhausted;
    }
    this.finalize();
  }

  private scheduleRetry(error: QWormholeError | undefined): void {
    const delayMs = backoffDelay(Math.max(1, this.attempt), this.options.reconnect);
    this.state = "waiting";
    this.stats.reconnects++;
    debug(
      "client %s:%d: reconnecting in %d ms (attempt %d)%s",
      this.options.host,
      this.options.port,
      delayMs,
      this.attempt + 1,
      error ? ` after ${error.code}` : "",
    );
    publish(DiagnosticsChannels.clientReconnecting, { attempt: this.attempt + 1, delayMs, error: error?.code });
    const info = error ? { attempt: this.attempt + 1, delayMs, error } : { attempt: this.attempt + 1, delayMs };
    this.status({ type: "reconnecting", ...info });
    this.emit("reconnecting", info);
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
    const byApplication = this.state === "closing";
    this.state = "closed";
    this.clearRetry();
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    // Reconnecting stopped with a session unfinished: its unacknowledged messages are reported (QWH-RESUME-025).
    this.loseSession(this.resume?.drop() ?? null, error);
    const dropped = this.sends.clear();
    if (dropped > 0) {
      this.stats.lostMessages += dropped;
      this.report(new QWormholeError("E_CLOSED", `${dropped} queued message(s) were never sent: the client closed (QWH-DELIV-003)`));
    }
    for (const w of this.waiters.splice(0))
      w.reject(error ?? this.lastError ?? new QWormholeError("E_CLOSED", "client closed before it connected"));
    debug("client %s:%d: closed%s", this.options.host, this.options.port, error ? ` (${error.code}: ${error.message})` : "");
    // The application's own close()/destroy() is a close too (a connection's failure published above).
    if (byApplication && wasOpen) publish(DiagnosticsChannels.clientClose, { error: error?.code, willReconnect: false });
    if (closeEvent && wasOpen) {
      this.emit("close", error ? { hadError: true, error, willReconnect: false } : { hadError: false, willReconnect: false });
    }
    this.channel = null;
    this.delivery.clientEnded(error);
    this.status(error ? { type: "closed", error } : { type: "closed" });
    for (const q of this.statusQueues) q.end();
  }
}
