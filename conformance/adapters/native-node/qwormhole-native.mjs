// qwormhole with QWormholeClient/QWormholeServer made by the factory in the native mode named
// by QWH_NATIVE_BACKEND (see adapter.mjs). Everything else is qwormhole's own.
import * as real from "qwormhole";

export * from "qwormhole";

const backend = process.env.QWH_NATIVE_BACKEND;
const want = `native-${backend}`;
/** The factory could not give the native mode: the adapter reports the scenario unsupported (exit 127 or an unsupported line). */
function check(made) {
  if (made.mode !== want)
    throw Object.assign(new Error(`native adapter: the factory gave ${made.mode}, not ${want}: ${made.reason ?? "no reason given"}`), {
      unsupported: true,
    });
}

export class QWormholeServer extends real.QWormholeServer {
  constructor(options = {}) {
    const made = real.createQWormholeServer({ ...options, preferNative: true, preferredNativeBackend: backend });
    check(made);
    return made.server;
  }
}

export class QWormholeClient extends real.QWormholeClient {
  constructor(options) {
    const made = real.createQWormholeClient({ ...options, preferNative: true, preferredNativeBackend: backend });
    check(made);
    return made.client;
  }
}
