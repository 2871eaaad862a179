/**
 * Client options, defaults and validation.
 * @packageDocumentation
 */
import { DEFAULT_RECONNECT, type ReconnectOptions, type ResolvedReconnect } from "../backoff.js";
import type { HelloSigner } from "../protocol/signature.js";
import type { Dialer } from "../transport/socket-transport.js";
import { resolveResumeOptions, type ResolvedResumeOptions, type ResumeOptions } from "../transport/resume-session.js";
import {
  COMMON_OPTION_NAMES,
  boolOption,
  checkOptionNames,
  intOption,
  invalidOption,
  numberOption,
  resolveCommonOptions,
  stringArrayOption,
  stringOption,
  type CommonOptions,
  type ResolvedCommonOptions,
} from "../options.js";

/** Options of {@link QWormholeClient}. */
export interface QWormholeClientOptions<TIn = Buffer, TOut = unknown> extends CommonOptions<TIn, TOut> {
  /** Server host name or address. Default "127.0.0.1". */
  host?: string;
  port: number;
  /** Bind to this network interface's address (e.g. "wg0"). */
  interfaceName?: string;
  localAddress?: string;
  localPort?: number;
  /** Time allowed for the TCP (and TLS) connection, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnect policy; `false` disables reconnects. */
  reconnect?: ReconnectOptions | false;
  /** Throw E_NOT_CONNECTED from `send` instead of queueing while disconnected. Default false. */
  requireConnectedForSend?: boolean;
  /** Most messages queued while disconnected. Default 10000. */
  maxQueuedMessages?: number;
  /** Most bytes queued while disconnected. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** Signs the hello with this Ed25519 identity. */
  handshakeSigner?: HelloSigner;
  /** Features to offer beyond the defaults ("control" is offered unless `control: false`). */
  features?: string[];
  /** Offer the `control` feature (heartbeats, graceful close). Default true. */
  control?: boolean;
  /**
   * Session resumption (QWH/1.1, spec section 10.7): after a connection loss
   * the client reconnects and resumes, every message in both directions
   * delivered exactly once and in order (event `resumed`); when the server
   * cannot resume, event `sessionLost` carries the messages it never
   * acknowledged. Offered only to servers that offer it back. Default off.
   */
  resume?: boolean | ResumeOptions;
  /** @internal How connections are made (the socket dialer, or a native one from the factory). */
  dialer?: Dialer;
}

/** Client options with defaults applied. */
export interface ResolvedClientOptions extends ResolvedCommonOptions {
  host: string;
  port: number;
  interfaceName: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  connectTimeoutMs: number;
  reconnect: ResolvedReconnect;
  requireConnectedForSend: boolean;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  handshakeSigner: HelloSigner | undefined;
  features: string[];
  /** Resumption settings, or null when off. */
  resume: ResolvedResumeOptions | null;
}

/** Every option name {@link QWormholeClient} accepts; any other name is refused with E_INVALID_OPTION. */
export const CLIENT_OPTION_NAMES: readonly string[] = [
  ...COMMON_OPTION_NAMES,
  "host",
  "port",
  "interfaceName",
  "localAddress",
  "localPort",
  "connectTimeoutMs",
  "reconnect",
  "requireConnectedForSend",
  "maxQueuedMessages",
  "maxQueuedBytes",
  "handshakeSigner",
  "features",
  "control",
  "resume",
  "dialer",
];

const RECONNECT_OPTION_NAMES: readonly string[] = ["enabled", "initialDelayMs", "maxDelayMs", "multiplier", "maxAttempts", "jitter"];

/** Validates client options once, naming the option at fault. */
export function resolveClientOptions(o: QWormholeClientOptions<unknown, unknown>): ResolvedClientOptions {
  if (o === null || typeof o !== "object") invalidOption("options", "an object", o);
  checkOptionNames(o, CLIENT_OPTION_NAMES);
  const common = resolveCommonOptions(o);
  const port = intOption("port", o.port, -1, 0, 65535);
  if (port < 0) invalidOption("port", "an integer in 0..65535", o.port);
  if (o.reconnect !== undefined && o.reconnect !== false && (o.reconnect === null || typeof o.reconnect !== "object"))
    invalidOption("reconnect", "an object or false", o.reconnect);
  const r = o.reconnect === false ? { enabled: false } : (o.reconnect ?? {});
  checkOptionNames(r, RECONNECT_OPTION_NAMES, "reconnect.");
  for (const k of ["host", "interfaceName", "localAddress"] as const) stringOption(k, o[k]);
  if (
    o.handshakeSigner !== undefined &&
    (o.handshakeSigner === null || typeof o.handshakeSigner !== "object" || typeof o.handshakeSigner.publicKey !== "string")
  ) {
    invalidOption("handshakeSigner", "a signer from createHelloSigner()", o.handshakeSigner);
  }
  if (o.dialer !== undefined && typeof o.dialer !== "function") invalidOption("dialer", "a function", o.dialer);
  const reconnect: ResolvedReconnect = {
    enabled: boolOption("reconnect.enabled", r.enabled, DEFAULT_RECONNECT.enabled),
    initialDelayMs: numberOption("reconnect.initialDelayMs", r.initialDelayMs, DEFAULT_RECONNECT.initialDelayMs),
    maxDelayMs: numberOption("reconnect.maxDelayMs", r.maxDelayMs, DEFAULT_RECONNECT.maxDelayMs),
    multiplier: numberOption("reconnect.multiplier", r.multiplier, DEFAULT_RECONNECT.multiplier),
    maxAttempts: numberOption("reconnect.maxAttempts", r.maxAttempts, DEFAULT_RECONNECT.maxAttempts, true),
    jitter: numberOption("reconnect.jitter", r.jitter, DEFAULT_RECONNECT.jitter),
  };
  if (reconnect.jitter > 1) invalidOption("reconnect.jitter", "a number in 0..1", reconnect.jitter);
  if (reconnect.multiplier < 1) invalidOption("reconnect.multiplier", "a number >= 1", reconnect.multiplier);
  const features = new Set(stringArrayOption("features", o.features) ?? []);
  // "resume" follows from the `resume` option (QWH-RESUME-001) and "raw" from `framing` (QWH-RAW-002).
  for (const f of features) if (f === "resume" || f === "raw") invalidOption("features", 'names other than "resume" and "raw"', f);
  if (boolOption("control", o.control, true) && common.framing === "length-prefixed") features.add("control");
  if (common.framing === "none") features.add("raw");
  const resume = resolveResumeOptions(o.resume, {
    framing: common.framing,
    control: features.has("control"),
    profile: common.handshakeProfile,
  });
  if (resume) features.add("resume");
  // Object.assign onto the fresh common options rather than a spread: a spread of that many members
  // gives every result a hidden class (and descriptors, ~1 KiB) of its own.
  return Object.assign(common, {
    host: o.host ?? "127.0.0.1",
    port,
    interfaceName: o.interfaceName,
    localAddress: o.localAddress,
    localPort: o.localPort === undefined ? undefined : intOption("localPort", o.localPort, 0, 0, 65535),
    connectTimeoutMs: intOption("connectTimeoutMs", o.connectTimeoutMs, 10_000, 1),
    reconnect,
    requireConnectedForSend: boolOption("requireConnectedForSend", o.requireConnectedForSend, false),
    maxQueuedMessages: intOption("maxQueuedMessages", o.maxQueuedMessages, 10_000),
    maxQueuedBytes: intOption("maxQueuedBytes", o.maxQueuedBytes, 16 * 1024 * 1024),
    handshakeSigner: o.handshakeSigner,
    features: [...features],
    resume,
  });
}
