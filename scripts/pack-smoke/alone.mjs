// qwormhole installed alone (no @qwormhole/native, no cbor-x): the TS transport works, and every
// optional part says why it is missing and how to get it.
import { createCborSerializer, createQWormholeServer } from "qwormhole";

const fail = (msg) => {
  console.error(`pack smoke (qwormhole alone): ${msg}`);
  process.exit(1);
};
try {
  createCborSerializer();
  fail("CBOR without cbor-x should fail");
} catch (err) {
  if (err.code !== "E_CODEC_UNAVAILABLE" || !/npm install cbor-x/.test(err.message)) throw err;
}
const fallback = createQWormholeServer({ port: 0, preferNative: true });
if (fallback.mode !== "ts" || !/@qwormhole\/native is not installed \(npm install @qwormhole\/native\)/.test(fallback.reason ?? "")) {
  fail(`preferNative should fall back to ts with the reason, got ${fallback.mode}: ${fallback.reason}`);
}
try {
  createQWormholeServer({ port: 0, requireNative: true });
  fail("requireNative without @qwormhole/native should throw");
} catch (err) {
  if (err.code !== "E_NATIVE_UNAVAILABLE" || !/@qwormhole\/native is not installed/.test(err.message)) throw err;
}
console.log("pack smoke: qwormhole alone: ts only, E_CODEC_UNAVAILABLE and E_NATIVE_UNAVAILABLE say why");
