import { defineConfig } from "vitest/config";

// One vitest run covers every workspace; each workspace is a project so
// `vitest run --project impl-ts` runs one of them alone. The stress tests
// (model-based fuzzing, network faults, soak, wake-up counts) are their own
// project, run after the others have finished and one file at a time, so they
// neither starve nor are starved by the rest of the suite.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "spec", root: "./spec", include: ["test/**/*.test.{ts,mjs}"], sequence: { groupOrder: 0 } } },
      { test: { name: "schemas", root: "./schemas", include: ["test/**/*.test.{ts,mjs}"], sequence: { groupOrder: 0 } } },
      {
        test: {
          name: "impl-ts",
          root: "./impl-ts",
          include: ["test/**/*.test.ts"],
          exclude: ["test/stress/**"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: "impl-ts-stress",
          root: "./impl-ts",
          include: ["test/stress/**/*.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      { test: { name: "impl-native", root: "./impl-native", include: ["test/**/*.test.mjs"], sequence: { groupOrder: 0 } } },
      { test: { name: "conformance", root: "./conformance", include: ["test/**/*.test.{ts,mjs}"], sequence: { groupOrder: 0 } } },
      { test: { name: "bench", root: "./bench", include: ["test/**/*.test.mjs"], sequence: { groupOrder: 0 } } },
    ],
  },
});
