/**
 * One accepted, handshaken connection as the server application sees it.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";
import { UNDECODABLE, deserializeOrReport, type Deserializer, type Serializer } from "../codecs.js";
import { Delivery } from "../delivery.js";
import { checkMessageSize, payloadLength, serializeOrThrow, type Payload } from "../payload.js";
import { HotEvent } from "../hot-event.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import type { Tags } from "../protocol/fields.js";
import { RateLimitedQueue, TokenBucket } from "../rate-limiter.js";
import type { TlsFacts } from "../tls-facts.js";
import type { ChannelCloseInfo, ChannelHandlers, FramedChannel } from "../transport/channel.js";
import type { SharedMessage } from "../transport/shared-message.js";
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

/** @internal What a connection needs from its server to deliver messages (one for all its connections). */
export interface ServerDeliveryHost<C> {
  readonly deserialize: Deserializer<unknown>;
  /** Most bytes held before reading pauses (the server's `highWaterMarkBytes`). */
  readonly highWaterMarkBytes: number;
  /** True when the server itself has a `message` or `messageBatch` listener. */
  consumes(): boolean;
  /** True when the server has a `messageBatch` listener. */
  wantsBatches(): boolean;
  /** The server's `message` event. */
  message(conn: C, data: unknown): void;
  /** The server's `messageBatch` event. */
  batch(conn: C, messages: unknown[]): void;
  /** A payload that did not decode. */
  report(conn: C, error: QWormholeError): void;
}

/** @internal What a connection's channel reports to its server (one for all its connections). */
export interface ServerChannelHost<C> {
  closed(conn: C, info: ChannelCloseInfo, channel: FramedChannel): void;
  closeExchanged(conn: C, channel: FramedChannel): void;
  backpressure(conn: C, queuedBytes: number): void;
  drain(conn: C): void;
}

/**
 * @internal The handlers of one server-side channel: its events go to the
 * connection and, with the connection and the channel named, to the server.
 */
export class ServerChannelEvents<C extends Pick<ServerConnection, "receive" | "endBatch" | "drained">> implements ChannelHandlers {
  /** The connection, set once it exists (a new one is made after its channel). */
  conn!: C;
  /** The channel these handlers are for, set once it exists. */
  channel!: FramedChannel;

  constructor(private readonly host: ServerChannelHost<C>) {}

