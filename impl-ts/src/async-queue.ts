/**
 * A push-based async iterable: events pushed in, consumed with `for await`.
 * Ends when `end()` is called (throwing the error it was given, once the
 * items already pushed are consumed); the consumer breaking out
 * unsubscribes. With a flow control, the producer is told to pause once the
 * consumer falls `highWaterMark` items behind and to resume at half of it.
 * @packageDocumentation
 */
import { checkOptionNames, intOption, invalidOption } from "./options.js";

/** How an {@link AsyncQueue} tells its producer to stop and go on. */
export interface QueueFlow {
  /** Items held before `pause` is called. */
  highWaterMark: number;
  pause(): void;
  resume(): void;
}

/** Default high-water mark (items) of the message iterators. */
export const DEFAULT_ITERATOR_HIGH_WATER_MARK = 1024;

/** Validates the options of a message iterator; returns its high-water mark. */
export function iteratorHighWaterMark(options: { highWaterMark?: number } | undefined): number {
  if (options === undefined) return DEFAULT_ITERATOR_HIGH_WATER_MARK;
  if (options === null || typeof options !== "object") invalidOption("options", "an object", options);
  checkOptionNames(options, ["highWaterMark"]);
  return intOption("highWaterMark", options.highWaterMark, DEFAULT_ITERATOR_HIGH_WATER_MARK, 1);
}

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void }[] = [];
  private done = false;
  private error: Error | undefined;
  private paused = false;

  constructor(
    private readonly onReturn: () => void = () => undefined,
    private readonly flow?: QueueFlow,
  ) {}

  /** Adds an item (ignored after the end). */
  push(item: T): void {
    if (this.done) return;
    const w = this.waiters.shift();
    if (w) {
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    const flow = this.flow;
    if (flow !== undefined && !this.paused && this.items.length >= flow.highWaterMark) {
      this.paused = true;
      flow.pause();
    }
  }

  /** Ends the iteration after the items already pushed; with `error`, the next read after them throws it. */
  end(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    this.onReturn();
    if (this.paused) {
      this.paused = false;
      this.flow!.resume();
    }
    for (const w of this.waiters.splice(0)) {
      if (this.error) {
        const e = this.error;
        this.error = undefined;
        w.reject(e);
      } else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift()!;
      if (this.paused && this.items.length <= this.flow!.highWaterMark >> 1) {
        this.paused = false;
        this.flow!.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.done) {
      const e = this.error;
      this.error = undefined;
      return e ? Promise.reject(e) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.end();
    this.error = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
