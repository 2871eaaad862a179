/**
 * Writes of a broadcast, spread over turns of the event loop. Queueing a
 * shared frame on 10,000 connections is cheap; the 10,000 socket writes are
 * not (a system call each). They run in slices of about {@link SLICE_MS}, the
 * first one in the broadcast's own turn, so timers and I/O of the process keep
 * running in between. Each connection's order is kept: whatever is sent to it
 * later is queued behind the broadcast and goes out in the same flush.
 * @packageDocumentation
 */
import type { FramedChannel } from "../transport/channel.js";

/** Longest slice of writes in one turn, in ms. */
const SLICE_MS = 10;
/** Channels flushed between two looks at the clock. */
const CHECK_EVERY = 32;

/** A queue of channels waiting for their flush. */
export class PacedFlush {
  private queue: FramedChannel[] = [];
  private head = 0;
  private scheduled = false;
  private readonly runBound = () => this.run();

  /** Flushes `channel` in the current slice or a later one. */
  readonly add = (channel: FramedChannel): void => {
    this.queue.push(channel);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.runBound);
    }
  };

  private run(): void {
    const queue = this.queue;
    const end = performance.now() + SLICE_MS;
    let i = this.head;
    while (i < queue.length) {
      queue[i++]!.flush();
      if (i % CHECK_EVERY === 0 && performance.now() >= end) break;
    }
    if (i < queue.length) {
      this.head = i;
      setImmediate(this.runBound);
      return;
    }
    this.queue = [];
    this.head = 0;
    this.scheduled = false;
  }
}
