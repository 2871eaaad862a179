/**
 * `qwormhole bench HOST:PORT`: pipelined echo throughput against a server
 * that echoes (`qwormhole serve --echo`): messages of `--size` bytes are kept
 * in flight (a window of up to 4 MiB, and `send()`'s backpressure honoured)
 * for `--seconds`; the rate is what came back in that time.
 * @internal
 * @packageDocumentation
 */
import { intArg, numberArg, parse } from "./args.js";
import { CLIENT_OPTIONS, connectClient, peerEnded } from "./connect.js";
import { Output, type Io } from "./output.js";

export const BENCH_HELP = `Usage: qwormhole bench HOST:PORT [--size N] [--seconds S] [options]

Measures echo throughput against a server that sends every message back (qwormhole serve --echo):
keeps messages of N bytes in flight for S seconds, prints a progress line every second, then the
messages per second and MB/s (1 MB = 10^6 bytes of payload) that came back.

Options:
  --size N           payload bytes per message (default 64; 0..4194304)
  --seconds S        how long to measure (default 5)
  --tls, --tls-ca, --tls-cert, --tls-key, --tls-servername, --legacy   as for connect
  --mode M           ts (default), native-libsocket or native-lws (needs @qwormhole/native)
  --json             the result as one JSON object on stdout (no progress line)
`;

/** Largest bytes in flight (a message always fits). */
const WINDOW_BYTES = 4 * 1024 * 1024;
const MAX_IN_FLIGHT = 4096;

export async function bench(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, { ...CLIENT_OPTIONS, size: { type: "string" }, seconds: { type: "string" } }, 1);
  if (values.help) {
    io.stdout.write(BENCH_HELP);
    return 0;
  }
  const size = intArg("size", values.size, 64, 0, 4 * 1024 * 1024);
  const seconds = numberArg("seconds", values.seconds, 5);
  const out = new Output(io, values.json);
  const { client, closed } = await connectClient("bench", values, positionals[0], out);
  const payload = Buffer.alloc(size, 0x71);
  const window = Math.max(1, Math.min(MAX_IN_FLIGHT, Math.floor(WINDOW_BYTES / Math.max(size, 1))));
  let sent = 0;
  let received = 0;
  let running = true;
  let blocked = false;
  const pump = (): void => {
    blocked = false;
    while (running && sent - received < window) {
      sent++;
      if (!client.send(payload)) {
        blocked = true;
        return;
      }
    }
  };
  let settle: (() => void) | null = null;
  client.on("message", () => {
    received++;
    if (!running) {
      if (received >= sent) settle?.();
    } else if (!blocked) pump();
  });
  client.on("drain", pump);
  let peer: Awaited<typeof closed> | null = null;
  const ended = closed.then((info) => (peer = info));

  const start = performance.now();
  let last = { t: start, received: 0 };
  const tick = setInterval(() => {
    const now = performance.now();
    const rate = ((received - last.received) * 1000) / (now - last.t);
    last = { t: now, received };
    out.progress(
      `${((now - start) / 1000).toFixed(0).padStart(3)}/${seconds} s  ${fmt(rate)} msg/s  ${((rate * size) / 1e6).toFixed(1)} MB/s`,
    );
  }, 1000);
  pump();
  await waitAtMost(seconds * 1000, [ended, new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }))]);
  const elapsed = (performance.now() - start) / 1000;
  const counted = received;
  running = false;
  clearInterval(tick);
  out.endProgress();
  if (peer) return peerEnded(peer, out);
  // Let the messages still in flight come back (bounded by the graceful-close wait) before closing.
  if (received < sent) await waitAtMost(client.options.drainTimeoutMs, [new Promise<void>((resolve) => (settle = resolve))]);
  await client.close();

  const msgPerSec = counted / elapsed;
  const mbPerSec = (msgPerSec * size) / 1e6;
  out.result(
    {
      event: "result",
      size,
      seconds: Number(elapsed.toFixed(3)),
      sent,
      received: counted,
      msgPerSec: Math.round(msgPerSec),
      mbPerSec: Number(mbPerSec.toFixed(2)),
    },
    `${size} B messages, ${elapsed.toFixed(1)} s: ${fmt(msgPerSec)} msg/s, ${mbPerSec.toFixed(1)} MB/s echoed (${fmt(sent)} sent, ${fmt(counted)} back in time)`,
  );
  if (counted === 0)
    out.status(
      { event: "warning", message: "nothing came back" },
      "nothing came back: bench measures a server that echoes (qwormhole serve --echo)",
    );
  return 0;
}

/** Resolves when one of `events` does, or after `ms`; the timer never outlives it. */
async function waitAtMost(ms: number, events: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), ...events]);
  clearTimeout(timer);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
