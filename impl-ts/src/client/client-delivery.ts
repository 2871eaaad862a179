/**
 * The client's receive side, after the connection: each payload becomes a
 * typed message for its consumers (`message` listeners, `messageBatch`
 * listeners once per read, `messages()` iterators) through the shared
 * {@link Delivery}, which holds what arrives before a consumer comes and
 * pauses reading while one is behind.
 * @packageDocumentation
 */
import type { EventEmitter } from "node:events";
import { UNDECODABLE, deserializeOrReport, type Deserializer } from "../codecs.js";
import { Delivery, type DeliveryOwner } from "../delivery.js";
import { HotEvent } from "../hot-event.js";
import type { QWormholeError } from "../protocol/errors.js";
import type { Link } from "../transport/link.js";

/** What delivery needs of its client. */
export interface DeliveryHost {
  /** The link of the open connection, whose reading can be paused; null without one. */
  readingLink(): Link | null;
  /** Reading paused or resumed, and why (for the debug log). */
  readingChanged(paused: boolean, reason: string): void;
  /** A payload that did not decode. */
  report(error: QWormholeError): void;
}

/** Received messages on their way to the client's consumers (see the module comment); the owner of its {@link Delivery}. */
export class ClientDelivery<TIn> implements DeliveryOwner<TIn> {
  readonly messageEvent: HotEvent<TIn>;
  readonly batchEvent: HotEvent<TIn[]>;
  private readonly delivery: Delivery<TIn>;
  // Messages of the read being decoded, while someone listens to batches.
  private batch: TIn[] | null = null;

  constructor(
    private readonly client: EventEmitter,
    private readonly deserialize: Deserializer<TIn>,
    /** {@inheritDoc DeliveryOwner.highWaterMarkBytes} */
    readonly highWaterMarkBytes: number,
    private readonly host: DeliveryHost,
  ) {
    this.messageEvent = new HotEvent(client, "message");
    this.batchEvent = new HotEvent(client, "messageBatch");
    this.delivery = new Delivery<TIn>(this);
    // A consumer that comes late gets what arrived before it.
    client.on("newListener", (name: string | symbol) => {
      if (name === "message" || name === "messageBatch") this.delivery.scheduleInbox();
    });
  }

  /** {@inheritDoc DeliveryOwner.emitter} */
  get emitter(): EventEmitter {
    return this.client;
  }

  /** {@inheritDoc DeliveryOwner.consumes} */
  consumes(): boolean {
    return this.messageEvent.listener !== null || this.batchEvent.listener !== null;
  }

  /** {@inheritDoc DeliveryOwner.dispatch} */
  dispatch(data: TIn): void {
    this.messageEvent.listener?.call(this.client, data);
    if (this.batchEvent.listener !== null) (this.batch ??= []).push(data);
  }

  /** {@inheritDoc DeliveryOwner.endBatch} */
  endBatch(): void {
    this.onReadEnd();
  }

  /** {@inheritDoc DeliveryOwner.setReading} */
  setReading(paused: boolean, reason: string): boolean {
    const link = this.host.readingLink();
    if (link === null) return false;
    this.host.readingChanged(paused, reason);
    if (paused) link.pauseReading();
    else link.resumeReading();
    return true;
  }

  /** The channel's `message` handler: a payload becomes a typed message for the consumers. */
  readonly onMessage = (payload: Buffer): void => {
    const data = deserializeOrReport(this.deserialize, payload, this.host.report);
    if (data !== UNDECODABLE) this.delivery.receive(data, payload.length);
  };

  /** The channel's `readEnd` handler (and the end of a delivery from the inbox): the batch goes to `messageBatch` listeners. */
  readonly onReadEnd = (): void => {
    const messages = this.batch;
    if (messages === null) return;
    this.batch = null;
    this.batchEvent.listener?.call(this.client, messages);
  };

  /** A new connection reads until a consumer falls behind. */
  connected(): void {
    this.delivery.connected();
  }

  /** An async iterable of the messages (QWormholeClient.messages). */
  iterate(options?: { highWaterMark?: number }): AsyncIterableIterator<TIn> {
    return this.delivery.iterate(options);
  }

  /** The client ended: iterators end after the held messages are delivered (if a consumer takes them). */
  clientEnded(error: QWormholeError | undefined): void {
    this.delivery.end(error);
  }

  /** Pauses or resumes reading the socket: paused while the inbox is full or an iterator is at its high-water mark. */
  updateReading(): void {
    this.delivery.updateReading();
  }
}
