// Cross-thread wake-ups per message of the native-lws addon: one pair row (default
// native-lws-native-lws), a receiving and a sending process, one-way throughput runs at each
// size; each process reads the addon's counters (stats()) before and after the run and
// reports them per message, with the rate. A wake-up of the JS thread by the lws service
// thread (jsWakeups), of the service thread by JS (serviceWakeups), the JS turns that
// delivered, the writes that went straight to the socket (directSends) or had to be queued.
//
// With --ping N: N round trips of 64 B, one in flight (echo process and pinging process), with
// the median round trip and the counters per round trip instead.
//
//   node bench/src/native/wakeups.mjs [--row native-lws-native-lws] [--sizes 16,1024,65536] [--count-bytes 200000000] [--tls] [--ping 20000]
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadRow } from "../registry.mjs";
import { makeSelfSigned } from "../../../conformance/lib/tls-certs.mjs";

const require = createRequire(import.meta.url);

function lwsStats() {
  const r = require("@qwormhole/native").load("lws");
  const s = r.binding?.stats() ?? {};
  const { connections, listeners, handles, ...counters } = s;
  return counters;
}

const diff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));

async function role(kind, { row, size, count, port, tls }) {
  const impl = await loadRow(row);
  const before = lwsStats();
  if (kind === "echo") {
    const stop = await impl.echo({ size, tls, onListening: (p) => process.send({ type: "listening", port: p }) });
    await new Promise((r) => process.once("message", r)); // the pinger is done
    process.send({ type: "final", stats: diff(before, lwsStats()) });
    await stop?.();
  } else if (kind === "ping") {
    const rtts = await impl.ping({ port, size, tls, samples: count, warmup: 0 });
    const sorted = Float64Array.from(rtts).sort();
    process.send({ type: "done", medianUs: sorted[sorted.length >> 1] / 1e3, stats: diff(before, lwsStats()) });
  } else if (kind === "receive") {
    let stop;
    const done = new Promise((resolve) => {
      impl
        .receive({
          size,
          count,
          tls,
          onListening: (p) => process.send({ type: "listening", port: p }),
          onDone: (d) => resolve({ ...d, t1: process.hrtime.bigint() }),
        })
        .then((s) => (stop = s));
    });
    const d = await done;
    const after = lwsStats();
    process.send({ type: "done", messages: d.messages, bad: d.bad, t1: String(d.t1), stats: diff(before, after) });
    await stop?.();
  } else {
    let t0 = 0n;
    const stop = await impl.send({ port, size, count, tls, onStart: async () => (t0 = process.hrtime.bigint()) });
    process.send({ type: "sent", t0: String(t0), stats: diff(before, lwsStats()) });
    await new Promise((r) => process.once("message", r)); // the receiver is done
    process.send({ type: "final", stats: diff(before, lwsStats()) });
    await stop?.();
  }
  process.exit(0);
}

const next = (child, type) =>
  new Promise((resolve, reject) => {
    const on = (m) => m.type === type && (child.off("message", on), resolve(m));
    child.on("message", on);
    child.once("exit", (code) => reject(new Error(`${type}: child exited with ${code}`)));
  });

async function main() {
  const { values } = parseArgs({
    options: {
      ping: { type: "string" },
      row: { type: "string", default: "native-lws-native-lws" },
      sizes: { type: "string", default: "16,256,1024,65536" },
      "count-bytes": { type: "string", default: "100000000" },
      tls: { type: "boolean", default: false },
    },
  });
  const tls = values.tls ? makeSelfSigned() : undefined;
  const self = fileURLToPath(import.meta.url);
  const per = (s, n) =>
    Object.entries(s)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${(v / n).toPrecision(3)}`)
      .join(", ") || "-";
  if (values.ping) {
    const count = Number(values.ping);
    const args = { row: values.row, size: 64, count, tls };
    const echo = fork(self, ["--child", "echo", JSON.stringify(args)]);
    const { port } = await next(echo, "listening");
    const pinger = fork(self, ["--child", "ping", JSON.stringify({ ...args, port })]);
    const done = await next(pinger, "done");
    echo.send({ type: "go" });
    const final = await next(echo, "final");
    console.log(
      `row ${values.row}${tls ? " (TLS)" : ""}: ${count} round trips of 64 B, median ${done.medianUs.toFixed(1)} us; per round trip:`,
    );
    console.log(`  pinging side: ${per(done.stats, count)}`);
    console.log(`  echo side:    ${per(final.stats, count)}`);
    await Promise.all([new Promise((r) => echo.once("exit", r)), new Promise((r) => pinger.once("exit", r))]);
    return;
  }
  console.log(`row ${values.row}${tls ? " (TLS)" : ""}: per message, receiver | sender`);
  for (const size of values.sizes.split(",").map(Number)) {
    const count = Math.max(1000, Math.min(5_000_000, Math.round(Number(values["count-bytes"]) / size)));
    const args = { row: values.row, size, count, tls };
    const rx = fork(self, ["--child", "receive", JSON.stringify(args)]);
    const { port } = await next(rx, "listening");
    const tx = fork(self, ["--child", "send", JSON.stringify({ ...args, port })]);
    const [done, sent] = await Promise.all([next(rx, "done"), next(tx, "sent")]);
    tx.send({ type: "go" });
    const final = await next(tx, "final");
    const sec = Number(BigInt(done.t1) - BigInt(sent.t0)) / 1e9;
    console.log(`${size} B x ${count}: ${Math.round(count / sec).toLocaleString("en")} msg/s, bad ${done.bad}`);
    console.log(`  receiver: ${per(done.stats, count)}`);
    console.log(`  sender:   ${per(final.stats, count)}`);
    await Promise.all([new Promise((r) => rx.once("exit", r)), new Promise((r) => tx.once("exit", r))]);
  }
}

if (process.argv[2] === "--child") {
  const args = JSON.parse(process.argv[4]);
  const deadline = setTimeout(() => process.exit(3), 120_000);
  deadline.unref();
  role(process.argv[3], args).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
