/**
 * Real networking for fault tests: a network namespace joined to this one by a
 * veth pair, made by the test (CI runs as root) and always removed. Names are
 * unique per process and call, addresses a random /30 of 10.213.0.0/16.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const IP_TIMEOUT_MS = 10_000;

/** Runs `ip` with `args`; rejects with its stderr. */
export function ip(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("ip", args, { timeout: IP_TIMEOUT_MS }, (err, stdout, stderr) =>
      err ? reject(new Error(`ip ${args.join(" ")}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

export interface VethNetns {
  /** The namespace's name. */
  ns: string;
  /** The veth end in this namespace, and its address. */
  hostIf: string;
  hostIp: string;
  /** The veth end inside the namespace, and its address. */
  nsIf: string;
  nsIp: string;
  /** Takes the namespace's end of the link down (carrier lost on both ends). */
  cut(): Promise<void>;
  /** Brings it back up. */
  restore(): Promise<void>;
  /** Starts `script` with node inside the namespace, with an IPC channel. */
  spawnNode(script: string): ChildProcess;
  /** Deletes the namespace and the veth pair (idempotent). */
  remove(): Promise<void>;
}

let counter = 0;
const live = new Set<string>();
// A test process that dies still removes what it made.
process.once("exit", () => {
  for (const ns of live) spawnSync("ip", ["netns", "del", ns], { timeout: IP_TIMEOUT_MS });
});

/** Creates the namespace and the veth pair, both ends up, addressed. */
export async function vethNetns(): Promise<VethNetns> {
  const id = `${process.pid % 100000}x${counter++}`;
  const ns = `qwh${id}`;
  const hostIf = `qwh${id}h`;
  const nsIf = `qwh${id}n`;
  const net = `10.213.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 64) * 4}`;
  const base = net.split(".").map(Number);
  const hostIp = `${base[0]}.${base[1]}.${base[2]}.${base[3]! + 1}`;
  const nsIp = `${base[0]}.${base[1]}.${base[2]}.${base[3]! + 2}`;
  await ip("netns", "add", ns);
  live.add(ns);
  const remove = async () => {
    if (!live.delete(ns)) return;
    // Deleting the namespace deletes its veth end, and with it the pair.
    await ip("netns", "del", ns).catch(() => undefined);
    await ip("link", "del", hostIf).catch(() => undefined);
  };
  try {
    await ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    await ip("link", "set", nsIf, "netns", ns);
    await ip("addr", "add", `${hostIp}/30`, "dev", hostIf);
    await ip("link", "set", hostIf, "up");
    await ip("-n", ns, "addr", "add", `${nsIp}/30`, "dev", nsIf);
    await ip("-n", ns, "link", "set", nsIf, "up");
    await ip("-n", ns, "link", "set", "lo", "up");
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    ns,
    hostIf,
    hostIp,
    nsIf,
    nsIp,
    cut: async () => void (await ip("-n", ns, "link", "set", nsIf, "down")),
    restore: async () => void (await ip("-n", ns, "link", "set", nsIf, "up")),
    spawnNode: (script) => spawn("ip", ["netns", "exec", ns, process.execPath, script], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    remove,
  };
}

/** The server script of the fault tests (runs the built package inside a namespace). */
export const NETNS_SERVER = fileURLToPath(new URL("./netns-server.mjs", import.meta.url));
