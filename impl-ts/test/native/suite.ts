/**
 * The client/server integration suites of impl-ts, run again on a native
 * transport (see native-libsocket.test.ts and native-lws.test.ts): every
 * behaviour the TS transport passes must pass on the native links too. Suites
 * that test TS-transport internals only are not listed here; the model-based
 * fuzzing (test/stress/fuzz) runs every target itself.
 */
export const PORTED_SUITES = [
  "roundtrip",
  "handshake",
  "features",
  "guards",
  "reconnect",
  "tls",
  "admission",
  "broadcast",
  "stall",
  "send-reconnect",
  "first-contact",
] as const;

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
  await import("../integration/first-contact.test.js");
}
