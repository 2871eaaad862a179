/**
 * The client/server integration suites of impl-ts, run again with the socket
 * transport replaced by a native one (see native-libsocket.test.ts and
 * native-lws.test.ts): every behaviour the TS transport passes must pass on
 * the native links too. Suites that test TS-transport internals only are not
 * listed here.
 */
export const PORTED_SUITES = ["roundtrip", "handshake", "features", "guards", "reconnect", "tls", "admission", "broadcast", "stall", "send-reconnect", "fuzz"] as const;

export async function importSuites(): Promise<void> {
  // Literal paths so vitest can follow them.
  await import("../integration/roundtrip.test.js");
  await import("../integration/handshake.test.js");
  await import("../integration/features.test.js");
  await import("../integration/guards.test.js");
  await import("../integration/reconnect.test.js");
  await import("../integration/tls.test.js");
  await import("../integration/admission.test.js");
  await import("../integration/broadcast.test.js");
  await import("../integration/stall.test.js");
  await import("../integration/send-reconnect.test.js");
  // The model-based fuzzing: 2,000 sequences on the TS transport, 300 on each native one.
  process.env["QWH_FUZZ_RUNS"] ??= "300";
  await import("../fuzz/client-server.model.test.js");
}
