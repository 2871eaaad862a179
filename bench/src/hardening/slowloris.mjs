// Slowloris probe times: 2,000 silent connections from 127.0.0.1 (half send nothing, half 3 bytes
// of a header) against a server in its own process with the default admission limits; then a
// client bound to 127.0.0.2 connects, sends and waits for its echo, `--probes` times. Reports the
// probe times (connect + handshake + echo) before and during the attack, per server target.
//   node bench/src/hardening/slowloris.mjs [--kinds ts] [--attackers 2000] [--probes 20]
import net from "node:net";
import { QWormholeClient } from "qwormhole";
import { Peer, kindsArg, numArg, summary } from "./driver.mjs";

const attackers = numArg("attackers", 2000);
const probes = numArg("probes", 20);

async function probe(port) {
  const t0 = performance.now();
  const client = new QWormholeClient({ host: "127.0.0.1", port, localAddress: "127.0.0.2", reconnect: false });
  try {
    await client.connect();
    const echoed = new Promise((r) => client.once("message", r));
    client.send(Buffer.from("probe"));
    await echoed;
    return performance.now() - t0;
  } finally {
    client.destroy();
  }
}

async function probeSeries(port) {
  const times = [];
  for (let i = 0; i < probes; i++) times.push(await probe(port));
  return summary(times);
}

for (const kind of kindsArg()) {
  const server = new Peer();
  const sockets = [];
  try {
    const options = { maxPendingHandshakes: 1024, maxPendingHandshakesPerAddress: 64, handshakeTimeoutMs: 600_000, backlog: 4096 };
    const { port } = await server.call({ op: "serve", kind, options }, "serving");
    const quiet = await probeSeries(port);
    for (let start = 0; start < attackers; start += 200) {
      const wave = [];
      for (let i = start; i < Math.min(attackers, start + 200); i++) {
        const s = net.connect({ port, host: "127.0.0.1", localAddress: "127.0.0.1" });
        s.on("error", () => undefined);
        sockets.push(s);
        wave.push(new Promise((r) => s.once("connect", () => (i % 2 && s.write(Buffer.from([0, 0, 0])), r()))));
      }
      await Promise.all(wave);
    }
    for (;;) {
      const { byCode } = await server.call({ op: "refusals" }, "refusals");
      if ((byCode.E_MAX_PENDING_HANDSHAKES ?? 0) >= attackers - 64) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const attacked = await probeSeries(port);
    console.log(JSON.stringify({ kind, attackers, probeMs: { quiet, underAttack: attacked } }));
  } finally {
    for (const s of sockets) s.destroy();
    await server.exit();
  }
}
