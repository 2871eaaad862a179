/**
 * Incremental QWH/1 frame decoder: an explicit state machine fed arbitrary
 * chunks. A frame that arrives inside one chunk is handed out as a view of
 * that chunk (no copy); only frames that straddle chunks are assembled. The
 * assembly buffer grows as the frame's bytes arrive (spec 4.5), by at most
 * {@link GROWTH} times what it holds, so a peer that announces a large frame
 * and stalls pins a small buffer, not the announced length.
 * @packageDocumentation
 */
import { CONTROL_BIT, DEFAULT_MAX_FRAME_LENGTH, FRAME_HEADER_LENGTH, MAX_CONTROL_LENGTH, MAX_FRAME_LENGTH_LIMIT } from "./constants.js";
import { viewAt, viewOf } from "./buffer-view.js";
import { ProtocolError, QWormholeError } from "./errors.js";

/** Where decoded frames go. Callbacks run synchronously inside {@link FrameDecoder.push}. */
export interface FrameSink {
  /** A data frame's payload. Valid until the callback returns unless the caller keeps the buffer. */
  onMessage(payload: Buffer): void;
  /** A control frame's payload (type byte followed by the body). */
  onControl(payload: Buffer): void;
  /** Bytes after {@link FrameDecoder.switchToRaw}; raw mode has no frames. */
  onRaw?(chunk: Buffer): void;
}

/** Limits the decoder enforces on each header. */
export interface FrameLimits {
  /** Largest data frame payload accepted (0 .. 2^31-1). */
  maxFrameLength: number;
  /** Whether bit 31 marks a control frame (feature `control` negotiated). */
  control: boolean;
  /** Code for an oversized data frame: E_HANDSHAKE_TOO_LARGE while handshaking. */
  oversizeCode?: "E_FRAME_TOO_LARGE" | "E_HANDSHAKE_TOO_LARGE";
}

/**
 * Checks `limits` for any receiver of frames (this decoder, and links that
 * decode elsewhere, such as the native addons). Throws E_INVALID_OPTION.
 */
export function checkFrameLimits(limits: FrameLimits): void {
  const max = limits.maxFrameLength;
  if (!Number.isInteger(max) || max < 0 || max > MAX_FRAME_LENGTH_LIMIT) {
    throw new QWormholeError("E_INVALID_OPTION", `maxFrameLength must be an integer in 0..${MAX_FRAME_LENGTH_LIMIT}, got ${max}`);
  }
}

/** First assembly buffer of a data frame (a frame up to this size gets its whole length at once). */
const FIRST_CAPACITY = 64 * 1024;
/** First assembly buffer while the limits are the handshake's (frames of at most 16 KiB). */
const FIRST_HANDSHAKE_CAPACITY = 1024;
/**
 * An assembly buffer grows to at most this many times the bytes it holds. A
 * large factor keeps the copies of a growing frame small (one 64 KiB copy for a
 * 1 MiB frame); a factor of 4 cost a third of the 1 MiB throughput.
 */
const GROWTH = 16;

const enum State {
  Header,
  Payload,
  Raw,
  Failed,
}

/** A copy of `chunk` from `start` to its end. */
function copyOf(chunk: Buffer, start: number): Buffer {
  const copy = Buffer.allocUnsafe(chunk.length - start);
  chunk.copy(copy, 0, start);
  return copy;
}

/** The QWH/1 receive-side framing state machine. */
export class FrameDecoder {
  private state = State.Header;
  private maxFrameLength = DEFAULT_MAX_FRAME_LENGTH;
  private control = false;
  private oversizeCode: "E_FRAME_TOO_LARGE" | "E_HANDSHAKE_TOO_LARGE" = "E_FRAME_TOO_LARGE";
  // A header split across chunks is accumulated here, byte by byte.
  private headerValue = 0;
  private headerBytes = 0;
  // A payload split across chunks is assembled here: `partial` has room for
  // part of the frame (it grows as bytes arrive), `partialLength` is the whole.
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private partialLength = 0;
  private firstCapacity = FIRST_CAPACITY;
  private partialIsControl = false;
  private failure: QWormholeError | null = null;
  private lastLength = 0;
  // Set once data frames are no longer allowed (after the peer's CLOSE).
  private refusal: { code: "E_PROTOCOL_ERROR"; message: string } | null = null;

  constructor(
    private sink: FrameSink,
    limits?: FrameLimits,
  ) {
    if (limits) this.setLimits(limits);
  }

