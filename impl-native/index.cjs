// @qwormhole/native: the Node bindings only; qwormhole's factories load them. Two addons that load
// independently: "posix" (qwormhole_posix.node: libc + OpenSSL 3) and "lws" (qwormhole_lws.node:
// libwebsockets 4.1). Each is looked up in this order:
//   1. $QWORMHOLE_NATIVE_PATH/<file>.node or $QWORMHOLE_NATIVE_PATH/build/Release/<file>.node
//   2. a source build: build/Release/<file>.node (`npm run build-from-source`, or the workspace build)
//   3. the prebuild: addons/<name>/prebuilds/<platform>-<arch>/node.napi.glibc.node, resolved by
//      node-gyp-build (prebuildify layout; one root per addon, because node-gyp-build picks a file
//      by platform, arch and tags, never by addon name)
// load(name) returns { binding, source } or { error } with every attempt's reason; it never throws.
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const ADDONS = { posix: "qwormhole_posix", lws: "qwormhole_lws" };
const BUILD_HINT = "npm explore @qwormhole/native -- npm run build-from-source";

/** The first line of a load error, with what to do when a shared library is missing. */
function why(err) {
  const first = err && err.message ? err.message.split("\n")[0] : String(err);
  const lib = /(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(first);
  if (!lib) return first;
  const pkg = lib[1].startsWith("libwebsockets")
    ? "libwebsockets 4.1 (Debian/Ubuntu: libwebsockets17)"
    : lib[1].startsWith("libssl") || lib[1].startsWith("libcrypto")
      ? "OpenSSL 3 (Debian/Ubuntu: libssl3)"
      : lib[1];
  return `${first} (install ${pkg})`;
}

function candidates(name) {
  const file = ADDONS[name];
  const out = [];
  const env = process.env.QWORMHOLE_NATIVE_PATH;
  if (env) {
    out.push({ how: "QWORMHOLE_NATIVE_PATH", file: path.join(env, `${file}.node`), quiet: true });
    out.push({ how: "QWORMHOLE_NATIVE_PATH", file: path.join(env, "build", "Release", `${file}.node`) });
  }
  out.push({ how: "source build", file: path.join(__dirname, "build", "Release", `${file}.node`), quiet: true });
  out.push({ how: "prebuild", dir: path.join(__dirname, "addons", name) });
  return out;
}

function load(name) {
  if (!Object.hasOwn(ADDONS, name)) return { error: `unknown native backend ${JSON.stringify(name)}` };
  const reasons = [];
  for (const c of candidates(name)) {
    try {
      if (c.dir) {
        const tuple = `${process.platform}-${process.arch}`;
        if (!fs.existsSync(path.join(c.dir, "prebuilds", tuple))) {
          reasons.push(`no prebuild for ${tuple} (this package ships linux-x64 with glibc; to build from source: ${BUILD_HINT})`);
          continue;
        }
        const file = require("node-gyp-build").resolve(c.dir);
        return { binding: require(file), source: `prebuild ${file}` };
      }
      if (!fs.existsSync(c.file)) {
        if (!c.quiet) reasons.push(`${c.how}: ${c.file} not found`);
        continue;
      }
      return { binding: require(c.file), source: `${c.how} ${c.file}` };
    } catch (err) {
      reasons.push(`${c.how}: ${why(err)}`);
    }
  }
  return { error: reasons.join("; ") };
}

module.exports = { load, addons: Object.keys(ADDONS) };
