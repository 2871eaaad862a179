/**
 * A TCP proxy for fault tests: forwards both directions between a client and
 * `upstream`, and resets both sides of a connection once it has carried
 * `resetEvery` bytes from the client (for the first `maxResets` connections).
 */
import net from "node:net";

export interface ResettingProxy {
  port: number;
  /** Connections reset so far. */
  readonly resets: number;
  /** Resets both sides of every open connection now. */
  resetAll(): void;
  /** From now on, drops every byte of the open connections, both ways (a half-open path); new connections are served. */
  freezeAll(): void;
  close(): Promise<void>;
}

export async function resettingProxy(upstream: number, options: { resetEvery?: number; maxResets?: number } = {}): Promise<ResettingProxy> {
  const resetEvery = options.resetEvery ?? Infinity;
  const maxResets = options.maxResets ?? Infinity;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const frozen = new WeakSet<[net.Socket, net.Socket]>();
  let resets = 0;
  const reset = (pair: [net.Socket, net.Socket]) => {
    pairs.delete(pair);
    for (const s of pair) if (!s.destroyed) s.resetAndDestroy();
  };
  const server = net.createServer((down) => {
    const up = net.connect(upstream, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [down, up];
    pairs.add(pair);
    let carried = 0;
    down.on("data", (chunk: Buffer) => {
      if (!pairs.has(pair) || frozen.has(pair)) return;
      if (resets < maxResets && carried + chunk.length >= resetEvery) {
        // Forward what fits below the mark, then cut: the rest of this chunk is lost in flight.
        up.write(chunk.subarray(0, resetEvery - carried));
        resets++;
        reset(pair);
        return;
      }
      carried += chunk.length;
      if (!up.write(chunk)) down.pause();
    });
    up.on("drain", () => down.resume());
    up.on("data", (chunk: Buffer) => {
      if (frozen.has(pair)) return;
      if (!down.write(chunk)) up.pause();
    });
    down.on("drain", () => up.resume());
    for (const [a, b] of [pair, [up, down] as const]) {
      a.on("error", () => undefined);
      a.on("end", () => b.end());
      a.on("close", () => {
        if (pairs.delete(pair)) b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get resets() {
      return resets;
    },
    resetAll: () => [...pairs].forEach(reset),
    freezeAll: () => pairs.forEach((pair) => frozen.add(pair)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const pair of [...pairs]) for (const s of pair) s.destroy();
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
