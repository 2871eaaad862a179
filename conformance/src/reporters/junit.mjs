// junit.xml: one testsuite per agent and area, one testcase per case. FAIL is a <failure>,
// ERROR an <error>, UNSUPPORTED a <skipped>; NON_STRICT is a <failure> only with --strict.
import { join } from "node:path";
import { writeFileDeep } from "../util.mjs";

const xml = (s) =>
  String(s)
    .replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c])
    // XML 1.0 has no way to write these control characters, not even escaped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");

export function buildJunit(resultsByAgent, { strict = false } = {}) {
  const suites = [];
  let total = 0;
  let failures = 0;
  let errors = 0;
  for (const [agent, results] of Object.entries(resultsByAgent)) {
    const byArea = new Map();
    for (const r of results) {
      const area = r.id.startsWith("vector/") ? r.id.split("/").slice(0, 2).join("/") : r.id.split("/")[0];
      if (!byArea.has(area)) byArea.set(area, []);
      byArea.get(area).push(r);
    }
    for (const [area, rs] of byArea) {
      let f = 0;
      let e = 0;
      let s = 0;
      const cases = rs.map((r) => {
        const name = `${r.id} [${r.requirements.join(" ")}]`;
        const time = (r.durationMs / 1000).toFixed(3);
        let body = "";
        if (r.grade === "FAIL" || (strict && r.grade === "NON_STRICT")) {
          f++;
          body = `<failure message="${xml(r.message || r.grade)}" type="${r.grade}"/>`;
        } else if (r.grade === "ERROR") {
          e++;
          body = `<error message="${xml(r.message || "error")}" type="ERROR"/>`;
        } else if (r.grade === "UNSUPPORTED") {
          s++;
          body = `<skipped message="${xml(r.message || "unsupported")}"/>`;
        } else if (r.grade === "NON_STRICT") {
          body = `<system-out>${xml(`NON_STRICT: ${r.message}`)}</system-out>`;
        }
        return `    <testcase classname="${xml(`${agent}.${area}`)}" name="${xml(name)}" time="${time}">${body}</testcase>`;
      });
      total += rs.length;
      failures += f;
      errors += e;
      suites.push(
        `  <testsuite name="${xml(`${agent}/${area}`)}" tests="${rs.length}" failures="${f}" errors="${e}" skipped="${s}">\n${cases.join("\n")}\n  </testsuite>`,
      );
    }
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="qwh-conformance" tests="${total}" failures="${failures}" errors="${errors}">\n${suites.join("\n")}\n</testsuites>\n`;
}

export function writeJunit(outDir, resultsByAgent, options) {
  writeFileDeep(join(outDir, "junit.xml"), buildJunit(resultsByAgent, options));
}
