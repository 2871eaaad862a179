/**
 * Server options, defaults and validation.
 * @packageDocumentation
 */
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
import type { TlsFacts } from "../tls-facts.js";
import type { ListenOptions, Listener, ListenerCallbacks } from "../transport/socket-transport.js";
import type { HandshakeSnapshot } from "./server-connection.js";

/** What `allowConnection` sees of a new connection, before any byte is read. */
export interface IncomingConnectionInfo {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localPort: number | undefined;
  tls?: TlsFacts;
}

/** Options of {@link QWormholeServer}. */
export interface QWormholeServerOptions<TIn = Buffer, TOut = unknown> extends CommonOptions<TIn, TOut> {
  /** Address to listen on. Default: all interfaces. */
  host?: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** Most open connections (with pending handshakes). Default Infinity. */
  maxClients?: number;
  /** Most connections still in the handshake. Default 1024. */
  maxPendingHandshakes?: number;
  /**
   * Most connections from one remote address still in the handshake, so that
   * one address cannot take every `maxPendingHandshakes` slot (slowloris).
   * Refused with E_MAX_PENDING_HANDSHAKES. Default 64.
   */
  maxPendingHandshakesPerAddress?: number;
  /** Admission hook, run before the handshake; false refuses with E_POLICY_REJECTED. */
  allowConnection?: (info: IncomingConnectionInfo) => boolean | Promise<boolean>;
  /** Handshake policy hook, run before any message is delivered; false refuses with E_POLICY_REJECTED. */
  verifyHandshake?: (handshake: HandshakeSnapshot) => boolean | Promise<boolean>;
  /** Unsent bytes at which a connection that will not read is closed with E_BACKPRESSURE. Default 5 MiB; 0 disables. */
  maxBackpressureBytes?: number;
  /** Serve 0.3 hellos (no accept frame). Default false. */
  allowLegacy?: boolean;
  /** Refuse unsigned v1 hellos with E_SIGNATURE_REQUIRED. Default false. */
  requireSignedHandshake?: boolean;
  /** Freshness window of signed hellos, in ms. Default 30000. */
  signatureWindowMs?: number;
  /** Most (key, nonce) pairs the replay cache holds; when full, signed hellos are refused with E_RATE_LIMITED. Default 100000. */
  replayCacheMaxEntries?: number;
  /** Offer the `control` feature. Default true. */
  control?: boolean;
  /** Extra features to accept when offered. */
  features?: string[];
  /**
   * Session resumption (QWH/1.1, spec section 10.7) for clients that offer
   * it: a client whose connection breaks resumes the same connection object
   * (event `resumed`), every message in both directions delivered exactly
   * once and in order. Sessions wait `windowMs` for their client; at most
   * `maxSessions` are held. Default off (the server then speaks 1.0).
   */
  resume?: boolean | ResumeOptions;
  reusePort?: boolean;
  allowHalfOpen?: boolean;
  backlog?: number;
  /** @internal How connections are accepted (the socket listener, or a native one from the factory). */
  listener?: (options: ListenOptions, callbacks: ListenerCallbacks) => Listener;
}

/** Server options with defaults applied. */
export interface ResolvedServerOptions extends ResolvedCommonOptions {
  host: string | undefined;
  port: number;
  maxClients: number;
  maxPendingHandshakes: number;
  maxPendingHandshakesPerAddress: number;
  maxBackpressureBytes: number;
  allowLegacy: boolean;
  requireSignedHandshake: boolean;
  replayCacheMaxEntries: number;
  features: string[];
  /** Resumption settings, or null when off. */
  resume: ResolvedResumeOptions | null;
  reusePort: boolean;
  allowHalfOpen: boolean;
  backlog: number | undefined;
}

/** Every option name {@link QWormholeServer} accepts; any other name is refused with E_INVALID_OPTION. */
export const SERVER_OPTION_NAMES: readonly string[] = [
  ...COMMON_OPTION_NAMES,
  "host",
  "port",
  "maxClients",
  "maxPendingHandshakes",
  "maxPendingHandshakesPerAddress",
  "allowConnection",
  "verifyHandshake",
  "maxBackpressureBytes",
  "allowLegacy",
  "requireSignedHandshake",
  "signatureWindowMs",
  "replayCacheMaxEntries",
  "control",
  "features",
  "resume",
  "reusePort",
  "allowHalfOpen",
  "backlog",
  "listener",
];

/** Validates server options once, naming the option at fault. */
export function resolveServerOptions(o: QWormholeServerOptions<unknown, unknown>): ResolvedServerOptions {
  if (o === null || typeof o !== "object") invalidOption("options", "an object", o);
  checkOptionNames(o, SERVER_OPTION_NAMES);
  const common = resolveCommonOptions(o);
  stringOption("host", o.host);
  if (o.listener !== undefined && typeof o.listener !== "function") invalidOption("listener", "a function", o.listener);
  if (o.allowConnection !== undefined && typeof o.allowConnection !== "function")
    invalidOption("allowConnection", "a function", o.allowConnection);
  if (o.verifyHandshake !== undefined && typeof o.verifyHandshake !== "function")
    invalidOption("verifyHandshake", "a function", o.verifyHandshake);
  const features = new Set(stringArrayOption("features", o.features) ?? []);
  if (boolOption("control", o.control, true) && common.framing === "length-prefixed") features.add("control");
  // Object.assign onto the fresh common options rather than a spread: a spread of that many members
  // gives every result a hidden class (and descriptors, ~1 KiB) of its own.
  return Object.assign(common, {
    signatureWindowMs: intOption("signatureWindowMs", o.signatureWindowMs, common.signatureWindowMs, 1),
    host: o.host,
    port: intOption("port", o.port, 0, 0, 65535),
    maxClients: numberOption("maxClients", o.maxClients, Infinity, true),
    maxPendingHandshakes: numberOption("maxPendingHandshakes", o.maxPendingHandshakes, 1024, true),
    maxPendingHandshakesPerAddress: numberOption("maxPendingHandshakesPerAddress", o.maxPendingHandshakesPerAddress, 64, true),
    maxBackpressureBytes: intOption("maxBackpressureBytes", o.maxBackpressureBytes, 5 * 1024 * 1024),
    allowLegacy: boolOption("allowLegacy", o.allowLegacy, false),
    requireSignedHandshake: boolOption("requireSignedHandshake", o.requireSignedHandshake, false),
    replayCacheMaxEntries: intOption("replayCacheMaxEntries", o.replayCacheMaxEntries, 100_000, 1),
    features: [...features],
    resume: resolveResumeOptions(o.resume, { framing: common.framing, control: features.has("control"), profile: common.handshakeProfile }),
    reusePort: boolOption("reusePort", o.reusePort, false),
    allowHalfOpen: boolOption("allowHalfOpen", o.allowHalfOpen, false),
    backlog: o.backlog === undefined ? undefined : intOption("backlog", o.backlog, 511, 0),
  });
}
