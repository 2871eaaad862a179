// A bounded soak: steady clients sending mixed sizes (16 B-256 KiB) over plain TCP and TLS with
// echoes checked for order, connections cut at random (the clients reconnect), and churn
// (connect, one round trip, close; 20,000 cycles in the 5-minute run, in proportion otherwise, the
// last of them after the mixed load where the machine is too slow to fit them in).
// Server and load in separate processes; RSS, heap, external memory and fds sampled every
// second; reports the RSS slope over the second half, and checks that after the load the
// server's fds are back at their baseline and its heap within 5 MB of it.
//   npm run soak                       (5 minutes, ts)
//   node bench/src/hardening/soak.mjs --seconds 30 [--kinds ts,native-libsocket,native-lws] [--json]
import { fileURLToPath } from "node:url";
import { makeSelfSigned } from "../../../conformance/lib/tls-certs.mjs";
import { Peer, kindsArg, numArg } from "./driver.mjs";

const PEER = fileURLToPath(new URL("./soak-peer.mjs", import.meta.url));
const seconds = numArg("seconds", 300);
const steadyClients = numArg("steady", 4);
const json = process.argv.includes("--json");
const kinds = process.argv.includes("--kinds") ? kindsArg() : ["ts"];
const MB = (x) => Math.round((x / 1e6) * 100) / 100;
const log = (...a) => json || console.error(...a);

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { key, cert } = makeSelfSigned();
const reports = [];
for (const kind of kinds) {
  const server = new Peer({ script: PEER });
  const load = new Peer({ script: PEER });
  try {
    const { port, tlsPort } = await server.call({ op: "serve", kind, tls: { key, cert } }, "serving");
    await load.call({ op: "warm", kind, port }, "warm");
    await sleep(500); // the warm-up connection's close reaches the server
    const baseline = { server: await server.call({ op: "sample" }, "sample"), load: await load.call({ op: "sample" }, "sample") };
    const churnCycles = Math.round((20_000 * seconds) / 300);
    await load.call({ op: "start", kind, port, tlsPort, ca: cert, steady: steadyClients, churnCycles, churnConcurrency: 4 }, "started");
    const samples = [];
    const t0 = Date.now();
    let kicks = 0;
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(1000);
      if (Math.random() < 0.3) {
        await server.call({ op: "kick" }, "kicked");
        kicks++;
      }
      const t = (Date.now() - t0) / 1000;
      const s = await server.call({ op: "sample", gc: false }, "sample");
      const l = await load.call({ op: "sample", gc: false }, "sample");
      samples.push({ t, server: s, load: l });
      if (samples.length % 10 === 0)
        log(`[soak ${kind}] ${Math.round(t)} s: server rss ${MB(s.rss)} MB, fds ${s.fds}; load rss ${MB(l.rss)} MB, fds ${l.fds}`);
    }
    const { stats, churnExtraSeconds, stuck = [] } = await load.call({ op: "stop" }, "stopped");
    await sleep(1500); // closes finish on both sides
    const after = { server: await server.call({ op: "sample" }, "sample"), load: await load.call({ op: "sample" }, "sample") };
    const second = samples.filter((s) => s.t >= seconds / 2);
    const perMin = (side) => Math.round(slope(second.map((s) => [s.t / 60, s[side].rss / 1e6])) * 100) / 100;
    const fdRange = (side) => [Math.min(...samples.map((s) => s[side].fds)), Math.max(...samples.map((s) => s[side].fds))];
    const report = {
      kind,
      seconds,
      messages: { sent: stats.sent, echoed: stats.echoed, outOfOrder: stats.outOfOrder },
      reconnects: stats.reconnects,
      kicks,
      churnCycles: stats.churnCycles,
      churnExtraSeconds,
      sendErrors: stats.sendErrors,
      errors: stats.errors,
      rssSlopeMBPerMin: { server: perMin("server"), load: perMin("load") },
      rssMB: {
        server: [MB(baseline.server.rss), MB(Math.max(...samples.map((s) => s.server.rss))), MB(after.server.rss)],
        load: [MB(baseline.load.rss), MB(after.load.rss)],
      },
      heapMB: {
        server: [MB(baseline.server.heapUsed), MB(after.server.heapUsed)],
        load: [MB(baseline.load.heapUsed), MB(after.load.heapUsed)],
      },
      fds: {
        server: [baseline.server.fds, ...fdRange("server"), after.server.fds],
        load: [baseline.load.fds, ...fdRange("load"), after.load.fds],
      },
    };
    const problems = [];
    if (after.server.fds !== baseline.server.fds) problems.push(`server fds ${baseline.server.fds} -> ${after.server.fds}`);
    if (after.load.fds !== baseline.load.fds) problems.push(`load fds ${baseline.load.fds} -> ${after.load.fds}`);
    if (after.server.heapUsed - baseline.server.heapUsed > 5e6)
      problems.push(`server heap ${MB(baseline.server.heapUsed)} -> ${MB(after.server.heapUsed)} MB`);
    if (stats.outOfOrder > 0) problems.push(`${stats.outOfOrder} echoes out of order`);
    if (stats.sendErrors > 0) problems.push(`${stats.sendErrors} send() calls threw`);
    if (stuck.length > 0) problems.push(`clients made no progress for a minute after stop: ${stuck.join(", ")}`);
    report.ok = problems.length === 0;
    report.problems = problems;
    reports.push(report);
    log(JSON.stringify(report));
  } finally {
    await Promise.all([server.exit(), load.exit()]);
  }
}
if (json) console.log(JSON.stringify(reports));
process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
