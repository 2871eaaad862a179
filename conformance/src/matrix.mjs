// `qwh-conformance matrix`: every available registered client against every available server,
// over plain TCP and TLS, one cell per interop scenario. Servers are adapters in `serve` mode,
// long-lived (one per server agent, transport and config) except where a scenario needs its own;
// clients are adapters in `connect` mode. Cells run with bounded concurrency.
import { join } from "node:path";
import { Clients, probeUnsupported, startServer } from "./adapter-process.mjs";
import { loadRequirements } from "./cases.mjs";
import { countGrades, EXIT } from "./grading.mjs";
import { Progress } from "./progress.mjs";
import { writeHtml } from "./reporters/html.mjs";
import { certificates } from "./run.mjs";
import { SCENARIOS } from "./scenarios.mjs";
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

/** One cell: runs the scenario's client(s) against a server. Resolves {grade, message, log}. */
async function runCell({ clientAgent, serverAgent, transport, scenario, tls, scale, servers, clients }) {
  const log = [];
  const t0 = performance.now();
  const note = (s) => log.push(`${(performance.now() - t0).toFixed(1).padStart(8)} ${s}`);
  const useTls = transport === "tls" ? tls : undefined;
  // The timers given to both adapters scale with the run (heartbeats, hold times, deadlines).
  const serverConfig = scaleConfig(scenario.server, scale);
  let server = null;
  let own = false;
  try {
    if (scenario.dedicated) {
      own = true;
      server = await startServerRetry(serverAgent, { config: serverConfig, tls: useTls, readyTimeoutMs: 10000 * scale });
    } else {
      server = await servers.get(serverAgent, transport, serverConfig, useTls);
    }
    if (server.unsupported)
      return { grade: "UNSUPPORTED", message: `${serverAgent.name} serve exited 127 for ${JSON.stringify(scenario.server)}`, log };
    note(`server ${serverAgent.name} on port ${server.port} (${transport}) config ${JSON.stringify(serverConfig)}`);
    const eventsBefore = server.events.length;
    const count = scenario.clients ?? 1;
    const timeoutMs = Math.round(((scenario.config.timeoutMs ?? 10000) + 10000) * scale);
    const onEvent = scenario.restart
      ? async (e) => {
          if (e.event !== "checkpoint") return;
          note(`client checkpoint: restarting the server on port ${server.port}`);
          const port = server.port;
          await server.stop();
          server = await startServerRetry(serverAgent, { port, config: serverConfig, tls: useTls, readyTimeoutMs: 10000 * scale });
          note(`server restarted on port ${server.port}`);
        }
      : undefined;
    const config = scaleConfig({ ...scenario.config, timeoutMs: scenario.config.timeoutMs ?? 10000 }, scale);
    note(`client ${clientAgent.name}: connect --scenario ${scenario.client} --config ${JSON.stringify(config)} (x${count})`);
    const runs = await Promise.all(
      Array.from({ length: count }, () =>
        clients.run({ port: server.port, scenario: scenario.client, config, tls: useTls, timeoutMs, onEvent }),
      ),
    );
    for (const [i, r] of runs.entries()) {
      note(`client ${i + 1} result: ${JSON.stringify(r.result ?? null).slice(0, 4000)}`);
      if (r.stderr?.trim()) note(`client ${i + 1} stderr: ${r.stderr.trim().slice(-1500)}`);
    }
    if (runs.some((r) => r.unsupported))
      return { grade: "UNSUPPORTED", message: `${clientAgent.name} connect exited 127 for scenario ${scenario.client}`, log };
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
  { outDir, scale = 1, scaleWhy = "given", concurrency = 4, transports = TRANSPORTS, scenarios: globs, quiet } = {},
) {
  const progress = new Progress({ quiet });
  progress.say(`timeout scale ${scale} (${scaleWhy})`);
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
  const tls = transports.includes("tls") ? certificates(join(outDir, "certs")) : null;
  const cells = [];
  for (const c of available)
    for (const s of available)
      for (const t of transports) for (const sc of scenarios) cells.push({ clientAgent: c, serverAgent: s, transport: t, scenario: sc });
  const servers = new SharedServers(scale);
  const clients = new Map(available.map((a) => [a.name, new Clients(a)]));
  const results = {};
  progress.start(cells.length, "matrix");
  try {
    // Dedicated-server and multi-client cells last, so the shared servers warm up first.
    const order = [...cells].sort((a, b) => Number(Boolean(a.scenario.dedicated)) - Number(Boolean(b.scenario.dedicated)));
    const attempt = async (cell) => {
      const t0 = performance.now();
      const r = await runCell({ ...cell, tls, scale, servers, clients: clients.get(cell.clientAgent.name) });
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
  const own = new Set(available.filter((a) => a.own).map((a) => a.name));
  const failed = cells.some((c) => {
    const g = results[c.clientAgent.name][c.serverAgent.name][c.transport][c.scenario.name].grade;
    return g === "FAIL" || g === "NON_STRICT" || (g === "UNSUPPORTED" && own.has(c.clientAgent.name) && own.has(c.serverAgent.name));
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
  for (const [c, byServer] of Object.entries(matrix.results))
    for (const [s, byT] of Object.entries(byServer))
      for (const [t, cells] of Object.entries(byT))
        for (const [sc, x] of Object.entries(cells)) {
          if (x.grade !== "PASS" && !(quiet && x.grade === "UNSUPPORTED"))
            lines.push(`  ${x.grade} ${c} -> ${s} ${t} ${sc}: ${x.message ?? ""}`);
        }
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
