/**
 * Runs every golden vector in conformance/vectors through the TS codec.
 * frame-decode vectors run under three chunkings: whole, byte by byte, and
 * seeded random splits; all must give the vector's events and error.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../conformance/src/cutting-proxy.mjs";
import { codecOperations } from "../src/testing/codec-operations.js";

const VECTOR_DIR = join(import.meta.dirname, "../../conformance/vectors");

interface VectorFile {
  kind: string;
  testGroups: { tests: Record<string, any>[]; [param: string]: unknown }[];
}

const files = readdirSync(VECTOR_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

function chunkings(byteLength: number, seed: number): { name: string; chunks?: number[] }[] {
  const random = mulberry32(seed); // seeded, so a failing split can be replayed from tcId
  const sizes: number[] = [];
  for (let n = 0; n < byteLength;) {
    const s = 1 + Math.floor(random() * 7);
    sizes.push(s);
    n += s;
  }
  return [{ name: "whole" }, { name: "bytewise", chunks: new Array(byteLength).fill(1) }, { name: `random(seed=${seed})`, chunks: sizes }];
}

/** The outputs a vector states, in the shape the operation returns. */
function expectedOf(kind: string, test: Record<string, any>): Record<string, unknown> {
  const error = test.error ?? null;
  switch (kind) {
    case "frame-decode":
      return { events: test.events, error };
    case "frame-encode":
      return error ? { error, hex: test.hex ?? "" } : { hex: test.hex, error };
    case "hello":
      return error ? { error } : { profile: test.profile, hello: test.hello, error };
    case "accept":
      return error
        ? { error }
        : test.outcome === "accept"
          ? { outcome: "accept", accept: test.accept, error }
          : { outcome: "reject", reject: test.reject, error };
    case "negotiate":
      return { error, answer: test.answer };
    case "signature":
      return test.signedHex !== undefined ? { signedHex: test.signedHex, error } : { error };
    case "canonical-json":
      return error ? { error } : { canonicalHex: test.canonicalHex, error };
    case "resume":
      if (test.events !== undefined) return { events: test.events, error };
      return test.answer !== undefined ? { error, answer: test.answer } : { error };
    default:
      throw new Error(`unknown vector kind ${kind}`);
  }
}

/** Drops output members the vector does not state (e.g. signedHex of an unparseable hello). */
function comparable(actual: Record<string, unknown>, expected: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(expected)) out[k] = actual[k] ?? (k === "error" ? null : undefined);
  return out;
}

describe("golden vectors", () => {
  it("the vector directory holds at least 10 files", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  for (const file of files) {
    const doc = JSON.parse(readFileSync(join(VECTOR_DIR, file), "utf8")) as VectorFile;
    const op = codecOperations[doc.kind];
    describe(file, () => {
      it("has an operation for its kind", () => expect(op).toBeTypeOf("function"));
      for (const group of doc.testGroups) {
        const { tests, ...params } = group;
        for (const test of tests) {
          const title = `tcId ${test.tcId}: ${test.comment} [${test.requirements.join(", ")}]`;
          it(title, () => {
            const expected = expectedOf(doc.kind, test);
            const runs = doc.kind === "frame-decode" ? chunkings(test.hex.length / 2, test.tcId) : [{ name: "whole" }];
            for (const run of runs) {
              const input = run.chunks ? { ...test, chunks: run.chunks } : test;
              const actual = op!(params, input);
              expect(comparable(actual, expected), `${file} tcId ${test.tcId} (${run.name})`).toEqual(expected);
            }
            if (test.result === "invalid") expect(expected.error, "an invalid vector names its error").toBeTruthy();
          });
        }
      }
    });
  }
});
