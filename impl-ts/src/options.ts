/**
 * Options shared by client and server, their defaults, and the one place
 * they are validated (errors name the option: E_INVALID_OPTION).
 * @packageDocumentation
 */
import type { ConnectionOptions as NodeTlsConnectionOptions, TlsOptions as NodeTlsServerOptions } from "node:tls";
import type { Deserializer, Serializer } from "./codecs.js";
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_LENGTH,
  DEFAULT_SIGNATURE_WINDOW_MS,
  MAX_FRAME_LENGTH_LIMIT,
} from "./protocol/constants.js";
import { QWormholeError } from "./protocol/errors.js";
import type { Tags } from "./protocol/fields.js";
import type { TelemetrySnapshot } from "./telemetry.js";

/** Which handshake a connection uses. `v1` is the default; the others are explicit opt-ins for 0.3 peers. */
export type HandshakeProfile = "v1" | "legacy" | "bare";

/** TLS settings (Node `tls` options plus QWormhole's own). */
export interface QWormholeTlsOptions {
  /** Turn TLS on. Default true when a `tls` object is given. */
  enabled?: boolean;
  key?: NodeTlsConnectionOptions["key"];
  cert?: NodeTlsConnectionOptions["cert"];
  ca?: NodeTlsConnectionOptions["ca"];
  passphrase?: string;
  /** ALPN protocols to offer (client) or accept (server). */
  alpnProtocols?: string[];
  /** Server: ask for a client certificate (mutual TLS). */
  requestCert?: boolean;
  /** Verify the peer's certificate against `ca`. Default true. */
  rejectUnauthorized?: boolean;
  /** Client: SNI and host name to verify. */
  servername?: string;
  /**
   * SHA-256 fingerprints (hex, any separators) the peer's certificate must
   * match; checked before any application byte (E_TLS_PIN_MISMATCH).
   */
  pinnedFingerprints256?: string[];
  /** Minimum TLS version; QWH/1 requires 1.2 or later. Default "TLSv1.2". */
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /** Any other Node tls option, passed through. */
  extra?: NodeTlsConnectionOptions & NodeTlsServerOptions;
}

/** Options common to clients and servers. */
export interface CommonOptions<TIn = Buffer, TOut = unknown> {
  /** `"length-prefixed"` (default) or `"none"` (raw stream after the handshake). */
  framing?: "length-prefixed" | "none";
  /** Receive maximum for data frames, advertised to the peer. Default 4 MiB. */
  maxFrameLength?: number;
  /** Application protocol version sent in (client) or required of (server) the hello. */
  protocolVersion?: string;
  /** Tags sent in the hello (client) or the accept (server). */
  handshakeTags?: Tags;
  /** Handshake profile. Default "v1". */
  handshakeProfile?: HandshakeProfile;
  /** Time allowed for the handshake, in ms. Default 10000. */
  handshakeTimeoutMs?: number;
  serializer?: Serializer<TOut>;
  deserializer?: Deserializer<TIn>;
  /** Outbound rate limit in bytes per second (per connection). */
  rateLimitBytesPerSec?: number;
  /** Burst size of the rate limit, in bytes. Default: one second's worth. */
  rateLimitBurstBytes?: number;
  /** TCP keep-alive. Default true. */
  keepAlive?: boolean;
  /** Delay before the first keep-alive probe, in ms. Default 30000. */
  keepAliveDelayMs?: number;
  /** Close a connection after this long without traffic (E_IDLE_TIMEOUT). Default 0 (off). */
  idleTimeoutMs?: number;
  /** Heartbeat PING interval in ms when `control` is negotiated. Default 0 (off). */
  heartbeatIntervalMs?: number;
  /** Unanswered PINGs before the peer is stale (E_HEARTBEAT_TIMEOUT). Default 2. */
  heartbeatMissedLimit?: number;
  /** Bounded wait of a graceful close, in ms. Default 5000. */
  drainTimeoutMs?: number;
  /** Unsent bytes above which `send` reports backpressure. Default 1 MiB. */
  highWaterMarkBytes?: number;
  /** TLS settings. */
  tls?: QWormholeTlsOptions;
  /** Called with a telemetry snapshot every `telemetryIntervalMs`. */
  onTelemetry?: (snapshot: TelemetrySnapshot) => void;
  /** Telemetry interval in ms. Default 1000. */
  telemetryIntervalMs?: number;
}

/** Throws E_INVALID_OPTION naming `name`. */
export function invalidOption(name: string, expected: string, value: unknown): never {
  throw new QWormholeError(
    "E_INVALID_OPTION",
    `option ${name} must be ${expected}, got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`,
  );
}

