#!/usr/bin/env node
// The outbound rate limiter: TokenBucket and the priority queue (RateLimitedQueue).
import { RateLimitedQueue, TokenBucket } from "qwormhole";
import { fileURLToPath } from "node:url";

export function tasks() {
  const g = "rate-limit";
  const open = new TokenBucket(1e15, 1e15);
  const empty = new TokenBucket(1, 1);
  empty.tryTake(1);
  let delivered = 0;
  const passQueue = new RateLimitedQueue(new TokenBucket(1e15, 1e15), () => delivered++);
  const starved = new RateLimitedQueue(new TokenBucket(1, 1), () => delivered++);
  starved.push("first", 1); // takes the only token; everything after waits
  const items = Array.from({ length: 1000 }, (_, i) => ({ i }));
  return [
    {
      group: g,
      name: "TokenBucket.tryTake (tokens available)",
      fn: () => {
        if (!open.tryTake(64)) throw new Error("no tokens");
      },
    },
    { group: g, name: "TokenBucket.delayFor (empty bucket)", fn: () => empty.delayFor(1000) },
    {
      group: g,
      name: "RateLimitedQueue.push (passes at once)",
      fn: () => {
        if (!passQueue.push(items[0], 64)) throw new Error("queued");
      },
    },
    {
      group: g,
      name: "RateLimitedQueue: queue 1000 over 4 priorities + clear",
      messagesPerOp: 1000,
      fn: () => {
        for (let i = 0; i < 1000; i++) starved.push(items[i], 64, i & 3);
        if (starved.clear().length !== 1000) throw new Error("lost items");
      },
    },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await (await import("./run.mjs")).main(tasks);
