// `qwh-conformance run`: every selected golden vector in codec mode and every selected wire case
// against one agent, with logs and reports written to the output directory.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { adapterInfo, Clients, CodecSession, probeUnsupported, startServer } from "./adapter-process.mjs";
import { loadRequirements, loadWireCases } from "./cases.mjs";
import { countGrades, exitCodeFor, EXIT } from "./grading.mjs";
import { Progress } from "./progress.mjs";
import { buildCoverage, loadWaivers, writeCoverage } from "./reporters/coverage.mjs";
import { writeHtml } from "./reporters/html.mjs";
import { buildIndex, writeIndex } from "./reporters/index-json.mjs";
import { writeJunit } from "./reporters/junit.mjs";
import { generateCertificates } from "./tls-certs.mjs";
import { caseFileName, caseMatcher, HarnessError, mapLimit, writeFileDeep } from "./util.mjs";
import { loadVectorCases, runVectorCase } from "./vectors.mjs";
import { runWireCase } from "./wire-engine.mjs";

/** Config members that make a server's state matter to the next case: such cases get a server of their own. */
const STATEFUL = ["maxClients", "maxPendingHandshakes", "requireSignature", "maxBackpressureBytes", "replayCacheMaxEntries"];

function stableKey(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableKey).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableKey(value[k])}`)
    .join(",")}}`;
}

/** Long-lived `serve` processes, one per distinct config and transport, restarted if they die. */
class ServerPool {
  constructor(agent, tls, scale) {
    this.agent = agent;
    this.tls = tls;
    this.scale = scale;
    this.shared = new Map();
    this.all = new Set();
  }

  async get(config, useTls, fresh) {
    const key = `${useTls ? "tls" : "plain"} ${stableKey(config)}`;
    if (!fresh) {
      const hit = this.shared.get(key);
      if (hit) {
        const s = await hit;
        if (s.unsupported || s.alive()) return s;
      }
    }
    const p = startServer(this.agent, { config, tls: useTls ? this.tls : undefined, readyTimeoutMs: Math.round(10000 * this.scale) }).then(
      (s) => {
        if (!s.unsupported) this.all.add(s);
        return s;
      },
    );
    if (!fresh) this.shared.set(key, p);
    try {
      return await p;
    } catch (err) {
      this.shared.delete(key);
      throw err;
    }
  }

  async release(server, fresh) {
    if (fresh && !server.unsupported) {
      this.all.delete(server);
      await server.stop();
    }
  }

  async stopAll() {
    await Promise.all([...this.all].map((s) => s.stop()));
    this.all.clear();
    this.shared.clear();
  }
}

/** Loads certificates (generated with openssl into dir) with their PEM contents. */
export function certificates(dir) {
  const paths = generateCertificates(dir);
  return { ...paths, caPem: readFileSync(paths.ca), certPem: readFileSync(paths.cert), keyPem: readFileSync(paths.key) };
}

/**
 * Selects the cases of a run. options: {cases (globs), vectorsOnly, wireOnly, caseDirs}.
 * Returns {vectors, wire, all} (all = every case of the suite, for coverage).
 */
export function selectCases(options, requirements) {
  const match = caseMatcher(options.cases);
  const allVectors = loadVectorCases();
  const allWire = loadWireCases(options.caseDirs, requirements);
  return {
    vectors: options.wireOnly ? [] : allVectors.filter((c) => match(c.id)),
    wire: options.vectorsOnly ? [] : allWire.filter((c) => match(c.id)),
    all: [...allVectors, ...allWire],
  };
}

/**
 * Runs the selection against one agent. Resolves {results, fatal} where fatal is a harness
 * problem with the adapter as a whole (the 127 probe failed).
 */
