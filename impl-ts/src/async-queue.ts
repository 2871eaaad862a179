/**
 * A push-based async iterable: events pushed in, consumed with `for await`.
 * Ends when `end()` is called; the consumer breaking out unsubscribes.
 * @packageDocumentation
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((r: IteratorResult<T>) => void)[] = [];
  private done = false;

  constructor(private readonly onReturn: () => void = () => undefined) {}

  /** Adds an item (ignored after the end). */
  push(item: T): void {
    if (this.done) return;
    const w = this.waiters.shift();
    if (w) w({ value: item, done: false });
    else this.items.push(item);
  }

  /** Ends the iteration after the items already pushed. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.onReturn();
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
