/**
 * One accepted, handshaken connection as the server application sees it.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";
import { AsyncQueue, iteratorHighWaterMark } from "../async-queue.js";
import type { Serializer } from "../codecs.js";
import { checkMessageSize, payloadLength, serializeOrThrow, type Payload } from "../payload.js";
import { HotEvent } from "../hot-event.js";
import { Inbox } from "../inbox.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import type { Tags } from "../protocol/fields.js";
import { RateLimitedQueue, TokenBucket } from "../rate-limiter.js";
import type { TlsFacts } from "../tls-facts.js";
import type { FramedChannel, SharedMessage } from "../transport/channel.js";
import type { ResumeSession } from "../transport/resume-session.js";

/** What the server learned in the handshake; `verifyHandshake` decides on it. */
export interface HandshakeSnapshot {
  profile: "v1" | "legacy" | "bare";
  /** Negotiated QWH version (v1). */
  qwh?: string;
  /** The client's application protocol version, if sent. */
  version?: string;
  tags: Tags;
  /** Negotiated features. */
  features: string[];
  /** Features the client offered (v1). */
  offeredFeatures: string[];
  /** The client's receive maximum. */
  maxFrameLength: number;
  /** Whether the hello carried a signature that verified. */
  signed: boolean;
  /** The verified signer's public key (base64url raw Ed25519). */
  publicKey?: string;
  tls?: TlsFacts;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
}

/** Why a server connection ended (its `close` event). */
export interface ServerConnectionCloseInfo {
  hadError: boolean;
  error?: QWormholeError;
  /** The client's CLOSE frame, when it sent one. */
  peerClose?: { code: string; reason?: string };
}

/** Events of one {@link ServerConnection}. */
export interface ServerConnectionEvents<TIn> {
  /** A message of this connection (the server's `message` event also has it). */
  message: [data: TIn];
  /** The connection ended (after the server's `clientClosed`). */
  close: [info: ServerConnectionCloseInfo];
  /** Emitted only when listened to: the failure that ended this connection, or a message that did not decode. */
  error: [error: QWormholeError];
}

/** @internal What a connection needs from its server to deliver messages. */
export interface ConnectionDelivery<TIn> {
  /** True when the server itself has a `message` or `messageBatch` listener. */
  serverConsumes(): boolean;
  /** Delivers one message to the server's listeners and this connection's. */
  dispatch(data: TIn): void;
  /** Ends a batch of dispatched messages (the server's `messageBatch`). */
  endBatch(): void;
  /** Most bytes held before reading pauses (the server's `highWaterMarkBytes`). */
  highWaterMarkBytes: number;
}

/**
 * One client's connection on a server, as handed out by the server's
 * `connection` event and `connections()` iterator. Its own `message`,
 * `close` and `error` events sit beside the server-level ones.
 *
 * @example
 * ```ts
 * server.on("connection", (conn) => {
 *   console.log(conn.id, conn.remoteAddress, conn.handshake.tags);
 *   conn.send("welcome");
 *   conn.on("message", (data) => conn.send(data));
 *   conn.on("close", ({ error }) => console.log(conn.id, "gone", error?.code ?? "clean"));
 * });
 * ```
 */
export class ServerConnection<TOut = unknown, TIn = unknown> extends EventEmitter<ServerConnectionEvents<TIn>> {
  /** Unique per server. */
  readonly id: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  private readonly limiter: RateLimitedQueue<Payload> | null;
  /** @internal Set by the server. */
  delivery: ConnectionDelivery<unknown> | null = null;
  // Messages received while nobody consumed them (no listener here or on the server, no iterator).
  // Internals are untyped in TIn, so that a ServerConnection<T, X> is a ServerConnection<T>.
  private readonly inbox = new Inbox<unknown>(() => this.deliverInbox());
  private fullIterators = 0;
  private readPaused = false;
  private readonly iterators = new Set<AsyncQueue<unknown>>();
  private ended = false;
  private endError: QWormholeError | undefined;
  /** @internal This connection's own `message` listeners. */
  readonly messageEvent: HotEvent<unknown>;
  private current: FramedChannel;
  /** @internal The session (feature `resume`): messages sent while it waits for its client are held for the resume. */
  session: ResumeSession | null = null;

