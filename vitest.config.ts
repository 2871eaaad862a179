import { defineConfig } from "vitest/config";

// One vitest run covers every workspace; each workspace is a project so
// `vitest run --project impl-ts` runs one of them alone.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "spec", root: "./spec", include: ["test/**/*.test.{ts,mjs}"] } },
      { test: { name: "schemas", root: "./schemas", include: ["test/**/*.test.{ts,mjs}"] } },
      { test: { name: "impl-ts", root: "./impl-ts", include: ["test/**/*.test.ts"] } },
      { test: { name: "impl-native", root: "./impl-native", include: ["test/**/*.test.mjs"] } },
      { test: { name: "conformance", root: "./conformance", include: ["test/**/*.test.{ts,mjs}"] } },
      { test: { name: "bench", root: "./bench", include: ["test/**/*.test.mjs"] } },
    ],
  },
});