export async function runAgent(agent, selection, options) {
  const { outDir, scale = 1, progress = new Progress({ quiet: true }), concurrency = 4 } = options;
  const probe = await probeUnsupported(agent, Math.round(10000 * scale));
  if (!probe.ok) return { results: [], fatal: `adapter ${agent.name}: the probe with an unknown mode must exit 127 (${probe.detail})` };
  const info = await adapterInfo(agent, Math.round(10000 * scale));
  const features = info?.features ?? null;
  const results = [];
  const total = selection.vectors.length + selection.wire.length;
  progress.start(total, agent.name);

  if (selection.vectors.length > 0) {
    const session = new CodecSession(agent, { requestTimeoutMs: Math.round(10000 * scale) });
    try {
      await Promise.all(
        selection.vectors.map(async (c) => {
          const t0 = performance.now();
          const r = await runVectorCase(session, c);
          const result = {
            id: c.id,
            grade: r.grade,
            durationMs: performance.now() - t0,
            requirements: c.requirements,
            role: "codec",
            level: c.level,
            message: r.message,
            title: c.title,
            wireLog: null,
          };
          if (r.grade !== "PASS" && outDir) {
            result.wireLog = `codec/${agent.name}/${caseFileName(c.id)}.log`;
            writeFileDeep(
              join(outDir, result.wireLog),
              `${c.id}: ${c.title}\nrequirements: ${c.requirements.join(" ")}\n${r.log.join("\n")}\n`,
            );
          }
          results.push(result);
          progress.tick(c.id, r.grade, r.message);
        }),
      );
    } finally {
      await session.close();
    }
  }

  if (selection.wire.length > 0) {
    const needTls = selection.wire.some((c) => c.transport === "tls");
    const tls = needTls ? certificates(join(outDir ?? options.tmpDir, "certs")) : null;
    const pool = new ServerPool(agent, tls, scale);
    const clients = new Clients(agent);
    const attempt = (c, n) => runWireAttempt(c, n, { agent, scale, features, tls, pool, clients });
    const finish = (c, attempts) => {
      const result = wireResult(c, attempts);
      if (outDir) {
        result.wireLog = `wire/${agent.name}/${caseFileName(c.id)}.log`;
        writeFileDeep(join(outDir, result.wireLog), wireLogText(c, result, attempts));
      }
      results.push(result);
      progress.tick(c.id, result.grade, result.message);
    };
    try {
      // First every case once; then, one at a time (the runner's own load is what made them
      // late), the cases whose evidence is not trusted.
      const again = [];
      await mapLimit(selection.wire, concurrency, async (c) => {
        const first = await attempt(c, 1);
        if (retryWanted(first, 1)) again.push([c, [first]]);
        else finish(c, [first]);
      });
      for (const [c, attempts] of again) {
        while (retryWanted(attempts.at(-1), attempts.length)) attempts.push(await attempt(c, attempts.length + 1));
        finish(c, attempts);
      }
    } finally {
      await Promise.all([pool.stopAll(), clients.close()]);
    }
  }
  progress.end();
  const order = new Map([...selection.vectors, ...selection.wire].map((c, i) => [c.id, i]));
  results.sort((a, b) => order.get(a.id) - order.get(b.id));
  return { results, fatal: null };
}

/** A failed case's evidence is not trusted when the runner itself was later than the case allows. */
const runnerWasLate = (r) => (r.grade === "FAIL" || r.grade === "NON_STRICT") && r.late > r.slackMs;

/** Whether to run a case again after `n` attempts: a late runner up to three attempts, a harness error two. */
function retryWanted(r, n) {
  if (runnerWasLate(r)) return n < MAX_ATTEMPTS;
  return r.grade === "ERROR" && n < 2;
}
const MAX_ATTEMPTS = 3;

/** One attempt at a wire case: {grade, closeBehavior, message, late, slackMs, lines, durationMs}. */
async function runWireAttempt(c, n, { agent, scale, features, tls, pool, clients }) {
  const lines = [];
  const t0 = performance.now();
  const log = (line) => lines.push(`${(performance.now() - t0).toFixed(1).padStart(8)} ${line}`);
  const multi = c.steps.some((s) => s.conn && s.conn !== "a");
  // expectServerEvent reads the server's event lines: they must be this case's alone.
  const fresh =
    multi ||
    c.config?.scenario === "broadcast" ||
    STATEFUL.some((k) => c.config?.[k] !== undefined) ||
    c.steps.some((s) => s.expectServerEvent);
  let used = null;
  let r;
  try {
    r = await runWireCase(c, {
      agent,
      scale,
      features,
      tls,
      log,
      clients,
      attempt: n,
      server: async (config, useTls) => {
        used = await pool.get(config, useTls, fresh);
        return used;
      },
    });
  } catch (err) {
    log(`# harness error: ${err.message}`);
    r = { grade: "ERROR", closeBehavior: null, message: err.message };
  } finally {
    if (used) await pool.release(used, fresh);
  }
  return { ...r, lines, durationMs: performance.now() - t0 };
}

/** The graded result of a case from its attempts (the last one decides). */
function wireResult(c, attempts) {
  const last = attempts.at(-1);
  let { grade, message, closeBehavior } = last;
  if (runnerWasLate(last)) {
    grade = "ERROR";
    closeBehavior = null;
    message = `runner late by ${last.late} ms (the case allows ${last.slackMs} ms) on ${attempts.length} attempts: not graded (last attempt: ${last.grade} ${last.message})`;
  }
  const result = {
    id: c.id,
    grade,
    closeBehavior: closeBehavior ?? undefined,
    closeGrade: closeGradeOf(closeBehavior, grade),
    durationMs: attempts.reduce((t, a) => t + a.durationMs, 0),
    requirements: c.requirements,
    role: c.role,
    level: c.level,
    message,
    title: c.title,
    wireLog: null,
  };
  if (attempts.length > 1) result.attempts = attempts.length;
  return result;
}

