#!/usr/bin/env node
// Puts the repository's README.md into the qwormhole package for `npm pack` (prepack), with links
// into the repository made absolute (the tarball holds neither docs/ nor spec/); `--clean` removes
// the copy again (postpack). The repository URL is the package's own "repository" field.
//
// Usage: node scripts/package-readme.mjs [--clean]   (run from impl-ts/, as npm runs lifecycle scripts)
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkgDir = join(root, "impl-ts");
const target = join(pkgDir, "README.md");

if (process.argv.includes("--clean")) {
  rmSync(target, { force: true });
  process.exit(0);
}

const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const web = pkg.repository.url.replace(/^git\+/, "").replace(/\.git$/, "");
/** A relative link of the root README as an absolute URL into the repository's main branch. */
const absolute = (link) => `${web}/${link.endsWith("/") ? "tree" : "blob"}/main/${link.replace(/^\.\//, "")}`;
const readme = readFileSync(join(root, "README.md"), "utf8").replace(
  /\]\((?!https?:|#|mailto:)([^)\s]+)\)/g,
  (_, link) => `](${absolute(link)})`,
);
writeFileSync(target, readme);
console.log(`package-readme: ${target} (links into ${web})`);
