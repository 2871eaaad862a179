/**
 * Received messages that no consumer takes yet (no listener, no iterator),
 * held in order for the first one that comes, for the client and for each
 * server connection. Their owner pauses reading while the inbox is full.
 * @packageDocumentation
 */

/** Most messages held for a consumer that has not come yet. */
export const INBOX_MAX_MESSAGES = 1024;

/** Typed messages waiting for a consumer; the owner's `deliverInbox` is called on a microtask after {@link schedule}. */
export class Inbox<T> {
  private held: T[] | null = null;
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly owner: { deliverInbox(): void }) {}

  /** True when no message waits. */
  get empty(): boolean {
    return this.held === null;
  }

  /** Keeps one message of `bytes` payload bytes. */
  hold(data: T, bytes: number): void {
    (this.held ??= []).push(data);
    this.bytes += bytes;
  }

  /** True at {@link INBOX_MAX_MESSAGES} messages or `maxBytes` payload bytes. */
  full(maxBytes: number): boolean {
    return this.held !== null && (this.held.length >= INBOX_MAX_MESSAGES || this.bytes >= maxBytes);
  }

  /** Runs the owner's delivery on a microtask, once, when messages wait. */
  schedule(): void {
    if (this.scheduled || this.held === null) return;
    this.scheduled = true;
    queueMicrotask(() => this.owner.deliverInbox());
  }

  /** Hands the waiting messages, in order, to `deliver` while `takes()` holds; returns how many it handed. */
  drain(takes: () => boolean, deliver: (data: T) => void): number {
    this.scheduled = false;
    const held = this.held;
    if (held === null) return 0;
    let i = 0;
    while (i < held.length && takes()) deliver(held[i++]!);
    if (i === held.length) {
      this.held = null;
      this.bytes = 0;
    } else if (i > 0) {
      held.splice(0, i);
      // Bytes are not known per message once deserialized: count the rest as a share.
      this.bytes = Math.ceil((this.bytes * held.length) / (held.length + i));
    }
    return i;
  }
}
