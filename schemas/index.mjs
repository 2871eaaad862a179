// @qwormhole/schemas: the JSON Schemas (draft 2020-12) of QWH/1 and a ready validator.
//
//   import { createValidator, schemaId } from "@qwormhole/schemas";
//   const ajv = createValidator();
//   const validate = ajv.getSchema(schemaId("vectors/frame-decode.schema.json"));
//   if (!validate(data)) console.error(validate.errors);
//
// Runs on plain Node 20 (no TypeScript loader); ajv 8 is its one dependency.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";

/** The directory holding the schema files. */
export const schemaDir = fileURLToPath(new URL(".", import.meta.url));

/** The $id prefix of every schema: $id = SCHEMA_BASE + path under schemas/. */
export const SCHEMA_BASE = "https://qwormhole.dev/schemas/";

const SKIP = new Set(["node_modules", "test", "tests"]);

/** Paths (relative to schemas/, "/" separators) of every *.schema.json file, sorted. */
export function schemaFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP.has(e.name) && !e.name.startsWith(".")) walk(join(dir, e.name));
      } else if (e.name.endsWith(".schema.json")) {
        out.push(relative(schemaDir, join(dir, e.name)).split(sep).join("/"));
      }
    }
  };
  walk(schemaDir);
  return out.sort();
}

/** The $id of a schema given its path under schemas/ ("wire/hello.schema.json"); ids pass through. */
export function schemaId(path) {
  return path.startsWith("https://") ? path : SCHEMA_BASE + path.replace(/^\.?\//, "");
}

/** Every schema, parsed: [{ path, schema }]. */
export function loadSchemas() {
  return schemaFiles().map((path) => ({
    path,
    schema: JSON.parse(readFileSync(join(schemaDir, path), "utf8")),
  }));
}

/**
 * A new Ajv (draft 2020-12, strict, allErrors) with every schema added.
 * Schemas compile on first use: ajv.getSchema(schemaId("wire/hello.schema.json")).
 * Pass { compileAll: true } to compile all of them now (throws on an invalid schema).
 */
export function createValidator(options = {}) {
  const { compileAll = false, ...ajvOptions } = options;
  const ajv = new Ajv2020({ strict: true, allErrors: true, ...ajvOptions });
  const loaded = loadSchemas();
  for (const { schema } of loaded) ajv.addSchema(schema);
  if (compileAll) for (const { schema } of loaded) ajv.getSchema(schema.$id);
  return ajv;
}

/**
 * Validate data against the schema at path (or $id). Returns { valid, errors } where errors is
 * [] or Ajv's error objects. Uses one shared validator.
 */
let shared;
export function validate(path, data) {
  shared ??= createValidator();
  const fn = shared.getSchema(schemaId(path));
  if (!fn) throw new Error(`unknown schema ${path}`);
  const valid = fn(data);
  return { valid, errors: valid ? [] : [...(fn.errors ?? [])] };
}
