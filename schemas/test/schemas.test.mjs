// Compiles every schema in strict mode and runs the instance tests under schemas/test/instances
// (JSON-Schema-Test-Suite layout: [{ description, schema, tests: [{ description, data, valid }] }]).
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import { createValidator, loadSchemas, schemaFiles, schemaId, SCHEMA_BASE } from "../index.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const testsDir = join(root, "test", "instances");
const MIN_INSTANCES = 150;

function jsonFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsonFiles(join(dir, e.name)) : e.name.endsWith(".json") ? [join(dir, e.name)] : []))
    .sort();
}

const schemas = loadSchemas();
const testFiles = jsonFiles(testsDir).map((file) => ({
  name: relative(testsDir, file).split(sep).join("/"),
  groups: JSON.parse(readFileSync(file, "utf8")),
}));

// The schema files a test group refers to ($ref values, fragment removed).
function referencedSchemas(node, out = new Set()) {
  if (Array.isArray(node)) node.forEach((n) => referencedSchemas(n, out));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.add(v.split("#")[0]);
      else referencedSchemas(v, out);
    }
  }
  return out;
}

describe("schema files", () => {
  it("are found", () => {
    expect(schemas.length).toBeGreaterThan(20);
  });
  for (const { path, schema } of schemas) {
    it(`${path}: 2020-12, $id matches its path, title and description`, () => {
      expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
      expect(schema.$id).toBe(SCHEMA_BASE + path);
      expect(typeof schema.title).toBe("string");
      expect(typeof schema.description).toBe("string");
      expect(schema.description.length).toBeGreaterThan(20);
    });
  }
  it("all compile in strict mode (a fresh Ajv with every schema added)", () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    for (const { schema } of schemas) ajv.addSchema(schema);
    for (const { path, schema } of schemas) {
      expect(ajv.getSchema(schema.$id), path).toBeTypeOf("function");
    }
  });
  it("createValidator() returns a ready validator", () => {
    const ajv = createValidator({ compileAll: true });
    const v = ajv.getSchema(schemaId("wire/close.schema.json"));
    expect(v({ code: "E_NORMAL_CLOSE" })).toBe(true);
    expect(v({ code: "normal" })).toBe(false);
  });
});

const ajv = createValidator();
let instanceCount = 0;
const perSchema = new Map(schemas.map(({ schema }) => [schema.$id, 0]));

for (const { name, groups } of testFiles) {
  describe(name, () => {
    for (const group of groups) {
      const refs = referencedSchemas(group.schema);
      const validate = ajv.compile(group.schema);
      for (const ref of refs) if (perSchema.has(ref)) perSchema.set(ref, perSchema.get(ref) + group.tests.length);
      describe(group.description, () => {
        for (const t of group.tests) {
          instanceCount++;
          it(`${t.description} (${t.valid ? "valid" : "invalid"})`, () => {
            const ok = validate(t.data);
            const detail = ok ? "validated" : JSON.stringify(validate.errors, null, 1);
            expect(ok, detail).toBe(t.valid);
          });
        }
      });
    }
  });
}

describe("instance tests", () => {
  it(`count at least ${MIN_INSTANCES}`, () => {
    console.log(`schemas: ${schemas.length} schema files, ${instanceCount} instance tests in ${testFiles.length} files`);
    for (const [id, n] of perSchema) console.log(`  ${String(n).padStart(4)}  ${id.slice(SCHEMA_BASE.length)}`);
    expect(instanceCount).toBeGreaterThanOrEqual(MIN_INSTANCES);
  });
  it("every schema file has instance tests referring to it", () => {
    const missing = [...perSchema].filter(([, n]) => n === 0).map(([id]) => id);
    expect(missing).toEqual([]);
  });
  it("test groups refer only to known schemas", () => {
    for (const { name, groups } of testFiles) {
      for (const g of groups) for (const ref of referencedSchemas(g.schema)) expect(perSchema.has(ref), `${name}: ${ref}`).toBe(true);
    }
  });
  it("every test file lists at least one valid and one invalid instance", () => {
    for (const { name, groups } of testFiles) {
      const all = groups.flatMap((g) => g.tests);
      expect(
        all.some((t) => t.valid === true),
        name,
      ).toBe(true);
      expect(
        all.some((t) => t.valid === false),
        name,
      ).toBe(true);
    }
  });
  it("schemaFiles() lists every schema", () => {
    expect(schemaFiles()).toEqual(schemas.map((s) => s.path));
  });
});
