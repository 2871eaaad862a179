// Lets `npm test --workspace @qwormhole/bench` run the harness's checks on their own
// (the root config gets the same as a project named "bench").
import { defineConfig } from "vitest/config";

export default defineConfig({ test: { name: "bench", include: ["test/**/*.test.mjs"] } });
