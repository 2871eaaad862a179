// index.html: one self-contained page (inline CSS and script, no external URL) with the summary,
// cases x agents, requirement coverage, and the interop matrix as clients x servers with one cell
// per scenario. Links point only at files in the same output directory (the wire logs).
import { join } from "node:path";
import { escapeHtml as h, writeFileDeep } from "../util.mjs";
import { writeSpecHtml } from "./spec-html.mjs";

/** A requirement id linked to its item in spec.html (written beside index.html), its section as the tooltip. */
function reqLink(id, requirements) {
  const section = requirements?.get(id)?.section;
  return `<a href="spec.html#${h(id)}"${section ? ` title="${h(section)}"` : ""}>${h(id)}</a>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
.PASS{background:#c8f0c8}.NON_STRICT{background:#f7eaa0}.FAIL{background:#f4b0b0}.UNSUPPORTED{background:#ddd}.ERROR{background:#e0b0f0}.NONE{background:#fff;color:#999}
.g{font-weight:600;font-size:12px}.msg{color:#555;font-size:12px;max-width:60em}
.cells{display:flex;flex-wrap:wrap;gap:2px;max-width:36em}.cell{width:14px;height:14px;display:inline-block;border:1px solid #999}
.controls{margin:.5em 0}.num{text-align:right}.muted{color:#777}
details>summary{cursor:pointer}
`;

const SCRIPT = `
function filt(){var q=document.getElementById('q').value.toLowerCase(),o=document.getElementById('only').checked;
document.querySelectorAll('#cases tbody tr').forEach(function(r){var t=r.textContent.toLowerCase();
var bad=r.getAttribute('data-bad')==='1';r.style.display=(t.indexOf(q)>=0&&(!o||bad))?'':'none';});}
`;

function gradeCell(grade, text) {
  return `<td class="${h(grade ?? "NONE")} g">${h(text ?? grade ?? "-")}</td>`;
}

function summaryTable(index) {
  const grades = ["PASS", "NON_STRICT", "FAIL", "UNSUPPORTED", "ERROR"];
  const rows = Object.entries(index.summary ?? {}).map(
    ([agent, s]) => `<tr><th>${h(agent)}</th>${grades.map((g) => `<td class="num ${s[g] ? g : ""}">${s[g] ?? 0}</td>`).join("")}</tr>`,
  );
  const unavailable = Object.entries(index.unavailable ?? {}).map(([a, why]) => `<li><b>${h(a)}</b>: ${h(why)}</li>`);
  return `<table><thead><tr><th>agent</th>${grades.map((g) => `<th>${g}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>${unavailable.length ? `<p>Unavailable on this machine (not failed):</p><ul>${unavailable.join("")}</ul>` : ""}`;
}

function casesTable(index, caseInfo, requirements) {
  const agents = Object.keys(index.agents);
  const ids = [...new Set(agents.flatMap((a) => Object.keys(index.agents[a])))].sort((x, y) => x.localeCompare(y, "en", { numeric: true }));
  const rows = ids.map((id) => {
    const results = agents.map((a) => index.agents[a][id]);
    const first = results.find(Boolean);
    const bad = results.some((r) => r && r.grade !== "PASS");
    const cells = results.map((r) => {
      if (!r) return gradeCell(null);
      const link = r.wireLog ? ` <a href="${h(r.wireLog)}">log</a>` : "";
      const close = r.closeBehavior ? `<br><span class="muted">close: ${h(r.closeBehavior)}</span>` : "";
      const msg = r.message ? `<div class="msg">${h(r.message)}</div>` : "";
      return `<td class="${h(r.grade)}"><span class="g">${h(r.grade)}</span> <span class="muted">${Math.round(r.durationMs)} ms</span>${link}${close}${msg}</td>`;
    });
    const info = caseInfo.get(id);
    return `<tr data-bad="${bad ? 1 : 0}"><td><b>${h(id)}</b>${info?.title ? `<div class="msg">${h(info.title)}</div>` : ""}</td><td>${h(first?.role ?? "")}</td><td>${h(first?.level ?? "")}</td><td class="msg">${(first?.requirements ?? []).map((id) => reqLink(id, requirements)).join(" ")}</td>${cells.join("")}</tr>`;
  });
  return `<div class="controls"><input id="q" placeholder="filter (id, requirement, grade)" oninput="filt()"> <label><input type="checkbox" id="only" onchange="filt()"> only cases that did not pass</label></div>
<table id="cases"><thead><tr><th>case</th><th>role</th><th>level</th><th>requirements</th>${agents.map((a) => `<th>${h(a)}</th>`).join("")}</tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function coverageTable(coverage, requirements) {
  if (!coverage) return "<p>No coverage data.</p>";
  const s = coverage.summary;
  const head = `<p>${s.covered} of ${s.requirements} requirements cited by at least one case; MUST: ${s.mustCovered} of ${s.mustRequirements} covered, ${s.mustWaived} waived, ${s.mustUncovered} uncovered; SHOULD: ${s.shouldCovered} of ${s.shouldRequirements} covered.</p>`;
  const rows = Object.entries(coverage.requirements).map(([id, r]) => {
    const cases = Object.entries(r.cases);
    const grades = cases.flatMap(([, byAgent]) => Object.values(byAgent));
    const worst = ["ERROR", "FAIL", "NON_STRICT", "UNSUPPORTED", "PASS"].find((g) => grades.includes(g));
    const status = cases.length === 0 ? (r.waiver ? "waived" : "no case") : `${cases.length} case${cases.length > 1 ? "s" : ""}`;
    const cls = cases.length === 0 ? (r.waiver ? "UNSUPPORTED" : /MUST/.test(r.level) ? "FAIL" : "NONE") : (worst ?? "NONE");
    const text = requirements?.get(id)?.text ?? "";
    const list = cases.length
      ? `<details><summary>${h(status)}</summary>${cases
          .map(
            ([cid, by]) =>
              `${h(cid)}: ${
                Object.entries(by)
                  .map(([a, g]) => `${h(a)} ${h(g)}`)
                  .join(", ") || "not run"
              }`,
          )
          .join("<br>")}</details>`
      : h(status) + (r.waiver ? `<div class="msg">${h(r.waiver)}</div>` : "");
    return `<tr><td><b>${reqLink(id, requirements)}</b></td><td>${h(r.level ?? "")}</td><td>${h(r.role ?? "")}</td><td class="msg">${h(text)}</td><td class="${cls}">${list}</td></tr>`;
  });
  return `${head}<table><thead><tr><th>requirement</th><th>level</th><th>role</th><th>text</th><th>cases</th></tr></thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function matrixTable(matrix) {
  if (!matrix) return "<p>No interop matrix in this run (<code>qwh-conformance matrix</code> makes one).</p>";
  const transports = matrix.transports ?? ["plain", "tls"];
  const unavailable = Object.entries(matrix.unavailable ?? {}).map(([a, why]) => `<li><b>${h(a)}</b>: ${h(why)}</li>`);
  const blocks = transports.map((t) => {
    const header = `<tr><th>client \\ server</th>${matrix.servers.map((s) => `<th>${h(s)}</th>`).join("")}</tr>`;
    const rows = matrix.clients.map((c) => {
      const cells = matrix.servers.map((s) => {
        const cells = matrix.results?.[c]?.[s]?.[t] ?? {};
        const entries = matrix.scenarios.map((sc) => [sc, cells[sc]]);
        const pass = entries.filter(([, x]) => x?.grade === "PASS").length;
        // Counted: the scenarios that ran (an UNSUPPORTED or missing cell did not).
        const ran = entries.filter(([, x]) => x && x.grade !== "UNSUPPORTED").length;
        const unsupported = entries.filter(([, x]) => x?.grade === "UNSUPPORTED").length;
        const squares = entries.map(([sc, x]) => {
          const title = `${sc}: ${x?.grade ?? "not run"}${x?.message ? ` - ${x.message}` : ""}`;
          const sq = `<span class="cell ${h(x?.grade ?? "NONE")}" title="${h(title)}"></span>`;
          return x?.wireLog ? `<a href="${h(x.wireLog)}">${sq}</a>` : sq;
        });
        return `<td><div>${pass}/${ran} passed${unsupported ? ` <span class="muted">(${unsupported} unsupported)</span>` : ""}</div><div class="cells">${squares.join("")}</div></td>`;
      });
      return `<tr><th>${h(c)}</th>${cells.join("")}</tr>`;
    });
    return `<h3>${h(t)}</h3><table>${header}${rows.join("")}</table>`;
  });
  const legend = `<p class="muted">One square per scenario (hover for its name and result): ${matrix.scenarios.map(h).join(", ")}.</p>`;
  return `${blocks.join("")}${legend}${unavailable.length ? `<p>Unavailable on this machine:</p><ul>${unavailable.join("")}</ul>` : ""}`;
}

/** The page. index: index.json object (or null); coverage; matrix; caseInfo: Map id -> {title}. */
export function buildHtml({ index, coverage, matrix, caseInfo = new Map(), requirements, title = "QWH/1 conformance" }) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${h(title)}</title><style>${CSS}</style></head>
<body>
<h1>${h(title)}</h1>
<p class="muted">Generated ${h(new Date().toISOString())} by qwh-conformance. Grades: PASS, NON_STRICT (a SHOULD not met; fails only with --strict), FAIL, UNSUPPORTED (declared optional feature), ERROR (the harness or adapter broke).</p>
${index ? `<h2>Summary</h2>${summaryTable(index)}` : ""}
<h2>Interop matrix</h2>
${matrixTable(matrix)}
${index ? `<h2>Cases &times; agents</h2>${casesTable(index, caseInfo, requirements)}` : ""}
<h2>Requirement coverage</h2>
${matrix && !index ? "<p>The interop scenarios cite no requirement ids: requirement coverage is in the report of <code>qwh-conformance run</code>.</p>" : coverageTable(coverage, requirements)}
<script>${SCRIPT}</script>
</body></html>
`;
}

export function writeHtml(outDir, data) {
  writeFileDeep(join(outDir, "index.html"), buildHtml(data));
  writeSpecHtml(outDir);
}
