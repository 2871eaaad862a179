// Command line of qwh-conformance: run, matrix, list, agents. Returns the exit code (0 all
// required cases passed, 1 a failure, 2 a harness or configuration error, 3 nothing selected).
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { AGENTS, commandAgent, findAgent } from "./agents.mjs";
import { loadRequirements } from "./cases.mjs";
import { EXIT } from "./grading.mjs";
import { runMatrixCommand } from "./matrix.mjs";
import { runCommand, selectCases } from "./run.mjs";
import { measureScale } from "./timekeeping.mjs";
import { HarnessError, RUNNER_NAME, RUNNER_VERSION } from "./util.mjs";

async function autoScale() {
  const { scale, why } = await measureScale();
  return { scale, scaleWhy: why };
}

const USAGE = `${RUNNER_NAME} ${RUNNER_VERSION}: QWH/1 conformance runner

Usage:
  qwh-conformance run (--agent NAME ... | --cmd "ADAPTER COMMAND" [--name NAME]) --out DIR [options]
  qwh-conformance matrix --out DIR [--agents a,b] [--scenarios GLOB] [--transports plain,tls] [options]
  qwh-conformance list [--cases GLOB] [--vectors-only | --wire-only]
  qwh-conformance agents

run options:
  --cases GLOB         only cases whose id matches (comma-separated; "frame" = frame/**; "vector/hello-v1/*")
  --vectors-only       only the golden vectors (codec mode)
  --wire-only          only the wire cases (serve and connect modes)
  --strict             NON_STRICT (a SHOULD deviation) counts as a failure
  --timeout-scale X    multiply every time limit, and the timers given to adapters, by X (default
                       auto: from the machine's load, 1 on an idle machine, at most 4)
  --case-dir DIR       read wire cases from DIR instead of conformance/cases (repeatable)
  --concurrency N      wire cases (or matrix cells) run at once (default 4)
  --quiet              no progress output

Exit codes: 0 every required case passed; 1 a case failed; 2 harness or configuration error
(an adapter that broke, a bad case file, a bad option); 3 nothing was selected.
Registered agents: ${AGENTS.map((a) => a.name).join(", ")}.
`;

const OPTIONS = {
  agent: { type: "string", multiple: true },
  agents: { type: "string" },
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
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

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
    process.stdout.write(`${RUNNER_VERSION}\n`);
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
    if (scale === null && (command === "run" || command === "matrix")) Object.assign(common, await autoScale());
    switch (command) {
      case "run": {
        if (!v.out) return usageError("run needs --out DIR");
        if (!v.agent && !v.cmd) return usageError("run needs --agent NAME or --cmd COMMAND");
        if (v.agent && v.cmd) return usageError("--agent and --cmd exclude each other");
        const agents = [];
        if (v.cmd) agents.push(commandAgent(v.cmd, v.name ?? "custom"));
        for (const name of (v.agent ?? []).flatMap((a) => a.split(","))) {
          const agent = findAgent(name);
          if (!agent) return usageError(`unknown agent ${name} (registered: ${AGENTS.map((a) => a.name).join(", ")})`);
          agents.push(agent);
        }
        mkdirSync(common.outDir, { recursive: true });
        return await runCommand(agents, common);
      }
      case "matrix": {
        if (!v.out) return usageError("matrix needs --out DIR");
        let agents = AGENTS;
        if (v.agents) {
          agents = [];
          for (const name of v.agents.split(",")) {
            const agent = findAgent(name);
            if (!agent) return usageError(`unknown agent ${name}`);
            agents.push(agent);
          }
        }
        const transports = (v.transports ?? "plain,tls").split(",");
        if (transports.some((t) => t !== "plain" && t !== "tls")) return usageError("--transports is a list of plain and tls");
        mkdirSync(common.outDir, { recursive: true });
        return await runMatrixCommand(agents, { ...common, transports, scenarios: v.scenarios });
      }
      case "list": {
        const selection = selectCases({ ...common, caseDirs: common.caseDirs }, loadRequirements());
        const all = [...selection.vectors, ...selection.wire];
        for (const c of all) process.stdout.write(`${c.id}\t${c.role}\t${c.level}\t${c.requirements.join(",")}\t${c.title}\n`);
        process.stderr.write(`${selection.vectors.length} vectors, ${selection.wire.length} wire cases\n`);
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