/** Option names both clients and servers accept. */
export const COMMON_OPTION_NAMES: readonly string[] = [
  "framing",
  "maxFrameLength",
  "protocolVersion",
  "handshakeTags",
  "handshakeProfile",
  "handshakeTimeoutMs",
  "serializer",
  "deserializer",
  "rateLimitBytesPerSec",
  "rateLimitBurstBytes",
  "keepAlive",
  "keepAliveDelayMs",
  "idleTimeoutMs",
  "heartbeatIntervalMs",
  "heartbeatMissedLimit",
  "drainTimeoutMs",
  "highWaterMarkBytes",
  "tls",
  "onTelemetry",
  "telemetryIntervalMs",
];

const TLS_OPTION_NAMES: readonly string[] = [
  "enabled",
  "key",
  "cert",
  "ca",
  "passphrase",
  "alpnProtocols",
  "requestCert",
  "rejectUnauthorized",
  "servername",
  "pinnedFingerprints256",
  "minVersion",
  "extra",
];

/** Edit distance of two short names (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

/**
 * Throws E_INVALID_OPTION for the first own key of `o` that is not in
 * `known` (TypeScript users get this from the types; plain JS users from
 * here), suggesting the closest known name.
 */
export function checkOptionNames(o: object, known: readonly string[], prefix = ""): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    let best: string | undefined;
    let bestDistance = 3;
    for (const k of known) {
      const d = distance(key, k);
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    throw new QWormholeError("E_INVALID_OPTION", `unknown option ${prefix}${key}${best ? ` (did you mean ${prefix}${best}?)` : ""}`);
  }
}

/** Validates an optional boolean option. */
export function boolOption(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") invalidOption(name, "true or false", value);
  return value;
}

/** Validates an optional non-empty string option. */
export function stringOption(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) invalidOption(name, "a non-empty string", value);
  return value;
}

/** Validates an optional array of non-empty strings. */
export function stringArrayOption(name: string, value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) invalidOption(name, "an array of strings", value);
  value.forEach((v, i) => stringOption(`${name}[${i}]`, v));
  return value as string[];
}

/** Checks the `tls` object: known names, types, and pins that are SHA-256 fingerprints. */
function checkTlsOptions(tls: unknown): void {
  if (tls === undefined) return;
  if (tls === null || typeof tls !== "object" || Array.isArray(tls)) invalidOption("tls", "an object", tls);
  const t = tls as Record<string, unknown>;
  checkOptionNames(t, TLS_OPTION_NAMES, "tls.");
  for (const k of ["enabled", "requestCert", "rejectUnauthorized"]) boolOption(`tls.${k}`, t[k], false);
  stringOption("tls.servername", t["servername"]);
  if (t["passphrase"] !== undefined && typeof t["passphrase"] !== "string") invalidOption("tls.passphrase", "a string", t["passphrase"]);
  stringArrayOption("tls.alpnProtocols", t["alpnProtocols"]);
  const pins = stringArrayOption("tls.pinnedFingerprints256", t["pinnedFingerprints256"]);
  pins?.forEach((pin, i) => {
    // 32 bytes in hex, optionally separated by ":", "-" or spaces (as openssl and browsers print them).
    if (!/^[0-9a-fA-F:\s-]+$/.test(pin) || pin.replace(/[^0-9a-fA-F]/g, "").length !== 64) {
      invalidOption(`tls.pinnedFingerprints256[${i}]`, 'a SHA-256 fingerprint (64 hex digits, separators ":", "-" or spaces allowed)', pin);
    }
  });
  if (t["extra"] !== undefined && (t["extra"] === null || typeof t["extra"] !== "object"))
    invalidOption("tls.extra", "an object", t["extra"]);
}

/** Validates an optional integer option in [min, max]. */
export function intOption(name: string, value: unknown, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalidOption(name, `an integer in ${min}..${max}`, value);
  }
  return value;
}

/** Validates an optional positive number option (Infinity allowed when `infinite`). */
export function numberOption(name: string, value: unknown, fallback: number, infinite = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0 || (!infinite && !Number.isFinite(value))) {
    invalidOption(name, infinite ? "a non-negative number or Infinity" : "a non-negative number", value);
  }
  return value;
}

/** Common options with defaults applied. */
export interface ResolvedCommonOptions {
  framing: "length-prefixed" | "none";
  maxFrameLength: number;
  protocolVersion: string | undefined;
  handshakeTags: Tags | undefined;
  handshakeProfile: HandshakeProfile;
  handshakeTimeoutMs: number;
  rateLimitBytesPerSec: number;
  rateLimitBurstBytes: number;
  keepAlive: boolean;
  keepAliveDelayMs: number;
  idleTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatMissedLimit: number;
  drainTimeoutMs: number;
  highWaterMarkBytes: number;
  tls: QWormholeTlsOptions | undefined;
  telemetryIntervalMs: number;
  signatureWindowMs: number;
}

