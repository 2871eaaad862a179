/**
 * qwormhole: framed TCP messaging for Node.js, the QWH/1 reference
 * implementation.
 * @packageDocumentation
 */
export * from "./protocol/index.js";
