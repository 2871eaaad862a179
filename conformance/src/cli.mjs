// Command line of qwh-conformance: run, matrix, list, agents. Returns the exit code (0 all
// required cases passed, 1 a failure, 2 a harness or configuration error, 3 nothing selected).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { AGENTS, agentFromSpec, agentNameProblem, commandAgent, findAgent } from "./agents.mjs";
import { loadRequirements } from "./cases.mjs";
import { EXIT } from "./grading.mjs";
import { runMatrixCommand, selectScenarios } from "./matrix.mjs";
import { runCommand, selectCases } from "./run.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { measureScale } from "./timekeeping.mjs";
import { HarnessError, RUNNER_NAME, RUNNER_VERSION } from "./util.mjs";

async function autoScale() {
  const { scale, why } = await measureScale();
  return { scale, scaleWhy: why };
}

const USAGE = `${RUNNER_NAME} ${RUNNER_VERSION}: QWH/1 conformance runner

Usage:
  qwh-conformance run (--agent NAME ... | --cmd "ADAPTER COMMAND" [--name NAME] | --agent-cmd NAME=CMD ...) [--out DIR] [options]
  qwh-conformance matrix [--agents a,b,NAME] [--agent-cmd NAME=CMD ...] [--scenarios GLOB] [--transports plain,tls] [--out DIR] [options]
  qwh-conformance list [--cases GLOB] [--vectors-only | --wire-only]
  qwh-conformance list --matrix [--scenarios GLOB]
  qwh-conformance agents
  qwh-conformance --version

run options:
  --agent NAME         a built-in agent (repeatable, or comma-separated)
  --cmd "COMMAND"      your adapter (spec Appendix D); --name NAME names it in reports (default custom)
  --agent-cmd NAME=CMD your adapter as agent NAME (repeatable; with --agent too)
  --out DIR            where reports and logs go (default reports/<agent name>)
  --cases GLOB         only cases whose id matches (comma-separated; "frame" = frame/**; "vector/hello-v1/*")
  --vectors-only       only the golden vectors (codec mode)
  --wire-only          only the wire cases (serve and connect modes)
  --strict             NON_STRICT (a SHOULD deviation) counts as a failure
  --timeout-scale X    multiply every time limit, and the timers given to adapters, by X (default
                       auto: from the machine's load, 1 on an idle machine, at most 4)
  --case-dir DIR       read wire cases from DIR instead of the packaged cases (repeatable)
  --concurrency N      wire cases (or matrix cells) run at once (default 4)
  --quiet              no progress counts: only what did not pass, the summary and the report path

matrix options:
  --agents a,b,NAME    the agents, each as client and as server (default: every built-in agent
                       available here, and every --agent-cmd)
  --agent-cmd NAME=CMD a third party's adapter as agent NAME (repeatable); --cmd CMD [--name NAME]
                       is the same as --agent-cmd NAME=CMD (NAME default custom)
  --scenarios GLOB     only these scenarios (comma-separated; list --matrix names them)
  --transports LIST    plain, tls or both (default plain,tls)
  --seed N             the cutting proxy's seed (0..4294967295; default random, printed): the
                       connection-cut scenarios cut at the same byte counts again
  --out DIR            default reports/matrix

Exit codes: 0 every required case passed; 1 a case failed; 2 harness or configuration error
(an adapter that broke, a bad case file, a bad option); 3 nothing was selected.
Built-in agents: ${AGENTS.map((a) => a.name).join(", ")} (qwh-conformance agents: which are available here).
`;

