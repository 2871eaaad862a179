// @qwormhole/native: the Node bindings only (decision 9). Two addons that load
// independently: "posix" (qwormhole_posix.node: libc + OpenSSL) and "lws"
// (qwormhole_lws.node: libwebsockets). Each is looked up in this order:
//   1. $QWORMHOLE_NATIVE_PATH/<name>.node or $QWORMHOLE_NATIVE_PATH/build/Release/<name>.node
//   2. a prebuild: addons/<name>/prebuilds/<platform>-<arch>/*.node (prebuildify layout,
//      one directory per addon so node-gyp-build's resolution is unambiguous)
//   3. the source build: build/Release/<name>.node (`npm run build -w @qwormhole/native`)
// load(name) returns { binding } or { error } with every attempt's reason; it never throws.
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const ADDONS = { posix: "qwormhole_posix", lws: "qwormhole_lws" };

function candidates(name) {
  const file = ADDONS[name];
  const out = [];
  const env = process.env.QWORMHOLE_NATIVE_PATH;
  if (env) {
    out.push({ how: "QWORMHOLE_NATIVE_PATH", file: path.join(env, `${file}.node`) });
    out.push({ how: "QWORMHOLE_NATIVE_PATH", file: path.join(env, "build", "Release", `${file}.node`) });
  }
  out.push({ how: "prebuild", dir: path.join(__dirname, "addons", name) });
  out.push({ how: "source build", file: path.join(__dirname, "build", "Release", `${file}.node`) });
  return out;
}

function load(name) {
  if (!ADDONS[name]) return { error: `unknown native backend ${JSON.stringify(name)}` };
  const reasons = [];
  for (const c of candidates(name)) {
    try {
      if (c.dir) {
        if (!fs.existsSync(path.join(c.dir, "prebuilds"))) {
          reasons.push(`no prebuild for ${process.platform}-${process.arch}`);
          continue;
        }
        const file = require("node-gyp-build").resolve(c.dir);
        return { binding: require(file), source: `${c.how} ${file}` };
      }
      if (!fs.existsSync(c.file)) {
        reasons.push(`${c.how}: ${c.file} not found`);
        continue;
      }
      return { binding: require(c.file), source: `${c.how} ${c.file}` };
    } catch (err) {
      reasons.push(`${c.how}: ${err && err.message ? err.message.split("\n")[0] : String(err)}`);
    }
  }
  return { error: reasons.join("; ") };
}

module.exports = { load, addons: Object.keys(ADDONS) };
