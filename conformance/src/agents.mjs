// The registry of implementations the runner knows by name. Adding one is one entry: its name,
// what it is, how to start its adapter, and how to tell whether it is built on this machine.
// An agent whose adapter is not built is reported as unavailable, never as failed.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageDir, repoDir } from "./util.mjs";

const node = process.execPath;
const nativeAdapter = join(packageDir, "adapters/native/adapter.mjs");
const nativeCli = process.env.QWH_NATIVE_CLI ?? join(repoDir, "impl-native/build/qwh-cli");

/**
 * @typedef {object} Agent
 * @property {string} name
 * @property {string} description
 * @property {boolean} own  one of our implementations: UNSUPPORTED counts as a failure in the matrix (decision 7)
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
    unavailable: () =>
      existsSync(join(repoDir, "impl-ts/dist/index.js")) && existsSync(join(repoDir, "impl-ts/dist/testing/codec-operations.js"))
        ? null
        : "impl-ts is not built (run npm run build)",
  },
  {
    name: "native-lws",
    description: "native addon, libwebsockets backend, through its Node adapter",
    own: true,
    command: () => [node, nativeAdapter, "--backend", "lws"],
    unavailable: () => (existsSync(nativeAdapter) ? null : "conformance/adapters/native/adapter.mjs is not there yet"),
  },
  {
    name: "native-libsocket",
    description: "native addon, POSIX socket backend, through its Node adapter",
    own: true,
    command: () => [node, nativeAdapter, "--backend", "libsocket"],
    unavailable: () => (existsSync(nativeAdapter) ? null : "conformance/adapters/native/adapter.mjs is not there yet"),
  },
  {
    name: "native-lws-cli",
    description: "standalone C program, libwebsockets backend",
    own: true,
    command: () => [nativeCli, "--backend", "lws"],
    unavailable: () => (existsSync(nativeCli) ? null : `${nativeCli} is not built`),
  },
  {
    name: "native-libsocket-cli",
    description: "standalone C program, POSIX socket backend",
    own: true,
    command: () => [nativeCli, "--backend", "libsocket"],
    unavailable: () => (existsSync(nativeCli) ? null : `${nativeCli} is not built`),
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
