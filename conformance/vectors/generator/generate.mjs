#!/usr/bin/env node
// Writes every golden vector file of conformance/vectors/ from the case tables in this directory.
//   node conformance/vectors/generator/generate.mjs          write the files
//   node conformance/vectors/generator/generate.mjs --check  exit 1 if a committed file differs
//                                                            (or is missing, or is not generated)
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serialize } from "./file.mjs";
import frameDecode from "./frame-decode.mjs";
import frameEncode from "./frame-encode.mjs";
import hello from "./hello.mjs";
import accept from "./accept.mjs";
import negotiate from "./negotiate.mjs";
import signature from "./signature.mjs";
import canonicalJson from "./canonical-json.mjs";
import resume from "./resume.mjs";

export const VECTORS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every file: name (without .json) -> file object. */
export function generateAll() {
  const all = {};
  for (const mod of [frameDecode, frameEncode, hello, accept, negotiate, signature, canonicalJson, resume]) Object.assign(all, mod());
  return all;
}

function main() {
  const check = process.argv.includes("--check");
  const files = generateAll();
  let bad = 0;
  let total = 0;
  for (const [name, file] of Object.entries(files)) {
    const path = join(VECTORS_DIR, `${name}.json`);
    const text = serialize(file);
    total += file.numberOfTests;
    if (check) {
      let old = null;
      try {
        old = readFileSync(path, "utf8");
      } catch {
        // missing: reported below
      }
      if (old !== text) {
        console.error(`${name}.json: ${old === null ? "missing" : "differs from the generator output"}`);
        bad++;
      }
    } else {
      writeFileSync(path, text);
      console.log(`${name}.json: ${file.numberOfTests} tests`);
    }
  }
  if (check) {
    for (const f of readdirSync(VECTORS_DIR).filter((f) => f.endsWith(".json"))) {
      if (!(f.slice(0, -5) in files)) {
        console.error(`${f}: not produced by the generator (stale file?)`);
        bad++;
      }
    }
    if (bad) {
      console.error(`${bad} vector file(s) out of date: run node conformance/vectors/generator/generate.mjs`);
      process.exit(1);
    }
    console.log(`${Object.keys(files).length} vector files, ${total} tests: up to date`);
  } else console.log(`${Object.keys(files).length} files, ${total} tests`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
