// Every golden vector file, spec/requirements.json and spec/error-codes.json
// validate against their JSON Schemas.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createValidator, schemaId } from "@qwormhole/schemas";

const root = join(import.meta.dirname, "../..");
const ajv = createValidator();

function check(schemaPath, data) {
  const validate = ajv.getSchema(schemaId(schemaPath));
  expect(validate, `schema ${schemaPath} is loaded`).toBeTypeOf("function");
  const ok = validate(data);
  expect(ok ? [] : validate.errors.slice(0, 5), schemaPath).toEqual([]);
}

describe("files validate against their schemas", () => {
  const vectorDir = join(root, "conformance/vectors");
  for (const name of readdirSync(vectorDir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    it(`conformance/vectors/${name}`, () => {
      const data = JSON.parse(readFileSync(join(vectorDir, name), "utf8"));
      check(data.schema, data);
    });
  }
  it("spec/requirements.json", () => {
    check("spec/requirements.schema.json", JSON.parse(readFileSync(join(root, "spec/requirements.json"), "utf8")));
  });
  it("spec/error-codes.json", () => {
    check("spec/error-codes.schema.json", JSON.parse(readFileSync(join(root, "spec/error-codes.json"), "utf8")));
  });
});
