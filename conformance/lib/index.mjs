// Building blocks shared by the vector and case generators, the wire engine, the runner and the
// reference adapters: canonical JSON, frame bytes, the adapter contract's generated messages, and
// Ed25519 keys from seeds, test certificates. One copy of each.
export { jcs } from "./jcs.mjs";
export { byteLen, CONTROL_BIT, CTRL, ctrlFrame, dataFrame, frameBytes, HANDSHAKE_LIMIT, hdr, headerBytes } from "./frames.mjs";
export { digestOf, expandMessages, patternMessage } from "./messages.mjs";
export { edKey, edSignBytes, SIG_PREFIX } from "./ed25519.mjs";
export { makeSelfSigned, makeTestPki } from "./tls-certs.mjs";