function wireLogText(c, result, attempts) {
  const head = `${c.id}: ${c.title}\nrole: ${c.role} (the runner plays the ${c.role === "server" ? "client" : "server"}), level ${c.level}, requirements: ${c.requirements.join(" ")}\nconfig: ${JSON.stringify(c.config ?? {})}\ngrade: ${result.grade}${result.message ? ` (${result.message})` : ""}\n`;
  if (attempts.length === 1) return `${head}\n${attempts[0].lines.join("\n")}\n`;
  const parts = attempts.map((a, i) => {
    const verdict = runnerWasLate(a)
      ? `${a.grade}, not graded: the runner was late by ${a.late} ms (the case allows ${a.slackMs} ms)`
      : `${a.grade}${a.message ? ` (${a.message})` : ""}`;
    return `=== attempt ${i + 1}: ${verdict}\n${a.lines.join("\n")}`;
  });
  return `${head}\n${parts.join("\n\n")}\n`;
}

function closeGradeOf(behavior, grade) {
  if (!behavior) return null;
  if (behavior === "OK") return "PASS";
  if (behavior === "UNCLEAN" && grade === "NON_STRICT") return "NON_STRICT";
  return "FAIL";
}

/** Writes index.json, junit.xml, coverage.json and index.html for a finished run. */
export function writeReports(
  outDir,
  { resultsByAgent, selection, strict, unavailable = {}, matrix = null, requirements, timeoutScale = 1 },
) {
  const index = buildIndex(resultsByAgent, { strict, unavailable, timeoutScale });
  writeIndex(outDir, index);
  writeJunit(outDir, resultsByAgent, { strict });
  const coverage = buildCoverage(requirements, selection.all, resultsByAgent, loadWaivers());
  writeCoverage(outDir, coverage);
  const caseInfo = new Map(selection.all.map((c) => [c.id, { title: c.title }]));
  writeHtml(outDir, { index, coverage, matrix, caseInfo, requirements });
  return { index, coverage };
}

/** The whole `run` command. Returns the exit code. */
export async function runCommand(agents, options) {
  const requirements = loadRequirements();
  const selection = selectCases(options, requirements);
  const progress = new Progress({ quiet: options.quiet });
  progress.say(`timeout scale ${options.scale ?? 1} (${options.scaleWhy ?? "given"})`);
  if (selection.vectors.length + selection.wire.length === 0) {
    progress.say(
      `nothing selected${options.cases?.length ? ` by --cases ${options.cases.join(",")}` : ""}: no vector and no wire case to run`,
    );
    return EXIT.EMPTY;
  }
  const resultsByAgent = {};
  const unavailable = {};
  let fatal = null;
  for (const agent of agents) {
    const why = agent.unavailable();
    if (why) {
      unavailable[agent.name] = why;
      progress.say(`${agent.name}: unavailable (${why})`);
      continue;
    }
    const r = await runAgent(agent, selection, { ...options, progress });
    if (r.fatal) {
      fatal = r.fatal;
      process.stderr.write(`qwh-conformance: ${r.fatal}\n`);
      continue;
    }
    resultsByAgent[agent.name] = r.results;
  }
  if (options.outDir)
    writeReports(options.outDir, {
      resultsByAgent,
      selection,
      strict: options.strict,
      unavailable,
      requirements,
      timeoutScale: options.scale ?? 1,
    });
  for (const [agent, results] of Object.entries(resultsByAgent)) {
    const counts = countGrades(results);
    const vectors = results.filter((r) => r.role === "codec").length;
    progress.say(
      `${agent}: ${results.length} cases (${vectors} vectors, ${results.length - vectors} wire): ${Object.entries(counts)
        .filter(([, k]) => k)
        .map(([g, k]) => `${k} ${g}`)
        .join(", ")}`,
    );
  }
  if (options.outDir) progress.say(`reports in ${options.outDir} (index.html, index.json, junit.xml, coverage.json)`);
  if (fatal) return EXIT.HARNESS;
  if (Object.keys(resultsByAgent).length === 0) {
    // Only unavailable agents: nothing ran, nothing failed.
    return EXIT.EMPTY;
  }
  return exitCodeFor(Object.values(resultsByAgent).flat(), { strict: options.strict });
}

export { HarnessError };
