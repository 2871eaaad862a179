/**
 * QWormholeServer: accepts connections, runs the server side of the QWH/1
 * handshake (limits, admission hook, negotiation, signature, policy hook),
 * then delivers typed messages per connection. A misbehaving connection is
 * closed with its code; no other connection is disturbed.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import tls from "node:tls";
import { bufferDeserializer, defaultSerializer, type Deserializer, type Serializer } from "../codecs.js";
import { DEFAULT_MAX_FRAME_LENGTH, MAX_HANDSHAKE_LENGTH } from "../protocol/constants.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import { FrameDecoder } from "../protocol/frame-decoder.js";
import { encodeHandshakeJson } from "../protocol/hello.js";
import { decideHandshake } from "../protocol/negotiate.js";
import type { Tags } from "../protocol/fields.js";
import { acceptToJson, rejectToJson } from "../protocol/server-answer.js";
import { ReplayCache } from "../protocol/signature.js";
import { DiagnosticsChannels, addCounters, emptySnapshot, publish, startTelemetry, type TelemetrySnapshot } from "../telemetry.js";
import { channelBindingOf, checkTlsTags, fingerprintMatches, tlsFactsOf, type TlsFacts } from "../tls-facts.js";
import { FramedChannel, channelOptions, type ChannelCloseInfo } from "../transport/channel.js";
import { encodeFrame } from "../transport/frames.js";
import { ServerConnection, type HandshakeSnapshot } from "./server-connection.js";
import { resolveServerOptions, type QWormholeServerOptions, type ResolvedServerOptions } from "./server-options.js";

/** Events of {@link QWormholeServer}. */
export interface ServerEvents<TIn, TOut> {
  listening: [address: net.AddressInfo];
  /** A connection finished its handshake and passed every hook. */
  connection: [client: ServerConnection<TOut>];
  message: [event: { client: ServerConnection<TOut>; data: TIn }];
  backpressure: [event: { client: ServerConnection<TOut>; queuedBytes: number; threshold: number }];
  drain: [event: { client: ServerConnection<TOut> }];
  clientClosed: [event: { client: ServerConnection<TOut>; hadError: boolean; error?: QWormholeError }];
  /** A connection was refused before it opened (limits, hooks, bad hello, timeout). */
  handshakeRejected: [event: { remoteAddress: string | undefined; code: string; reason: string }];
  close: [];
  /** Emitted only when listened to (server-level and per-connection failures). */
  error: [error: QWormholeError];
  telemetry: [snapshot: TelemetrySnapshot];
}

/**
 * The hello's tags as the application sees them: "tls"-prefixed tags only when
 * they were checked against the TLS session (QWH-TLS-008).
 */
function verifiedTags(tags: Tags | undefined, legacy: boolean): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (k.startsWith("tls") && (legacy || (k !== "tlsFingerprint256" && k !== "tlsAlpn"))) continue;
    out[k] = v;
  }
  return out;
}

/** Grace given to a refused peer to read the reject frame before the socket is destroyed. */
const REJECT_LINGER_MS = 1_000;

/** A QWH/1 server. */
export class QWormholeServer<TIn = Buffer, TOut = unknown> extends EventEmitter<ServerEvents<TIn, TOut>> {
  /** Validated options. */
  readonly options: ResolvedServerOptions;
  private readonly serialize: Serializer<TOut>;
  private readonly deserialize: Deserializer<TIn>;
  private readonly server: net.Server;
  private readonly connections = new Map<string, ServerConnection<TOut>>();
  private readonly handshaking = new Set<net.Socket>();
  private readonly replayCache: ReplayCache;
  private readonly stats = emptySnapshot();
  private readonly userOptions: QWormholeServerOptions<TIn, TOut>;
  private nextId = 1;
  private telemetryTimer: NodeJS.Timeout | null = null;
  private closing = false;

