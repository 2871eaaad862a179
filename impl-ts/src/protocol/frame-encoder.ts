/**
 * Send-side framing. Frames are written into a slab and handed out in few
 * large buffers per flush; big payloads are referenced, not copied. A region
 * of the slab is never written again once taken, so buffers still queued in
 * the socket are never overwritten (0.3's batcher reused slots in flight).
 * @packageDocumentation
 */
import { encodeAckBody } from "./resume.js";
import { ControlType, DEFAULT_MAX_FRAME_LENGTH, FRAME_HEADER_LENGTH, MAX_FRAME_LENGTH_LIMIT } from "./constants.js";
import { encodeCloseBody, encodeControlFrame, type CloseInfo } from "./control.js";
import { QWormholeError } from "./errors.js";

/** Options of {@link FrameEncoder}. */
export interface FrameEncoderOptions {
  /** The peer's advertised receive maximum; larger data frames are refused. */
  peerMaxFrameLength?: number;
  /**
   * Largest slab, in bytes. Default 256 KiB (batches of exactly 64 KiB hit a
   * loopback quirk). Slabs start small and double while batches fill them, so
   * an idle connection holds no send memory and a busy one batches in big slabs.
   */
  slabSize?: number;
  /** Payloads at least this large are referenced instead of copied. Default 16 KiB. */
  copyThreshold?: number;
}

/** Writes 4-byte big-endian `value` at `off` (faster than writeUInt32BE on the hot path). */
function writeHeader(buf: Buffer, off: number, value: number): void {
  buf[off] = value >>> 24;
  buf[off + 1] = (value >>> 16) & 0xff;
  buf[off + 2] = (value >>> 8) & 0xff;
  buf[off + 3] = value & 0xff;
}

/**
 * One data frame (header and payload) in a buffer of its own, for a message
 * encoded once and queued on many connections ({@link FrameEncoder.addFrame}).
 */
export function encodeDataFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME_LENGTH_LIMIT) {
    throw new QWormholeError(
      "E_FRAME_TOO_LARGE",
      `message of ${payload.length} bytes exceeds the largest frame length ${MAX_FRAME_LENGTH_LIMIT}`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + payload.length);
  writeHeader(frame, 0, payload.length);
  frame.set(payload, FRAME_HEADER_LENGTH);
  return frame;
}

/** No slab yet: nothing is allocated until the first frame. */
const EMPTY_SLAB = Buffer.alloc(0);
const FIRST_SLAB_SIZE = 4 * 1024;

function closedError(): QWormholeError {
  return new QWormholeError("E_CLOSED", "a CLOSE was sent; only PONG may follow");
}

/** Encodes frames into batches for one connection. */
export class FrameEncoder {
  private peerMax: number;
  private readonly slabSize: number;
  private readonly copyThreshold: number;
  private slab: Buffer = EMPTY_SLAB;
  private nextSlabSize = FIRST_SLAB_SIZE;
  private slabStart = 0; // first byte not yet taken
  private slabPos = 0; // first free byte
  private parts: Buffer[] = [];
  private pending = 0;
  private closeSent = false;

  constructor(options: FrameEncoderOptions = {}) {
    this.peerMax = options.peerMaxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.slabSize = options.slabSize ?? 256 * 1024;
    this.copyThreshold = options.copyThreshold ?? 16 * 1024;
  }

  /** Sets the peer's receive maximum (from its hello or accept). */
  setPeerMaxFrameLength(max: number): void {
    if (!Number.isInteger(max) || max < 0 || max > MAX_FRAME_LENGTH_LIMIT) {
      throw new QWormholeError("E_INVALID_OPTION", `peer maxFrameLength ${max} outside 0..${MAX_FRAME_LENGTH_LIMIT}`);
    }
    this.peerMax = max;
  }

  /** The peer's receive maximum in force. */
  get peerMaxFrameLength(): number {
    return this.peerMax;
  }

  /** Bytes encoded and not yet taken. */
  get pendingBytes(): number {
    return this.pending;
  }

