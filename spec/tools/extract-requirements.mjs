#!/usr/bin/env node
// Extracts the normative requirements and the error-code registry from spec/qwh-1.md.
//
//   node spec/tools/extract-requirements.mjs           write spec/requirements.json and spec/error-codes.json
//   node spec/tools/extract-requirements.mjs --check   write nothing; exit 1 if the files on disk are stale
//
// Plain Node ESM, no dependencies. The check functions are exported for spec/test/spec-ids.test.mjs;
// the command-line part runs only when this file is executed directly.

import { readFileSync, writeFileSync, existsSync, realpathSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SPEC_NAME = "QWH/1";
/** The protocol version of the first publication (revision 1): the "since" of an unmarked item. */
export const SPEC_FIRST_VERSION = "1.0";
export const SPEC_FILE = "spec/qwh-1.md";

const ID_RE = /^QWH-[A-Z]+-\d{3}$/;
const ROLES = new Set(["client", "server", "both"]);
// A well-formed requirement item: "- **[QWH-AREA-NNN]** *(role)* text".
const ITEM_RE = /^- \*\*\[(QWH-[A-Z]+-\d{3})\]\*\* \*\(([a-z]+)\)\* (\S.*)$/;
// Anything that looks like an attempt at a requirement item (list marker, then an id near the start).
const ITEM_CANDIDATE_RE = /^\s*(?:[-*+]|\d+[.)])\s+(?:\*{1,2})?\[?\*{0,2}QWH-/;
const LIST_START_RE = /^\s*(?:[-*+]|\d+[.)])\s+/;
const HEADING_RE = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE_RE = /^\s*(```|~~~)/;
// Trailing marker of an item added after the first publication: "*(since 1.1)*" (the protocol
// version that introduced it), "*(revision 2)*" (the document revision that added it), or both,
// "*(since 1.1, revision 3)*".
const MARKER_RE = /\s*\*\(((?:since \d+\.\d+|revision [1-9]\d*)(?:, (?:since \d+\.\d+|revision [1-9]\d*))?)\)\*\s*$/;
// The header rows that give the protocol version ("| Protocol version | 1.0 ... |") and the
// document revision ("| Document revision | 2 ... |").
const VERSION_ROW_RE = /^protocol version$/i;
const REVISION_ROW_RE = /^document revision$/i;
const BOILERPLATE_RE = /^>?\s*The key words "MUST", "MUST NOT"/;
// BCP 14 keywords, longest alternatives first. Case-sensitive: only capitals are normative (RFC 8174).
const KEYWORD_RE = /\b(MUST NOT|SHALL NOT|SHOULD NOT|NOT RECOMMENDED|MUST|REQUIRED|SHALL|SHOULD|RECOMMENDED|MAY|OPTIONAL)\b/g;
const FAMILY = {
  "MUST NOT": "MUST NOT",
  "SHALL NOT": "MUST NOT",
  MUST: "MUST",
  REQUIRED: "MUST",
  SHALL: "MUST",
  "SHOULD NOT": "SHOULD NOT",
  "NOT RECOMMENDED": "SHOULD NOT",
  SHOULD: "SHOULD",
  RECOMMENDED: "SHOULD",
  MAY: "MAY",
  OPTIONAL: "MAY",
};
const STRENGTH = { "MUST NOT": 5, MUST: 4, "SHOULD NOT": 3, SHOULD: 2, MAY: 1 };

/** The BCP 14 keywords (capitals only) in a piece of text, in order. Inline code spans do not count. */
export function findKeywords(text) {
  const plain = text.replace(/`[^`]*`/g, " ");
  return [...plain.matchAll(KEYWORD_RE)].map((m) => m[1]);
}

/** The level family of the strongest keyword, or null. */
export function levelOf(keywords) {
  let best = null;
  for (const k of keywords) {
    const fam = FAMILY[k];
    if (best === null || STRENGTH[fam] > STRENGTH[best]) best = fam;
  }
  return best;
}

