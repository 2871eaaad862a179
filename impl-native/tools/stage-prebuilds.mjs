#!/usr/bin/env node
// Stages the built addons (build/Release/qwormhole_<name>.node, from `npm run build`) into the
// prebuildify layout that index.cjs loads through node-gyp-build:
//   addons/<name>/prebuilds/<platform>-<arch>/node.napi.node
// One directory per addon (posix, lws), so node-gyp-build's resolution is unambiguous.
// `npm pack` runs it (prepack) and the "files" field ships addons/; postpack removes the staged
// copies again (--clean), so a later source build is never shadowed by a stale prebuild.
//
// Usage: node tools/stage-prebuilds.mjs [--clean] [--from DIR] [--platform P] [--arch A]
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    clean: { type: "boolean", default: false },
    from: { type: "string", default: join(root, "build", "Release") },
    platform: { type: "string", default: process.platform },
    arch: { type: "string", default: process.arch },
  },
});
const ADDONS = { posix: "qwormhole_posix", lws: "qwormhole_lws" };
const addonsDir = join(root, "addons");

if (values.clean) {
  rmSync(addonsDir, { recursive: true, force: true });
  console.log("stage-prebuilds: removed addons/");
  process.exit(0);
}

let staged = 0;
for (const [name, file] of Object.entries(ADDONS)) {
  const src = join(values.from, `${file}.node`);
  if (!existsSync(src)) {
    // The lws addon is built only where libwebsockets >= 4.1 is installed (binding.gyp).
    console.log(`stage-prebuilds: ${name}: ${src} not built, skipped`);
    continue;
  }
  const dir = join(addonsDir, name, "prebuilds", `${values.platform}-${values.arch}`);
  mkdirSync(dir, { recursive: true });
  const dst = join(dir, "node.napi.node");
  copyFileSync(src, dst);
  staged++;
  console.log(`stage-prebuilds: ${name}: ${dst} (${statSync(dst).size} bytes)`);
}
if (staged === 0) {
  console.error("stage-prebuilds: nothing to stage (run `npm run build -w @qwormhole/native` first)");
  process.exit(1);
}
