/**
 * The client's receive side, after the connection: each payload becomes a
 * typed message for its consumers (`message` listeners, `messageBatch`
 * listeners once per read, `messages()` iterators), or waits in the inbox
 * until a consumer comes; reading pauses while the inbox is full or an
 * iterator is behind.
 * @packageDocumentation
 */
import type { EventEmitter } from "node:events";
import { AsyncQueue, iteratorHighWaterMark } from "../async-queue.js";
import { UNDECODABLE, deserializeOrReport, type Deserializer } from "../codecs.js";
import { HotEvent } from "../hot-event.js";
import { Inbox } from "../inbox.js";
import type { QWormholeError } from "../protocol/errors.js";
import type { Link } from "../transport/link.js";

/** What delivery needs of its client. */
export interface DeliveryHost {
  /** The link of the open connection, whose reading can be paused; null without one. */
  readingLink(): Link | null;
  /** Set once the client has ended: why (undefined after the application's own close). */
  ended(): { error: QWormholeError | undefined } | null;
  /** Reading paused or resumed, and why (for the debug log). */
  readingChanged(paused: boolean, reason: string): void;
  /** A payload that did not decode. */
  report(error: QWormholeError): void;
}

/** Received messages on their way to the client's consumers (see the module comment). */
export class ClientDelivery<TIn> {
  readonly messageEvent: HotEvent<TIn>;
  readonly batchEvent: HotEvent<TIn[]>;
  private readonly iterators = new Set<AsyncQueue<unknown>>();
  // Messages received while nobody consumed them (no `message`/`messageBatch` listener, no iterator).
  private readonly inbox = new Inbox<TIn>(() => this.deliverInbox());
  // Iterators at their high-water mark; reading is paused while any is, or while the inbox is full.
  private fullIterators = 0;
  private readPaused = false;
  // Messages of the read being decoded, while someone listens to batches.
  private batch: TIn[] | null = null;

  constructor(
    private readonly client: EventEmitter,
    private readonly deserialize: Deserializer<TIn>,
    private readonly highWaterMarkBytes: number,
    private readonly host: DeliveryHost,
  ) {
    this.messageEvent = new HotEvent(client, "message");
    this.batchEvent = new HotEvent(client, "messageBatch");
    // A consumer that comes late gets what arrived before it.
    client.on("newListener", (name: string | symbol) => {
      if (name === "message" || name === "messageBatch") this.inbox.schedule();
    });
  }

  /** The channel's `message` handler: a payload becomes a typed message for the consumers. */
  readonly onMessage = (payload: Buffer): void => {
    const data = deserializeOrReport(this.deserialize, payload, this.host.report);
    if (data === UNDECODABLE) return;
    const listener = this.messageEvent.listener;
    if (!this.inbox.empty || (listener === null && this.batchEvent.listener === null)) {
      this.hold(data, payload.length);
      return;
    }
    if (listener !== null) listener.call(this.client, data);
    if (this.batchEvent.listener !== null) (this.batch ??= []).push(data);
  };

  /** The channel's `readEnd` handler: the messages of one read go to `messageBatch` listeners. */
  readonly onReadEnd = (): void => {
    const messages = this.batch;
    if (messages === null) return;
    this.batch = null;
    this.batchEvent.listener?.call(this.client, messages);
  };

  /** A new connection reads until a consumer falls behind. */
  connected(): void {
    this.readPaused = false;
  }

  /** An async iterable of the messages (QWormholeClient.messages). */
  iterate(options?: { highWaterMark?: number }): AsyncIterableIterator<TIn> {
    const highWaterMark = iteratorHighWaterMark(options);
    const q: AsyncQueue<TIn> = new AsyncQueue(
      () => {
        this.client.off("message", onMessage);
        this.iterators.delete(q as AsyncQueue<unknown>);
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
    const onMessage = (m: TIn) => q.push(m);
    this.client.on("message", onMessage);
    this.iterators.add(q as AsyncQueue<unknown>);
    const ended = this.host.ended();
    if (ended !== null && this.inbox.empty) q.end(ended.error);
    return q;
  }

  /** The client ended: iterators end after the held messages are delivered (if a consumer takes them). */
  clientEnded(error: QWormholeError | undefined): void {
    if (this.inbox.empty || (this.messageEvent.listener === null && this.batchEvent.listener === null)) {
      for (const q of this.iterators) q.end(error);
    }
  }

  /** Pauses or resumes reading the socket: paused while the inbox is full or an iterator is at its high-water mark. */
  updateReading(): void {
    const want = this.fullIterators > 0 || this.inboxFull();
    if (want === this.readPaused) return;
    const link = this.host.readingLink();
    if (link === null) return;
    this.readPaused = want;
    this.host.readingChanged(want, this.fullIterators > 0 ? "an iterator is behind" : "messages held for a consumer");
    if (want) link.pauseReading();
    else link.resumeReading();
  }

  /** Holds a message nobody consumes yet; reading pauses when the inbox is full. */
  private hold(data: TIn, bytes: number): void {
    this.inbox.hold(data, bytes);
    if (this.messageEvent.listener !== null || this.batchEvent.listener !== null) this.inbox.schedule();
    else if (!this.readPaused && this.inboxFull()) this.updateReading();
  }

  private inboxFull(): boolean {
    return this.inbox.full(this.highWaterMarkBytes);
  }

  /** Hands the held messages, in order, to the consumers that came (each as long as one listens). */
  private deliverInbox(): void {
    const delivered: TIn[] = [];
    this.inbox.drain(
      () => this.messageEvent.listener !== null || this.batchEvent.listener !== null,
      (m) => {
        delivered.push(m);
        this.messageEvent.listener?.call(this.client, m);
      },
    );
    if (delivered.length > 0) this.batchEvent.listener?.call(this.client, delivered);
    this.updateReading();
    const ended = this.host.ended();
    if (ended !== null && this.inbox.empty) for (const q of this.iterators) q.end(ended.error);
  }
}