/** Splits requirement text into sentences (a sentence ends with . ! or ? followed by space and a capital). */
export function splitSentences(text) {
  return text
    .split(/(?<=[.!?]["')\]]*)\s+(?=["(`*]*[A-Z])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Removes markdown emphasis, code-span backticks and link syntax; collapses whitespace. */
export function stripMarkdown(text) {
  return text
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\*\*/g, "")
    .replace(/\*/g, "")
    .replace(/`/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|")) s = s.slice(0, -1);
  return s.split("|").map((c) => c.trim());
}

function isTableLine(line) {
  return /^\s*\|/.test(line);
}

function isSeparatorRow(cells) {
  return cells.every((c) => /^:?-{3,}:?$/.test(c));
}

/**
 * Parses the markdown. Returns { requirements, errorCodes, retired, problems }.
 * problems: [{ kind, line, message }], kind one of
 *   "malformed-item", "duplicate-id", "keyword-outside-requirement", "no-keyword",
 *   "multiple-keyword-sentences", "retired-live", "bad-error-table", "duplicate-error-code",
 *   "bad-revision" (an item's revision above the document's, or a later protocol version without one).
 * version, revision: the protocol version and document revision of the header table (the first
 * version and 1 when it has no such rows).
 */
export function parseSpec(markdown) {
  const lines = markdown.replace(/\r\n?/g, "\n").split("\n");
  const problems = [];
  const requirements = [];
  const errorCodes = [];
  const retired = [];
  let revision = 1;
  let revisionLine = 0;
  let version = SPEC_FIRST_VERSION;
  let versionLine = 0;
  const problem = (kind, line, message) => problems.push({ kind, line, message: `line ${line}: ${message}` });

  let section = "";
  let inFence = false;
  let inBoilerplate = false;
  let tableMode = null; // "errors" | "retired" | null: which registry table the next table belongs to
  let tableRows = null; // rows of the current table
  let tableStart = 0;
  let prevBlank = true;

  const finishTable = () => {
    if (tableRows && tableMode === "errors") parseErrorTable(tableRows, tableStart, errorCodes, problem);
    if (tableRows && tableMode === "retired") parseRetiredTable(tableRows, tableStart, retired, problem);
    if (tableRows && tableMode) tableMode = null;
    tableRows = null;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i];

    if (FENCE_RE.test(line)) {
      finishTable();
      inFence = !inFence;
      prevBlank = false;
      continue;
    }
    if (inFence) continue;

    if (line.trim() === "") {
      finishTable();
      inBoilerplate = false;
      prevBlank = true;
      continue;
    }

    if (isTableLine(line)) {
      if (!tableRows) {
        tableRows = [];
        tableStart = lineNo;
      }
      const cells = splitRow(line);
      tableRows.push({ cells, line: lineNo });
      if (!versionLine && VERSION_ROW_RE.test(cells[0] ?? "")) {
        versionLine = lineNo;
        const v = /^(\d+\.\d+)\b/.exec(cells[1] ?? "");
        if (v) version = v[1];
        else problem("bad-revision", lineNo, `the protocol version "${cells[1] ?? ""}" does not start with major.minor`);
      }
      if (!revisionLine && REVISION_ROW_RE.test(cells[0] ?? "")) {
        revisionLine = lineNo;
        const n = /^([1-9]\d*)\b/.exec(cells[1] ?? "");
        if (n) revision = Number(n[1]);
        else problem("bad-revision", lineNo, `the document revision "${cells[1] ?? ""}" does not start with a positive integer`);
      }
      prevBlank = false;
      continue; // table cells are exempt from the keyword rule
    }
    finishTable();

    const h = HEADING_RE.exec(line);
    if (h) {
      section = stripMarkdown(h[2]);
      tableMode = /Error-code registry/i.test(section) ? "errors" : /Retired requirement ids/i.test(section) ? "retired" : null;
      for (const k of findKeywords(line)) problem("keyword-outside-requirement", lineNo, `BCP 14 keyword "${k}" in a heading`);
      prevBlank = false;
      continue;
    }

    if (prevBlank && BOILERPLATE_RE.test(line)) inBoilerplate = true;
    if (inBoilerplate) {
      prevBlank = false;
      continue;
    }

    if (ITEM_CANDIDATE_RE.test(line)) {
      // Gather continuation lines (indented, not a new list item, not blank).
      let text = line;
      let j = i + 1;
      while (
        j < lines.length &&
        lines[j].trim() !== "" &&
        /^\s+\S/.test(lines[j]) &&
        !LIST_START_RE.test(lines[j]) &&
        !FENCE_RE.test(lines[j])
      ) {
        text += " " + lines[j].trim();
        j++;
      }
      i = j - 1;
      prevBlank = false;
      const m = ITEM_RE.exec(text);
      if (!m) {
        problem(
          "malformed-item",
          lineNo,
          `requirement item does not match "- **[QWH-AREA-NNN]** *(client|server|both)* text": ${text.slice(0, 80)}`,
        );
        continue;
      }
      const [, id, role, rest] = m;
      if (!ROLES.has(role)) {
        problem("malformed-item", lineNo, `${id}: role "${role}" is not client, server or both`);
        continue;
      }
      let body = rest;
      let since = SPEC_FIRST_VERSION;
      let itemRevision = 1;
      const marker = MARKER_RE.exec(body);
      if (marker) {
        for (const part of marker[1].split(", ")) {
          const [name, value] = part.split(" ");
          if (name === "since") since = value;
          else itemRevision = Number(value);
        }
        body = body.slice(0, marker.index);
      }
      const keywords = findKeywords(body);
      if (keywords.length === 0) {
        problem("no-keyword", lineNo, `${id} has no BCP 14 keyword in capitals`);
        continue;
      }
      const withKeywords = splitSentences(body).filter((sen) => findKeywords(sen).length > 0);
      if (withKeywords.length > 1) {
        problem(
          "multiple-keyword-sentences",
          lineNo,
          `${id} has ${withKeywords.length} sentences with BCP 14 keywords (one id = one normative sentence)`,
        );
        continue;
      }
      requirements.push({
        id,
        level: levelOf(keywords),
        role,
        section,
        text: stripMarkdown(body),
        since,
        revision: itemRevision,
        line: lineNo,
      });
      continue;
    }

    for (const k of findKeywords(line)) {
      problem("keyword-outside-requirement", lineNo, `BCP 14 keyword "${k}" outside a requirement item: ${line.trim().slice(0, 80)}`);
    }
    prevBlank = false;
  }
  finishTable();

  const seen = new Map();
  for (const r of requirements) {
    if (seen.has(r.id)) problem("duplicate-id", r.line, `${r.id} is already used on line ${seen.get(r.id)}`);
    else seen.set(r.id, r.line);
  }
  for (const r of retired) {
    if (seen.has(r.id)) problem("retired-live", r.line, `${r.id} is listed as retired but is a live requirement on line ${seen.get(r.id)}`);
  }
  for (const r of requirements) {
    if (r.revision > revision)
      problem("bad-revision", r.line, `${r.id} is marked revision ${r.revision}, the document is revision ${revision}`);
    // An item that a later protocol version added came with a later revision: say which.
    if (r.since !== SPEC_FIRST_VERSION && r.revision === 1)
      problem("bad-revision", r.line, `${r.id} is since ${r.since}: mark the revision that added it, "*(since ${r.since}, revision N)*"`);
  }
  return { requirements, errorCodes, retired, version, revision, problems };
}

function parseErrorTable(rows, start, out, problem) {
  const header = rows[0]?.cells ?? [];
  const expected = ["Code", "Scope", "Terminal", "Meaning"];
  if (header.join("|") !== expected.join("|")) {
    problem("bad-error-table", start, `error-code registry header must be | ${expected.join(" | ")} |`);
    return;
  }
  const seen = new Set();
  for (const row of rows.slice(1)) {
    if (isSeparatorRow(row.cells)) continue;
    const [codeCell, scopeCell, terminalCell, meaning] = row.cells;
    const code = (codeCell ?? "").replace(/`/g, "");
    if (row.cells.length !== 4 || !/^E_[A-Z0-9_]{1,62}$/.test(code)) {
      problem("bad-error-table", row.line, `malformed error-code row`);
      continue;
    }
    const scope = scopeCell === "wire" ? "wire" : scopeCell === "local-only" ? "local" : null;
    const terminal = terminalCell === "yes" ? true : terminalCell === "no" ? false : null;
    if (scope === null || terminal === null) {
      problem("bad-error-table", row.line, `${code}: scope must be wire|local-only and terminal yes|no`);
      continue;
    }
    if (seen.has(code)) {
      problem("duplicate-error-code", row.line, `${code} appears twice in the registry`);
      continue;
    }
    seen.add(code);
    out.push({ code, scope, terminal, description: stripMarkdown(meaning) });
  }
}

function parseRetiredTable(rows, start, out, problem) {
  const header = rows[0]?.cells ?? [];
  if (!/^Id$/i.test(header[0] ?? "")) {
    problem("bad-retired-table", start, `retired-ids table must start with an "Id" column`);
    return;
  }
  for (const row of rows.slice(1)) {
    if (isSeparatorRow(row.cells)) continue;
    const id = (row.cells[0] ?? "").replace(/[`*[\]]/g, "");
    if (!ID_RE.test(id)) {
      problem("bad-retired-table", row.line, `"${row.cells[0]}" is not a requirement id`);
      continue;
    }
    out.push({ id, line: row.line });
  }
}

/** Just the problems (empty array = the document passes every check). */
export function checkMarkdown(markdown) {
  return parseSpec(markdown).problems;
}

export function buildRequirementsJson(parsed) {
  const requirements = parsed.requirements.map(({ id, level, role, section, text, since, revision }) => ({
    id,
    level,
    role,
    section,
    text,
    since,
    revision,
  }));
  return {
    spec: SPEC_NAME,
    version: parsed.version,
    revision: parsed.revision,
    generatedFrom: SPEC_FILE,
    count: requirements.length,
    requirements,
  };
}

export function buildErrorCodesJson(parsed) {
  return { codes: parsed.errorCodes.map(({ code, scope, terminal, description }) => ({ code, scope, terminal, description })) };
}

const serialise = (obj) => JSON.stringify(obj, null, 2) + "\n";

export const specDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Parses spec/qwh-1.md and returns { problems, outputs: { absolutePath: content } }.
 * Outputs are only meaningful when problems is empty.
 */
export function generate(dir = specDir) {
  const markdown = readFileSync(path.join(dir, "qwh-1.md"), "utf8");
  const parsed = parseSpec(markdown);
  if (parsed.errorCodes.length === 0 && !parsed.problems.some((p) => p.kind === "bad-error-table")) {
    parsed.problems.push({
      kind: "bad-error-table",
      line: 0,
      message: 'no error-code registry table found (heading containing "Error-code registry")',
    });
  }
  return {
    problems: parsed.problems,
    parsed,
    outputs: {
      [path.join(dir, "requirements.json")]: serialise(buildRequirementsJson(parsed)),
      [path.join(dir, "error-codes.json")]: serialise(buildErrorCodesJson(parsed)),
    },
  };
}

/** Files whose content on disk differs from what would be generated (absolute paths). */
export function staleOutputs(dir = specDir) {
  const { outputs } = generate(dir);
  return Object.entries(outputs)
    .filter(([file, content]) => !existsSync(file) || readFileSync(file, "utf8") !== content)
    .map(([file]) => file);
}

function main(argv) {
  const check = argv.includes("--check");
  const { problems, outputs, parsed } = generate();
  if (problems.length > 0) {
    for (const p of problems) console.error(`${SPEC_FILE}: ${p.kind}: ${p.message}`);
    console.error(`${problems.length} problem(s); nothing written.`);
    return 1;
  }
  if (check) {
    const stale = staleOutputs();
    if (stale.length > 0) {
      for (const f of stale) console.error(`out of date: ${path.relative(process.cwd(), f)}`);
      console.error("run: node spec/tools/extract-requirements.mjs");
      return 1;
    }
    console.log(`ok: ${parsed.requirements.length} requirements, ${parsed.errorCodes.length} error codes, outputs up to date`);
    return 0;
  }
  for (const [file, content] of Object.entries(outputs)) writeFileSync(file, content);
  console.log(`wrote ${parsed.requirements.length} requirements and ${parsed.errorCodes.length} error codes`);
  return 0;
}

const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();
if (invokedDirectly) process.exitCode = main(process.argv.slice(2));