  /** Changes the limits; takes effect from the next header (e.g. after the handshake). */
  setLimits(limits: FrameLimits): void {
    checkFrameLimits(limits);
    this.maxFrameLength = limits.maxFrameLength;
    this.control = limits.control;
    this.oversizeCode = limits.oversizeCode ?? "E_FRAME_TOO_LARGE";
    this.firstCapacity = this.oversizeCode === "E_HANDSHAKE_TOO_LARGE" ? FIRST_HANDSHAKE_CAPACITY : FIRST_CAPACITY;
  }

  /**
   * Refuses every further data frame with `code`, raised on its header.
   * Folded into the length check (maximum -1), so it costs nothing per frame.
   */
  refuseDataFrames(message: string): void {
    this.refusal = { code: "E_PROTOCOL_ERROR", message };
    this.maxFrameLength = -1;
  }

  /** Replaces the sink; frames completed from now on (also in the current chunk) go to it. */
  setSink(sink: FrameSink): void {
    this.sink = sink;
  }

  /**
   * From now on every byte is raw stream data for {@link FrameSink.onRaw}.
   * May be called from inside a callback: the rest of the current chunk is raw.
   */
  switchToRaw(): void {
    if (this.state === State.Failed) return;
    if (this.headerBytes !== 0 || this.partial !== null) {
      throw new QWormholeError("E_INVALID_OPTION", "cannot switch to raw mode inside a frame");
    }
    this.state = State.Raw;
  }

  /** Leaves raw mode: the next byte starts a frame header. */
  switchToFrames(): void {
    if (this.state === State.Raw) this.state = State.Header;
  }

  /** Bytes held for an incomplete frame (header bytes and the partial payload buffer as allocated). */
  get bufferedBytes(): number {
    return this.headerBytes + (this.partial ? this.partial.length : 0);
  }

  /**
   * The length of the last data frame whose header was read: a reader
   * tells from it whether frames are large enough to receive in place.
   */
  get lastFrameLength(): number {
    return this.lastLength;
  }

  /**
   * Where the next bytes of the frame being assembled go, when at least
   * `minBytes` of it are missing: a reader can receive straight into it
   * instead of into a read buffer that would then be copied (see
   * {@link commitInPlace}). The view may be shorter than what is missing (the
   * buffer grows as it fills). Null otherwise.
   */
  inPlaceTarget(minBytes: number): Buffer | null {
    const partial = this.partial;
    if (partial === null || this.partialLength - this.partialFilled < minBytes) return null;
    return viewOf(partial, this.partialFilled, partial.length);
  }

  /** `n` bytes were received into the view {@link inPlaceTarget} returned; delivers the frame when complete. */
  commitInPlace(n: number): void {
    const partial = this.partial;
    if (partial === null || n > partial.length - this.partialFilled) {
      throw new QWormholeError("E_INTERNAL", "in-place bytes without a frame to hold them");
    }
    this.partialFilled += n;
    if (this.partialFilled === partial.length) {
      try {
        this.filled();
      } catch (err) {
        this.fail(err);
        throw err;
      }
    }
  }

  /** True when no frame is partly received. */
  get idle(): boolean {
    return this.headerBytes === 0 && this.partial === null;
  }

  /** The error that failed the decoder, if any. */
  get error(): QWormholeError | null {
    return this.failure;
  }

