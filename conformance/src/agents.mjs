// The registry of implementations the runner knows by name. Adding one is one entry: its name,
// what it is, how to start its adapter, and how to tell whether it is built on this machine.
// An agent whose adapter is not built is reported as unavailable, never as failed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageDir, repoDir } from "./util.mjs";

const node = process.execPath;
/** The Node adapter of the native addons: the ts adapter with the factory forced to one native mode. */
const nativeAdapter = join(packageDir, "adapters/native-node/adapter.mjs");
/** The standalone C program (impl-native `make`), speaking the adapter contract itself. */
const nativeCli = process.env.QWH_NATIVE_CLI ?? join(repoDir, "impl-native/build/qwh-native");
const tsBuilt = () =>
  existsSync(join(repoDir, "impl-ts/dist/index.js")) && existsSync(join(repoDir, "impl-ts/dist/testing/codec-operations.js")) ? null : "impl-ts is not built (run npm run build)";

const memo = new Map();
/** Runs a check once per process (agents are listed several times per command). */
function once(key, fn) {
  if (!memo.has(key)) memo.set(key, fn());
  return memo.get(key);
}

/**
 * Whether impl-native's loader finds the addon of a backend ("posix" or "lws"): null, or why not
 * (the loader's own reasons: QWORMHOLE_NATIVE_PATH, prebuilds, build/Release).
 */
function addonProblem(addon) {
  return once(`addon:${addon}`, () => {
    const index = join(repoDir, "impl-native/index.cjs");
    if (!existsSync(index)) return "impl-native/index.cjs is not there";
    const r = spawnSync(node, ["-e", `const r = require(${JSON.stringify(index)}).load(${JSON.stringify(addon)}); process.stdout.write(r.error ? r.error : "")`], { encoding: "utf8", timeout: 10000 });
    if (r.status !== 0) return `loading the ${addon} addon failed: ${(r.stderr || r.error?.message || "").trim().split("\n")[0]}`;
    return r.stdout.trim() ? `the ${addon} addon is not built (${r.stdout.trim().slice(0, 300)}; run npm run build -w @qwormhole/native)` : null;
  });
}

/**
 * Whether the C CLI exists and serves a backend: `qwh-native --backend B codec` with stdin closed
 * must exit 0 (a backend it does not have exits 127, with the reason on stderr).
 */
function cliProblem(backend) {
  return once(`cli:${backend}`, () => {
    if (!existsSync(nativeCli)) return `${nativeCli} is not built (run make -C impl-native)`;
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
 * @property {boolean} own  one of our implementations: UNSUPPORTED counts as a failure in the matrix
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
    unavailable: tsBuilt,
  },
  {
    name: "native-lws",
    description: "qwormhole with the native libwebsockets addon (factory mode native-lws), through the Node adapter",
    own: true,
    command: () => [node, nativeAdapter, "--backend", "lws"],
    unavailable: () => tsBuilt() ?? (existsSync(nativeAdapter) ? addonProblem("lws") : `${nativeAdapter} is not there`),
  },
  {
    name: "native-libsocket",
    description: "qwormhole with the native POSIX socket addon (factory mode native-libsocket), through the Node adapter",
    own: true,
    command: () => [node, nativeAdapter, "--backend", "libsocket"],
    unavailable: () => tsBuilt() ?? (existsSync(nativeAdapter) ? addonProblem("posix") : `${nativeAdapter} is not there`),
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
  return { name, description: `adapter command: ${cmd}`, own: false, command: () => argv, unavailable: () => (argv.length ? null : "empty --cmd") };
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
