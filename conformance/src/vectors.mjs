// The golden vectors as codec-mode cases: every test of every vector file is one case
// ("vector/<file>/<tcId>"), sent to the adapter's codec mode and compared with the vector's outputs.
// frame-decode tests run under three chunkings: whole, byte by byte, and seeded random splits.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { deepEqual, mulberry32, packageDir } from "./util.mjs";

export const vectorsDir = join(packageDir, "vectors");

/** Input and output member names of each vector kind (everything else is metadata). */
export const KINDS = {
  "frame-decode": { inputs: ["hex", "end"], outputs: ["events", "error"] },
  "frame-encode": { inputs: ["events"], outputs: ["hex", "error"] },
  hello: { inputs: ["hex"], outputs: ["profile", "hello", "error"] },
  accept: { inputs: ["hex"], outputs: ["outcome", "accept", "reject", "error"] },
  negotiate: { inputs: ["hex", "replayCache"], outputs: ["answer", "error"] },
  signature: { inputs: ["hex", "replayCache"], outputs: ["signedHex", "error"] },
  "canonical-json": { inputs: ["hex"], outputs: ["canonicalHex", "error"] },
  // Feature "resume" (QWH/1.1): an adapter that does not implement it answers "unsupported".
  resume: { inputs: ["steps", "hex"], outputs: ["events", "answer", "error"] },
};

/** Loads every vector test as a codec case: {id, kind, file, tcId, params, input, expected, requirements, title}. */
export function loadVectorCases(dir = vectorsDir) {
  const cases = [];
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const data = JSON.parse(readFileSync(join(dir, name), "utf8"));
    const kind = KINDS[data.kind];
    if (!kind) continue;
    const stem = basename(name, ".json");
    for (const group of data.testGroups) {
      const { tests, ...params } = group;
      for (const t of tests) {
        const input = {};
        for (const k of kind.inputs) if (t[k] !== undefined) input[k] = t[k];
        const expected = {};
        for (const k of kind.outputs) if (t[k] !== undefined) expected[k] = t[k];
        cases.push({
          id: `vector/${stem}/${t.tcId}`,
          kind: data.kind,
          file: name,
          tcId: t.tcId,
          title: t.comment,
          params,
          input,
          expected,
          result: t.result,
          requirements: t.requirements,
          flags: t.flags ?? [],
          role: "codec",
          level: "MUST",
        });
      }
    }
  }
  return cases;
}

/** The chunkings a frame-decode test runs under: [{name, chunks}] (chunks undefined = one piece). */
export function chunkingsFor(c) {
  if (c.kind !== "frame-decode") return [{ name: "whole", chunks: undefined }];
  const n = c.input.hex.length / 2;
  const out = [{ name: "whole", chunks: undefined }];
  if (n > 1) out.push({ name: "byte-by-byte", chunks: new Array(n).fill(1) });
  if (n > 2) {
    const seed = c.tcId * 7919 + c.file.length;
    const rnd = mulberry32(seed);
    const chunks = [];
    for (let left = n; left > 0;) {
      const k = Math.min(left, 1 + Math.floor(rnd() * 17));
      chunks.push(k);
      left -= k;
    }
    out.push({ name: `random(seed ${seed})`, chunks });
  }
  return out;
}

function asSet(list) {
  return Array.isArray(list) ? [...list].sort() : list;
}

/**
 * Every output field in which the adapter's output differs from the vector's:
 * [{field, expected, got}] (empty when they agree). Where the vector expects an error, only the
 * error and the fields the vector gives are compared.
 */
