// Assemble one vector file: tcIds 1..N, numberOfTests, notes for the flags used; checks the tables.
import { FLAGS, REQUIREMENT_IDS } from "./registry.mjs";

/**
 * A test entry in the case tables. `inputs` and `outputs` are plain objects whose members are
 * copied in order after the common members.
 */
export function T(comment, requirements, flags, inputs, result, outputs) {
  return { comment, requirements, flags, inputs, result, outputs };
}

/**
 * Build a file object.
 * @param {{kind: string, description: string, groups: {params: object, tests: object[]}[], check?: (test, group) => void}} spec
 */
export function buildFile({ kind, description, groups, check, qwh = "1.0" }) {
  let tcId = 0;
  const used = new Set();
  const testGroups = [];
  for (const g of groups) {
    if (!g.tests.length) continue;
    const tests = g.tests.map((t) => {
      tcId++;
      if (!t.comment) throw new Error(`${kind} #${tcId}: no comment`);
      if (!t.requirements?.length) throw new Error(`${kind} #${tcId}: no requirement`);
      for (const r of t.requirements) if (!REQUIREMENT_IDS.has(r)) throw new Error(`${kind} #${tcId}: unknown requirement ${r}`);
      if (!t.requirements.some((r) => REQUIREMENT_IDS.has(r)))
        throw new Error(`${kind} #${tcId}: no fixed (brief section 9) requirement id`);
      if (new Set(t.requirements).size !== t.requirements.length) throw new Error(`${kind} #${tcId}: duplicate requirement`);
      for (const f of t.flags) {
        if (!FLAGS[f]) throw new Error(`${kind} #${tcId}: unknown flag ${f}`);
        used.add(f);
      }
      if (new Set(t.flags).size !== t.flags.length) throw new Error(`${kind} #${tcId}: duplicate flag`);
      if (!["valid", "invalid", "acceptable"].includes(t.result)) throw new Error(`${kind} #${tcId}: bad result`);
      const out = { tcId, comment: t.comment, requirements: t.requirements, flags: t.flags, ...t.inputs, result: t.result, ...t.outputs };
      if (check) {
        try {
          check(out, g.params);
        } catch (e) {
          throw new Error(`${kind} #${tcId} (${t.comment}): ${e.message}`, { cause: e });
        }
      }
      return out;
    });
    testGroups.push({ ...g.params, tests });
  }
  const notes = {};
  for (const f of Object.keys(FLAGS)
    .filter((f) => used.has(f))
    .sort())
    notes[f] = FLAGS[f];
  return {
    schema: `vectors/${kind}.schema.json`,
    kind,
    qwh,
    description,
    numberOfTests: tcId,
    notes,
    testGroups,
  };
}

/** Deterministic serialisation of a file (2-space JSON, trailing newline). */
export const serialize = (file) => JSON.stringify(file, null, 2) + "\n";
