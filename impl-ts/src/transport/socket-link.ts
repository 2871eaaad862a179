/**
 * {@link SocketLink}: the {@link Link} over a Node `net.Socket` or
 * `tls.TLSSocket`. It moves bytes: what arrives goes to its receiver (plain
 * TCP through the socket's {@link SocketReader}, which may read straight into
 * the frame being assembled; TLS through `data` events), and what the owner
 * encoded is written on flush.
 * @packageDocumentation
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { QWormholeError } from "../protocol/errors.js";
import { FrameEncoder } from "../protocol/frame-encoder.js";
import type { Link, LinkPeer, LinkReceiver } from "./link.js";
import type { SocketReader } from "./socket-reader.js";
import { tlsFactsOf, type TlsFacts } from "../tls-facts.js";

/** The receiver of a socket's link, for the socket's listeners (shared by every socket: `this` is the socket). */
const RECEIVER = Symbol("qwormhole.receiver");
type Carrier = Socket & { [RECEIVER]?: LinkReceiver };

function onEnd(this: Carrier): void {
  this[RECEIVER]!.end();
}
function onError(this: Carrier, err: Error): void {
  this[RECEIVER]!.error(new QWormholeError("E_SOCKET", err.message, { cause: err }));
}
function onDrain(this: Carrier): void {
  this[RECEIVER]!.drain();
}
function onClose(this: Carrier): void {
  this[RECEIVER]!.close();
}
function onTimeout(this: Carrier): void {
  this[RECEIVER]?.timeout();
}

/** A {@link Link} over a Node socket (see the module comment). */
export class SocketLink implements Link {
  readonly peer: LinkPeer;
  readonly encoder = new FrameEncoder();
  // Bytes of `data` events (TLS); with a reader the socket counts them.
  private read = 0;
  private written = 0;

  /**
   * @param reader - set when the socket was created with this reader's `onread`
   *   (plain TCP): reads land where the receiver wants them. Without it the link
   *   listens to `data` events (TLS).
   */
  constructor(
    readonly socket: Socket,
    private readonly reader?: SocketReader,
  ) {
    this.peer = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localPort: socket.localPort };
  }

  attach(receiver: LinkReceiver): void {
    const socket = this.socket as Carrier;
    socket[RECEIVER] = receiver;
    if (this.reader) this.reader.attach(receiver);
    else
      socket.on("data", (chunk: Buffer) => {
        this.read += chunk.length;
        receiver.received(chunk, false);
      });
    // Flowing mode (also for a socket paused on accept; with onread, so that the end is reported).
    socket.resume();
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  }

  get bytesIn(): number {
    return this.reader ? this.socket.bytesRead : this.read;
  }
  get bytesOut(): number {
    return this.written;
  }
  get writableLength(): number {
    return this.socket.writableLength;
  }
  get writableNeedDrain(): boolean {
    return this.socket.writableNeedDrain;
  }
  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  flush(done?: (error?: Error | null) => void): number {
    if (this.encoder.pendingBytes === 0 || this.socket.destroyed) return 0;
    const parts = this.encoder.take();
    const socket = this.socket;
    let bytes = 0;
    if (parts.length === 1) {
      bytes = parts[0]!.length;
      socket.write(parts[0]!, done);
    } else {
      // cork/uncork turns the parts into one writev.
      socket.cork();
      for (let i = 0; i < parts.length; i++) {
        bytes += parts[i]!.length;
        socket.write(parts[i]!, i === parts.length - 1 ? done : undefined);
      }
      socket.uncork();
    }
    this.written += bytes;
    return bytes;
  }

  pauseReading(): void {
    this.socket.pause();
  }
  resumeReading(): void {
    this.socket.resume();
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
  setIdleTimeout(ms: number): void {
    this.socket.setTimeout(ms, ms > 0 ? onTimeout : undefined);
  }

  tlsFacts(): TlsFacts | null {
    return "encrypted" in this.socket ? tlsFactsOf(this.socket as TLSSocket) : null;
  }
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    const s = this.socket as TLSSocket;
    if (!("encrypted" in s) || typeof s.exportKeyingMaterial !== "function") {
      throw new QWormholeError("E_INVALID_OPTION", "exportKeyingMaterial needs a TLS connection");
    }
    return s.exportKeyingMaterial(length, label, context as Buffer);
  }
}
