// Connect/close churn against a server in its own process: server RSS, heap,
// external memory and open fds after every `--every` cycles (after full GCs).
// Answers whether RSS settles or keeps growing over `--cycles` (default 20,000).
//   node bench/src/hardening/churn.mjs [--kinds ts] [--cycles 20000] [--every 1000] [--concurrency 8]
import { Peer, kindsArg, numArg } from "./driver.mjs";

const cycles = numArg("cycles", 20_000);
const every = numArg("every", 1_000);
const concurrency = numArg("concurrency", 8);
const MB = (x) => Math.round((x / 1e6) * 10) / 10;
for (const kind of kindsArg()) {
  const server = new Peer();
  const client = new Peer();
  try {
    const { port } = await server.call({ op: "serve", kind }, "serving");
    const base = await server.call({ op: "sample" }, "sample");
    const rows = [{ cycles: 0, rssMB: MB(base.rss), heapMB: MB(base.heapUsed), externalMB: MB(base.external), fds: base.fds }];
    for (let done = 0; done < cycles; done += every) {
      await client.call({ op: "churn", port, cycles: every, kind, concurrency }, "churned");
      const s = await server.call({ op: "sample" }, "sample");
      rows.push({
        cycles: done + every,
        rssMB: MB(s.rss),
        heapMB: MB(s.heapUsed),
        externalMB: MB(s.external),
        fds: s.fds,
        connections: s.connections,
      });
      console.error(JSON.stringify({ kind, ...rows.at(-1) }));
    }
    const half = rows.filter((r) => r.cycles >= cycles / 2);
    const slope = (half.at(-1).rssMB - half[0].rssMB) / ((half.at(-1).cycles - half[0].cycles) / 1000);
    console.log(
      JSON.stringify({
        kind,
        cycles,
        rssMB: {
          start: rows[0].rssMB,
          at5000: rows.find((r) => r.cycles === 5000)?.rssMB,
          end: rows.at(-1).rssMB,
          max: Math.max(...rows.map((r) => r.rssMB)),
        },
        secondHalfRssSlopeMBPer1000: Math.round(slope * 100) / 100,
        heapMB: { start: rows[0].heapMB, end: rows.at(-1).heapMB },
        externalMB: { start: rows[0].externalMB, end: rows.at(-1).externalMB },
        fds: { start: rows[0].fds, end: rows.at(-1).fds },
      }),
    );
  } finally {
    await Promise.all([server.exit(), client.exit()]);
  }
}