  /** @internal Created by the server once the handshake is done. */
  constructor(
    id: string,
    channel: FramedChannel,
    /** What the handshake established. */
    readonly handshake: HandshakeSnapshot,
    private readonly serialize: Serializer<TOut>,
    rate: { bytesPerSec: number; burstBytes: number },
  ) {
    super();
    this.messageEvent = new HotEvent(this, "message");
    this.id = id;
    this.current = channel;
    this.remoteAddress = handshake.remoteAddress;
    this.remotePort = handshake.remotePort;
    this.limiter =
      rate.bytesPerSec > 0
        ? new RateLimitedQueue(new TokenBucket(rate.bytesPerSec, rate.burstBytes || rate.bytesPerSec), (p) => this.sendNow(p))
        : null;
    (this as EventEmitter).on("newListener", (name: string | symbol) => {
      if (name === "message") this.inbox.schedule();
    });
  }

  /** @internal True when someone takes this connection's messages now. */
  consumes(): boolean {
    return this.messageEvent.listener !== null || this.delivery!.serverConsumes();
  }

  /** @internal A decoded message of this connection: delivered, or held until a consumer comes. */
  receive(data: unknown, bytes: number): void {
    if (this.inbox.empty && this.consumes()) {
      this.delivery!.dispatch(data);
      return;
    }
    this.inbox.hold(data, bytes);
    if (this.consumes()) this.inbox.schedule();
    else if (!this.readPaused && this.inboxFull()) this.updateReading();
  }

  /** @internal Delivers the messages held for a consumer that has just come. */
  scheduleInbox(): void {
    this.inbox.schedule();
  }

  private inboxFull(): boolean {
    return this.inbox.full(this.delivery!.highWaterMarkBytes);
  }

  private deliverInbox(): void {
    const delivery = this.delivery!;
    if (
      this.inbox.drain(
        () => this.consumes(),
        (data) => delivery.dispatch(data),
      ) > 0
    )
      delivery.endBatch();
    this.updateReading();
    if (this.ended && this.inbox.empty) for (const q of this.iterators) q.end(this.endError);
  }

  /**
   * @internal Pauses reading while the inbox is full or an iterator is
   * behind; resumes unless output backpressure holds reading paused (the
   * server re-applies this after the channel's own resume on drain).
   */
  updateReading(): void {
    const want = this.fullIterators > 0 || this.inboxFull();
    if (this.ended) return;
    if (want) {
      this.readPaused = true;
      this.channel.link.pauseReading();
    } else if (this.readPaused) {
      this.readPaused = false;
      if (!this.channel.isBackpressured) this.channel.link.resumeReading();
    }
  }

  /** @internal True while this connection wants reading paused. */
  get wantsReadingPaused(): boolean {
    return this.readPaused;
  }

  /**
   * This connection's messages as an async iterable, with the client's
   * `messages()` rules: what arrived before it (while nothing consumed it)
   * comes first; reading pauses when the loop is `highWaterMark` messages
   * behind (default 1024); it ends when the connection closes cleanly and
   * throws the connection's coded error when it failed.
   */
  messages(options?: { highWaterMark?: number }): AsyncIterableIterator<TIn> {
    const highWaterMark = iteratorHighWaterMark(options);
    const q: AsyncQueue<TIn> = new AsyncQueue<TIn>(
      () => {
        this.off("message", onMessage);
        this.iterators.delete(q as AsyncQueue<unknown>);
      },
      {
        highWaterMark,
        pause: () => {
          this.fullIterators++;
          this.updateReading();
        },
        resume: () => {
          this.fullIterators--;
          this.updateReading();
        },
      },
    );
    const onMessage = (m: TIn) => q.push(m);
    this.on("message", onMessage);
    this.iterators.add(q as AsyncQueue<unknown>);
    if (this.ended && this.inbox.empty) q.end(this.endError);
    return q;
  }

