// `qwh-conformance matrix`: every available registered client against every available server,
// over plain TCP and TLS, one cell per interop scenario. Servers are adapters in `serve` mode,
// long-lived (one per server agent, transport and config) except where a scenario needs its own;
// clients are adapters in `connect` mode. Cells run with bounded concurrency. Scenarios with a
// `proxy` put the cutting proxy between client and server (seeded; the seed is printed).
import { randomInt } from "node:crypto";
import { join } from "node:path";
import { adapterInfo, Clients, probeUnsupported, startServer } from "./adapter-process.mjs";
import { loadRequirements } from "./cases.mjs";
import { countGrades, EXIT } from "./grading.mjs";
import { Progress } from "./progress.mjs";
import { writeHtml } from "./reporters/html.mjs";
import { certificates } from "./run.mjs";
import { cellSeed, startCuttingProxy } from "./cutting-proxy.mjs";
import { gradeStream, SCENARIOS } from "./scenarios.mjs";
import { scaleConfig } from "./timekeeping.mjs";
import { caseMatcher, mapLimit, sleep, writeFileDeep } from "./util.mjs";

const TRANSPORTS = ["plain", "tls"];

/** Starts a server, retrying a port that a just-stopped process may still hold. */
async function startServerRetry(agent, options, attempts = 20) {
  for (let i = 1; ; i++) {
    try {
      return await startServer(agent, options);
    } catch (err) {
      if (i >= attempts || options.port === 0) throw err;
      await sleep(100);
    }
  }
}

/**
 * Why a scenario that needs an optional feature cannot run between these agents (an agent's info
 * mode does not list it), or null. An agent without info mode is assumed to offer every feature.
 */
function missingFeature(scenario, clientAgent, serverAgent, features) {
  if (!scenario.feature) return null;
  const lacking = [clientAgent, serverAgent].filter((a) => {
    const f = features.get(a.name);
    return f && !f.includes(scenario.feature);
  });
  return lacking.length
    ? `${[...new Set(lacking.map((a) => a.name))].join(" and ")} does not offer "${scenario.feature}" (info mode)`
    : null;
}

/**
 * One cell: runs the scenario's client(s) against a server. Resolves {grade, message, log,
 * faults?, optional?}: `optional` marks an UNSUPPORTED that is the agents' declared lack of the
 * scenario's feature (never a failure), `faults` the counts of a proxy scenario.
 */
