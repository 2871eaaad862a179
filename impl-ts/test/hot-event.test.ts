import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { HotEvent } from "../src/hot-event.js";

/** Delivers `arg` the way the client and server deliver a message. */
function deliver(hot: HotEvent<number>, emitter: EventEmitter, arg: number): void {
  const listener = hot.listener;
  if (listener !== null) listener.call(emitter, arg);
}

describe("HotEvent (message delivery without emit)", () => {
  it("delivers to what is listening now, as emit would, across every way listeners change", () => {
    const e = new EventEmitter();
    const hot = new HotEvent<number>(e, "message");
    const got: string[] = [];
    expect(hot.listener).toBeNull();

    const a = (n: number) => got.push(`a${n}`);
    e.on("message", a);
    deliver(hot, e, 1);
    const b = (n: number) => got.push(`b${n}`);
    e.prependListener("message", b);
    deliver(hot, e, 2);
    e.off("message", b);
    deliver(hot, e, 3);
    e.once("message", (n: number) => got.push(`once${n}`));
    deliver(hot, e, 4);
    deliver(hot, e, 5);
    e.removeListener("message", a);
    deliver(hot, e, 6);
    expect(hot.listener).toBeNull();
    e.prependOnceListener("message", (n: number) => got.push(`ponce${n}`));
    deliver(hot, e, 7);
    deliver(hot, e, 8);
    expect(got).toEqual(["a1", "b2", "a2", "a3", "a4", "once4", "a5", "ponce7"]);
  });

  it("calls the listener with the emitter as this, and a throwing listener throws to the caller", () => {
    const e = new EventEmitter();
    const hot = new HotEvent<number>(e, "message");
    const thisValues: unknown[] = [];
    e.on("message", function (this: unknown) {
      thisValues.push(this);
    });
    deliver(hot, e, 1);
    expect(thisValues).toEqual([e]);
    e.removeAllListeners("message");
    e.on("message", () => {
      throw new Error("listener failed");
    });
    expect(() => deliver(hot, e, 2)).toThrow("listener failed");
  });

  it("keeps delivering after removeAllListeners() took its change tracking away", () => {
    const e = new EventEmitter();
    const hot = new HotEvent<number>(e, "message");
    const got: number[] = [];
    e.on("message", (n: number) => got.push(n));
    deliver(hot, e, 1);
    e.removeAllListeners();
    expect(e.listenerCount("newListener")).toBe(0);
    deliver(hot, e, 2);
    e.on("message", (n: number) => got.push(n * 10));
    deliver(hot, e, 3);
    e.on("message", (n: number) => got.push(n * 100));
    deliver(hot, e, 4);
    expect(got).toEqual([1, 30, 40, 400]);
  });

  it("ignores other events' listeners", () => {
    const e = new EventEmitter();
    const hot = new HotEvent<number>(e, "message");
    e.on("close", () => undefined);
    expect(hot.listener).toBeNull();
  });

  it("tracks several hot events of one emitter and of several emitters apart, and tells of an added listener", () => {
    const e1 = new EventEmitter();
    const e2 = new EventEmitter();
    const added: unknown[] = [];
    const onAdded = function (this: EventEmitter) {
      added.push(this);
    };
    const m1 = new HotEvent<number>(e1, "message", onAdded);
    const b1 = new HotEvent<number>(e1, "batch");
    const m2 = new HotEvent<number>(e2, "message", onAdded);
    expect(e1.listenerCount("newListener")).toBe(1);
    expect([m1.listener, b1.listener, m2.listener]).toEqual([null, null, null]);
    const got: string[] = [];
    e1.on("batch", (n: number) => got.push(`b1:${n}`));
    expect(added).toEqual([]);
    e2.on("message", (n: number) => got.push(`m2:${n}`));
    expect(added).toEqual([e2]);
    expect(m1.listener).toBeNull();
    deliver(b1, e1, 1);
    deliver(m2, e2, 2);
    e1.on("message", (n: number) => got.push(`m1:${n}`));
    e1.on("message", (n: number) => got.push(`m1':${n}`));
    expect(added).toEqual([e2, e1, e1]);
    deliver(m1, e1, 3);
    e2.removeAllListeners("message");
    expect(m2.listener).toBeNull();
    deliver(m1, e1, 4);
    expect(got).toEqual(["b1:1", "m2:2", "m1:3", "m1':3", "m1:4", "m1':4"]);
  });
});
