// A measuring process. The parent (run.mjs) sends it one operation at a time over IPC:
//   { op: "receive" | "send" | "echo" | "ping", row, args }  then  { op: "stop" }
// and it answers with { type: "listening" | "started" | "done" | "rtts" | "stopped" | "error" }.
// Timestamps are process.hrtime.bigint(): CLOCK_MONOTONIC, one clock for every process
// of the machine, so a sender's t0 and a receiver's t1 can be subtracted.
import { loadRow } from "./registry.mjs";

const now = () => process.hrtime.bigint().toString();
let stops = [];

const reply = (msg) => process.send(msg);
const fail = (err) => reply({ type: "error", message: err?.message ?? String(err), unavailable: Boolean(err?.unavailable) });

async function stopAll() {
  const list = stops;
  stops = [];
  await Promise.race([
    Promise.allSettled(list.map((s) => (typeof s === "function" ? s() : undefined))),
    new Promise((r) => setTimeout(r, 8000).unref()),
  ]);
}

async function handle({ op, row: name, args }) {
  if (op === "stop") {
    await stopAll();
    reply({ type: "stopped" });
    return;
  }
  if (op === "exit") process.exit(0);
  const row = await loadRow(name);
  if ((op === "echo" || op === "ping") && typeof row[op] !== "function") {
    throw Object.assign(new Error(`${name} has no round trip (no echo/ping in its table entry)`), { unavailable: true });
  }
  const extra = { tls: args.tls, codec: args.codec };
  if (op === "receive") {
    let finished = false;
    stops.push(
      await row.receive({
        ...extra,
        count: args.count,
        size: args.size,
        onListening: (port) => reply({ type: "listening", port }),
        onDone: (r) => {
          const t1 = now();
          if (finished) return;
          finished = true;
          reply({ type: "done", t1, messages: r.messages, bytes: r.bytes, bad: r.bad ?? 0 });
        },
      }),
    );
  } else if (op === "send") {
    // `connections` senders share the count. Rows that await onStart() (awaitsStart) all
    // connect first and start together: t0 is that moment. For other rows (e.g. entries
    // of peers.mjs) t0 is the first connection's first send (a conservative figure).
    const connections = Math.min(args.connections ?? 1, args.count);
    let firstT0 = null;
    let arrived = 0;
    let release;
    const barrier = new Promise((r) => (release = r));
    const onStart = () => {
      firstT0 ??= now();
      if (++arrived === connections) {
        reply({ type: "started", t0: row.awaitsStart ? now() : firstT0 });
        release();
      }
      return barrier;
    };
    const sends = [];
    for (let c = 0; c < connections; c++) {
      const count = Math.floor(args.count / connections) + (c < args.count % connections ? 1 : 0);
      sends.push(row.send({ ...extra, port: args.port, count, size: args.size, onStart }).then((stop) => stops.push(stop)));
    }
    await Promise.all(sends);
    reply({ type: "sent" });
  } else if (op === "echo") {
    stops.push(await row.echo({ ...extra, size: args.size, onListening: (port) => reply({ type: "listening", port }) }));
  } else if (op === "ping") {
    const rtts = await row.ping({ ...extra, port: args.port, size: args.size, samples: args.samples, warmup: args.warmup });
    reply({ type: "rtts", rtts });
  } else if (op === "probe") {
    reply({ type: "probe", problems: typeof row.probe === "function" ? row.probe() : [] });
  } else {
    throw new Error(`unknown op ${op}`);
  }
}

process.on("message", (msg) => {
  handle(msg).catch(fail);
});
process.on("unhandledRejection", fail);
process.on("disconnect", () => process.exit(0));