async function runCell({ clientAgent, serverAgent, transport, scenario, tls, scale, servers, clients, features, seed }) {
  const log = [];
  const t0 = performance.now();
  const note = (s) => log.push(`${(performance.now() - t0).toFixed(1).padStart(8)} ${s}`);
  const useTls = transport === "tls" ? tls : undefined;
  const lacking = missingFeature(scenario, clientAgent, serverAgent, features);
  if (lacking) return { grade: "UNSUPPORTED", message: lacking, log, optional: true };
  // Exit 127 from an agent that does not declare its features: its lack of the scenario's feature.
  const declined = scenario.feature !== undefined;
  let proxy = null;
  // The timers given to both adapters scale with the run (heartbeats, hold times, deadlines).
  const serverConfig = scaleConfig(scenario.server, scale);
  let server = null;
  let own = false;
  // A restart is part of the cell: the cell waits for it before grading and stopping, so a
  // server that came up after the client was done is never left running.
  let restarting = null;
  try {
    if (scenario.dedicated) {
      own = true;
      server = await startServerRetry(serverAgent, { config: serverConfig, tls: useTls, readyTimeoutMs: 10000 * scale });
    } else {
      server = await servers.get(serverAgent, transport, serverConfig, useTls);
    }
    if (server.unsupported)
      return {
        grade: "UNSUPPORTED",
        message: `${serverAgent.name} serve exited 127 for ${JSON.stringify(scenario.server)}`,
        log,
        optional: declined && !features.get(serverAgent.name),
      };
    note(`server ${serverAgent.name} on port ${server.port} (${transport}) config ${JSON.stringify(serverConfig)}`);
    const eventsBefore = server.events.length;
    let port = server.port;
    if (scenario.proxy) {
      const { cuts, minBytes, maxBytes } = scenario.proxy;
      proxy = await startCuttingProxy({ port: server.port, seed, cuts, minBytes, maxBytes, note });
      port = proxy.port;
      note(`cutting proxy on port ${port}: seed ${seed}, ${cuts} cuts after ${minBytes} to ${maxBytes} bytes each`);
    }
    const count = scenario.clients ?? 1;
    const timeoutMs = Math.round(((scenario.config.timeoutMs ?? 10000) + 10000) * scale);
    const onEvent = scenario.restart
      ? (e) => {
          if (e.event !== "checkpoint" || restarting) return restarting;
          restarting = (async () => {
            note(`client checkpoint: restarting the server on port ${server.port}`);
            const port = server.port;
            await server.stop();
            server = null;
            server = await startServerRetry(serverAgent, { port, config: serverConfig, tls: useTls, readyTimeoutMs: 10000 * scale });
            note(`server restarted on port ${server.port}`);
          })();
          return restarting;
        }
      : undefined;
    const config = scaleConfig({ ...scenario.config, timeoutMs: scenario.config.timeoutMs ?? 10000 }, scale);
    note(`client ${clientAgent.name}: connect --scenario ${scenario.client} --config ${JSON.stringify(config)} (x${count})`);
    const runs = await Promise.all(
      Array.from({ length: count }, () => clients.run({ port, scenario: scenario.client, config, tls: useTls, timeoutMs, onEvent })),
    );
    for (const [i, r] of runs.entries()) {
      // A stream's received messages are in receivedRuns: the log leaves their hex out.
      const shown = scenario.proxy && r.result ? { ...r.result, receivedHex: `(${r.result.receivedHex?.length} messages)` } : r.result;
      note(`client ${i + 1} result: ${JSON.stringify(shown ?? null).slice(0, 4000)}`);
      if (r.stderr?.trim()) note(`client ${i + 1} stderr: ${r.stderr.trim().slice(-1500)}`);
    }
    if (restarting) {
      const failed = await restarting.then(
        () => null,
        (err) => err,
      );
      if (failed) return { grade: "ERROR", message: `the server did not restart: ${failed.message}`, log };
    }
    if (runs.some((r) => r.unsupported))
      return {
        grade: "UNSUPPORTED",
        message: `${clientAgent.name} connect exited 127 for scenario ${scenario.client}`,
        log,
        optional: declined && !features.get(clientAgent.name),
      };
    if (scenario.proxy) {
      const r = runs[0];
      if (r.spawnError) return { grade: "ERROR", message: `cannot start the client: ${r.spawnError}`, log };
      if (r.timedOut) return { grade: "ERROR", message: `the client process did not end within ${timeoutMs} ms`, log };
      // The session's closed line: a graceful end (error null) when there is one, since a session
      // the client never learned of (cut before its accept arrived) may end too, by expiry.
      const isClosed = (e, i) => e.event === "closed" && i >= eventsBefore;
      const closed =
        (await server.waitFor((e, i) => isClosed(e, i) && e.error === null, 3000 * scale)) ?? server.events.find(isClosed) ?? null;
      note(`server closed line: ${JSON.stringify(closed).slice(0, 2000)}`);
      const { why, faults, summary } = gradeStream(scenario, {
        result: r.result,
        closed,
        cuts: proxy.cuts,
        connections: proxy.connections,
        seed,
      });
      note(`${why ? `FAIL: ${why}` : "PASS"}: ${summary}`);
      return { grade: why ? "FAIL" : "PASS", message: why ? `${why}: ${summary}` : summary, log, faults };
    }
    for (const [i, r] of runs.entries()) {
      const who = count > 1 ? `client ${i + 1}: ` : "";
      if (r.spawnError) return { grade: "ERROR", message: `${who}cannot start the client: ${r.spawnError}`, log };
      // The client's own deadline (timeoutMs) passed long before: a process that hangs is the harness's problem.
      if (r.timedOut) return { grade: "ERROR", message: `${who}the client process did not end within ${timeoutMs} ms`, log };
      if (!r.result) return { grade: "FAIL", message: `${who}no result line (exit ${r.exitCode})`, log };
      if (!r.result.ok)
        return { grade: "FAIL", message: `${who}the client reports failure: ${r.result.message ?? r.result.error ?? "not ok"}`, log };
      const why = scenario.check(r.result, {});
      if (why) return { grade: "FAIL", message: `${who}${why}`, log };
    }
    if (scenario.checkServer) {
      await server.waitFor((e) => e.event === "closed", 3000 * scale);
      const events = server.events.slice(eventsBefore);
      note(`server events: ${JSON.stringify(events).slice(0, 2000)}`);
      const why = scenario.checkServer(events);
      if (why) return { grade: "FAIL", message: why, log };
    }
    return { grade: "PASS", message: "", log };
  } catch (err) {
    note(`harness error: ${err.message}`);
    return { grade: "ERROR", message: err.message, log };
  } finally {
    if (proxy) await proxy.close();
    if (restarting) await restarting.catch(() => undefined);
    if (own && server && !server.unsupported) {
      note(`server stderr: ${server.stderr().trim().slice(-1500)}`);
      await server.stop();
    }
  }
}

