/**
 * One accepted, handshaken connection as the server application sees it.
 * @packageDocumentation
 */
import type { Serializer } from "../codecs.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import type { Tags } from "../protocol/fields.js";
import { RateLimitedQueue, TokenBucket } from "../rate-limiter.js";
import type { TlsFacts } from "../tls-facts.js";
import type { FramedChannel, SharedMessage } from "../transport/channel.js";

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

type Payload = Uint8Array | string;

/**
 * One client's connection on a server, as handed out by the server's
 * `connection` and `message` events.
 *
 * @example
 * ```ts
 * server.on("connection", (conn) => {
 *   console.log(conn.id, conn.remoteAddress, conn.handshake.tags);
 *   conn.send("welcome");
 * });
 * ```
 */
export class ServerConnection<TOut = unknown> {
  /** Unique per server. */
  readonly id: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  private readonly limiter: RateLimitedQueue<Payload> | null;

  /** @internal Created by the server once the handshake is done. */
  constructor(
    id: string,
    /** @internal */ readonly channel: FramedChannel,
    /** What the handshake established. */
    readonly handshake: HandshakeSnapshot,
    private readonly serialize: Serializer<TOut>,
    rate: { bytesPerSec: number; burstBytes: number },
  ) {
    this.id = id;
    this.remoteAddress = handshake.remoteAddress;
    this.remotePort = handshake.remotePort;
    this.limiter = rate.bytesPerSec > 0 ? new RateLimitedQueue(new TokenBucket(rate.bytesPerSec, rate.burstBytes || rate.bytesPerSec), (p) => this.sendNow(p)) : null;
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
    const payload = this.serializeChecked(data);
    return this.sendSerialized(payload, options?.priority);
  }

  /** @internal Sends an already serialized payload (broadcast serializes once). */
  sendSerialized(payload: Payload, priority = 0): boolean {
    if (this.limiter) {
      const bytes = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
      if (bytes > this.channel.peerMaxFrameLength) {
        throw new QWormholeError("E_FRAME_TOO_LARGE", `message of ${bytes} bytes exceeds the client's maximum frame length ${this.channel.peerMaxFrameLength}`);
      }
      return this.limiter.push(payload, bytes, priority);
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

  /** @internal */
  serializeChecked(data: TOut): Payload {
    try {
      return this.serialize(data);
    } catch (err) {
      throw err instanceof QWormholeError ? err : new QWormholeError("E_CODEC", `serializer failed: ${(err as Error).message}`, { cause: err });
    }
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
