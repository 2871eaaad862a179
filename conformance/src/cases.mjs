// Loads the declarative wire-case files (conformance/cases/<area>/*.json by default), validates
// each against schemas/conformance/case.schema.json, and checks what a schema cannot: ids unique
// across files and starting with the file's area, requirement ids known to spec/requirements.json.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { validate } from "@qwormhole/schemas";
import { HarnessError, packageDir, repoDir } from "./util.mjs";

export const casesDir = join(packageDir, "cases");

/** spec/requirements.json (package @qwormhole/spec) as a Map id -> {level, role, section, text}. */
export function loadRequirements() {
  const file = createRequire(import.meta.url).resolve("@qwormhole/spec/requirements.json");
  const data = JSON.parse(readFileSync(file, "utf8"));
  return new Map(data.requirements.map((r) => [r.id, r]));
}

function jsonFiles(dir) {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []));
}

/**
 * Every wire case under `dirs`: [{...case, area, file}]. Throws HarnessError listing every problem
 * found (invalid file, duplicate id, unknown requirement), so a broken case file never passes.
 */
export function loadWireCases(dirs = [casesDir], requirements = loadRequirements()) {
  const problems = [];
  const cases = [];
  const seen = new Map();
  for (const dir of dirs) {
    for (const file of jsonFiles(dir)) {
      const rel = relative(repoDir, file);
      let data;
      try {
        data = JSON.parse(readFileSync(file, "utf8"));
      } catch (err) {
        problems.push(`${rel}: not JSON (${err.message})`);
        continue;
      }
      const v = validate("conformance/case.schema.json", data);
      if (!v.valid) {
        problems.push(
          `${rel}: ${v.errors
            .slice(0, 3)
            .map((e) => `${e.instancePath || "/"} ${e.message}`)
            .join("; ")}`,
        );
        continue;
      }
      for (const c of data.cases) {
        if (!c.id.startsWith(`${data.area}/`)) problems.push(`${rel}: case ${c.id} does not start with its area "${data.area}/"`);
        if (seen.has(c.id)) problems.push(`${rel}: case id ${c.id} also in ${seen.get(c.id)}`);
        seen.set(c.id, rel);
        for (const r of c.requirements) if (!requirements.has(r)) problems.push(`${rel}: case ${c.id} cites unknown requirement ${r}`);
        if (c.role === "server" && c.steps.some((s) => s.expectResult))
          problems.push(`${rel}: case ${c.id}: expectResult is only valid in the client role`);
        cases.push({ ...c, area: data.area, file: rel });
      }
    }
  }
  if (problems.length > 0) throw new HarnessError(`invalid case files:\n  ${problems.join("\n  ")}`);
  return cases;
}
