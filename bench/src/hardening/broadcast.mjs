// How long broadcast() holds the event loop at 10,000 connections (server and
// clients in separate processes). Reports, per target: the synchronous call,
// the longest turn of the server's loop until every client has the message.
//   node bench/src/hardening/broadcast.mjs [--kinds ts] [--connections 10000] [--size 64] [--rounds 5]
import { Peer, kindsArg, numArg, summary } from "./driver.mjs";

const connections = numArg("connections", 10_000);
const size = numArg("size", 64);
const rounds = numArg("rounds", 5);
for (const kind of kindsArg()) {
  const clients = new Peer();
  const server = new Peer({
    onMessage: async (m) => {
      if (m.type !== "await-delivery") return;
      const r = await clients.call({ op: "received", atLeast: m.atLeast }, "received");
      server.send({ op: "delivered", count: r.count });
    },
  });
  try {
    const { port } = await server.call({ op: "serve", kind }, "serving");
    await clients.call({ op: "open", port, n: connections, kind: "ts" }, "opened");
    const r = await server.call({ op: "broadcast", size, rounds, expect: connections }, "broadcast");
    const sync = summary(r.rounds.map((x) => x.syncMs));
    const maxTurn = summary(r.rounds.map((x) => x.maxTurnMs));
    const total = summary(r.rounds.map((x) => x.totalMs));
    console.log(
      JSON.stringify({
        kind,
        connections,
        size,
        rounds,
        syncMs: sync,
        maxTurnMs: maxTurn,
        deliveredMs: total,
        perRound: r.rounds.map((x) => [x.syncMs, x.firstTurnMs, x.maxTurnMs, x.turns].map(Math.round)),
      }),
    );
  } finally {
    await Promise.all([server.exit(), clients.exit()]);
  }
}