  /** @internal The connection ended: events, then iterators end (after held messages). */
  closed(info: ServerConnectionCloseInfo): void {
    this.ended = true;
    this.endError = info.error;
    this.limiter?.clear();
    if (info.error && this.listenerCount("error") > 0) this.emit("error", info.error);
    this.emit("close", info);
    if (this.inbox.empty || !this.consumes()) for (const q of this.iterators) q.end(info.error);
  }

  /** @internal The open connection's channel (a resume replaces it; this object stays). */
  get channel(): FramedChannel {
    return this.current;
  }

  /** @internal A resume continues this connection on a new link (QWH-RESUME-021). */
  replaceChannel(channel: FramedChannel): void {
    this.current = channel;
    // A consumer still behind keeps the new link paused too.
    if (this.readPaused) channel.link.pauseReading();
  }

  /** True while unsent output is above the high-water mark. */
  get backpressured(): boolean {
    return this.channel.isBackpressured;
  }

  /** Bytes accepted but not yet written to the kernel. */
  get queuedBytes(): number {
    return this.channel.queuedBytes + (this.limiter?.bytes ?? 0);
  }

  /**
   * Sends one message to this client. Returns false under backpressure or
   * rate limiting (the message is still sent). Throws E_FRAME_TOO_LARGE over
   * the client's maximum and E_CLOSED once the connection is closing.
   */
  send(data: TOut, options?: { priority?: number }): boolean {
    return this.sendSerialized(serializeOrThrow(this.serialize, data), options?.priority);
  }

  /** @internal Sends an already serialized payload (broadcast serializes once). */
  sendSerialized(payload: Payload, priority = 0): boolean {
    if (this.limiter) {
      const bytes = payloadLength(payload);
      checkMessageSize(bytes, this.channel.peerMaxFrameLength, "client");
      return this.limiter.push(payload, bytes, priority);
    }
    const session = this.session;
    if (session !== null && !session.ended && this.current.isClosing && !this.current.closeStarted) {
      // The client is away; the session keeps the message for its resume, within its replay bound.
      const bytes = payloadLength(payload);
      if (session.held.length > 0 && session.heldBytes + bytes > session.state.own.maxUnackedBytes) {
        throw new QWormholeError(
          "E_QUEUE_FULL",
          `the client is away and ${session.heldBytes} bytes wait for it (limit ${session.state.own.maxUnackedBytes})`,
        );
      }
      session.held.push(payload);
      session.heldBytes += bytes;
      return false;
    }
    return this.channel.send(payload);
  }

  /**
   * @internal Queues a message framed once for many connections (broadcast);
   * `deferFlush` receives the channel whose write is left to the caller.
   */
  sendShared(message: SharedMessage, deferFlush: (channel: FramedChannel) => void, priority = 0): boolean {
    if (this.limiter) return this.sendSerialized(message.payload, priority);
    return this.channel.queueShared(message, deferFlush);
  }

  /** @internal The message as this connection's serializer writes it (throws E_CODEC). */
  serializeChecked(data: TOut): Payload {
    return serializeOrThrow(this.serialize, data);
  }

  private sendNow(payload: Payload): void {
    if (!this.channel.isClosing) this.channel.send(payload);
  }

  /** Graceful close: flush, CLOSE with `code`, wait for the client's CLOSE (bounded). */
  end(code: WireErrorCode = "E_NORMAL_CLOSE", reason?: string): Promise<void> {
    this.limiter?.clear();
    return this.channel.close(code, reason);
  }

  /** Closes at once. */
  destroy(): void {
    this.limiter?.clear();
    this.channel.destroy();
  }

  /** TLS keying material exporter (RFC 5705), for application-level channel binding. */
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    return this.channel.link.exportKeyingMaterial(length, label, context);
  }
}
