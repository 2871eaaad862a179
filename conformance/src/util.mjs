// Small helpers shared by the runner's modules: paths, hex, a seeded PRNG, deep comparison, timing.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** conformance/ (the package root). */
export const packageDir = fileURLToPath(new URL("..", import.meta.url));
/** The repository root (the workspace holding spec/, schemas/, conformance/). */
export const repoDir = join(packageDir, "..");

export const RUNNER_NAME = "qwh-conformance";
/** The version of the @qwormhole/conformance package. */
export const RUNNER_VERSION = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;

/** A harness or configuration error: exit code 2, never a test failure. */
export class HarnessError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "HarnessError";
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: a tiny seeded PRNG, so a random chunking can be replayed from its seed. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Structural equality of JSON values; object member order does not matter, array order does. */
export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** True when every member of `subset` is in `value` with an equal value (deep, objects recursively). */
export function deepSubset(subset, value) {
  if (subset === null || typeof subset !== "object" || Array.isArray(subset)) return deepEqual(subset, value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  return Object.entries(subset).every(([k, v]) => Object.hasOwn(value, k) && deepSubset(v, value[k]));
}

/** Writes a file, creating its directory. */
export function writeFileDeep(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/** A case id as a file name: slashes become "__". */
export function caseFileName(id) {
  return id.replace(/\//g, "__");
}

/** Glob (`*` within a segment, `**` across segments, `?` one character) to RegExp over case ids and paths. */
export function globToRegExp(glob) {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        re += ".*";
        i++;
        if (glob[i + 1] === "/") i++;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === ",") re += "|";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^(?:${re})$`);
}

/** A matcher for a comma-separated list of globs; a bare prefix ("frame") matches "frame/..." too. */
export function caseMatcher(globs) {
  if (!globs || globs.length === 0) return () => true;
  const res = globs
    .flatMap((g) => g.split(","))
    .filter(Boolean)
    .map((g) => [globToRegExp(g), g]);
  // A glob that matches an ancestor of the id ("frame", "vector/frame-decode-*") selects it too.
  return (id) => {
    const parts = id.split("/");
    const ancestors = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    return res.some(([re]) => ancestors.some((a) => re.test(a)));
  };
}

/** Escapes text for HTML. */
export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Runs `fn` over `items` with at most `limit` running at once; results in input order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
