/**
 * Received messages on their way to the application, shared by the client
 * and each server connection: a typed message goes to the consumers at once,
 * or waits in the inbox until one comes (listeners, `messages()` iterators);
 * reading pauses while the inbox is full or an iterator is behind. Its owner
 * says who consumes, delivers one message, ends a batch and pauses reading.
 * @packageDocumentation
 */
import type { EventEmitter } from "node:events";
import { AsyncQueue, iteratorHighWaterMark } from "./async-queue.js";
import { Inbox } from "./inbox.js";
import type { QWormholeError } from "./protocol/errors.js";

/** What a {@link Delivery} needs of its owner (the client, or a server connection). */
export interface DeliveryOwner<T> {
  /** The emitter whose `message` event iterators listen to. */
  readonly emitter: EventEmitter;
  /** Most payload bytes held before reading pauses (`highWaterMarkBytes`). */
  readonly highWaterMarkBytes: number;
  /** True when someone takes messages now (a listener of the owner's messages). */
  consumes(): boolean;
  /** Hands one message to the consumers. */
  dispatch(data: T): void;
  /** Ends a batch of dispatched messages (`messageBatch`). */
  endBatch(): void;
  /**
   * Pauses or resumes reading, `reason` saying why (for the debug log).
   * Returns false when there is nothing to pause (no open connection): the
   * state is then left as it was.
   */
  setReading(paused: boolean, reason: string): boolean;
}

/** Typed messages between the connection and the application (see the module comment). */
export class Delivery<T> {
  // Made when first needed: an idle connection holds neither.
  private inbox: Inbox<T> | null = null;
  private iterators: Set<AsyncQueue<unknown>> | null = null;
  // Iterators at their high-water mark; reading is paused while any is, or while the inbox is full.
  private fullIterators = 0;
  private paused = false;
  private ended: { error: QWormholeError | undefined } | null = null;

  constructor(private readonly owner: DeliveryOwner<T>) {}

  /** A decoded message of `bytes` payload bytes: delivered, or held until a consumer comes. */
  receive(data: T, bytes: number): void {
    const owner = this.owner;
    let inbox = this.inbox;
    if ((inbox === null || inbox.empty) && owner.consumes()) {
      owner.dispatch(data);
      return;
    }
    inbox ??= this.inbox = new Inbox<T>(this);
    inbox.hold(data, bytes);
    if (owner.consumes()) inbox.schedule();
    else if (!this.paused && this.inboxFull()) this.updateReading();
  }

  /** A consumer may have come: the held messages go to it (on a microtask). */
  scheduleInbox(): void {
    this.inbox?.schedule();
  }

  /** True while this delivery wants reading paused. */
  get readingPaused(): boolean {
    return this.paused;
  }

  /** A new connection: it reads until a consumer falls behind (call {@link updateReading} once it can pause). */
  connected(): void {
    this.paused = false;
  }

  /** Something else resumed reading (the end of output backpressure): paused again if this delivery wants it paused. */
  keepPaused(): void {
    if (this.paused && this.ended === null) this.owner.setReading(true, "still behind after a drain");
  }

  /** Pauses or resumes reading: paused while the inbox is full or an iterator is at its high-water mark. */
  updateReading(): void {
    if (this.ended !== null) return;
    const want = this.fullIterators > 0 || this.inboxFull();
    if (want === this.paused) return;
    if (this.owner.setReading(want, this.fullIterators > 0 ? "an iterator is behind" : "messages held for a consumer")) this.paused = want;
  }

  /** An async iterable of the messages (`messages()`): what waits in the inbox comes first. */
  iterate(options?: { highWaterMark?: number }): AsyncIterableIterator<T> {
    const highWaterMark = iteratorHighWaterMark(options);
    const emitter = this.owner.emitter;
    const q: AsyncQueue<T> = new AsyncQueue<T>(
      () => {
        emitter.off("message", onMessage);
        this.iterators?.delete(q as AsyncQueue<unknown>);
      },
      {
        highWaterMark,
        pause: () => {
          this.fullIterators++;
          this.updateReading();
        },
        resume: () => {
          this.fullIterators--;
          this.updateReading();
        },
      },
    );
    const onMessage = (m: T) => q.push(m);
    emitter.on("message", onMessage);
    (this.iterators ??= new Set()).add(q as AsyncQueue<unknown>);
    if (this.ended !== null && this.inboxEmpty) q.end(this.ended.error);
    return q;
  }

  /** No message comes any more: iterators end (with `error`) once a consumer has taken the held messages. */
  end(error: QWormholeError | undefined): void {
    this.ended = { error };
    if (this.inboxEmpty || !this.owner.consumes()) this.endIterators(error);
  }

  private get inboxEmpty(): boolean {
    return this.inbox === null || this.inbox.empty;
  }

  private inboxFull(): boolean {
    return this.inbox !== null && this.inbox.full(this.owner.highWaterMarkBytes);
  }

  private endIterators(error: QWormholeError | undefined): void {
    if (this.iterators !== null) for (const q of this.iterators) q.end(error);
  }

  /** @internal Hands the held messages, in order, to the consumers that came (each as long as one takes them). */
  deliverInbox(): void {
    const owner = this.owner;
    if (
      this.inbox !== null &&
      this.inbox.drain(
        () => owner.consumes(),
        (data) => owner.dispatch(data),
      ) > 0
    )
      owner.endBatch();
    this.updateReading();
    if (this.ended !== null && this.inboxEmpty) this.endIterators(this.ended.error);
  }
}