const OPTIONS = {
  agent: { type: "string", multiple: true },
  agents: { type: "string" },
  "agent-cmd": { type: "string", multiple: true },
  matrix: { type: "boolean" },
  cmd: { type: "string" },
  name: { type: "string" },
  out: { type: "string" },
  cases: { type: "string", multiple: true },
  scenarios: { type: "string", multiple: true },
  transports: { type: "string" },
  "vectors-only": { type: "boolean" },
  "wire-only": { type: "boolean" },
  strict: { type: "boolean" },
  "timeout-scale": { type: "string" },
  "case-dir": { type: "string", multiple: true },
  concurrency: { type: "string" },
  seed: { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

/** Writes to stdout; a reader that went away (`qwh-conformance list | head`) ends the output quietly (see bin). */
function out(text) {
  process.stdout.write(text);
}

/**
 * The third party's agents of --cmd [--name] and --agent-cmd NAME=CMD (repeatable). Throws Error
 * (a usage error) for a bad or repeated name.
 */
function customAgents(v) {
  const agents = [];
  if (v.cmd !== undefined) {
    const name = v.name ?? "custom";
    const problem = agentNameProblem(name);
    if (problem) throw new Error(`--name: ${problem}`);
    agents.push(commandAgent(v.cmd, name));
    if (agents[0].unavailable()) throw new Error("--cmd: the command is empty");
  } else if (v.name !== undefined) {
    throw new Error("--name names the adapter of --cmd; with --agent-cmd the name comes before the '='");
  }
  for (const spec of v["agent-cmd"] ?? []) agents.push(agentFromSpec(spec));
  const seen = new Set();
  for (const a of agents) {
    if (seen.has(a.name)) throw new Error(`agent name ${a.name} is given twice`);
    seen.add(a.name);
  }
  return agents;
}

function usageError(message) {
  process.stderr.write(`${RUNNER_NAME}: ${message}\n\n${USAGE}`);
  return EXIT.HARNESS;
}

export async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return usageError(err.message);
  }
  const { values: v, positionals } = parsed;
  if (v.version) {
    out(`${RUNNER_VERSION}\n`);
    return EXIT.OK;
  }
  const command = positionals[0];
  if (v.help || !command) {
    process.stdout.write(USAGE);
    return command || v.help ? EXIT.OK : EXIT.HARNESS;
  }
  if (positionals.length > 1) return usageError(`unexpected argument ${positionals[1]}`);
  const given = v["timeout-scale"] ?? "auto";
  const scale = given === "auto" ? null : Number(given);
  if (scale !== null && !(scale > 0 && scale <= 100)) return usageError("--timeout-scale must be auto or a number in (0, 100]");
  const concurrency = v.concurrency === undefined ? 4 : Number(v.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) return usageError("--concurrency must be an integer in 1..64");
  if (v["vectors-only"] && v["wire-only"]) return usageError("--vectors-only and --wire-only exclude each other");
  const common = {
    cases: v.cases,
    vectorsOnly: v["vectors-only"],
    wireOnly: v["wire-only"],
    strict: Boolean(v.strict),
    scale,
    scaleWhy: "given",
    concurrency,
    quiet: Boolean(v.quiet),
    caseDirs: v["case-dir"]?.map((d) => resolve(d)),
    outDir: v.out ? resolve(v.out) : undefined,
  };
  try {
    if (scale === null && (command === "run" || command === "matrix") && !v.help) Object.assign(common, await autoScale());
    switch (command) {
      case "run": {
        let custom;
        try {
          custom = customAgents(v);
        } catch (err) {
          return usageError(err.message);
        }
        if (!v.agent && custom.length === 0) return usageError("run needs --agent NAME, --cmd COMMAND or --agent-cmd NAME=COMMAND");
        if (v.agent && v.cmd) return usageError("--agent and --cmd exclude each other (use --agent-cmd NAME=COMMAND beside --agent)");
        const agents = [...custom];
        for (const name of (v.agent ?? []).flatMap((a) => a.split(","))) {
          const agent = findAgent(name);
          if (!agent) return usageError(`unknown agent ${name} (built-in: ${AGENTS.map((a) => a.name).join(", ")})`);
          agents.push(agent);
        }
        common.outDir ??= resolve("reports", agents.map((a) => a.name).join("+"));
        mkdirSync(common.outDir, { recursive: true });
        return await runCommand(agents, common);
      }
      case "matrix": {
        let custom;
        try {
          custom = customAgents(v);
        } catch (err) {
          return usageError(err.message);
        }
        const available = [...AGENTS, ...custom];
        let agents = [...AGENTS, ...custom];
        if (v.agents) {
          agents = [];
          for (const name of v.agents.split(",").filter(Boolean)) {
            const agent = available.find((a) => a.name === name);
            if (!agent)
              return usageError(
                `unknown agent ${name} (built-in: ${AGENTS.map((a) => a.name).join(", ")}${custom.length ? `; given by --agent-cmd: ${custom.map((a) => a.name).join(", ")}` : ""})`,
              );
            agents.push(agent);
          }
          const left = custom.filter((a) => !agents.includes(a));
          if (left.length)
            return usageError(
              `--agent-cmd ${left.map((a) => a.name).join(", ")} is not in --agents ${v.agents}: add it there, or leave --agents out`,
            );
        }
        const transports = (v.transports ?? "plain,tls").split(",");
        if (transports.some((t) => t !== "plain" && t !== "tls")) return usageError("--transports is a list of plain and tls");
        const scenarios = selectScenarios(v.scenarios);
        if (scenarios.unknown.length)
          return usageError(
            `--scenarios ${scenarios.unknown.join(",")} matches no scenario; the scenarios are:\n  ${SCENARIOS.map((s) => s.name).join("\n  ")}`,
          );
        const seed = v.seed === undefined ? undefined : Number(v.seed);
        if (seed !== undefined && !(/^\d+$/.test(v.seed) && seed <= 0xffffffff))
          return usageError("--seed must be an integer in 0..4294967295");
        common.outDir ??= resolve("reports", "matrix");
        mkdirSync(common.outDir, { recursive: true });
        return await runMatrixCommand(agents, { ...common, transports, scenarios: v.scenarios, seed });
      }
      case "list": {
        if (v.matrix || v.scenarios) {
          const scenarios = selectScenarios(v.scenarios);
          if (scenarios.unknown.length) return usageError(`--scenarios ${scenarios.unknown.join(",")} matches no scenario`);
          for (const sc of scenarios.selected)
            out(`${sc.name}\t${sc.clients ?? 1} client${(sc.clients ?? 1) > 1 ? "s" : ""}\t${sc.title}\n`);
          process.stderr.write(`${scenarios.selected.length} matrix scenarios (each runs for every client x server pair and transport)\n`);
          return scenarios.selected.length ? EXIT.OK : EXIT.EMPTY;
        }
        const selection = selectCases({ ...common, caseDirs: common.caseDirs }, loadRequirements());
        const all = [...selection.vectors, ...selection.wire];
        for (const c of all) out(`${c.id}\t${c.role}\t${c.level}\t${c.requirements.join(",")}\t${c.title}\n`);
        process.stderr.write(
          `${selection.vectors.length} vectors, ${selection.wire.length} wire cases (and ${SCENARIOS.length} interop matrix scenarios: list --matrix)\n`,
        );
        return all.length ? EXIT.OK : EXIT.EMPTY;
      }
      case "agents": {
        for (const a of AGENTS) {
          const why = a.unavailable();
          process.stdout.write(`${a.name.padEnd(22)}${why ? `unavailable: ${why}` : "available"}  (${a.description})\n`);
        }
        return EXIT.OK;
      }
      default:
        return usageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof HarnessError) {
      process.stderr.write(`${RUNNER_NAME}: ${err.message}\n`);
      return EXIT.HARNESS;
    }
    process.stderr.write(`${RUNNER_NAME}: internal error: ${err?.stack ?? err}\n`);
    return EXIT.HARNESS;
  }
}
