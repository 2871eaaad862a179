/**
 * QWormholeServer: accepts connections, runs the server side of the QWH/1
 * handshake (limits, admission hook, negotiation, signature, policy hook),
 * then delivers typed messages per connection. A misbehaving connection is
 * closed with its code; no other connection is disturbed.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { debuglog } from "node:util";
import { AsyncQueue } from "../async-queue.js";
import { bufferDeserializer, defaultSerializer, type Serializer } from "../codecs.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import { ReplayCache } from "../protocol/signature.js";
import { HotEvent } from "../hot-event.js";
import { tlsServerFailureHint, withSyscallCode } from "../connection-errors.js";
import { DiagnosticsChannels, addCounters, emptySnapshot, publish, startTelemetry, type TelemetrySnapshot } from "../telemetry.js";
import { fingerprintMatches, type TlsFacts } from "../tls-facts.js";
import { FramedChannel, type ChannelCloseInfo } from "../transport/channel.js";
import { channelOptions, type ChannelOptions } from "../transport/channel-options.js";
import { sharedMessage, type SharedMessage } from "../transport/shared-message.js";
import type { Link } from "../transport/link.js";
import { Receiver } from "../transport/receiver.js";
import { createSocketListener, type Listener } from "../transport/socket-transport.js";
import { PacedFlush } from "./paced-flush.js";
import { PendingHandshakes } from "./pending-handshakes.js";
import { refusalReason, refuseConnection } from "./refusal.js";
import { ServerChannelEvents, ServerConnection } from "./server-connection.js";
import type { HandshakeSnapshot, ServerChannelHost, ServerDeliveryHost } from "./server-connection.js";
import { runServerHandshake, type ServerHandshakeContext } from "./server-handshake.js";
import type { HelloV1 } from "../protocol/hello.js";
import { resolveServerOptions, type QWormholeServerOptions, type ResolvedServerOptions } from "./server-options.js";
import { SessionStore, type StoredSession } from "./session-store.js";

/** The `qwormhole` section of NODE_DEBUG (util.debuglog). */
const debug = debuglog("qwormhole");

/** Events of {@link QWormholeServer}. */
export interface ServerEvents<TIn, TOut> {
  listening: [address: net.AddressInfo];
  /** A connection finished its handshake and passed every hook. */
  connection: [client: ServerConnection<TOut, TIn>];
  message: [event: { client: ServerConnection<TOut, TIn>; data: TIn }];
  /**
   * The messages of one read of one connection, in order, once the read is
   * decoded: for consumers that work per batch. Only built while listened
   * to; `message` listeners still get each message as it is decoded.
   */
  messageBatch: [event: { client: ServerConnection<TOut, TIn>; messages: TIn[] }];
  backpressure: [event: { client: ServerConnection<TOut, TIn>; queuedBytes: number; threshold: number }];
  drain: [event: { client: ServerConnection<TOut, TIn> }];
  /**
   * With `resume`: a client whose connection broke came back and continues
   * its session on the same connection object; no message of either
   * direction is lost or repeated.
   */
  resumed: [event: { client: ServerConnection<TOut, TIn> }];
  /**
   * A connection ended; `peerClose` is the client's CLOSE frame when it sent
   * one. With `resume`, a connection that breaks without CLOSE ends only when
   * its session's window has passed without a resume.
   */
  clientClosed: [
    event: {
      client: ServerConnection<TOut, TIn>;
      hadError: boolean;
      error?: QWormholeError;
      peerClose?: { code: string; reason?: string };
    },
  ];
  /**
   * A connection was refused before it opened (limits, hooks, bad hello,
   * timeout, TLS failure). `remoteAddress` is the peer's address as accepted
   * (also when the socket was already gone by the refusal).
   */
  handshakeRejected: [event: { remoteAddress: string | undefined; code: string; reason: string }];
  close: [];
  /** Emitted only when listened to (server-level and per-connection failures). */
  error: [error: QWormholeError];
  telemetry: [snapshot: TelemetrySnapshot];
}

/** What step 11 decided, for `open`. */
interface SessionStep<TOut, TIn> {
  type: "new" | "resume";
  entry: StoredSession<ServerConnection<TOut, TIn>>;
}

