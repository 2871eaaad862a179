/**
 * {@link NativeFrameLink}: a {@link Link} whose I/O, frame decoding (limits
 * checked on each header, in the receive mode its receiver sets) and TLS run
 * in a native addon. The addon hands JS one batch per readable event (one
 * Buffer: a table of kind/offset/length triples, then the payloads), whose
 * frames go to the receiver's frame entry point; JS encodes with the
 * reference FrameEncoder into a few large buffers and hands the addon one
 * write per flush. Works on both addons (posix on Node's loop, lws with a
 * service thread): they share the JS-thread engine and this contract.
 * @packageDocumentation
 */
import { viewAt } from "../protocol/buffer-view.js";
import type { ErrorCode } from "../protocol/error-codes.js";
import { ProtocolError, QWormholeError } from "../protocol/errors.js";
import { FrameEncoder } from "../protocol/frame-encoder.js";
import type { Link, LinkPeer, LinkReceiver, ReceiveMode } from "../transport/link.js";
import type { TlsFacts } from "../tls-facts.js";
import type { NativeBinding } from "./load.js";
import { K_CONTROL, K_DATA, NativeEvent } from "./native-events.js";

/** Receives the events of one dial or listener. */
export interface NativeEndpoint {
  event(type: NativeEvent, a: unknown, b: unknown): void;
}

/** Frames of a batch whose [kind, offset, length] entries the addon writes into {@link NativeRuntime.table}. */
const TABLE_FRAMES = 16 * 1024;

/** One addon instance: routes its dispatch calls to links, dials and listeners by id. */
export class NativeRuntime {
  readonly links = new Map<number, NativeFrameLink>();
  readonly endpoints = new Map<number, NativeEndpoint>();
  /**
   * Where the addon writes the table of a batch (a positive count), so that no view is made per
   * batch; a larger batch, or one delivered inside another, has its table at the end of its
   * Buffer (a negative count).
   */
  readonly table = new Uint32Array(TABLE_FRAMES * 3);

  constructor(readonly binding: NativeBinding) {
    binding.setDispatch((type, id, a, b) => {
      const link = this.links.get(id);
      if (link !== undefined && type !== NativeEvent.Accept && type !== NativeEvent.TlsFail && type !== NativeEvent.ListenError) {
        link.onEvent(type, a, b);
        return;
      }
      this.endpoints.get(id)?.event(type, a, b);
    }, this.table);
    // process.exit() skips the addon's cleanup hooks: a service thread (lws) is stopped here instead.
    if (typeof binding.shutdown === "function") process.once("exit", () => binding.shutdown!());
  }
}

const runtimes = new WeakMap<NativeBinding, NativeRuntime>();

/** The runtime of `binding` (created once per addon instance). */
export function runtimeOf(binding: NativeBinding): NativeRuntime {
  let r = runtimes.get(binding);
  if (!r) {
    r = new NativeRuntime(binding);
    runtimes.set(binding, r);
  }
  return r;
}

function frameError(code: string, message: string): QWormholeError {
  return code === "E_SOCKET" || code === "E_INTERNAL" ? new QWormholeError(code, message) : new ProtocolError(code as ErrorCode, message);
}

/** A framed connection carried by a native addon. */
export class NativeFrameLink implements Link {
  readonly peer: LinkPeer;
  readonly encoder = new FrameEncoder();
  private receiver: LinkReceiver | null = null;
  private readonly binding: NativeBinding;
  private unsent = 0;
  private written = 0;
  private closed = false;
  private destroyRequested = false;
  private failed = false;
  // The receive mode the addon applies, as last set.
  private raw = false;
  private refusal: string | null = null;
  private maxFrameLength = -1;
  private control = false;
  private handshakeLimits = false;
  private dones: ((error?: Error | null) => void)[] = [];
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastActivity = 0;
  private facts: TlsFacts | null | undefined;
  private finalCounters: [number, number] | null = null;
  /** pauseReading() was called (by the application or by backpressure). */
  private jsPaused = false;
  /** The rest of a batch whose delivery a pauseReading() inside a handler stopped (with its table). */
  private held: { buf: Buffer; count: number; next: number; table: Uint32Array | null; at: number } | null = null;
  /** Called once after close (the owner forgets the link). */
  onClosed: (() => void) | null = null;

