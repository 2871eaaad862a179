// The registry of implementations the runner knows by name. Adding one is one entry: its name,
// what it is, how to start its adapter, and how to tell whether it is built on this machine.
// An agent whose adapter is not built is reported as unavailable, never as failed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { packageDir, repoDir } from "./util.mjs";

const node = process.execPath;
/** The Node adapter of the native addons: the ts adapter with the factory forced to one native mode. */
const nativeAdapter = join(packageDir, "adapters/native-node/adapter.mjs");
/** The standalone C program (impl-native `make` in a clone; not in any package), speaking the adapter contract itself. */
const nativeCli = process.env.QWH_NATIVE_CLI ?? join(repoDir, "impl-native/build/qwh-native");

const memo = new Map();
/** Runs a check once per process (agents are listed several times per command). */
function once(key, fn) {
  if (!memo.has(key)) memo.set(key, fn());
  return memo.get(key);
}

/**
 * Where a module resolves from `from` (a file): {file} or {problem}. An `exports` target that is
 * not on disk (a workspace that was not built) is a problem too.
 */
function resolveFrom(from, specifier) {
  try {
    const file = createRequire(from).resolve(specifier);
    return existsSync(file) ? { file } : { problem: `${specifier} resolves to ${file}, which is not there` };
  } catch (err) {
    return {
      problem:
        err.code === "MODULE_NOT_FOUND" ? `${specifier} is not installed` : `${specifier} does not resolve (${err.message.split("\n")[0]})`,
    };
  }
}

/**
 * The qwormhole package the ts adapter loads (a dependency of @qwormhole/conformance, resolved the
 * way the adapter's own import resolves it): {file} (its CommonJS entry) or {problem}.
 */
function qwormhole() {
  return once("qwormhole", () => {
    const from = join(packageDir, "adapters/ts/adapter.mjs");
    for (const specifier of ["qwormhole", "qwormhole/testing"]) {
      const r = resolveFrom(from, specifier);
      if (r.problem)
        return {
          problem: `the package qwormhole is needed (a dependency of @qwormhole/conformance: npm install qwormhole; in a clone: npm run build): ${r.problem}`,
        };
    }
    return resolveFrom(from, "qwormhole");
  });
}
const tsProblem = () => qwormhole().problem ?? null;

/**
 * Whether the addon of a backend ("posix" or "lws") loads through @qwormhole/native as qwormhole
 * finds it (resolved from the installed qwormhole): null, or why not (the loader's own reasons:
 * QWORMHOLE_NATIVE_PATH, source build, prebuild).
 */
function addonProblem(addon) {
  return once(`addon:${addon}`, () => {
    const q = qwormhole();
    if (q.problem) return q.problem;
    const native = resolveFrom(q.file, "@qwormhole/native");
    if (native.problem)
      return `the package @qwormhole/native is needed beside qwormhole (npm install @qwormhole/native): ${native.problem}`;
    const r = spawnSync(
      node,
      [
        "-e",
        `const r = require(${JSON.stringify(native.file)}).load(${JSON.stringify(addon)}); process.stdout.write(r.error ? r.error : "")`,
      ],
      { encoding: "utf8", timeout: 20000 },
    );
    if (r.status !== 0)
      return `loading the ${addon} addon of ${native.file} failed: ${(r.stderr || r.error?.message || "").trim().split("\n")[0]}`;
    return r.stdout.trim() ? `the ${addon} addon of @qwormhole/native does not load (${r.stdout.trim().slice(0, 300)})` : null;
  });
}

/**
 * Whether the C CLI exists and serves a backend: `qwh-native --backend B codec` with stdin closed
 * must exit 0 (a backend it does not have exits 127, with the reason on stderr).
 */
function cliProblem(backend) {
  return once(`cli:${backend}`, () => {
    if (!existsSync(nativeCli))
      return `${nativeCli} is not there: the C program is not in any package (build it in a clone with make -C impl-native, or set QWH_NATIVE_CLI)`;
    const r = spawnSync(nativeCli, ["--backend", backend, "codec"], { input: "", encoding: "utf8", timeout: 10000 });
    if (r.status === 0) return null;
    const why = (r.stderr || r.error?.message || "").trim().split("\n")[0];
    return `${nativeCli} --backend ${backend} is not usable (exit ${r.status ?? r.signal}${why ? `: ${why}` : ""})`;
  });
}

