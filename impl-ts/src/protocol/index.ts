/**
 * The QWH/1 wire codec: framing, control frames, handshake and signatures,
 * with no I/O. The client and server are built on it; it is exported for
 * tools and other implementations' tests.
 * @module qwormhole/protocol
 */
export * from "./constants.js";
export * from "./error-codes.js";
export * from "./errors.js";
export * from "./strict-json.js";
export * from "./canonical-json.js";
export * from "./frame-decoder.js";
export * from "./frame-encoder.js";
export * from "./frame-receiver.js";
export * from "./control.js";
export * from "./fields.js";
export * from "./hello.js";
export * from "./server-answer.js";
export * from "./negotiate.js";
export * from "./signature.js";
export * from "./resume.js";
