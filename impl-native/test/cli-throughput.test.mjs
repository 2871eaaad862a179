// The throughput scenarios of `qwh-native` on both backends: `serve` with the stream scenario and
// `connect --scenario count` move every message (small ones batched in one block, large ones
// filling the socket so the writer waits for writability) and the client counts them all.
import { describe, expect, it } from "vitest";
import { NATIVE, startServer } from "./cli-server.mjs";
import { runBounded } from "./deadline.mjs";

const CASES = [
  { size: 64, count: 200_000 },
  { size: 65536, count: 400 },
];

describe("qwh-native throughput scenarios (serve stream -> connect count)", () => {
  for (const backend of ["posix", "lws"]) {
    for (const { size, count } of CASES) {
      it(`${backend}: ${count} messages of ${size} B arrive, counted with their bytes`, async () => {
        const server = await startServer({ backend, config: { scenario: "stream", pushCount: count, pushSize: size } });
        try {
          const config = { expectCount: count, timeoutMs: 60_000 };
          const args = [
            "--backend",
            backend,
            "connect",
            "--port",
            String(server.port),
            "--scenario",
            "count",
            "--config",
            JSON.stringify(config),
          ];
          const r = await runBounded(NATIVE, args, { timeoutMs: 90_000 });
          expect(r.code).toBe(0);
          const result = JSON.parse(r.stdout.trim().split("\n").pop());
          expect(result).toMatchObject({ ok: true, scenario: "count", received: count, receivedBytes: count * size, error: null });
          expect(result.elapsedNs).toBeGreaterThan(0);
        } finally {
          await server.stop();
        }
      }, 120_000);
    }
  }
});
