// The machine a run measured: CPUs, model, Node, OS, memory; the commit when git is there.
import os from "node:os";
import { execFileSync } from "node:child_process";

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: (cpus[0]?.model ?? "unknown").trim(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memoryBytes: os.totalmem(),
  };
}

export function gitCommit(cwd) {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

export function gitDirty(cwd) {
  try {
    return (
      execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 })
        .toString()
        .trim().length > 0
    );
  } catch {
    return false;
  }
}
