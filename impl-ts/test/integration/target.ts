/**
 * The transport the integration suites run on. `ts` by default; a native suite
 * file (test/native/native-*.test.ts) sets QWH_TEST_TARGET before importing the
 * suites, and every client and server made through newClient/newServer then
 * runs on that addon through the public `dialer`/`listener` options, the way
 * the factory builds native clients and servers. A missing addon fails the
 * suite, never skips it.
 */
import { QWormholeClient, QWormholeServer, type QWormholeClientOptions, type QWormholeServerOptions } from "../../src/index.js";
import { loadNative, type NativeBackendName } from "../../src/native/load.js";
import { nativeDialer, nativeListener } from "../../src/native/native-transport.js";

export type TestTarget = "ts" | "native-libsocket" | "native-lws";

const BACKEND: Record<Exclude<TestTarget, "ts">, NativeBackendName> = { "native-libsocket": "libsocket", "native-lws": "lws" };

/** The target named by QWH_TEST_TARGET (default `ts`). */
export function testTarget(): TestTarget {
  const t = process.env["QWH_TEST_TARGET"] ?? "ts";
  if (t !== "ts" && t !== "native-libsocket" && t !== "native-lws")
    throw new Error(`QWH_TEST_TARGET=${t}: expected ts, native-libsocket or native-lws`);
  return t;
}

/** The dialer and listener of `target` (none for ts: the socket transport is the default). */
export function transportOf(
  target: TestTarget = testTarget(),
): Pick<QWormholeClientOptions, "dialer"> & Pick<QWormholeServerOptions, "listener"> {
  if (target === "ts") return {};
  const loaded = loadNative(BACKEND[target]);
  if (!loaded.binding) throw new Error(`${target}: addon not built: ${loaded.reason}`);
  return { dialer: nativeDialer(loaded.binding), listener: nativeListener(loaded.binding) };
}

/** A server on the suite's target transport. */
export function newServer<TIn = Buffer, TOut = unknown>(
  options: QWormholeServerOptions<TIn, TOut>,
  target?: TestTarget,
): QWormholeServer<TIn, TOut> {
  const { listener } = transportOf(target);
  return new QWormholeServer<TIn, TOut>(listener ? { listener, ...options } : options);
}

/** A client on the suite's target transport. */
export function newClient<TIn = Buffer, TOut = unknown>(
  options: QWormholeClientOptions<TIn, TOut>,
  target?: TestTarget,
): QWormholeClient<TIn, TOut> {
  const { dialer } = transportOf(target);
  return new QWormholeClient<TIn, TOut>(dialer ? { dialer, ...options } : options);
}
