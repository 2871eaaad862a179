#!/usr/bin/env node
// Stages the built addons (build/Release/qwormhole_<name>.node, from `npm run build`) into the
// prebuildify layout that index.cjs loads through node-gyp-build:
//   addons/<name>/prebuilds/<platform>-<arch>/node.napi.<libc>.node
// One directory per addon (posix, lws), so node-gyp-build's resolution is unambiguous. The tags say
// N-API (any Node version with N-API 8) and the C library the addon was linked against (glibc
// here), so node-gyp-build never hands a glibc build to a musl system.
// `npm pack` runs it (prepack) and the "files" field ships addons/; postpack removes the staged
// copies again (--clean), so the tree holds only what `npm run build` made.
//
// Usage: node tools/stage-prebuilds.mjs [--clean] [--from DIR] [--platform P] [--arch A] [--libc glibc|musl]
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
    libc: { type: "string" },
  },
});
/** The C library tag of Linux builds (node-gyp-build matches it); none elsewhere. */
const libc =
  values.platform !== "linux" ? null : (values.libc ?? (process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl"));
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
    // The lws addon is built only where libwebsockets >= 4.1 is installed (binding.gyp); a
    // package without it would silently lose a backend, so staging fails unless told otherwise.
    if (process.env.QWH_NO_LWS === "1" && name === "lws") {
      console.log(`stage-prebuilds: ${name}: ${src} not built (QWH_NO_LWS=1), skipped`);
      continue;
    }
    console.error(`stage-prebuilds: ${name}: ${src} is not built (run npm run build -w @qwormhole/native)`);
    process.exit(1);
  }
  const dir = join(addonsDir, name, "prebuilds", `${values.platform}-${values.arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dst = join(dir, libc ? `node.napi.${libc}.node` : "node.napi.node");
  copyFileSync(src, dst);
  staged++;
  console.log(`stage-prebuilds: ${name}: ${dst} (${statSync(dst).size} bytes)`);
}
if (staged === 0) {
  console.error("stage-prebuilds: nothing to stage (run `npm run build -w @qwormhole/native` first)");
  process.exit(1);
}