  /**
   * Appends one data frame. Throws E_FRAME_TOO_LARGE (and writes nothing) when
   * the payload exceeds the peer's maximum.
   */
  addData(payload: Uint8Array): void {
    if (this.closeSent) throw closedError();
    const length = payload.length;
    if (length > this.peerMax) {
      throw new QWormholeError("E_FRAME_TOO_LARGE", `message of ${length} bytes exceeds the peer's maximum frame length ${this.peerMax}`);
    }
    if (length >= this.copyThreshold) {
      this.reserve(FRAME_HEADER_LENGTH);
      writeHeader(this.slab, this.slabPos, length);
      this.slabPos += FRAME_HEADER_LENGTH;
      this.sealRegion();
      this.parts.push(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, length));
    } else {
      this.reserve(FRAME_HEADER_LENGTH + length);
      const slab = this.slab;
      const pos = this.slabPos;
      writeHeader(slab, pos, length);
      slab.set(payload, pos + FRAME_HEADER_LENGTH);
      this.slabPos = pos + FRAME_HEADER_LENGTH + length;
    }
    this.pending += FRAME_HEADER_LENGTH + length;
  }

  /**
   * Appends a data frame already encoded by {@link encodeDataFrame}, by
   * reference: the buffer is shared and must never be written again. Throws
   * E_FRAME_TOO_LARGE (and writes nothing) over the peer's maximum.
   */
  addFrame(frame: Uint8Array): void {
    if (this.closeSent) throw closedError();
    const length = frame.length - FRAME_HEADER_LENGTH;
    if (length > this.peerMax) {
      throw new QWormholeError("E_FRAME_TOO_LARGE", `message of ${length} bytes exceeds the peer's maximum frame length ${this.peerMax}`);
    }
    this.sealRegion();
    this.parts.push(Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length));
    this.pending += frame.length;
  }

  /**
   * Appends a UTF-8 string as one data frame without an intermediate buffer
   * when it fits the slab.
   */
  addText(text: string): void {
    if (this.closeSent) throw closedError();
    const worst = text.length * 3;
    if (worst >= this.copyThreshold) {
      this.addData(Buffer.from(text, "utf8"));
      return;
    }
    this.reserve(FRAME_HEADER_LENGTH + worst);
    const pos = this.slabPos;
    const length = this.slab.write(text, pos + FRAME_HEADER_LENGTH, "utf8");
    if (length > this.peerMax) {
      throw new QWormholeError("E_FRAME_TOO_LARGE", `message of ${length} bytes exceeds the peer's maximum frame length ${this.peerMax}`);
    }
    writeHeader(this.slab, pos, length);
    this.slabPos = pos + FRAME_HEADER_LENGTH + length;
    this.pending += FRAME_HEADER_LENGTH + length;
  }

  /** Appends a control frame (`control` must have been negotiated; the caller checks). */
  addControl(type: number, body?: Uint8Array): void {
    const frame = encodeControlFrame(type, body);
    this.reserve(frame.length);
    this.slab.set(frame, this.slabPos);
    this.slabPos += frame.length;
    this.pending += frame.length;
  }

  /** Appends a PING. */
  addPing(body?: Uint8Array): void {
    if (this.closeSent) throw closedError();
    this.addControl(ControlType.PING, body);
  }

  /** Appends a PONG answering a PING with `body`. */
  addPong(body?: Uint8Array): void {
    this.addControl(ControlType.PONG, body);
  }

  /** Appends an ACK (feature `resume`): the request bit and the received count (QWH-ACK-001). */
  addAck(request: boolean, count: number): void {
    this.addControl(ControlType.ACK, encodeAckBody(request, count));
  }

  /** Appends a CLOSE with the canonical JSON body. */
  addClose(info: CloseInfo): void {
    if (this.closeSent) throw closedError();
    this.addControl(ControlType.CLOSE, encodeCloseBody(info));
    this.closeSent = true;
  }

  /** True once a CLOSE was encoded: only PONGs may follow (QWH-CLOSE-002). */
  get closed(): boolean {
    return this.closeSent;
  }

  /** Appends bytes as they are (raw mode; no frame). */
  addRaw(bytes: Uint8Array): void {
    this.sealRegion();
    this.parts.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    this.pending += bytes.length;
  }

  /**
   * Takes everything encoded so far as a short list of buffers (for
   * `socket.writev` / cork+write). The returned buffers are never reused.
   */
  take(): Buffer[] {
    this.sealRegion();
    const parts = this.parts;
    this.parts = [];
    this.pending = 0;
    return parts;
  }

  /** Takes everything encoded so far as one buffer (copies when there are several parts). */
  takeBuffer(): Buffer {
    const parts = this.take();
    if (parts.length === 1) return parts[0]!;
    return Buffer.concat(parts);
  }

  /**
   * Lets go of the current slab when no frame is being written into it, so an
   * idle connection holds no send memory (the next frame starts a small slab).
   * Frames already taken or sealed keep their own views; nothing is lost.
   */
  releaseSlab(): void {
    if (this.slabPos !== this.slabStart) return;
    this.slab = EMPTY_SLAB;
    this.slabStart = 0;
    this.slabPos = 0;
    this.nextSlabSize = FIRST_SLAB_SIZE;
  }

  private sealRegion(): void {
    if (this.slabPos > this.slabStart) {
      this.parts.push(this.slab.subarray(this.slabStart, this.slabPos));
      this.slabStart = this.slabPos;
    }
  }

  private reserve(bytes: number): void {
    if (this.slabPos + bytes <= this.slab.length) return;
    this.sealRegion();
    // A full slab means batches are this big: the next one doubles, up to slabSize.
    const size = Math.min(this.slabSize, this.nextSlabSize);
    if (this.slab !== EMPTY_SLAB) this.nextSlabSize = Math.min(this.slabSize, this.nextSlabSize * 2);
    this.slab = Buffer.allocUnsafeSlow(Math.max(size, bytes));
    this.slabStart = 0;
    this.slabPos = 0;
  }
}
