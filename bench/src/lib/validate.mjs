// Validates a results object against schemas/bench/results.schema.json.
import { createValidator, schemaId } from "@qwormhole/schemas";

let validate;
/** Returns null when valid, else a list of "path: message" strings. */
export function validateResults(result) {
  validate ??= createValidator().getSchema(schemaId("bench/results.schema.json"));
  if (validate(result)) return null;
  return validate.errors.map((e) => `${e.instancePath || "/"}: ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}
