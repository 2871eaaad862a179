/**
 * impl-ts's client/server integration suites on the native-libsocket transport
 * (qwormhole_posix.node: POSIX sockets on Node's loop, framing and TLS in C).
 * QWH_TEST_TARGET makes every client and server the suites build through
 * newClient/newServer (test/integration/target.ts) use the addon's dialer and
 * listener, the public options the factory uses for native modes.
 */
import { describe, expect, it } from "vitest";
import { loadNative } from "../../src/native/load.js";

const loaded = loadNative("libsocket");
process.env["QWH_TEST_TARGET"] = "native-libsocket";
// The suites' factory tests expect the TS fallback they ask for (the native
// factory is tested in factory.test.ts); the addon is loaded and cached above.
process.env["QWORMHOLE_DISABLE_NATIVE"] = "1";
// CI builds both addons: a missing one is a failure, never a skip.
describe("native-libsocket", () =>
  it("has its addon built", () => expect(loaded.binding, `addon not built: ${"reason" in loaded ? loaded.reason : ""}`).toBeTruthy()));

const { importSuites } = await import("./suite.js");
await importSuites();