  /**
   * @param allowHalfOpen - as net's option: when false (the default, as for the socket transport),
   * our side is ended on the tick after the peer's END, so a graceful close waiting for the peer's
   * CLOSE ends as soon as the peer has gone instead of at its drain timeout.
   */
  constructor(
    private readonly runtime: NativeRuntime,
    readonly id: number,
    private readonly allowHalfOpen = false,
  ) {
    this.binding = runtime.binding;
    runtime.links.set(id, this);
    const info = this.binding.info(id);
    this.peer = { remoteAddress: info?.[0] || undefined, remotePort: info?.[1] || undefined, localPort: info?.[2] || undefined };
  }

  /** Called by the runtime for this connection's events. */
  onEvent(type: NativeEvent, a: unknown, b: unknown): void {
    switch (type) {
      case NativeEvent.Batch: {
        const buf = a as Buffer;
        const count = b as number;
        if (count >= 0) {
          this.onBatch(buf, count, 0, this.runtime.table, 0);
        } else {
          // The table [kind, offset, length] x count (u32 LE) ends the Buffer.
          const at = buf.length + count * 12;
          const base = buf.byteOffset + at;
          this.onBatch(buf, -count, 0, (base & 3) === 0 ? new Uint32Array(buf.buffer, base, -count * 3) : null, at);
        }
        return;
      }
      case NativeEvent.End:
        this.touch();
        this.receiver?.end();
        if (!this.allowHalfOpen) process.nextTick(() => this.endAfterPeer());
        return;
      case NativeEvent.Error: {
        if (this.failed) return;
        this.failed = true;
        let message = b as string;
        const code = a as string;
        if (code === "E_PROTOCOL_ERROR" && this.refusal) message = this.refusal;
        else if (code === "E_FRAME_TOO_LARGE" || code === "E_HANDSHAKE_TOO_LARGE")
          message = `frame length exceeds the maximum ${this.maxFrameLength}`;
        this.receiver?.error(frameError(code, message));
        return;
      }
      case NativeEvent.Drain:
        this.unsent = 0;
        this.settle(null);
        this.receiver?.drain();
        return;
      case NativeEvent.Close:
        this.onClose();
        return;
      default:
        return;
    }
  }

  /**
   * Delivers frames `first` to `count` of a batch: their entries are in `table` (from index 0),
   * or, when it is null, at byte `at` of `buf`.
   */
  private onBatch(buf: Buffer, count: number, first: number, table: Uint32Array | null, at: number): void {
    const receiver = this.receiver;
    if (receiver === null) return;
    this.touch();
    const arrayBuffer = buf.buffer as ArrayBuffer;
    const base = buf.byteOffset;
    for (let i = first; i < count; i++) {
      if (this.closed || this.destroyRequested) break;
      if (this.jsPaused) {
        // A handler paused reading (backpressure, QWH-LIMIT-005): the rest of this read waits,
        // as the bytes after a socket's pause() do. The runtime's table is the next batch's.
        const kept = table === this.runtime.table ? table.slice(0, count * 3) : table;
        this.held = { buf, count, next: i, table: kept, at };
        break;
      }
      const kind = table ? table[i * 3]! : buf.readUInt32LE(at + i * 12);
      const off = table ? table[i * 3 + 1]! : buf.readUInt32LE(at + i * 12 + 4);
      const len = table ? table[i * 3 + 2]! : buf.readUInt32LE(at + i * 12 + 8);
      const payload = viewAt(arrayBuffer, base + off, len);
      // Read per frame: a handler may hand the connection to a new owner mid-batch (the handshake's end).
      const frames = receiver.frames;
      if (kind === K_DATA) frames.onMessage(payload);
      else if (kind === K_CONTROL) frames.onControl(payload);
      else frames.onRaw?.(payload);
    }
    // What was delivered so far is one batch (also when the rest is held).
    receiver.readEnd();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.runtime.links.delete(this.id);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.settle(this.unsent > 0 ? new QWormholeError("E_SOCKET", "connection closed with unsent data") : null);
    this.onClosed?.();
    this.receiver?.close();
  }

  private settle(error: Error | null): void {
    if (this.dones.length === 0) return;
    const dones = this.dones;
    this.dones = [];
    for (const d of dones) d(error);
  }

  private touch(): void {
    if (this.idleMs > 0) this.lastActivity = Date.now();
  }

  private counters(): [number, number] {
    if (this.finalCounters) return this.finalCounters;
    const info = this.closed ? undefined : this.binding.info(this.id);
    if (!info) return (this.finalCounters ??= [0, this.written]);
    if (this.destroyRequested) this.finalCounters = [info[3], info[4]];
    return [info[3], info[4]];
  }

