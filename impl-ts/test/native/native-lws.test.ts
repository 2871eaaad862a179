/**
 * impl-ts's client/server integration suites on the native-lws transport
 * (qwormhole_lws.node: libwebsockets service thread, framing and TLS in C).
 * QWH_TEST_TARGET makes every client and server the suites build through
 * newClient/newServer (test/integration/target.ts) use the addon's dialer and
 * listener, the public options the factory uses for native modes.
 */
import { describe, expect, it } from "vitest";
import { loadNative } from "../../src/native/load.js";

const loaded = loadNative("lws");
process.env["QWH_TEST_TARGET"] = "native-lws";
// The suites' factory tests expect the TS fallback they ask for (the native
// factory is tested in factory.test.ts); the addon is loaded and cached above.
process.env["QWORMHOLE_DISABLE_NATIVE"] = "1";
// CI builds both addons: a missing one is a failure, never a skip.
describe("native-lws", () =>
  it("has its addon built", () => expect(loaded.binding, `addon not built: ${"reason" in loaded ? loaded.reason : ""}`).toBeTruthy()));

const { importSuites } = await import("./suite.js");
await importSuites();
