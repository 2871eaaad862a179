// spec.html beside index.html: the spec shipped in @qwormhole/spec (qwh-1.md) rendered to one
// self-contained page, with an anchor on every section heading and every requirement item, so
// that the report's requirement ids link to the text they cite (spec.html#QWH-FRAME-004).
// A small Markdown subset is enough for the spec: headings, paragraphs, lists, tables, code.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { escapeHtml as h, writeFileDeep } from "../util.mjs";

const REQ = /^\*\*\[(QWH-[A-Z]+-\d{3})\]\*\*/;

/** The anchor of a section heading: its number ("4.1"), or "appendix-d" / "appendix-d.3". */
export function sectionAnchor(section) {
  const m = /^(Appendix [A-Z]\.?[\d.]*|[\d.]+)/.exec(section ?? "");
  if (!m) return null;
  return m[1]
    .replace(/^Appendix /, "appendix-")
    .replace(/\.$/, "")
    .toLowerCase();
}

function inline(text) {
  return h(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>")
    .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, "$1<i>$2</i>")
    .replace(/\[([^\]]+)\]\((#[^)]*)\)/g, "$1");
}

/** The Markdown of the spec as HTML (body only). */
export function renderSpec(markdown) {
  const lines = markdown.split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const body = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
      i++;
      out.push(`<pre>${h(body.join("\n"))}</pre>`);
    } else if (/^#{1,6} /.test(line)) {
      const level = line.indexOf(" ");
      const title = line.slice(level + 1);
      const id = sectionAnchor(title);
      out.push(`<h${level}${id ? ` id="${h(id)}"` : ""}>${inline(title)}</h${level}>`);
      i++;
    } else if (line.startsWith("|")) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith("|"); i++) rows.push(lines[i]);
      const cells = (r) =>
        r
          .replace(/^\||\|$/g, "")
          .split("|")
          .map((c) => c.trim());
      const body = rows.filter((r) => !/^\|[\s|:-]+\|$/.test(r));
      out.push(
        `<table>${body
          .map(
            (r, k) =>
              `<tr>${cells(r)
                .map((c) => (k === 0 ? `<th>${inline(c)}</th>` : `<td>${inline(c)}</td>`))
                .join("")}</tr>`,
          )
          .join("")}</table>`,
      );
    } else if (/^\s*(- |\d+\. )/.test(line)) {
      const items = [];
      for (; i < lines.length && lines[i].trim() !== "" && !lines[i].startsWith("#") && !lines[i].startsWith("|"); i++) {
        if (/^(- |\d+\. )/.test(lines[i])) items.push(lines[i].replace(/^(- |\d+\. )/, ""));
        else items[items.length - 1] += ` ${lines[i].trim()}`;
      }
      out.push(
        `<ul>${items
          .map((t) => {
            const id = REQ.exec(t)?.[1];
            return `<li${id ? ` id="${id}"` : ""}>${inline(t)}</li>`;
          })
          .join("")}</ul>`,
      );
    } else if (line.trim() === "") {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() !== "" && !/^(#|\||```|- |\d+\. )/.test(lines[i]); i++) para.push(lines[i]);
      out.push(`<p>${inline(para.join(" "))}</p>`);
    }
  }
  return out.join("\n");
}

/** The spec file of the installed @qwormhole/spec. */
export function specPath() {
  return createRequire(import.meta.url).resolve("@qwormhole/spec/qwh-1.md");
}

const CSS =
  "body{font:15px/1.5 system-ui,sans-serif;margin:1.5em auto;max-width:60em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;vertical-align:top}pre{background:#f6f6f6;padding:.5em;overflow:auto}li:target,h2:target,h3:target{background:#fff3a0}";

/** Writes spec.html into the report directory. */
export function writeSpecHtml(outDir) {
  const body = renderSpec(readFileSync(specPath(), "utf8"));
  writeFileDeep(
    join(outDir, "spec.html"),
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>QWH/1</title><style>${CSS}</style></head><body>\n${body}\n</body></html>\n`,
  );
}
