/**
 * Reads of a plain TCP socket through Node's `onread` hook, so the decoder
 * chooses where received bytes land:
 * - while a large frame is being assembled, straight into that frame's
 *   buffer: no read buffer and no copy, which is what lets 64 KiB and 1 MiB
 *   messages move at the speed of an unframed stream. While frames are large,
 *   reads stop at frame boundaries (a header-sized read, then the payload in
 *   place), so that no payload lands in a read buffer first;
 * - while reads come back full (a busy stream of small frames), into a fresh
 *   buffer per read, whose frames are handed out as views of it: no copy;
 * - otherwise into one scratch buffer shared by every connection of the
 *   process. The decoder copies what is left of a read once, at the first
 *   frame it hands out, so no view of the scratch buffer escapes.
 * Sharing the scratch buffer is safe because a read's callback runs
 * synchronously and nothing keeps a view of it; an idle connection therefore
 * holds no read buffer (Node keeps an `onread` buffer per connection between
 * reads). TLS sockets keep Node's `data` events: their bytes come out of OpenSSL.
 * @packageDocumentation
 */
import { viewOf } from "../protocol/buffer-view.js";
import { FRAME_HEADER_LENGTH } from "../protocol/constants.js";
import type { ReadTarget } from "./link.js";

/** Size of the shared scratch read buffer (and so of the largest ordinary read). */
const SCRATCH_SIZE = 64 * 1024;
/** A frame missing at least this many bytes is received in place. */
const IN_PLACE_MIN = 16 * 1024;
/** After a frame this large, reads keep to frame boundaries. */
const LARGE_FRAME = 32 * 1024;
/**
 * After a read of at least this many bytes, the next read goes to a fresh
 * buffer: copying a read that large out of the scratch buffer costs more than
 * a buffer of its own. A fresh read that comes back smaller is treated like a
 * scratch read (what escapes is copied), so a small message never pins a
 * whole read buffer.
 */
const FRESH_READ_MIN = 16 * 1024;

let scratch: Buffer | null = null;
let headerScratch: Buffer | null = null;

/** True for the shared read buffers (never handed out; overwritten by the next read of any connection). */
export function isScratchBuffer(buffer: Buffer): boolean {
  return buffer === scratch || buffer === headerScratch;
}

/** The `onread` option of `net.Socket` / `net.connect` for one connection. */
export interface OnReadOption {
  buffer: () => Buffer;
  /** Returns true: pausing is left to `socket.pause()`. */
  callback: (bytes: number, buffer: Buffer) => boolean;
}

/** Routes one socket's reads to its {@link ReadTarget}. */
export class SocketReader {
  private target: ReadTarget | null = null;
  // Bytes read before a target was attached (none in practice: links attach synchronously).
  private early: Buffer[] | null = null;
  // What the buffer last given to the socket is.
  private inPlace = false;
  private fresh = false;
  private lastRead = 0;

  /** Pass as `onread` when creating the socket (a new object each time: the socket keeps only its two functions). */
  get onread(): OnReadOption {
    return {
      buffer: () => this.nextBuffer(),
      callback: (bytes, buffer) => {
        this.onRead(bytes, buffer);
        return true;
      },
    };
  }

  /** Starts delivering to `target` (and hands it anything read before). */
  attach(target: ReadTarget): void {
    this.target = target;
    const early = this.early;
    this.early = null;
    if (early !== null) for (const chunk of early) target.received(chunk, false);
  }

  private nextBuffer(): Buffer {
    const target = this.target;
    if (target !== null) {
      const large = target.lastFrameLength >= LARGE_FRAME;
      const frame = target.inPlaceTarget(large ? 1 : IN_PLACE_MIN);
      if (frame !== null) {
        this.inPlace = true;
        return frame;
      }
      if (large) {
        this.inPlace = false;
        headerScratch ??= Buffer.allocUnsafeSlow(FRAME_HEADER_LENGTH);
        return headerScratch;
      }
    }
    this.inPlace = false;
    if (this.lastRead >= FRESH_READ_MIN) {
      this.fresh = true;
      return Buffer.allocUnsafeSlow(SCRATCH_SIZE);
    }
    this.fresh = false;
    scratch ??= Buffer.allocUnsafeSlow(SCRATCH_SIZE);
    return scratch;
  }

  private onRead(bytes: number, buffer: Buffer): void {
    const target = this.target;
    this.lastRead = bytes;
    if (target === null) {
      (this.early ??= []).push(Buffer.from(buffer.subarray(0, bytes)));
    } else if (this.inPlace) {
      target.receivedInPlace(bytes);
    } else {
      // A fresh buffer's frames may be views of it, unless the read was small.
      target.received(viewOf(buffer, 0, bytes), !this.fresh || bytes < FRESH_READ_MIN);
    }
  }
}