  get bytesIn(): number {
    return this.counters()[0];
  }
  get bytesOut(): number {
    return this.written;
  }
  get writableLength(): number {
    return this.unsent;
  }
  get writableNeedDrain(): boolean {
    return this.unsent > 0;
  }
  get destroyed(): boolean {
    return this.closed || this.destroyRequested;
  }

  attach(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }
  setReceiveMode(mode: ReceiveMode): void {
    if (this.closed) return;
    const { maxFrameLength, control } = mode.limits;
    const handshake = mode.limits.oversizeCode === "E_HANDSHAKE_TOO_LARGE";
    if (mode.raw) {
      if (!this.raw) this.binding.switchToRaw(this.id);
      this.raw = true;
      return;
    }
    if (this.raw) this.binding.switchToFrames(this.id);
    this.raw = false;
    if (maxFrameLength !== this.maxFrameLength || control !== this.control || handshake !== this.handshakeLimits) {
      this.maxFrameLength = maxFrameLength;
      this.control = control;
      this.handshakeLimits = handshake;
      this.binding.setLimits(this.id, maxFrameLength, control, handshake);
    }
    if (mode.refusal !== null && this.refusal === null) {
      this.refusal = mode.refusal;
      this.binding.refuseData(this.id);
    }
  }

  flush(done?: (error?: Error | null) => void): number {
    if (this.encoder.pendingBytes === 0 || this.destroyed) return 0;
    const bytes = this.encoder.pendingBytes;
    const parts = this.encoder.take();
    const r = this.binding.write(this.id, parts.length === 1 ? parts[0]! : parts);
    if (r < 0) {
      if (done) queueMicrotask(() => done(new QWormholeError("E_SOCKET", "connection is closed")));
      return 0;
    }
    this.written += bytes;
    this.unsent = r;
    this.touch();
    if (done) {
      if (r === 0) queueMicrotask(() => done(null));
      else this.dones.push(done);
    }
    return bytes;
  }

  pauseReading(): void {
    if (this.destroyed) return;
    this.jsPaused = true;
    this.binding.pause(this.id, true);
  }
  resumeReading(): void {
    if (this.destroyed) return;
    this.jsPaused = false;
    if (this.held) {
      // The held rest of a batch first, on a later turn; then what the addon kept.
      setImmediate(() => {
        if (this.destroyed || this.jsPaused) return;
        const h = this.held;
        this.held = null;
        if (h) this.onBatch(h.buf, h.count, h.next, h.table, h.at);
        if (!this.destroyed && !this.jsPaused && !this.held) this.resumeReading();
      });
      return;
    }
    // Bytes kept while paused are decoded on a later turn, like a socket's resume().
    if (this.binding.pause(this.id, false)) setImmediate(() => !this.destroyed && this.binding.drainPending(this.id));
  }
  end(): void {
    if (!this.destroyed) this.binding.end(this.id);
  }
  /** net.Socket's `allowHalfOpen: false`: what was written goes out, then our FIN. */
  private endAfterPeer(): void {
    if (this.destroyed) return;
    this.flush();
    this.end();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.counters();
    this.destroyRequested = true;
    this.binding.destroy(this.id);
  }
  setIdleTimeout(ms: number): void {
    this.idleMs = ms;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (ms <= 0) return;
    this.lastActivity = Date.now();
    const check = () => {
      this.idleTimer = null;
      if (this.destroyed || this.idleMs <= 0) return;
      const idle = Date.now() - this.lastActivity;
      if (idle >= this.idleMs) {
        this.lastActivity = Date.now();
        this.receiver?.timeout();
        if (!this.destroyed) this.idleTimer = setTimeout(check, this.idleMs);
      } else {
        this.idleTimer = setTimeout(check, this.idleMs - idle);
      }
      this.idleTimer?.unref();
    };
    this.idleTimer = setTimeout(check, ms);
    this.idleTimer.unref();
  }

  tlsFacts(): TlsFacts | null {
    if (this.facts === undefined && !this.closed) this.facts = this.binding.tlsFacts(this.id);
    return this.facts ?? null;
  }
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer {
    if (this.tlsFacts() === null || this.closed)
      throw new QWormholeError("E_INVALID_OPTION", "exportKeyingMaterial needs a TLS connection");
    try {
      return this.binding.exportKeyingMaterial(this.id, length, label, context);
    } catch (err) {
      throw new QWormholeError("E_INVALID_OPTION", (err as Error).message, { cause: err });
    }
  }
}
