/**
 * impl-ts's client/server integration tests on the native-lws transport
 * (qwormhole_lws.node: libwebsockets service thread, framing and TLS in C).
 * The socket transport's dialer and listener are swapped for the native ones;
 * every QWormholeClient/QWormholeServer of the imported suites then runs on
 * native links. Skipped, with the reason, when the addon is not built.
 */
import { describe, expect, it, vi } from "vitest";
import { loadNative } from "../../src/native/load.js";

vi.mock("../../src/transport/socket-transport.js", async (importOriginal) => {
  const orig = await importOriginal<typeof import("../../src/transport/socket-transport.js")>();
  const { loadNative: load } = await import("../../src/native/load.js");
  const { nativeDialer, nativeListener } = await import("../../src/native/native-transport.js");
  const r = load("lws");
  if (!r.binding) return orig;
  return { ...orig, socketDialer: nativeDialer(r.binding), createSocketListener: nativeListener(r.binding) };
});

const loaded = loadNative("lws");
if (loaded.binding) {
  // The transport is forced native by the mock above; the factory itself is
  // then asked to stay TS, so the suites' factory test (TS fallback reported
  // with its reason) still holds. The binding is already loaded and cached.
  process.env["QWORMHOLE_DISABLE_NATIVE"] = "1";
  const { importSuites } = await import("./suite.js");
  await importSuites();
} else {
  // CI builds both addons: a missing one is a failure, never a skip.
  describe("native-lws", () => it("has its addon built", () => expect(loaded.binding, `addon not built: ${loaded.reason}`).toBeTruthy()));
}
