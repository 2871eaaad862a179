/**
 * Session resumption across implementations under real faults: the cutting
 * proxy of test/integration/resume-cuts.ts between a ts client and a native
 * server (both addons) and between a native client and a ts server, plain
 * TCP and TLS; 100,000 numbered messages one way, 20,000 the other, at least
 * 20 cuts: none lost, none repeated, in order (QWH-RESUME-021,
 * QWH-RESUME-026). The ts x ts runs are in test/integration/resume.test.ts.
 * A missing addon fails these tests, never skips them.
 */
import { afterEach, describe, it } from "vitest";
import { expectClean, runCuts } from "../integration/resume-cuts.js";
import type { TestTarget } from "../integration/target.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PAIRS: [TestTarget, TestTarget][] = [
  ["ts", "native-libsocket"],
  ["ts", "native-lws"],
  ["native-libsocket", "ts"],
  ["native-lws", "ts"],
];

describe("resume under connection resets, ts x native (QWH-RESUME-021, QWH-RESUME-026)", () => {
  for (const [client, server] of PAIRS)
    for (const [transport, seed] of [
      ["plain", 0x5eed],
      ["tls", 0x7115],
    ] as const) {
      it(`${client} client, ${server} server, ${transport}: 100,000 + 20,000 numbered messages, >= 20 cuts, none lost, none repeated, in order`, async () => {
        const report = await runCuts({
          transport,
          seed,
          client,
          server,
          toServer: 100_000,
          toClient: 20_000,
          minBytes: 24_000,
          maxBytes: 160_000,
          cleanups,
          deadlineMs: 120_000,
        });
        expectClean(report, 100_000, 20_000);
      }, 180_000);
    }
});