/** Shared long-lived servers: one per (server agent, transport, config). */
class SharedServers {
  constructor(scale) {
    this.scale = scale;
    this.map = new Map();
  }

  async get(agent, transport, config, tls) {
    const key = `${agent.name} ${transport} ${JSON.stringify(config)}`;
    let p = this.map.get(key);
    if (p) {
      const s = await p.catch(() => null);
      if (s && (s.unsupported || s.alive())) return s;
    }
    p = startServer(agent, { config, tls, readyTimeoutMs: 10000 * this.scale });
    this.map.set(key, p);
    return p;
  }

  async stopAll() {
    await Promise.all(
      [...this.map.values()].map(async (p) => {
        const s = await p.catch(() => null);
        if (s && !s.unsupported) await s.stop();
      }),
    );
    this.map.clear();
  }
}

/**
 * The scenarios that comma-separated globs select, in their order, and the globs that match none
 * (a typo in --scenarios is a usage error, never an empty or partial matrix).
 */
export function selectScenarios(globs) {
  const parts = (globs ?? []).flatMap((g) => g.split(",")).filter(Boolean);
  if (parts.length === 0) return { selected: SCENARIOS, unknown: [] };
  const unknown = parts.filter((g) => !SCENARIOS.some((s) => caseMatcher([g])(s.name)));
  const match = caseMatcher(parts);
  return { selected: SCENARIOS.filter((s) => match(s.name)), unknown };
}

