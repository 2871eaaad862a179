// Shared by the runner's tests: run the bin with plain Node (outside vitest's workers), read outputs.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validate } from "@qwormhole/schemas";

export const conformanceDir = join(import.meta.dirname, "..");
export const bin = join(conformanceDir, "bin/qwh-conformance.mjs");
export const fixtures = join(import.meta.dirname, "fixtures");

/** Runs qwh-conformance with args (and extra environment variables); resolves {code, stdout, stderr}. */
export function runBin(args, { timeoutMs = 170000, env } = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: env ? { ...process.env, ...env } : process.env },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

export function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `qwh-${name}-`));
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Schema errors of data against schemas/<path> ([] when valid). */
export function schemaErrors(path, data) {
  const r = validate(path, data);
  return r.errors.slice(0, 5).map((e) => `${e.instancePath} ${e.message}`);
}

/** A node command line for a fixture adapter. */
export function fixtureAdapter(name) {
  return `"${process.execPath}" "${join(fixtures, "adapters", name)}"`;
}