  /**
   * Feeds received bytes. Throws a {@link ProtocolError} when they break the
   * protocol; frames completed before the offending header have already been
   * delivered. After an error (or a throwing callback) the decoder is failed.
   * @param transient - the chunk is a read buffer that will be reused: no view
   *   of it may escape, so what is left of it is copied once, at the first
   *   frame handed out (bytes that only go into a frame being assembled are not).
   */
  push(chunk: Buffer, transient = false): void {
    if (this.state !== State.Header) {
      if (this.state === State.Raw) {
        if (chunk.length > 0) this.sink.onRaw?.(transient ? copyOf(chunk, 0) : chunk);
        return;
      }
      if (this.state === State.Failed) throw this.failure!;
    }
    try {
      this.consume(chunk, transient);
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  /** The stream ended. Throws E_TRUNCATED_FRAME when it ended inside a frame. */
  end(): void {
    if (this.state === State.Failed || this.state === State.Raw) return;
    if (!this.idle) {
      const held = this.bufferedBytes;
      const err = new ProtocolError("E_TRUNCATED_FRAME", `stream ended inside a frame (${held} bytes held)`);
      this.fail(err);
      throw err;
    }
  }

  private fail(err: unknown): void {
    this.state = State.Failed;
    this.partial = null;
    this.headerBytes = 0;
    this.failure = err instanceof QWormholeError ? err : new QWormholeError("E_INTERNAL", String(err), { cause: err });
  }

  private consume(chunk: Buffer, transient: boolean): void {
    let len = chunk.length;
    let off = 0;
    // Read once per chunk: the getters cost more than a view (see viewAt).
    let arrayBuffer = chunk.buffer as ArrayBuffer;
    let base = chunk.byteOffset;
    if (this.partial !== null) {
      off = this.fillPartial(chunk, 0);
      if (this.partial !== null) return;
    }
    while (off < len) {
      if (this.state !== State.Header) {
        // A callback switched to raw mode (or failed us) mid-chunk.
        if (this.state === State.Raw) this.sink.onRaw?.(transient ? copyOf(chunk, off) : chunk.subarray(off));
        return;
      }
      let header: number;
      if (this.headerBytes === 0 && len - off >= FRAME_HEADER_LENGTH) {
        header = chunk.readUInt32BE(off);
        off += FRAME_HEADER_LENGTH;
      } else {
        // Slow path: the header straddles chunks.
        while (this.headerBytes < FRAME_HEADER_LENGTH && off < len) {
          this.headerValue = this.headerValue * 256 + chunk[off++]!;
          this.headerBytes++;
        }
        if (this.headerBytes < FRAME_HEADER_LENGTH) return;
        header = this.headerValue;
        this.headerValue = 0;
        this.headerBytes = 0;
      }
      let length: number;
      let isControl = false;
      if (this.control && header >= CONTROL_BIT) {
        length = header - CONTROL_BIT;
        if (length === 0 || length > MAX_CONTROL_LENGTH) {
          throw new ProtocolError("E_INVALID_CONTROL_FRAME", `control frame length ${length} outside 1..${MAX_CONTROL_LENGTH}`);
        }
        isControl = true;
      } else {
        length = header;
        this.lastLength = length;
        if (length > this.maxFrameLength) {
          if (this.refusal) throw new ProtocolError(this.refusal.code, this.refusal.message);
          throw new ProtocolError(this.oversizeCode, `frame length ${length} exceeds the maximum ${this.maxFrameLength}`);
        }
      }
      if (off + length <= len) {
        if (transient) {
          chunk = copyOf(chunk, off);
          arrayBuffer = chunk.buffer as ArrayBuffer;
          base = chunk.byteOffset;
          len = chunk.length;
          off = 0;
          transient = false;
        }
        const payload = viewAt(arrayBuffer, base + off, length);
        off += length;
        if (isControl) this.sink.onControl(payload);
        else this.sink.onMessage(payload);
      } else {
        const have = len - off;
        this.partial = Buffer.allocUnsafe(Math.min(length, Math.max(this.firstCapacity, have * GROWTH)));
        this.partialLength = length;
        this.partialFilled = 0;
        this.partialIsControl = isControl;
        this.fillPartial(chunk, off);
        return;
      }
    }
  }

  /** Copies into the partial frame; delivers it when complete. Returns the next offset. */
  private fillPartial(chunk: Buffer, off: number): number {
    while (this.partial !== null && off < chunk.length) {
      const partial = this.partial;
      const take = Math.min(partial.length - this.partialFilled, chunk.length - off);
      chunk.copy(partial, this.partialFilled, off, off + take);
      this.partialFilled += take;
      off += take;
      if (this.partialFilled === partial.length) this.filled(chunk.length - off);
    }
    return off;
  }

  /**
   * The assembly buffer is full: delivers the frame when it is complete, or
   * grows the buffer (to hold at least `more` further bytes that are already
   * here, within {@link GROWTH} times what it holds).
   */
  private filled(more = 0): void {
    const partial = this.partial!;
    const filled = this.partialFilled;
    if (filled === this.partialLength) {
      this.partial = null;
      if (this.partialIsControl) this.sink.onControl(partial);
      else this.sink.onMessage(partial);
      return;
    }
    const grown = Buffer.allocUnsafe(Math.min(this.partialLength, Math.max(filled * GROWTH, filled + more)));
    partial.copy(grown, 0, 0, filled);
    this.partial = grown;
  }
}
