// The conformance adapter of the native addons (agents native-lws and native-libsocket):
// conformance/adapters/ts/adapter.mjs, unchanged, with every QWormholeClient/QWormholeServer it
// creates made by the factory forced to one native mode, so what Node users load is what is
// tested. Usage: node adapter.mjs --backend lws|libsocket <mode> [adapter arguments...]
// (or QWH_NATIVE_BACKEND=lws|libsocket). If the factory cannot give that mode (addon not built,
// or an option only the TS transport has), the adapter reports it unsupported (exit 127) with the reason.
import { register } from "node:module";

const argv = process.argv;
let backend = process.env.QWH_NATIVE_BACKEND;
const at = argv.indexOf("--backend");
if (at >= 2 && at + 1 < argv.length) {
  backend = argv[at + 1];
  argv.splice(at, 2);
}
if (backend !== "lws" && backend !== "libsocket") {
  process.stderr.write("native adapter: --backend lws|libsocket is required\n");
  process.exit(2);
}
process.env.QWH_NATIVE_BACKEND = backend;
register("./hooks.mjs", import.meta.url);
await import("../ts/adapter.mjs");
