/**
 * The README's first program runs as written: the first `js` block under
 * "## First program", saved as first.mjs in an empty directory where
 * `qwormhole` resolves to this package (its built dist/), run with plain node.
 * (scripts/pack-smoke.sh runs it again from the installed tarball's README.)
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "qwh-readme-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first fenced block of `lang` after the heading `heading`. */
function firstBlock(text: string, heading: string, lang: string): string {
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`no heading ${heading}`);
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(text.slice(at));
  if (!m) throw new Error(`no ${lang} block under ${heading}`);
  return m[1]!;
}

describe("README", () => {
  it("the first program prints { sum: 5 } and exits 0 with plain node", async () => {
    const program = firstBlock(readme, "## First program", "js");
    writeFileSync(join(dir, "first.mjs"), program);
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(fileURLToPath(new URL("..", import.meta.url)), join(dir, "node_modules", "qwormhole"), "dir");
    const out = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ["first.mjs"], { cwd: dir, timeout: 20_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr })),
    );
    expect(out.err, out.stderr).toBeNull();
    expect(out.stdout).toBe("{ sum: 5 }\n");
  });

  it("keeps the contributors' two set-up commands in their own section", () => {
    const contributing = readme.slice(readme.indexOf("\n## Contributing\n"));
    expect(contributing).toContain("bash scripts/quickstart.sh");
    expect(contributing).toContain("npm test ");
    expect(readme.indexOf("npm install qwormhole")).toBeLessThan(readme.indexOf("\n## Contributing\n"));
  });
});
