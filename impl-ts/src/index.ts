/**
 * qwormhole: framed TCP messaging for Node.js, the QWH/1 reference
 * implementation. Clients and servers with a versioned handshake, typed
 * messages, reconnect, backpressure, rate limiting, heartbeats and TLS.
 *
 * The whole package is one ES module (`import`, or `require` from Node 20.19
 * on); `qwormhole/protocol` is the wire codec without I/O and
 * `qwormhole/testing` the conformance adapter's codec operations.
 * @module qwormhole
 */
export { QWormholeClient, type ClientCloseInfo, type ClientEvents, type ClientReadyInfo, type ClientStatus } from "./client/client.js";
export type { QWormholeClientOptions, ResolvedClientOptions } from "./client/client-options.js";
export { QWormholeServer, type ServerEvents } from "./server/server.js";
export type { QWormholeServerOptions, IncomingConnectionInfo, ResolvedServerOptions } from "./server/server-options.js";
export {
  ServerConnection,
  type HandshakeSnapshot,
  type ServerConnectionCloseInfo,
  type ServerConnectionEvents,
} from "./server/server-connection.js";
export {
  QWormholeRuntime,
  createQWormholeClient,
  createQWormholeServer,
  type TransportMode,
  type FactoryOptions,
  type NativeStatus,
  type RuntimeDefaults,
} from "./runtime.js";
export { createHandshakeVerifier, type HandshakeVerifierPolicy } from "./handshake-verifier.js";
export * from "./codecs.js";
export type { CommonOptions, HandshakeProfile, QWormholeTlsOptions, ResolvedCommonOptions } from "./options.js";
export type { ReconnectOptions, ResolvedReconnect } from "./backoff.js";
export type { ResumeOptions, ResolvedResumeOptions } from "./transport/resume-session.js";
export { backoffDelay } from "./backoff.js";
export { TokenBucket, RateLimitedQueue } from "./rate-limiter.js";
export { DiagnosticsChannels, type TelemetrySnapshot } from "./telemetry.js";
export type { TlsFacts } from "./tls-facts.js";
export { QWormholeError, ProtocolError, HandshakeRejectedError } from "./protocol/errors.js";
export {
  WIRE_ERROR_CODES,
  LOCAL_ERROR_CODES,
  isTerminalErrorCode,
  type ErrorCode,
  type WireErrorCode,
  type LocalErrorCode,
} from "./protocol/error-codes.js";
export { createHelloSigner, type HelloSigner } from "./protocol/signature.js";
export type { Tags } from "./protocol/fields.js";
export { QWH_VERSION, DEFAULT_MAX_FRAME_LENGTH } from "./protocol/constants.js";