/**
 * @typedef {object} Agent
 * @property {string} name
 * @property {string} description
 * @property {boolean} own  one of the project's implementations: UNSUPPORTED counts as a failure in the matrix
 * @property {() => string[]} command  argv of the adapter (the mode follows)
 * @property {() => string | null} unavailable  why it cannot run here, or null
 */

/** @type {Agent[]} */
export const AGENTS = [
  {
    name: "ts",
    description: "TypeScript reference (qwormhole, impl-ts)",
    own: true,
    command: () => [node, join(packageDir, "adapters/ts/adapter.mjs")],
    unavailable: tsProblem,
  },
  {
    name: "native-lws",
    description: "qwormhole with the native libwebsockets addon (factory mode native-lws), through the Node adapter",
    own: true,
    command: () => [node, nativeAdapter, "--backend", "lws"],
    unavailable: () => tsProblem() ?? (existsSync(nativeAdapter) ? addonProblem("lws") : `${nativeAdapter} is not there`),
  },
  {
    name: "native-libsocket",
    description: "qwormhole with the native POSIX socket addon (factory mode native-libsocket), through the Node adapter",
    own: true,
    command: () => [node, nativeAdapter, "--backend", "libsocket"],
    unavailable: () => tsProblem() ?? (existsSync(nativeAdapter) ? addonProblem("posix") : `${nativeAdapter} is not there`),
  },
  {
    name: "native-lws-cli",
    description: "standalone C program qwh-native, libwebsockets backend",
    own: true,
    command: () => [nativeCli, "--backend", "lws"],
    unavailable: () => cliProblem("lws"),
  },
  {
    name: "native-libsocket-cli",
    description: "standalone C program qwh-native, POSIX socket backend",
    own: true,
    command: () => [nativeCli, "--backend", "posix"],
    unavailable: () => cliProblem("posix"),
  },
];

/** The registered agent called `name`, or undefined. */
export function findAgent(name) {
  return AGENTS.find((a) => a.name === name);
}

/** An agent for a third party's adapter command (`--cmd`), split like a shell would for simple quoting. */
export function commandAgent(cmd, name = "custom") {
  const argv = splitCommand(cmd);
  return {
    name,
    description: `adapter command: ${cmd}`,
    own: false,
    command: () => argv,
    unavailable: () => (argv.length ? null : "empty --cmd"),
  };
}

/** Agent names: letters, digits, ".", "_" and "-" (they become directory names in reports). */
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why `name` cannot name a third party's agent, or null. */
export function agentNameProblem(name) {
  if (!AGENT_NAME.test(name)) return `agent name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-" (at most 64)`;
  if (findAgent(name)) return `agent name ${name} is a built-in agent`;
  return null;
}

/** `--agent-cmd NAME=CMD`: a third party's adapter as the agent NAME. Throws Error with what is wrong. */
export function agentFromSpec(spec) {
  const at = spec.indexOf("=");
  if (at <= 0) throw new Error(`--agent-cmd ${JSON.stringify(spec)}: expected NAME=COMMAND`);
  const name = spec.slice(0, at).trim();
  const problem = agentNameProblem(name);
  if (problem) throw new Error(`--agent-cmd: ${problem}`);
  const agent = commandAgent(spec.slice(at + 1), name);
  if (agent.unavailable()) throw new Error(`--agent-cmd ${name}: the command is empty`);
  return agent;
}

/** Splits a command line on spaces, honouring single and double quotes and backslash escapes. */
export function splitCommand(cmd) {
  const out = [];
  let cur = "";
  let quote = null;
  let any = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < cmd.length) cur += cmd[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      any = true;
    } else if (c === "\\" && i + 1 < cmd.length) {
      cur += cmd[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = "";
      any = false;
    } else cur += c;
  }
  if (quote) throw new Error(`unbalanced quote in command: ${cmd}`);
  if (cur || any) out.push(cur);
  return out;
}