/** Runs the matrix; returns {matrix, exitCode}. */
export async function runMatrix(
  agents,
  { outDir, scale = 1, scaleWhy = "given", concurrency = 4, transports = TRANSPORTS, scenarios: globs, quiet, seed } = {},
) {
  const progress = new Progress({ quiet });
  progress.say(`timeout scale ${scale} (${scaleWhy})`);
  const runSeed = seed ?? randomInt(2 ** 32);
  const unavailable = {};
  const available = [];
  for (const a of agents) {
    const why = a.unavailable();
    if (why) unavailable[a.name] = why;
    else {
      const probe = await probeUnsupported(a, 10000 * scale);
      if (probe.ok) available.push(a);
      else unavailable[a.name] = `adapter broken: ${probe.detail}`;
    }
  }
  const scenarios = selectScenarios(globs).selected;
  if (available.length === 0 || scenarios.length === 0) {
    progress.say(available.length === 0 ? "matrix: no registered agent is available on this machine" : "matrix: no scenario selected");
    return {
      matrix: null,
      exitCode:
        available.length === 0 && Object.values(unavailable).some((w) => w.startsWith("adapter broken")) ? EXIT.HARNESS : EXIT.EMPTY,
      unavailable,
    };
  }
  // The optional features each agent declares (info mode; null: it declares none, so offers all).
  const features = new Map();
  if (scenarios.some((s) => s.feature))
    for (const a of available) features.set(a.name, (await adapterInfo(a, 10000 * scale))?.features ?? null);
  if (scenarios.some((s) => s.proxy)) progress.say(`cut seed ${runSeed} (--seed ${runSeed} cuts at the same byte counts again)`);
  const tls = transports.includes("tls") ? certificates(join(outDir, "certs")) : null;
  const cells = [];
  for (const c of available)
    for (const s of available)
      for (const t of transports) for (const sc of scenarios) cells.push({ clientAgent: c, serverAgent: s, transport: t, scenario: sc });
  const servers = new SharedServers(scale);
  const clients = new Map(available.map((a) => [a.name, new Clients(a)]));
  const results = {};
  /** Cells UNSUPPORTED because an agent lacks the scenario's optional feature: never a failure. */
  const optional = new Set();
  progress.start(cells.length, "matrix");
  try {
    // Dedicated-server and multi-client cells last, so the shared servers warm up first.
    const order = [...cells].sort((a, b) => Number(Boolean(a.scenario.dedicated)) - Number(Boolean(b.scenario.dedicated)));
    const attempt = async (cell) => {
      const t0 = performance.now();
      const { clientAgent: c, serverAgent: s, transport: t, scenario: sc } = cell;
      const seed = cellSeed(runSeed, `${c.name}/${s.name}/${t}/${sc.name}`);
      const r = await runCell({ ...cell, tls, scale, servers, clients: clients.get(c.name), features, seed });
      return { ...r, durationMs: performance.now() - t0 };
    };
    const finish = (cell, attempts) => {
      const r = attempts.at(-1);
      const { clientAgent: c, serverAgent: s, transport: t, scenario: sc } = cell;
      const wireLog = `matrix/${c.name}__${s.name}/${t}/${sc.name}.log`;
      const body =
        attempts.length === 1
          ? r.log.join("\n")
          : attempts
              .map((a, i) => `=== attempt ${i + 1}: ${a.grade}${a.message ? ` (${a.message})` : ""}\n${a.log.join("\n")}`)
              .join("\n\n");
      writeFileDeep(
        join(outDir, wireLog),
        `${sc.name}: ${sc.title}\nclient ${c.name}, server ${s.name}, ${t}\ngrade: ${r.grade}${r.message ? ` (${r.message})` : ""}\n\n${body}\n`,
      );
      results[c.name] ??= {};
      results[c.name][s.name] ??= {};
      results[c.name][s.name][t] ??= {};
      const entry = { grade: r.grade, durationMs: Math.round(attempts.reduce((n, a) => n + a.durationMs, 0) * 10) / 10, wireLog };
      if (r.message) entry.message = r.message;
      if (attempts.length > 1) entry.attempts = attempts.length;
      if (r.faults) entry.faults = r.faults;
      if (r.optional) optional.add(entry);
      results[c.name][s.name][t][sc.name] = entry;
      progress.tick(`${c.name} -> ${s.name} ${t} ${sc.name}`, r.grade, r.message);
    };
    // A cell that did not pass runs once more, alone, at the end: a loaded machine (which the
    // runner cannot see into the adapters' processes) gets a second chance; both attempts are logged.
    const again = [];
    await mapLimit(order, concurrency, async (cell) => {
      const r = await attempt(cell);
      if (r.grade === "PASS" || r.grade === "UNSUPPORTED") finish(cell, [r]);
      else again.push([cell, r]);
    });
    for (const [cell, first] of again) finish(cell, [first, await attempt(cell)]);
  } finally {
    await Promise.all([servers.stopAll(), ...[...clients.values()].map((c) => c.close())]);
  }
  progress.end();
  const grades = cells.map((c) => results[c.clientAgent.name][c.serverAgent.name][c.transport][c.scenario.name]);
  const matrix = {
    generatedAt: new Date().toISOString(),
    clients: available.map((a) => a.name),
    servers: available.map((a) => a.name),
    transports,
    scenarios: scenarios.map((s) => s.name),
    results,
    summary: countGrades(grades),
    timeoutScale: scale,
  };
  if (Object.keys(unavailable).length) matrix.unavailable = unavailable;
  if (scenarios.some((s) => s.proxy)) matrix.seed = runSeed;
  const own = new Set(available.filter((a) => a.own).map((a) => a.name));
  const failed = cells.some((c) => {
    const cell = results[c.clientAgent.name][c.serverAgent.name][c.transport][c.scenario.name];
    const g = cell.grade;
    return (
      g === "FAIL" ||
      g === "NON_STRICT" ||
      (g === "UNSUPPORTED" && !optional.has(cell) && own.has(c.clientAgent.name) && own.has(c.serverAgent.name))
    );
  });
  const errored = grades.some((g) => g.grade === "ERROR");
  return { matrix, exitCode: failed ? EXIT.FAILED : errored ? EXIT.HARNESS : EXIT.OK, unavailable };
}

