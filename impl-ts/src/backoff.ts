/**
 * Reconnect backoff: capped exponential with full jitter.
 * @packageDocumentation
 */

/** Reconnect settings of a client (0.3 names and defaults). */
export interface ReconnectOptions {
  /** Reconnect after an unexpected close. Default true. */
  enabled?: boolean;
  /** First delay, in ms. Default 300. */
  initialDelayMs?: number;
  /** Largest delay, in ms. Default 10000. */
  maxDelayMs?: number;
  /** Growth factor per attempt. Default 2. */
  multiplier?: number;
  /** Attempts before giving up. Default Infinity. */
  maxAttempts?: number;
  /** Fraction of the delay that is randomised (0 = none, 1 = full jitter). Default 0.5. */
  jitter?: number;
}

/** Reconnect settings with every default applied. */
export type ResolvedReconnect = Required<ReconnectOptions>;

export const DEFAULT_RECONNECT: ResolvedReconnect = {
  enabled: true,
  initialDelayMs: 300,
  maxDelayMs: 10_000,
  multiplier: 2,
  maxAttempts: Infinity,
  jitter: 0.5,
};

/**
 * Delay before reconnect attempt `attempt` (1-based): the capped exponential
 * value, of which the `jitter` fraction is replaced by a uniform random share,
 * so clients that lost the same server do not come back in lockstep.
 */
export function backoffDelay(attempt: number, options: ResolvedReconnect, random: () => number = Math.random): number {
  const exp = options.initialDelayMs * Math.pow(options.multiplier, Math.max(0, attempt - 1));
  const capped = Math.min(options.maxDelayMs, exp);
  const fixed = capped * (1 - options.jitter);
  return Math.round(fixed + capped * options.jitter * random());
}