/** Validates and completes the common options. */
export function resolveCommonOptions(o: CommonOptions<unknown, unknown>): ResolvedCommonOptions {
  const framing = o.framing ?? "length-prefixed";
  if (framing !== "length-prefixed" && framing !== "none") invalidOption("framing", '"length-prefixed" or "none"', framing);
  const profile = o.handshakeProfile ?? "v1";
  if (profile !== "v1" && profile !== "legacy" && profile !== "bare")
    invalidOption("handshakeProfile", '"v1", "legacy" or "bare"', profile);
  if (framing === "none" && profile !== "v1" && profile !== "bare")
    invalidOption("framing", '"length-prefixed" with the legacy profile', framing);
  if (
    o.protocolVersion !== undefined &&
    (typeof o.protocolVersion !== "string" || o.protocolVersion.length === 0 || o.protocolVersion.length > 64)
  ) {
    invalidOption("protocolVersion", "a string of 1..64 characters", o.protocolVersion);
  }
  if (o.handshakeTags !== undefined) {
    if (o.handshakeTags === null || typeof o.handshakeTags !== "object") invalidOption("handshakeTags", "an object", o.handshakeTags);
    for (const [k, v] of Object.entries(o.handshakeTags)) {
      // "tls"-prefixed tags state TLS facts; only the implementation sets them (QWH-TLS-006).
      if (k.startsWith("tls")) invalidOption(`handshakeTags.${k}`, 'a name not starting with "tls" (reserved for TLS facts)', k);
      if (typeof v !== "string" && !(typeof v === "number" && Number.isSafeInteger(v)))
        invalidOption(`handshakeTags.${k}`, "a string or a safe integer", v);
    }
  }
  const rate = numberOption("rateLimitBytesPerSec", o.rateLimitBytesPerSec, 0);
  checkTlsOptions(o.tls);
  const tls = o.tls && o.tls.enabled !== false ? o.tls : undefined;
  if (tls?.minVersion !== undefined && tls.minVersion !== "TLSv1.2" && tls.minVersion !== "TLSv1.3")
    invalidOption("tls.minVersion", '"TLSv1.2" or "TLSv1.3"', tls.minVersion);
  if (o.serializer !== undefined && typeof o.serializer !== "function") invalidOption("serializer", "a function", o.serializer);
  if (o.deserializer !== undefined && typeof o.deserializer !== "function") invalidOption("deserializer", "a function", o.deserializer);
  if (o.onTelemetry !== undefined && typeof o.onTelemetry !== "function") invalidOption("onTelemetry", "a function", o.onTelemetry);
  return {
    framing,
    maxFrameLength: intOption("maxFrameLength", o.maxFrameLength, DEFAULT_MAX_FRAME_LENGTH, 0, MAX_FRAME_LENGTH_LIMIT),
    protocolVersion: o.protocolVersion,
    handshakeTags: o.handshakeTags,
    handshakeProfile: profile,
    handshakeTimeoutMs: intOption("handshakeTimeoutMs", o.handshakeTimeoutMs, DEFAULT_HANDSHAKE_TIMEOUT_MS, 1),
    rateLimitBytesPerSec: rate,
    rateLimitBurstBytes: numberOption("rateLimitBurstBytes", o.rateLimitBurstBytes, rate),
    keepAlive: boolOption("keepAlive", o.keepAlive, true),
    keepAliveDelayMs: intOption("keepAliveDelayMs", o.keepAliveDelayMs, 30_000),
    idleTimeoutMs: intOption("idleTimeoutMs", o.idleTimeoutMs, 0),
    heartbeatIntervalMs: intOption("heartbeatIntervalMs", o.heartbeatIntervalMs, 0),
    heartbeatMissedLimit: intOption("heartbeatMissedLimit", o.heartbeatMissedLimit, 2, 1),
    drainTimeoutMs: intOption("drainTimeoutMs", o.drainTimeoutMs, 5_000),
    highWaterMarkBytes: intOption("highWaterMarkBytes", o.highWaterMarkBytes, 1024 * 1024, 1),
    tls,
    telemetryIntervalMs: intOption("telemetryIntervalMs", o.telemetryIntervalMs, 1_000, 1),
    signatureWindowMs: DEFAULT_SIGNATURE_WINDOW_MS,
  };
}
