/**
 * The listeners of one frequent event (`message`: one per received message),
 * called without `EventEmitter#emit` on every occurrence. `emit` looks the
 * listeners up by name, collects its arguments into an array and applies
 * them: at millions of messages a second that is a tenth of the receive path.
 * Here the lookup is cached and redone only after the event's listeners
 * changed, which the emitter's own `newListener`/`removeListener` events tell.
 * @packageDocumentation
 */
import { EventEmitter } from "node:events";

type Listener<A> = (this: EventEmitter, arg: A) => unknown;

/** One event of one emitter, delivered through {@link HotEvent.listener}. */
export class HotEvent<A> {
  // undefined: look up again; null: no listener; else what to call.
  private cached: Listener<A> | null | undefined = undefined;
  // False once the change tracking may have been lost (see the constructor).
  private tracking = true;
  private readonly emitMany: Listener<A>;

  constructor(
    private readonly emitter: EventEmitter,
    private readonly event: string,
  ) {
    this.emitMany = (arg) => emitter.emit(event, arg);
    // A rejection-capturing emitter needs emit's handling of returned promises.
    if (EventEmitter.captureRejections) {
      this.tracking = false;
      return;
    }
    const onNew = (name: string | symbol): void => {
      if (name === event) this.cached = undefined;
    };
    const onRemove = (name: string | symbol, listener: unknown): void => {
      if (name === event) this.cached = undefined;
      // removeAllListeners() also removes these two: from then on, look up every time.
      if (listener === onNew || listener === onRemove) this.tracking = false;
    };
    emitter.on("newListener", onNew);
    emitter.on("removeListener", onRemove);
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

  private lookup(): Listener<A> | null {
    const listeners = this.emitter.rawListeners(this.event) as Listener<A>[];
    // A `once` listener's raw form removes itself when called, as through emit.
    const found = listeners.length === 0 ? null : listeners.length === 1 ? listeners[0]! : this.emitMany;
    this.cached = found;
    return found;
  }
}