/** Prints the matrix as a clients x servers table per transport. */
export function formatMatrix(matrix, { quiet = false } = {}) {
  const lines = [];
  const width = Math.max(8, ...matrix.clients.map((c) => c.length)) + 2;
  for (const t of quiet ? [] : matrix.transports) {
    lines.push(`${t}: client \\ server (scenarios passed / run; +N u: N unsupported, not run)`);
    lines.push(" ".repeat(width) + matrix.servers.map((s) => s.padEnd(width)).join(""));
    for (const c of matrix.clients) {
      const cells = matrix.servers.map((s) => {
        const cell = matrix.results[c]?.[s]?.[t] ?? {};
        // Counted: the scenarios that ran (UNSUPPORTED ones did not).
        const grades = Object.values(cell)
          .map((x) => x.grade)
          .filter((g) => g !== "UNSUPPORTED");
        const pass = grades.filter((g) => g === "PASS").length;
        const unsupported = Object.keys(cell).length - grades.length;
        return `${pass}/${grades.length}${pass === grades.length ? "" : " !"}${unsupported ? ` (+${unsupported} u)` : ""}`.padEnd(width);
      });
      lines.push(c.padEnd(width) + cells.join(""));
    }
    lines.push("");
  }
  // Cells with faults (the cutting proxy) print their counts even when they pass, and add up below.
  const total = { cells: 0, cuts: 0, messages: 0, lost: 0, duplicated: 0, outOfOrder: 0 };
  for (const [c, byServer] of Object.entries(matrix.results))
    for (const [s, byT] of Object.entries(byServer))
      for (const [t, cells] of Object.entries(byT))
        for (const [sc, x] of Object.entries(cells)) {
          if ((x.grade !== "PASS" && !(quiet && x.grade === "UNSUPPORTED")) || (!quiet && x.faults))
            lines.push(`  ${x.grade} ${c} -> ${s} ${t} ${sc}: ${x.message ?? ""}`);
          if (!x.faults) continue;
          total.cells++;
          total.cuts += x.faults.cuts;
          for (const side of [x.faults.toServer, x.faults.toClient]) {
            if (!side) continue;
            total.messages += side.expected - side.lost;
            total.lost += side.lost;
            total.duplicated += side.duplicated;
            total.outOfOrder += side.outOfOrder;
          }
        }
  if (total.cells)
    lines.push(
      `connection cuts: ${total.cells} cells, ${total.cuts} cuts, ${total.messages} numbered messages delivered; lost ${total.lost}, duplicated ${total.duplicated}, out of order ${total.outOfOrder} (seed ${matrix.seed})`,
    );
  for (const [a, why] of Object.entries(matrix.unavailable ?? {})) lines.push(`  unavailable: ${a} (${why})`);
  return lines.length ? lines.join("\n") + "\n" : "";
}

/** The whole `matrix` command. */
export async function runMatrixCommand(agents, options) {
  const { matrix, exitCode, unavailable } = await runMatrix(agents, options);
  if (!matrix) {
    for (const [a, why] of Object.entries(unavailable)) process.stderr.write(`  unavailable: ${a} (${why})\n`);
    return exitCode;
  }
  writeFileDeep(join(options.outDir, "matrix.json"), JSON.stringify(matrix, null, 2) + "\n");
  const requirements = loadRequirements();
  writeHtml(options.outDir, { index: null, coverage: null, matrix, requirements, title: "QWH/1 interop matrix" });
  // --quiet: what did not pass (UNSUPPORTED aside), then the one-line summary with the report path.
  process.stdout.write(formatMatrix(matrix, { quiet: options.quiet }));
  const cells = Object.values(matrix.results).flatMap((byServer) =>
    Object.values(byServer).flatMap((byT) => Object.values(byT).flatMap((x) => Object.values(x))),
  );
  const second = cells.filter((x) => x.attempts > 1 && x.grade === "PASS").length;
  process.stdout.write(
    `${matrix.scenarios.length} scenarios per pair and transport, ${cells.length} cells: ${Object.entries(matrix.summary)
      .filter(([, n]) => n)
      .map(([g, n]) => `${n} ${g}`)
      .join(
        ", ",
      )}${second ? ` (${second} passed on a second attempt)` : ""}; timeout scale ${matrix.timeoutScale}; report: ${join(options.outDir, "index.html")}\n`,
  );
  return exitCode;
}