  message(payload: Buffer): void {
    this.conn.receive(payload);
  }
  readEnd(): void {
    this.conn.endBatch();
  }
  closed(info: ChannelCloseInfo): void {
    this.host.closed(this.conn, info, this.channel);
  }
  closeExchanged(): void {
    this.host.closeExchanged(this.conn, this.channel);
  }
  backpressure(queuedBytes: number): void {
    this.host.backpressure(this.conn, queuedBytes);
  }
  drain(): void {
    // The channel resumed reading; a connection whose consumer is behind stays paused.
    this.conn.drained();
    this.host.drain(this.conn);
  }
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
  private readonly limiter: RateLimitedQueue<Payload> | null;
  // Received messages on their way to this connection's and the server's consumers.
  // Internals are untyped in TIn, so that a ServerConnection<T, X> is a ServerConnection<T>.
  // Made at the first message, iterator or close: an idle connection has none.
  private delivery: Delivery<unknown> | null = null;
  // Messages of the read being decoded, while the server listens to batches.
  private batch: unknown[] | null = null;
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
    private readonly server: ServerDeliveryHost<ServerConnection<TOut, TIn>>,
  ) {
    super();
    // A consumer that comes late gets what arrived before it.
    this.messageEvent = new HotEvent(this, "message", ServerConnection.listenerAdded);
    this.id = id;
    this.current = channel;
    this.limiter =
      rate.bytesPerSec > 0
        ? new RateLimitedQueue(new TokenBucket(rate.bytesPerSec, rate.burstBytes || rate.bytesPerSec), (p) => this.sendNow(p))
        : null;
  }

  /** The client's address. */
  get remoteAddress(): string | undefined {
    return this.handshake.remoteAddress;
  }
  /** The client's port. */
  get remotePort(): number | undefined {
    return this.handshake.remotePort;
  }

  // Shared by every connection (an idle connection holds no closure for them).
  private static listenerAdded(this: EventEmitter): void {
    (this as ServerConnection).delivery?.scheduleInbox();
  }
  private static reportDecode(error: QWormholeError, conn: ServerConnection): void {
    conn.server.report(conn, error);
  }

  /** @internal A payload of this connection: deserialized, then delivered or held until a consumer comes. */
  receive(payload: Buffer): void {
    const data = deserializeOrReport(this.server.deserialize, payload, ServerConnection.reportDecode, this as ServerConnection);
    if (data !== UNDECODABLE) (this.delivery ?? this.makeDelivery()).receive(data, payload.length);
  }

  private makeDelivery(): Delivery<unknown> {
    // This connection is its delivery's owner (DeliveryOwner).
    return (this.delivery = new Delivery<unknown>(this));
  }

  /** @internal {@inheritDoc DeliveryOwner.emitter} */
  get emitter(): EventEmitter {
    return this;
  }

  /** @internal {@inheritDoc DeliveryOwner.highWaterMarkBytes} */
  get highWaterMarkBytes(): number {
    return this.server.highWaterMarkBytes;
  }

  /** @internal {@inheritDoc DeliveryOwner.consumes} */
  consumes(): boolean {
    return this.messageEvent.listener !== null || this.server.consumes();
  }

  /** @internal {@inheritDoc DeliveryOwner.dispatch} */
  dispatch(data: unknown): void {
    const server = this.server;
    server.message(this, data);
    this.messageEvent.listener?.call(this, data);
    if (server.wantsBatches()) (this.batch ??= []).push(data);
  }

  /** @internal {@inheritDoc DeliveryOwner.setReading} */
  setReading(paused: boolean): boolean {
    // Output backpressure keeps reading paused; the server re-applies a pause after the channel's resume on drain.
    if (paused) this.channel.link.pauseReading();
    else if (!this.channel.isBackpressured) this.channel.link.resumeReading();
    return true;
  }

  /** @internal The end of a read (or of a delivery from the inbox): the batch goes to the server's `messageBatch`. */
  endBatch(): void {
    const messages = this.batch;
    if (messages === null) return;
    this.batch = null;
    this.server.batch(this, messages);
  }

  /** @internal Delivers the messages held for a consumer that has just come. */
  scheduleInbox(): void {
    this.delivery?.scheduleInbox();
  }

  /** @internal The channel resumed reading after output backpressure: paused again while a consumer is behind. */
  drained(): void {
    this.delivery?.keepPaused();
  }

  /**
   * This connection's messages as an async iterable, with the client's
   * `messages()` rules: what arrived before it (while nothing consumed it)
   * comes first; reading pauses when the loop is `highWaterMark` messages
   * behind (default 1024); it ends when the connection closes cleanly and
   * throws the connection's coded error when it failed.
   */
  messages(options?: { highWaterMark?: number }): AsyncIterableIterator<TIn> {
    return (this.delivery ?? this.makeDelivery()).iterate(options) as AsyncIterableIterator<TIn>;
  }

  /** @internal The connection ended: events, then iterators end (after held messages). */
  closed(info: ServerConnectionCloseInfo): void {
    this.limiter?.clear();
    if (info.error && this.listenerCount("error") > 0) this.emit("error", info.error);
    this.emit("close", info);
    (this.delivery ?? this.makeDelivery()).end(info.error);
  }

  /** @internal The open connection's channel (a resume replaces it; this object stays). */
  get channel(): FramedChannel {
    return this.current;
  }

  /** @internal A resume continues this connection on a new link (QWH-RESUME-021). */
  replaceChannel(channel: FramedChannel): void {
    this.current = channel;
    // A consumer still behind keeps the new link paused too.
    this.delivery?.keepPaused();
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
