import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LOCAL_ERROR_CODES, TERMINAL_ERROR_CODES, WIRE_ERROR_CODES } from "../src/protocol/index.js";

const registry = JSON.parse(readFileSync(join(import.meta.dirname, "../../spec/error-codes.json"), "utf8")) as {
  codes: { code: string; scope: "wire" | "local"; terminal: boolean }[];
};

describe("error codes match the spec's registry (one registry)", () => {
  it("wire codes are the spec's wire codes", () => {
    expect([...WIRE_ERROR_CODES].sort()).toEqual(
      registry.codes
        .filter((c) => c.scope === "wire")
        .map((c) => c.code)
        .sort(),
    );
  });
  it("local-only codes are the spec's local codes", () => {
    expect([...LOCAL_ERROR_CODES].sort()).toEqual(
      registry.codes
        .filter((c) => c.scope === "local")
        .map((c) => c.code)
        .sort(),
    );
  });
  it("terminal codes are the spec's terminal codes", () => {
    expect([...TERMINAL_ERROR_CODES].sort()).toEqual(
      registry.codes
        .filter((c) => c.terminal)
        .map((c) => c.code)
        .sort(),
    );
  });
});
