// What the serve and connect modes of the ts adapter share: TLS files, and the mapping of the
// adapter contract's --config names (spec Appendix D.3) to qwormhole options.
import { readFileSync } from "node:fs";

/** The TLS files named by --tls-cert/--tls-key/--tls-ca (paths), read; undefined when none is given. */
export function readTls(paths) {
  if (!paths || (!paths.cert && !paths.key && !paths.ca)) return undefined;
  return {
    cert: paths.cert ? readFileSync(paths.cert) : undefined,
    key: paths.key ? readFileSync(paths.key) : undefined,
    ca: paths.ca ? readFileSync(paths.ca) : undefined,
  };
}

/** The --config object, checked. */
export function parseConfig(text) {
  const config = JSON.parse(text ?? "{}");
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new Error("--config must be a JSON object");
  return config;
}

/** Options both roles share, from a --config object. */
export function commonOptions(config) {
  const o = {};
  if (config.profile === "bare") o.handshakeProfile = "bare";
  if (config.profile === "legacy") o.handshakeProfile = "legacy";
  for (const k of [
    "framing",
    "maxFrameLength",
    "protocolVersion",
    "handshakeTimeoutMs",
    "heartbeatIntervalMs",
    "heartbeatMissedLimit",
    "idleTimeoutMs",
    "drainTimeoutMs",
    "highWaterMarkBytes",
  ]) {
    if (config[k] !== undefined) o[k] = config[k];
  }
  // `features` is the exact set (the qwormhole options split it into `control` and the rest).
  if (Array.isArray(config.features)) {
    o.control = config.features.includes("control");
    o.features = config.features.filter((f) => f !== "control" && f !== "raw" && f !== "resume");
  }
  // Session resumption (QWH/1.1): true or {windowMs, maxUnackedMessages, maxUnackedBytes, ackDelayMs, maxSessions}.
  if (config.resume !== undefined && config.resume !== false) o.resume = config.resume;
  if (config.tags !== undefined) o.handshakeTags = config.tags;
  return o;
}

/**
 * serve: with --tls-ca the server asks for a client certificate and verifies it against that CA
 * (unless config.requestClientCert is false); with config.pins it asks for one and checks it
 * against the pins only (a missing or unpinned certificate is refused with E_TLS_PIN_MISMATCH).
 * connect: verifies the server against --tls-ca (and config.pins: the server certificate's
 * SHA-256 digests) and presents --tls-cert/--tls-key unless config.clientCert is false.
 * config.alpn: the ALPN protocols offered (client) or accepted (server).
 */
export function tlsOptions(tls, server, config) {
  if (!tls) return undefined;
  const extra = {};
  if (Array.isArray(config.pins)) extra.pinnedFingerprints256 = config.pins;
  if (Array.isArray(config.alpn)) extra.alpnProtocols = config.alpn;
  if (server) {
    if (Array.isArray(config.pins))
      return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false, ...extra };
    const ask = tls.ca !== undefined && config.requestClientCert !== false;
    return { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: ask, rejectUnauthorized: ask, ...extra };
  }
  const own = config.clientCert === false ? {} : { cert: tls.cert, key: tls.key };
  return { ...own, ca: tls.ca, rejectUnauthorized: tls.ca !== undefined, servername: "localhost", ...extra };
}

/** A scenario, option or mode the adapter does not support: exit 127 (or an `unsupported` line). */
export class Unsupported extends Error {
  constructor(message) {
    super(message);
    this.unsupported = true;
  }
}