  constructor(options: QWormholeServerOptions<TIn, TOut> = {}) {
    super();
    this.userOptions = options;
    this.options = resolveServerOptions(options as QWormholeServerOptions<unknown, unknown>);
    this.serialize = options.serializer ?? (defaultSerializer as Serializer<TOut>);
    this.deserialize = options.deserializer ?? (bufferDeserializer as unknown as Deserializer<TIn>);
    this.replayCache = new ReplayCache(this.options.signatureWindowMs);
    const o = this.options;
    const onSocket = (socket: net.Socket) => this.accept(socket);
    if (o.tls) {
      const t = o.tls;
      const server = tls.createServer({
        ...t.extra,
        key: t.key,
        cert: t.cert,
        ca: t.ca,
        passphrase: t.passphrase,
        ALPNProtocols: t.alpnProtocols,
        requestCert: t.requestCert ?? false,
        rejectUnauthorized: t.rejectUnauthorized ?? true,
        minVersion: t.minVersion ?? "TLSv1.2",
        handshakeTimeout: o.handshakeTimeoutMs, // QWH-TIME-005: the TLS handshake is bounded too
        allowHalfOpen: o.allowHalfOpen,
        noDelay: true,
      });
      server.on("secureConnection", onSocket);
      // A garbage or failed TLS handshake concerns that socket only.
      server.on("tlsClientError", (err, socket) => {
        this.stats.handshakeRejections++;
        this.emitRejected(socket.remoteAddress, "E_TLS_HANDSHAKE", err.message);
        socket.destroy();
      });
      this.server = server;
    } else {
      this.server = net.createServer({ allowHalfOpen: o.allowHalfOpen, noDelay: true }, onSocket);
    }
    this.server.on("error", (err) => this.report(new QWormholeError("E_SOCKET", err.message, { cause: err })));
    if (options.onTelemetry) {
      const emit = options.onTelemetry;
      this.telemetryTimer = startTelemetry(o.telemetryIntervalMs, () => this.telemetry(), (s) => {
        emit(s);
        this.emit("telemetry", s);
      });
    }
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<net.AddressInfo> {
    const o = this.options;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new QWormholeError("E_SOCKET", err.message, { cause: err }));
      this.server.once("error", onError);
      this.server.listen({ host: o.host, port: o.port, backlog: o.backlog, reusePort: o.reusePort } as net.ListenOptions, () => {
        this.server.off("error", onError);
        const address = this.server.address() as net.AddressInfo;
        this.emit("listening", address);
        resolve(address);
      });
    });
  }

  /** The bound address, or null before `listen`. */
  address(): net.AddressInfo | null {
    return (this.server.address() as net.AddressInfo | null) ?? null;
  }

  /** The open connection with `id`. */
  getConnection(id: string): ServerConnection<TOut> | undefined {
    return this.connections.get(id);
  }

  /** Number of open connections (handshake done). */
  getConnectionCount(): number {
    return this.connections.size;
  }

  /** Every open connection. */
  getConnections(): ServerConnection<TOut>[] {
    return [...this.connections.values()];
  }

  /**
   * Sends `data` to every open connection (serialized once). A connection that
   * cannot take it (too large for its maximum, closing) is skipped and
   * reported; returns how many connections it was sent to.
   */
  broadcast(data: TOut, options?: { except?: ServerConnection<TOut> | string; priority?: number }): number {
    const exceptId = typeof options?.except === "string" ? options.except : options?.except?.id;
    let payload: Uint8Array | string | undefined;
    let sent = 0;
    for (const c of this.connections.values()) {
      if (c.id === exceptId) continue;
      payload ??= c.serializeChecked(data);
      try {
        c.sendSerialized(payload, options?.priority);
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
    const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.handshaking) s.destroy();
    await Promise.all([...this.connections.values()].map((c) => c.end("E_GOING_AWAY", "server shutting down")));
    await listening;
    if (this.telemetryTimer) clearInterval(this.telemetryTimer);
    this.emit("close");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A telemetry snapshot now (counters of closed connections included). */
  telemetry(): TelemetrySnapshot {
    const s = { ...this.stats, timestamp: Date.now(), connections: this.connections.size };
    for (const c of this.connections.values()) {
      addCounters(s, c.channel.counters);
      s.queuedBytes += c.queuedBytes;
    }
    return s;
  }

  private report(error: QWormholeError): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  private emitRejected(remoteAddress: string | undefined, code: string, reason: string): void {
    publish(DiagnosticsChannels.serverHandshakeRejected, { remoteAddress, code, reason });
    this.emit("handshakeRejected", { remoteAddress, code, reason });
  }

  /** Refuses a connection: a reject frame when the peer speaks v1, then FIN, then destroy after a grace period. */
  private refuse(socket: net.Socket, code: WireErrorCode, reason: string, sendFrame: boolean): void {
    this.handshaking.delete(socket);
    this.stats.handshakeRejections++;
    this.emitRejected(socket.remoteAddress, code, reason);
    if (socket.destroyed) return;
    socket.removeAllListeners("data");
    socket.on("data", () => undefined); // keep reading so our FIN is not turned into a reset
    socket.on("end", () => socket.destroy()); // the peer read our answer and left
    socket.on("error", () => undefined);
    socket.resume();
    if (sendFrame) socket.end(encodeFrame(encodeHandshakeJson(rejectToJson({ code, reason: reason.slice(0, 200) }))));
    else socket.end();
    setTimeout(() => socket.destroy(), REJECT_LINGER_MS).unref();
  }

  private accept(socket: net.Socket): void {
    const o = this.options;
    socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveDelayMs);
    socket.on("error", () => undefined); // reported through close handling; never crashes the server
    const v1 = o.handshakeProfile === "v1";
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size + this.handshaking.size >= o.maxClients) {
      this.refuse(socket, "E_MAX_CLIENTS", `server is full (${o.maxClients} connections)`, v1);
      return;
    }
    if (this.handshaking.size >= o.maxPendingHandshakes) {
      this.refuse(socket, "E_MAX_PENDING_HANDSHAKES", `too many handshakes in progress (${o.maxPendingHandshakes})`, v1);
      return;
    }
    this.handshaking.add(socket);
    let facts: TlsFacts | undefined;
    if (o.tls) {
      facts = tlsFactsOf(socket as tls.TLSSocket);
      const pins = o.tls.pinnedFingerprints256;
      if (pins && pins.length > 0 && !fingerprintMatches(facts.peerFingerprint256, pins)) {
        this.refuse(socket, "E_TLS_PIN_MISMATCH", "client certificate matches no pinned fingerprint", v1);
        return;
      }
    }
    const hook = this.userOptions.allowConnection;
    if (!hook) {
      this.handshake(socket, facts);
      return;
    }
    socket.pause();
    Promise.resolve()
      .then(() => hook({ remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localPort: socket.localPort, ...(facts ? { tls: facts } : {}) }))
      .then(
        (ok) => {
          if (socket.destroyed) return void this.handshaking.delete(socket);
          if (!ok) return this.refuse(socket, "E_POLICY_REJECTED", "connection refused by allowConnection", v1);
          socket.resume();
          this.handshake(socket, facts);
        },
        (err) => this.refuse(socket, "E_INTERNAL", `allowConnection failed: ${(err as Error)?.message}`, v1),
      );
  }

  private handshake(socket: net.Socket, facts: TlsFacts | undefined): void {
    const o = this.options;
    if (o.handshakeProfile === "bare") {
      this.open(socket, { profile: "bare", tags: {}, features: [], offeredFeatures: [], maxFrameLength: DEFAULT_MAX_FRAME_LENGTH, signed: false, ...this.peerOf(socket, facts) }, []);
      return;
    }
    let stage: "hello" | "verifying" | "done" = "hello";
    let buffered: Buffer[] = [];
    let legacy = false;
    const timer = setTimeout(() => {
      if (stage !== "done") this.refuse(socket, "E_HANDSHAKE_TIMEOUT", `no complete hello within ${o.handshakeTimeoutMs} ms`, stage === "hello" || !legacy);
      stage = "done";
    }, o.handshakeTimeoutMs);
    const finish = () => {
      stage = "done";
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
    };
    const fail = (code: WireErrorCode, reason: string, frame = true) => {
      finish();
      this.refuse(socket, code, reason, frame);
    };
    let helloPayload: Buffer | null = null;
    const decoder = new FrameDecoder(
      {
        onMessage: (payload) => {
          helloPayload = payload;
          decoder.switchToRaw(); // what follows the hello is judged once the chunk is consumed
        },
        onControl: () => undefined,
        onRaw: (chunk) => {
          buffered.push(chunk);
        },
      },
      { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" },
    );
    const onData = (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (err) {
        const e = err as QWormholeError;
        return fail(e.code as WireErrorCode, e.message);
      }
      if (stage === "hello" && helloPayload) {
        stage = "verifying";
        process(helloPayload);
      } else if (stage === "verifying" && !legacy && buffered.length > 0) {
        fail("E_PROTOCOL_ERROR", "frame received before the accept");
      }
    };
    const process = (payload: Buffer) => {
      const decision = decideHandshake(payload, {
        features: o.features,
        maxFrameLength: o.maxFrameLength,
        ...(o.protocolVersion !== undefined ? { version: o.protocolVersion } : {}),
        ...(o.handshakeTags !== undefined ? { tags: o.handshakeTags } : {}),
        framing: o.framing,
        legacyAllowed: o.allowLegacy,
        requireSignature: o.requireSignedHandshake,
        signatureWindowMs: o.signatureWindowMs,
        exporter: o.tls ? channelBindingOf(socket as tls.TLSSocket) : null,
        replayCache: this.replayCache,
        checkTlsTags: (tags) => checkTlsTags(tags, facts ?? null),
      });
      if (decision.type === "reject") return fail(decision.code, decision.reason);
      if (decision.type === "close") return fail(decision.code, decision.reason, false);
      legacy = decision.type === "legacy";
      // v1: the client may not send before our accept. 0.3 clients send right away: their data waits.
      if (!legacy && buffered.length > 0) return fail("E_PROTOCOL_ERROR", "frame received before the accept");
      const hello = decision.hello;
      const snapshot: HandshakeSnapshot = {
        profile: legacy ? "legacy" : "v1",
        tags: verifiedTags(hello.tags, legacy),
        features: decision.type === "accept" ? decision.accept.features : [],
        offeredFeatures: decision.type === "accept" ? decision.hello.features : [],
        maxFrameLength: decision.type === "accept" ? (decision.hello.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH) : DEFAULT_MAX_FRAME_LENGTH,
        signed: decision.type === "accept" && decision.hello.sig !== undefined,
        ...this.peerOf(socket, facts),
      };
      if (decision.type === "accept") {
        snapshot.qwh = decision.accept.qwh;
        if (decision.hello.sig) snapshot.publicKey = decision.hello.sig.key;
      }
      if (hello.version !== undefined) snapshot.version = hello.version;
      const verify = this.userOptions.verifyHandshake;
      const admit = () => {
        if (stage !== "verifying" || socket.destroyed) return;
        finish();
        if (decision.type === "accept") socket.write(encodeFrame(encodeHandshakeJson(acceptToJson(decision.accept))));
        const rest = buffered;
        buffered = [];
        this.open(socket, snapshot, rest);
      };
      if (!verify) return admit();
      let verdict: boolean | Promise<boolean>;
      try {
        verdict = verify(snapshot);
      } catch (err) {
        return fail("E_INTERNAL", `verifyHandshake failed: ${(err as Error)?.message}`, !legacy);
      }
      if (typeof verdict === "boolean") return verdict ? admit() : fail("E_POLICY_REJECTED", "refused by verifyHandshake", !legacy);
      verdict.then(
        (ok) => (ok ? admit() : stage === "verifying" && fail("E_POLICY_REJECTED", "refused by verifyHandshake", !legacy)),
        (err) => stage === "verifying" && fail("E_INTERNAL", `verifyHandshake failed: ${(err as Error)?.message}`, !legacy),
      );
    };
    const onEnd = () => {
      if (stage === "hello") fail("E_INVALID_HANDSHAKE", "connection ended before the hello", false);
    };
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.once("close", () => {
      if (stage !== "done") {
        finish();
        this.handshaking.delete(socket);
      }
    });
  }

  private peerOf(socket: net.Socket, facts: TlsFacts | undefined): { remoteAddress: string | undefined; remotePort: number | undefined; tls?: TlsFacts } {
    return { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, ...(facts ? { tls: facts } : {}) };
  }

  private open(socket: net.Socket, snapshot: HandshakeSnapshot, rest: Buffer[]): void {
    const o = this.options;
    this.handshaking.delete(socket);
    const id = `c${this.nextId++}`;
    let conn!: ServerConnection<TOut>;
    const hasServerMessageListeners = () => this.listenerCount("message") > 0;
    const channel = new FramedChannel(
      socket,
      channelOptions(o, snapshot.features, snapshot.maxFrameLength, { maxBackpressureBytes: o.maxBackpressureBytes, pauseReadingOnBackpressure: true }),
      {
        message: (payload) => {
          let data: TIn;
          try {
            data = this.deserialize(payload);
          } catch (err) {
            this.report(err instanceof QWormholeError ? err : new QWormholeError("E_CODEC", `deserializer failed: ${(err as Error).message}`, { cause: err }));
            return;
          }
          if (hasServerMessageListeners()) this.emit("message", { client: conn, data });
        },
        closed: (info) => this.onClosed(conn, info),
        backpressure: (queuedBytes) => this.emit("backpressure", { client: conn, queuedBytes, threshold: o.highWaterMarkBytes }),
        drain: () => this.emit("drain", { client: conn }),
      },
    );
    conn = new ServerConnection(id, socket, channel, snapshot, this.serialize, { bytesPerSec: o.rateLimitBytesPerSec, burstBytes: o.rateLimitBurstBytes });
    this.connections.set(id, conn);
    socket.on("data", (chunk: Buffer) => channel.receive(chunk));
    publish(DiagnosticsChannels.serverConnection, { id, profile: snapshot.profile, remoteAddress: snapshot.remoteAddress });
    this.emit("connection", conn);
    for (const c of rest) channel.receive(c);
  }

  private onClosed(conn: ServerConnection<TOut>, info: ChannelCloseInfo): void {
    if (!this.connections.delete(conn.id)) return;
    addCounters(this.stats, conn.channel.counters);
    this.stats.lostMessages += info.lostMessages;
    if (info.error) this.report(info.error);
    publish(DiagnosticsChannels.serverClientClosed, { id: conn.id, error: info.error?.code });
    this.emit("clientClosed", info.error ? { client: conn, hadError: true, error: info.error } : { client: conn, hadError: false });
  }
}
