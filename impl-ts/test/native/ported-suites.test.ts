/**
 * The ported suites build every client and server through newClient/newServer
 * (test/integration/target.ts); one built with `new` directly would run on the
 * TS transport in the native suites and prove nothing about the addon.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PORTED_SUITES } from "./suite.js";

describe("ported suites", () => {
  it.each(PORTED_SUITES)("%s builds clients and servers on the suite's target", (name) => {
    const source = readFileSync(new URL(`../integration/${name}.test.ts`, import.meta.url), "utf8");
    expect(source.match(/new QWormhole(Client|Server)\b/g) ?? []).toEqual([]);
  });
});
