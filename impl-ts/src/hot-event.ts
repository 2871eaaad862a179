/**
 * The listeners of one frequent event (`message`: one per received message),
 * called without `EventEmitter#emit` on every occurrence. `emit` looks the
 * listeners up by name, collects its arguments into an array and applies
 * them: at millions of messages a second that is a tenth of the receive path.
 * Here the lookup is cached and redone only after the event's listeners
 * changed, which the emitter's own `newListener`/`removeListener` events tell.
 * Those two listeners are shared by every emitter (they find the emitter's
 * hot events through `this`), so an idle connection holds no closure for them.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";

type Listener<A> = (this: EventEmitter, arg: A) => unknown;

/** The first of an emitter's hot events (the others follow through `next`). */
const HOT_EVENTS = Symbol("qwormhole.hotEvents");
type Tracked = EventEmitter & { [HOT_EVENTS]?: HotEvent<unknown> };

function onNewListener(this: Tracked, name: string | symbol): void {
  for (let h = this[HOT_EVENTS]; h !== undefined; h = h.next) if (h.event === name) h.changed(this);
}

function onRemoveListener(this: Tracked, name: string | symbol, listener: unknown): void {
  // removeAllListeners() also removes these two: from then on, look up every time.
  const lost = listener === onNewListener || listener === onRemoveListener;
  for (let h = this[HOT_EVENTS]; h !== undefined; h = h.next) {
    if (h.event === name) h.cached = undefined;
    if (lost) h.tracking = false;
  }
}

/** One event of one emitter, delivered through {@link HotEvent.listener}. */
export class HotEvent<A> {
  /** @internal Undefined: look up again; null: no listener; else what to call. */
  cached: Listener<A> | null | undefined = undefined;
  /** @internal False once the change tracking may have been lost (see the constructor). */
  tracking = true;
  /** @internal The emitter's next hot event. */
  next: HotEvent<unknown> | undefined = undefined;
  // Delivers to several listeners (made when first needed).
  private emitMany: Listener<A> | undefined = undefined;

  /**
   * @param added - called (with the emitter as `this`) when a listener of
   *   `event` is about to be added; pass a function shared by all emitters.
   */
  constructor(
    private readonly emitter: EventEmitter,
    readonly event: string,
    private readonly added?: (this: EventEmitter) => void,
  ) {
    // A rejection-capturing emitter needs emit's handling of returned promises: no cached lookup.
    if (EventEmitter.captureRejections) this.tracking = false;
    const tracked = emitter as Tracked;
    const first = tracked[HOT_EVENTS];
    this.next = first;
    tracked[HOT_EVENTS] = this as HotEvent<unknown>;
    if (first === undefined) {
      emitter.on("newListener", onNewListener);
      emitter.on("removeListener", onRemoveListener);
    }
  }

  /**
   * What to call (with the emitter as `this`) to deliver one event, or null
   * when nobody listens (so the caller need not even build the argument).
   */
  get listener(): Listener<A> | null {
    const cached = this.cached;
    if (cached !== undefined && this.tracking) return cached;
    return this.lookup();
  }

  /** @internal A listener of this event is about to be added. */
  changed(emitter: EventEmitter): void {
    this.cached = undefined;
    this.added?.call(emitter);
  }

  private lookup(): Listener<A> | null {
    const listeners = this.emitter.rawListeners(this.event) as Listener<A>[];
    // A `once` listener's raw form removes itself when called, as through emit.
    const found = listeners.length === 0 ? null : listeners.length === 1 ? listeners[0]! : (this.emitMany ??= this.makeEmitMany());
    this.cached = found;
    return found;
  }

  private makeEmitMany(): Listener<A> {
    const emitter = this.emitter;
    const event = this.event;
    return (arg) => emitter.emit(event, arg);
  }
}