export function outputMismatches(c, output) {
  if (output === null || typeof output !== "object") return [{ field: "output", expected: c.expected, got: output }];
  const e = c.expected;
  const got = (k) => (output[k] === undefined ? null : output[k]);
  const want = (k) => (e[k] === undefined ? null : e[k]);
  const out = [];
  const check = (field, w, g, same = deepEqual) => {
    if (!same(w, g)) out.push({ field, expected: w, got: g });
  };
  check("error", want("error"), got("error"));
  const failing = want("error") !== null;
  switch (c.kind) {
    case "frame-decode":
      check("events", e.events, output.events ?? []);
      break;
    case "frame-encode":
      if (!failing || e.hex !== undefined) check("hex", want("hex"), got("hex"));
      break;
    case "hello":
      if (failing) break;
      check("profile", e.profile, got("profile"));
      check("hello", e.hello, got("hello"));
      break;
    case "accept": {
      if (failing) break;
      check("outcome", e.outcome, got("outcome"));
      if (e.outcome === "accept") {
        const norm = (a) => (a ? { ...a, features: asSet(a.features) } : a);
        check("accept", e.accept, got("accept"), (w, g) => deepEqual(norm(w), norm(g)));
      } else {
        const norm = (x) => ({ code: x?.code, reason: x?.reason ?? null });
        check("reject", e.reject, got("reject"), (w, g) => deepEqual(norm(w), norm(g ?? {})));
      }
      break;
    }
    case "negotiate": {
      const a = output.answer ?? {};
      if (e.answer.type !== a.type) check("answer.type", e.answer.type, a.type ?? null);
      else if (e.answer.type === "reject") check("answer.code", e.answer.code, a.code ?? null);
      else if (e.answer.type === "accept") {
        const norm = (x) => ({ ...x, features: asSet(x.features) });
        for (const k of new Set([...Object.keys(e.answer), ...Object.keys(a)])) {
          const w = norm(e.answer)[k];
          const g = norm(a)[k];
          check(`answer.${k}`, w ?? null, g ?? null);
        }
      }
      break;
    }
    case "resume": {
      if (e.events !== undefined) {
        check("events", e.events, output.events ?? []);
        break;
      }
      if (e.answer === undefined) break;
      const a = output.answer ?? {};
      if (e.answer.type !== a.type) check("answer.type", e.answer.type, a.type ?? null);
      else if (e.answer.type === "reject") check("answer.code", e.answer.code, a.code ?? null);
      else {
        const norm = (x) => ({ ...x, features: asSet(x.features) });
        check("answer", norm(e.answer), norm(a));
      }
      break;
    }
    case "signature":
      if (e.signedHex !== undefined) check("signedHex", e.signedHex, got("signedHex"));
      break;
    case "canonical-json":
      if (!failing) check("canonicalHex", e.canonicalHex, got("canonicalHex"));
      break;
    default:
      out.push({ field: "kind", expected: "a known vector kind", got: c.kind });
  }
  return out;
}

/** Compares the adapter's output with the vector's; returns null when they agree, else every difference. */
export function compareOutput(c, output) {
  const diffs = outputMismatches(c, output);
  return diffs.length
    ? diffs.map((d) => `${d.field}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.got)}`).join("; ")
    : null;
}

/**
 * Runs one vector case through a codec session under each of its chunkings. Resolves
 * {grade, message, log} where log lists each request and answer.
 */
export async function runVectorCase(session, c) {
  const log = [];
  for (const { name, chunks } of chunkingsFor(c)) {
    const res = await session.request(c.kind, c.params, c.input, chunks);
    log.push(
      `# chunking ${name}`,
      `> ${JSON.stringify({ op: c.kind, params: c.params, input: c.input, ...(chunks ? { chunks: chunks.length > 40 ? `[${chunks.length} sizes]` : chunks } : {}) })}`,
      `< ${JSON.stringify(res)}`,
    );
    if (!res || res.ok !== true) {
      const code = res?.error?.code;
      if (code === "unsupported") return { grade: "UNSUPPORTED", message: `op ${c.kind} not supported: ${res.error.message ?? ""}`, log };
      return { grade: "ERROR", message: `adapter failed (${name}): ${res?.error?.message ?? JSON.stringify(res)}`, log };
    }
    const diffs = outputMismatches(c, res.output);
    if (diffs.length) {
      log.push(`# expected ${JSON.stringify(c.expected)}`);
      for (const d of diffs) log.push(`# mismatch ${d.field}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.got)}`);
      return { grade: "FAIL", message: `${name}: ${compareOutput(c, res.output)}`, log };
    }
  }
  return { grade: "PASS", message: "", log };
}
