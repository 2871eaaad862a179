// The runner's own punctuality. A wire case whose verdict depends on the runner keeping a cadence
// (a wait before a send, a silence window, an answer to a heartbeat) is graded only on evidence
// gathered while the runner kept time: the engine watches how late its own event loop runs and
// how long its own steps really took, and a case that failed while the runner was later than the
// case allows is run again instead of being graded FAIL (see run.mjs).
import { readFileSync } from "node:fs";
import os from "node:os";
import { performance } from "node:perf_hooks";

const TICK_MS = 10;

/** Config members that are timers of the implementation under test, in milliseconds. */
export const TIMER_KEYS = [
  "handshakeTimeoutMs",
  "heartbeatIntervalMs",
  "idleTimeoutMs",
  "drainTimeoutMs",
  "verifyDelayMs",
  "connectTimeoutMs",
  "holdMs",
  "timeoutMs",
];
/** Timers that race the runner's cadence (the scenario parameters holdMs and timeoutMs do not). */
const RACING_KEYS = ["handshakeTimeoutMs", "heartbeatIntervalMs", "idleTimeoutMs", "drainTimeoutMs", "verifyDelayMs"];

/** The config with every timer multiplied by `scale` (other members unchanged; 0 stays 0: "no timer"). */
export function scaleConfig(config, scale) {
  if (scale === 1 || config === null || typeof config !== "object") return config;
  const out = { ...config };
  for (const k of TIMER_KEYS) if (typeof out[k] === "number" && out[k] > 0) out[k] = Math.max(1, Math.round(out[k] * scale));
  return out;
}

/** Whether the case's config sets a timer of the implementation (its windows race that timer). */
export function hasRacingTimer(config) {
  return RACING_KEYS.some((k) => typeof config?.[k] === "number" && config[k] > 0);
}

/**
 * How late the runner may be before a failed case's evidence is not trusted: a quarter of the
 * shortest timer the case sets, between 10 and 50 ms, times the timeout scale. A case without a
 * timer of its own allows 50 ms (its windows only race the spec's defaults, seconds long).
 */
export function runnerSlackMs(config, scale = 1) {
  const timers = RACING_KEYS.map((k) => config?.[k]).filter((v) => typeof v === "number" && v > 0);
  const quarter = timers.length ? Math.min(...timers) / 4 : 50;
  return Math.round(Math.min(50, Math.max(10, quarter)) * scale);
}

/** One process-wide sampler of the event loop's lateness, running while at least one watch is open. */
const watches = new Set();
let timer = null;
let last = 0;

function sample() {
  const now = performance.now();
  const lag = now - last - TICK_MS;
  last = now;
  if (lag >= 1) for (const w of watches) w.saw(lag);
}

/** How long the loop has been held up right now (the sampler may not have run since a stall ended). */
const pending = () => Math.max(0, performance.now() - last - TICK_MS);

/**
 * Starts watching the runner's event loop. `late()` is the longest the loop was held up since the
 * watch started (ms), including a stall still in progress. Between `open()` and `close()` (nested:
 * a count) the same is also kept as `cadenceLate()`: how late the runner was while the verdict
 * depended on its cadence. `stop()` ends the watch.
 */
export function watchLoopLag() {
  if (watches.size === 0) {
    last = performance.now();
    timer = setInterval(sample, TICK_MS);
    timer.unref();
  }
  let maxLag = 0;
  let cadence = 0;
  let opened = 0;
  const w = {
    saw(lag) {
      maxLag = Math.max(maxLag, lag);
      if (opened > 0) cadence = Math.max(cadence, lag);
    },
    late: () => Math.round(Math.max(maxLag, pending())),
    cadenceLate: () => Math.round(opened > 0 ? Math.max(cadence, pending()) : cadence),
    open() {
      opened++;
    },
    close() {
      if (opened === 0) return;
      w.saw(pending());
      opened--;
    },
    stop() {
      watches.delete(w);
      if (watches.size === 0 && timer) {
        clearInterval(timer);
        timer = null;
      }
    },
  };
  watches.add(w);
  return w;
}

/**
 * A test hook: QWH_CONFORMANCE_STALL="CASE:STEP:MS[:ATTEMPTS]" blocks the runner's event loop for
 * MS milliseconds before step STEP (1-based) of case CASE, on the first ATTEMPTS attempts (all when
 * omitted). It proves that a late runner is reported as such and never graded as the
 * implementation's failure.
 */
export function stallHook(caseId, step, attempt, log) {
  const spec = process.env.QWH_CONFORMANCE_STALL;
  if (!spec) return;
  const [id, s, ms, attempts] = spec.split(":");
  if (id !== caseId || Number(s) !== step || (attempts !== undefined && attempt > Number(attempts))) return;
  log(`# test hook: the runner's event loop is blocked for ${ms} ms`);
  const end = performance.now() + Number(ms);
  while (performance.now() < end) {
    // busy: the point is that nothing else runs
  }
}

/**
 * The timeout scale for this machine when none is given: how many runnable tasks compete for each
 * CPU (the larger of the 1-minute load average and the runnable count sampled now), rounded to a
 * half and kept within 1..4. Resolves {scale, why}.
 */
export async function measureScale() {
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  const load1 = os.loadavg()[0];
  let runnable = 0;
  let samples = 0;
  for (let i = 0; i < 10; i++) {
    try {
      // The 4th field of /proc/loadavg is "runnable/total"; this process is one of the runnable.
      const n = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[3].split("/")[0]) - 1;
      if (Number.isFinite(n)) {
        runnable += n;
        samples++;
      }
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const now = samples ? runnable / samples : 0;
  const perCpu = Math.max(load1, now) / cpus;
  const scale = Math.min(4, Math.max(1, Math.round(perCpu * 2) / 2));
  return { scale, why: `auto: load ${Math.max(load1, now).toFixed(1)} on ${cpus} CPUs` };
}
