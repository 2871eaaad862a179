// Types of cutting-proxy.mjs, for the TypeScript tests that use the proxy.

/** mulberry32: a tiny seeded PRNG (uniform in [0, 1)), so what it drew can be replayed from its seed. */
export function mulberry32(seed: number): () => number;

/** The 32-bit seed of one matrix cell, from the run's seed and the cell's name. */
export function cellSeed(runSeed: number, key: string): number;

export interface CuttingProxyOptions {
  /** The upstream host (default 127.0.0.1). */
  host?: string;
  /** The upstream port. */
  port: number;
  /** Seeds the limits: the same seed cuts at the same byte counts. */
  seed: number;
  /** Connections to reset at most (`Infinity`: until stop()). */
  cuts: number;
  /** Each connection is reset after a number of bytes (both directions) drawn from [minBytes, maxBytes). */
  minBytes: number;
  maxBytes: number;
  /** Logs each connection's limit and each cut. */
  note?: (text: string) => void;
}

export interface CuttingProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Connections reset so far. */
  readonly cuts: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** No more cuts: later bytes and connections go through untouched. */
  stop(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 in front of `host:port`. */
export function startCuttingProxy(options: CuttingProxyOptions): Promise<CuttingProxy>;