/**
 * A QWH/1 server: accepts connections, runs the handshake (limits, hooks,
 * version and signature checks) and delivers each client's messages. Events
 * are listed in {@link ServerEvents}.
 *
 * @example
 * ```ts
 * import { QWormholeServer, jsonDeserializer } from "qwormhole";
 *
 * const server = new QWormholeServer<{ a: number; b: number }, { sum: number }>({
 *   host: "127.0.0.1",
 *   port: 9000,
 *   protocolVersion: "1.0.0", // clients of another major version are refused
 *   deserializer: jsonDeserializer,
 * });
 * server.on("message", ({ client, data }) => client.send({ sum: data.a + data.b }));
 * const { port } = await server.listen();
 * // ... later: CLOSE to every client, then stop listening
 * await server.close();
 * ```
 */
export class QWormholeServer<TIn = Buffer, TOut = unknown> extends EventEmitter<ServerEvents<TIn, TOut>> {
  /** Validated options. */
  readonly options: ResolvedServerOptions;
  private readonly serialize: Serializer<TOut>;
  private readonly listener: Listener;
  private readonly byId = new Map<string, ServerConnection<TOut, TIn>>();
  private readonly connectionQueues = new Set<AsyncQueue<ServerConnection<TOut, TIn>>>();
  private readonly handshaking = new PendingHandshakes();
  private readonly pacedFlush = new PacedFlush();
  /** Refused connections in their grace period (reading the reject frame). */
  private readonly refused = new Set<Link>();
  private readonly replayCache: ReplayCache;
  private readonly stats = emptySnapshot();
  private readonly userOptions: QWormholeServerOptions<TIn, TOut>;
  private nextId = 1;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private closing = false;
  // What every connection's delivery needs of the server: its deserializer and its message events.
  private readonly deliveryHost: ServerDeliveryHost<ServerConnection<TOut, TIn>>;
  private readonly channelOptions: ChannelOptions;
  // What every connection's channel reports to the server.
  private readonly channelHost: ServerChannelHost<ServerConnection<TOut, TIn>> = {
    closed: (conn, info, channel) => this.onClosed(conn, info, channel),
    closeExchanged: (conn, channel) => {
      const entry = this.sessionOf.get(conn);
      if (entry && conn.channel === channel) this.sessions!.end(entry);
    },
    backpressure: (conn, queuedBytes) =>
      this.emit("backpressure", { client: conn, queuedBytes, threshold: this.options.highWaterMarkBytes }),
    drain: (conn) => this.emit("drain", { client: conn }),
  };
  private readonly sessions: SessionStore<ServerConnection<TOut, TIn>> | null;
  private readonly sessionOf = new Map<ServerConnection<TOut, TIn>, StoredSession<ServerConnection<TOut, TIn>>>();

