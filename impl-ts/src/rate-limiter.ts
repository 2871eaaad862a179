/**
 * Outbound rate limiting: a token bucket (bytes per second with a burst) and
 * a priority queue of messages waiting for tokens. Every message pays for
 * its bytes, however small: the bucket keeps fractional tokens and the wait
 * is rounded up, never down (0.3 let anything under rate/1000 bytes through).
 * @packageDocumentation
 */
import { QWormholeError } from "./protocol/errors.js";

/** A token bucket measured in bytes. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSec - bytes added per second (> 0)
   * @param burst - bucket size in bytes (> 0)
   * @param now - clock in milliseconds
   */
  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec))
      throw new QWormholeError("E_INVALID_OPTION", "rateLimitBytesPerSec must be a positive number");
    if (!(burst > 0) || !Number.isFinite(burst))
      throw new QWormholeError("E_INVALID_OPTION", "rateLimitBurstBytes must be a positive number");
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
      this.last = t;
    }
  }

  /** Current tokens (may be negative after a message larger than the burst). */
  get available(): number {
    this.refill();
    return this.tokens;
  }

  /**
   * Takes `bytes` tokens when they are there. A message larger than the burst
   * passes once the bucket is full and leaves it in debt, so it is neither
   * blocked forever nor free.
   */
  tryTake(bytes: number): boolean {
    this.refill();
    if (this.tokens >= Math.min(bytes, this.burst)) {
      this.tokens -= bytes;
      return true;
    }
    return false;
  }

  /** Milliseconds until {@link tryTake} of `bytes` can succeed (rounded up, at least 1 when waiting). */
  delayFor(bytes: number): number {
    this.refill();
    const need = Math.min(bytes, this.burst) - this.tokens;
    if (need <= 0) return 0;
    return Math.max(1, Math.ceil((need * 1000) / this.ratePerSec));
  }
}

interface Entry<T> {
  item: T;
  bytes: number;
}

/**
 * Messages waiting for tokens, highest priority first, FIFO within a
 * priority. `deliver` is called for each message as tokens allow.
 */
export class RateLimitedQueue<T> {
  private readonly levels = new Map<number, Entry<T>[]>();
  private order: number[] = [];
  private count = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly deliver: (item: T) => void,
  ) {}

  /** Messages waiting. */
  get length(): number {
    return this.count;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Sends `item` now if nothing of equal or higher priority waits and tokens
   * allow; otherwise queues it. Returns true when it was delivered at once.
   */
  push(item: T, bytes: number, priority = 0): boolean {
    if (this.count === 0 && this.bucket.tryTake(bytes)) {
      this.deliver(item);
      return true;
    }
    let level = this.levels.get(priority);
    if (!level) {
      level = [];
      this.levels.set(priority, level);
      this.order = [...this.levels.keys()].sort((a, b) => b - a);
    }
    level.push({ item, bytes });
    this.count++;
    this.queuedBytes += bytes;
    this.schedule();
    return false;
  }

  /** Removes and returns every waiting message (e.g. on close). */
  clear(): T[] {
    const out: T[] = [];
    for (const p of this.order) for (const e of this.levels.get(p)!) out.push(e.item);
    this.levels.clear();
    this.order = [];
    this.count = 0;
    this.queuedBytes = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return out;
  }

  private head(): Entry<T>[] | undefined {
    for (const p of this.order) {
      const level = this.levels.get(p)!;
      if (level.length > 0) return level;
    }
    return undefined;
  }

  private schedule(): void {
    if (this.timer) return;
    const level = this.head();
    if (!level) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, this.bucket.delayFor(level[0]!.bytes));
  }

  private pump(): void {
    for (let level = this.head(); level; level = this.head()) {
      const entry = level[0]!;
      if (!this.bucket.tryTake(entry.bytes)) break;
      level.shift();
      this.count--;
      this.queuedBytes -= entry.bytes;
      this.deliver(entry.item);
    }
    this.schedule();
  }
}
