#!/usr/bin/env node
// What session resumption costs at 1 KiB: ts client -> ts server in one process over loopback,
// N messages one way with and without `resume`, alternating, CPU time (user + system) per message
// (less sensitive to other processes than wall time) and throughput, plus the ACK traffic the
// receiver sent back (the client's bytesIn: 14 bytes per ACK frame).
//   node bench/src/hardening/resume-cost.mjs [--count 200000] [--size 1024] [--rounds 5]
import { QWormholeClient, QWormholeServer } from "qwormhole";
import { median } from "../lib/stats.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const COUNT = arg("count", 200_000);
const SIZE = arg("size", 1024);
const ROUNDS = arg("rounds", 5);
const payload = Buffer.alloc(SIZE, 7);

async function once(resume) {
  const server = new QWormholeServer({ host: "127.0.0.1", port: 0, ...(resume ? { resume: true } : {}) });
  let n = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  server.on("message", () => {
    if (++n === COUNT) done();
  });
  const { port } = await server.listen();
  const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false, ...(resume ? { resume: true } : {}) });
  await client.connect();
  const handshakeBytes = client.telemetry().bytesIn;
  let wake = null;
  client.on("drain", () => wake?.());
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) {
    if (!client.send(payload)) await new Promise((r) => (wake = r));
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  // Let the last ACK arrive before counting its bytes.
  await new Promise((r) => setTimeout(r, 250));
  const ackBytes = client.telemetry().bytesIn - handshakeBytes;
  await client.close();
  await server.close();
  return { cpuUsPerMsg: (cpu.user + cpu.system) / COUNT, msgsPerSec: COUNT / seconds, ackFrames: ackBytes / 14 };
}

const off = [];
const on = [];
await once(false);
await once(true); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  off.push(await once(false));
  on.push(await once(true));
}
const row = (name, xs) => ({
  row: name,
  cpuUsPerMsg: Number(median(xs.map((x) => x.cpuUsPerMsg)).toFixed(3)),
  msgsPerSec: Math.round(median(xs.map((x) => x.msgsPerSec))),
  ackFrames: Math.round(median(xs.map((x) => x.ackFrames))),
});
const a = row("ts-ts", off);
const b = row("ts-ts-resume", on);
console.log(
  JSON.stringify(
    {
      size: SIZE,
      count: COUNT,
      rounds: ROUNDS,
      rows: [a, b],
      cpuCost: `${(((b.cpuUsPerMsg - a.cpuUsPerMsg) / a.cpuUsPerMsg) * 100).toFixed(1)}%`,
    },
    null,
    2,
  ),
);