  constructor(options: QWormholeServerOptions<TIn, TOut> = {}) {
    super();
    this.userOptions = options;
    this.options = resolveServerOptions(options as QWormholeServerOptions<unknown, unknown>);
    const messageEvent = new HotEvent<{ client: ServerConnection<TOut, TIn>; data: TIn }>(this, "message");
    const batchEvent = new HotEvent<{ client: ServerConnection<TOut, TIn>; messages: TIn[] }>(this, "messageBatch");
    this.deliveryHost = {
      deserialize: options.deserializer ?? bufferDeserializer,
      highWaterMarkBytes: this.options.highWaterMarkBytes,
      consumes: () => messageEvent.listener !== null || batchEvent.listener !== null,
      wantsBatches: () => batchEvent.listener !== null,
      message: (client, data) => messageEvent.listener?.call(this, { client, data: data as TIn }),
      batch: (client, messages) => batchEvent.listener?.call(this, { client, messages: messages as TIn[] }),
      report: (client, error) => {
        this.report(error);
        if (client.listenerCount("error") > 0) client.emit("error", error);
      },
    };
    // A server-level consumer that comes late gets what the connections held for it.
    (this as EventEmitter).on("newListener", (name: string | symbol) => {
      if (name === "message" || name === "messageBatch") for (const c of this.byId.values()) c.scheduleInbox();
    });
    const side = { maxBackpressureBytes: this.options.maxBackpressureBytes, pauseReadingOnBackpressure: true };
    this.channelOptions = channelOptions(this.options, side);
    this.serialize = options.serializer ?? defaultSerializer;
    this.replayCache = new ReplayCache(this.options.signatureWindowMs, this.options.replayCacheMaxEntries);
    const o = this.options;
    this.sessions = o.resume ? new SessionStore(o.resume) : null;
    const listen = options.listener ?? createSocketListener;
    this.listener = listen(o, {
      connection: (link) => this.accept(link),
      tlsFailure: (remoteAddress, error) => {
        this.stats.handshakeRejections++;
        const hint = tlsServerFailureHint(error.message);
        this.emitRejected(remoteAddress, error.code, hint ? `${error.message.trim()}: ${hint}` : error.message);
      },
      error: (error) => this.report(error),
    });
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

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<net.AddressInfo> {
    const address = await this.listener.listen();
    this.emit("listening", address);
    return address;
  }

  /** The bound address, or null before `listen`. */
  address(): net.AddressInfo | null {
    return this.listener.address();
  }

  /** The open connection with `id`. */
  getConnection(id: string): ServerConnection<TOut, TIn> | undefined {
    return this.byId.get(id);
  }

  /** Number of open connections (handshake done). */
  getConnectionCount(): number {
    return this.byId.size;
  }

  /** Every open connection. */
  getConnections(): ServerConnection<TOut, TIn>[] {
    return [...this.byId.values()];
  }

  /**
   * Open connections as an async iterable: first those open now, then each
   * new one as its handshake completes. It ends when the server closes.
   *
   * @example
   * ```ts
   * for await (const conn of server.connections()) {
   *   conn.send("welcome");
   *   void (async () => {
   *     for await (const m of conn.messages()) conn.send(m);
   *   })();
   * }
   * ```
   */
  connections(): AsyncIterableIterator<ServerConnection<TOut, TIn>> {
    const q: AsyncQueue<ServerConnection<TOut, TIn>> = new AsyncQueue(() => this.connectionQueues.delete(q));
    for (const c of this.byId.values()) q.push(c);
    if (this.closing) q.end();
    else this.connectionQueues.add(q);
    return q;
  }

  /**
   * Sends `data` to every open connection, serialized and framed once. A
   * connection that cannot take it (too large for its maximum, closing) is
   * skipped and reported; returns how many connections it was sent to. The
   * writes are spread over turns of the event loop when there are many
   * connections; each connection still receives its messages in order.
   */
  broadcast(data: TOut, options?: { except?: ServerConnection<TOut, unknown> | string; priority?: number }): number {
    const exceptId = typeof options?.except === "string" ? options.except : options?.except?.id;
    let message: SharedMessage | undefined;
    let sent = 0;
    for (const c of this.byId.values()) {
      if (c.id === exceptId) continue;
      message ??= sharedMessage(c.serializeChecked(data));
      try {
        c.sendShared(message, this.pacedFlush.add, options?.priority);
        sent++;
      } catch (err) {
        this.report(err as QWormholeError);
      }
    }
    return sent;
  }

  /**
   * Stops accepting, closes every connection gracefully with E_GOING_AWAY
   * (bounded by `drainTimeoutMs`), and resolves when all are closed.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const listening = this.listener.close();
    for (const link of [...this.handshaking.values()]) link.destroy();
    // Refused peers had their reject frame; the grace for reading it ends with the server.
    for (const link of [...this.refused]) link.destroy();
    // Sessions waiting for their client end with the server.
    for (const entry of this.sessions?.detached() ?? []) {
      this.sessions!.end(entry);
      if (entry.conn) this.sessionExpired(entry.conn);
    }
    await Promise.all([...this.byId.values()].map((c) => c.end("E_GOING_AWAY", "server shutting down")));
    await listening;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    for (const q of [...this.connectionQueues]) q.end();
    debug("server: closed");
    this.emit("close");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A telemetry snapshot now (counters of closed connections included). */
  telemetry(): TelemetrySnapshot {
    const s = { ...this.stats, timestamp: Date.now(), connections: this.byId.size };
    for (const c of this.byId.values()) {
      addCounters(s, c.channel.counters);
      s.queuedBytes += c.queuedBytes;
    }
    return s;
  }

  private report(error: QWormholeError): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  private emitRejected(remoteAddress: string | undefined, code: string, reason: string): void {
    debug("server: refused %s: %s %s", remoteAddress ?? "(unknown address)", code, reason);
    publish(DiagnosticsChannels.serverHandshakeRejected, { remoteAddress, code, reason });
    this.emit("handshakeRejected", { remoteAddress, code, reason });
  }

  /** Refuses a connection: a reject frame when the peer speaks v1, then FIN, then destroy after a grace period. */
  private refuse(receiver: Receiver, code: WireErrorCode, reason: string, sendFrame: boolean): void {
    const link = receiver.link;
    reason = refusalReason(code, reason);
    this.handshaking.delete(link);
    this.stats.handshakeRejections++;
    this.emitRejected(link.peer.remoteAddress, code, reason);
    if (link.destroyed) return;
    this.refused.add(link);
    refuseConnection(receiver, code, reason, sendFrame, () => void this.refused.delete(link));
  }

  private accept(link: Link): void {
    const receiver = new Receiver(link);
    const o = this.options;
    const v1 = o.handshakeProfile === "v1";
    if (this.closing) {
      link.destroy();
      return;
    }
    if (this.byId.size + this.handshaking.size >= o.maxClients) {
      this.refuse(receiver, "E_MAX_CLIENTS", `server is full (${o.maxClients} connections)`, v1);
      return;
    }
    if (this.handshaking.size >= o.maxPendingHandshakes) {
      this.refuse(receiver, "E_MAX_PENDING_HANDSHAKES", `too many handshakes in progress (${o.maxPendingHandshakes})`, v1);
      return;
    }
    if (this.handshaking.countOf(link.peer.remoteAddress) >= o.maxPendingHandshakesPerAddress) {
      this.refuse(
        receiver,
        "E_MAX_PENDING_HANDSHAKES",
        `too many handshakes in progress from this address (${o.maxPendingHandshakesPerAddress})`,
        v1,
      );
      return;
    }
    this.handshaking.add(link);
    const facts = link.tlsFacts() ?? undefined;
    const pins = o.tls?.pinnedFingerprints256;
    if (facts && pins && pins.length > 0 && !fingerprintMatches(facts.peerFingerprint256, pins)) {
      this.refuse(receiver, "E_TLS_PIN_MISMATCH", "client certificate matches no pinned fingerprint", v1);
      return;
    }
    const hook = this.userOptions.allowConnection;
    if (!hook) {
      this.handshake(receiver, facts);
      return;
    }
    link.pauseReading(); // QWH-LIMIT-003: no byte is read before the hook decides
    Promise.resolve()
      .then(() => hook({ ...link.peer, ...(facts ? { tls: facts } : {}) }))
      .then(
        (ok) => {
          if (link.destroyed) return void this.handshaking.delete(link);
          if (!ok) return this.refuse(receiver, "E_POLICY_REJECTED", "connection refused by allowConnection", v1);
          link.resumeReading();
          this.handshake(receiver, facts);
        },
        (err) => this.refuse(receiver, "E_POLICY_REJECTED", `allowConnection failed: ${(err as Error)?.message}`, v1),
      );
  }

  private handshake(receiver: Receiver, facts: TlsFacts | undefined): void {
    const link = receiver.link;
    runServerHandshake(receiver, facts, this.options, {
      verifyHandshake: this.userOptions.verifyHandshake,
      replayCache: this.replayCache,
      opened: (snapshot, early, session) => this.open(receiver, snapshot, early, session as SessionStep<TOut, TIn> | undefined),
      ...(this.sessions ? { resume: (hello: HelloV1) => this.resumeStep(hello, facts !== undefined) } : {}),
      refused: (code, reason, sendFrame) => this.refuse(receiver, code, reason, sendFrame),
      gone: () => this.handshaking.delete(link),
    });
  }

  /** Step 11 (feature `resume`): the session a hello names, or a new one (spec section 10.7.6). */
  private resumeStep(hello: HelloV1, tls: boolean): ReturnType<NonNullable<ServerHandshakeContext["resume"]>> {
    const d = this.sessions!.decide(hello, tls, (entry) => {
      // The earlier connection is still open: closed without CLOSE, nothing more delivered from it (QWH-RESUME-017).
      const conn = entry.conn;
      if (conn && !conn.channel.isClosing) conn.channel.abandon();
    });
    switch (d.type) {
      case "none":
        return { grant: null, session: undefined };
      case "refuse":
        if (d.ended?.conn) this.sessionExpired(d.ended.conn, new QWormholeError(d.refusal.code, d.refusal.reason));
        return { refuse: d.refusal };
      default:
        return { grant: d.grant, session: { type: d.type, entry: d.entry } satisfies SessionStep<TOut, TIn> };
    }
  }

  /** A session is over without its connection: the application learns the connection ended. */
  private sessionExpired(conn: ServerConnection<TOut, TIn>, error?: QWormholeError): void {
    if (!this.sessionOf.delete(conn)) return;
    publish(DiagnosticsChannels.serverClientClosed, { id: conn.id, error: error?.code });
    const event = { hadError: error !== undefined, ...(error ? { error } : {}) };
    this.emit("clientClosed", { client: conn, ...event });
    conn.closed(event);
  }

  private open(receiver: Receiver, snapshot: HandshakeSnapshot, rest: Buffer[], session?: SessionStep<TOut, TIn>): void {
    const o = this.options;
    this.handshaking.delete(receiver.link);
    const resumed = session?.type === "resume" ? session.entry.conn : null;
    const id = resumed ? resumed.id : `c${this.nextId++}`;
    const events = new ServerChannelEvents<ServerConnection<TOut, TIn>>(this.channelHost);
    const channel = new FramedChannel(
      receiver,
      this.channelOptions,
      { features: snapshot.features, peerMaxFrameLength: snapshot.maxFrameLength },
      events,
      session && { session: session.entry.session, firstAck: false },
    );
    events.channel = channel;
    let conn: ServerConnection<TOut, TIn>;
    if (resumed) {
      conn = events.conn = resumed;
      conn.replaceChannel(channel);
      this.byId.set(id, conn);
      publish(DiagnosticsChannels.serverConnection, { id, profile: snapshot.profile, remoteAddress: snapshot.remoteAddress });
      this.emit("resumed", { client: conn });
      return;
    }
    conn = events.conn = new ServerConnection(
      id,
      channel,
      snapshot,
      this.serialize,
      { bytesPerSec: o.rateLimitBytesPerSec, burstBytes: o.rateLimitBurstBytes },
      this.deliveryHost,
    );
    if (session) {
      session.entry.conn = conn;
      conn.session = session.entry.session;
      this.sessionOf.set(conn, session.entry);
    }
    this.byId.set(id, conn);
    debug(
      "server: %s open from %s:%s (%s, features %s)",
      id,
      snapshot.remoteAddress,
      snapshot.remotePort,
      snapshot.profile,
      snapshot.features.join(",") || "none",
    );
    publish(DiagnosticsChannels.serverConnection, { id, profile: snapshot.profile, remoteAddress: snapshot.remoteAddress });
    this.emit("connection", conn);
    for (const q of this.connectionQueues) q.push(conn);
    // 0.3 clients' frames that arrived while their hello was checked (QWH-LEGACY-011).
    channel.deliver(rest);
  }

  private onClosed(conn: ServerConnection<TOut, TIn>, info: ChannelCloseInfo, channel: FramedChannel): void {
    if (conn.channel !== channel) {
      // A connection that a resume replaced (QWH-RESUME-017).
      addCounters(this.stats, channel.counters);
      return;
    }
    const entry = this.sessionOf.get(conn);
    if (entry && !info.closeExchanged && !entry.session.ended && !this.closing) {
      // Lost without CLOSE: the session waits for its client (QWH-RESUME-011).
      if (!this.byId.delete(conn.id)) return;
      addCounters(this.stats, conn.channel.counters);
      if (info.error) this.report(withSyscallCode(info.error));
      this.sessions!.detach(entry, () => this.sessionExpired(conn, info.error));
      return;
    }
    if (entry) {
      this.sessions!.end(entry);
      this.sessionOf.delete(conn);
    }
    if (!this.byId.delete(conn.id)) return;
    addCounters(this.stats, conn.channel.counters);
    this.stats.lostMessages += info.lostMessages;
    if (info.error) this.report(withSyscallCode(info.error));
    debug("server: %s closed%s", conn.id, info.error ? ` (${info.error.code}: ${info.error.message})` : "");
    publish(DiagnosticsChannels.serverClientClosed, { id: conn.id, error: info.error?.code });
    const event = {
      hadError: info.error !== undefined,
      ...(info.error ? { error: info.error } : {}),
      ...(info.peerClose ? { peerClose: info.peerClose } : {}),
    };
    this.emit("clientClosed", { client: conn, ...event });
    conn.closed(event);
  }
}
