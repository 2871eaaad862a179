/**
 * QWormholeRuntime: shared defaults for the clients and servers an
 * application creates, and the TS/native factories.
 * @packageDocumentation
 */
import { QWormholeClient } from "./client/client.js";
import { CLIENT_OPTION_NAMES, type QWormholeClientOptions } from "./client/client-options.js";
import { QWormholeError } from "./protocol/errors.js";
import { QWormholeServer } from "./server/server.js";
import { SERVER_OPTION_NAMES, type QWormholeServerOptions } from "./server/server-options.js";
import { boolOption, checkOptionNames, type QWormholeTlsOptions } from "./options.js";
import { debugNative, loadNative, nativeDisabled, type NativeBackendName, type NativeBinding } from "./native/load.js";
import { nativeDialer, nativeListener, nativeTlsUnsupported } from "./native/native-transport.js";

/** Which implementation a factory picked. */
export type TransportMode = "ts" | "native-lws" | "native-libsocket";

/** Factory switches (`preferNative`, `preferredNativeBackend` and `forceTs` keep their 0.3 names). */
export interface FactoryOptions {
  /** Try a native backend first, falling back to the TS transport (with a `reason`). Default false. */
  preferNative?: boolean;
  /** Native backend to try first (then the other one). Default: lws, then libsocket. */
  preferredNativeBackend?: "lws" | "libsocket";
  /**
   * Demand native instead of falling back: `true` accepts either backend (tried in the
   * `preferredNativeBackend` order), `"lws"` or `"libsocket"` only that one. When it cannot be used,
   * the factory throws E_NATIVE_UNAVAILABLE whose message says why (package not installed, no
   * prebuild for this platform, a shared library missing, an option only the TS transport has).
   * Implies `preferNative`. Default false.
   */
  requireNative?: boolean | "lws" | "libsocket";
  /** Always use the TS transport. */
  forceTs?: boolean;
}

/** Why native was not used, as reported by the factories. */
export interface NativeStatus {
  /** A native backend loaded (whether or not it was picked). */
  nativeAvailable: boolean;
  /** The backend in use, or null for the TS transport. */
  nativeBackend: "lws" | "libsocket" | null;
  /** Why the TS transport was chosen although native was asked for, or why the first choice was skipped. */
  reason?: string;
}

function envBackend(name: string): NativeBackendName | undefined {
  const v = process.env[name];
  return v === "lws" || v === "libsocket" ? v : undefined;
}

/** Order in which backends are tried: the required one alone, or the preferred one, then the seed order lws, libsocket. */
function backendOrder(options: FactoryOptions, side: "CLIENT" | "SERVER"): NativeBackendName[] {
  if (options.requireNative === "lws" || options.requireNative === "libsocket") return [options.requireNative];
  const first =
    options.preferredNativeBackend ?? envBackend(`QWORMHOLE_NATIVE_${side}_PREFERRED`) ?? envBackend("QWORMHOLE_NATIVE_PREFERRED") ?? "lws";
  return first === "lws" ? ["lws", "libsocket"] : ["libsocket", "lws"];
}

/** Options the native transport cannot honour, so the factory must fall back (never silently ignore). */
function tsOnlyReason(options: { tls?: QWormholeTlsOptions }): string | null {
  return nativeTlsUnsupported(options.tls && options.tls.enabled !== false ? options.tls : undefined);
}

interface Selection {
  mode: TransportMode;
  binding: NativeBinding | null;
  status: NativeStatus;
}

const FACTORY_OPTION_NAMES: readonly string[] = ["preferNative", "preferredNativeBackend", "requireNative", "forceTs"];

function checkFactoryOptions(options: FactoryOptions): void {
  const { preferredNativeBackend: preferred, requireNative: required } = options;
  boolOption("preferNative", options.preferNative, false);
  boolOption("forceTs", options.forceTs, false);
  if (preferred !== undefined && preferred !== "lws" && preferred !== "libsocket") {
    throw new QWormholeError(
      "E_INVALID_OPTION",
      `option preferredNativeBackend must be "lws" or "libsocket", got ${JSON.stringify(preferred)}`,
    );
  }
  if (required !== undefined && typeof required !== "boolean" && required !== "lws" && required !== "libsocket") {
    throw new QWormholeError(
      "E_INVALID_OPTION",
      `option requireNative must be true, false, "lws" or "libsocket", got ${JSON.stringify(required)}`,
    );
  }
  if (required && options.forceTs) throw new QWormholeError("E_INVALID_OPTION", "options requireNative and forceTs exclude each other");
}

function select(options: FactoryOptions & { tls?: QWormholeTlsOptions }, side: "CLIENT" | "SERVER"): Selection {
  checkFactoryOptions(options);
  const role = side.toLowerCase();
  const ts = (status: NativeStatus): Selection => {
    if (options.requireNative) {
      const wanted = options.requireNative === true ? "a native backend" : `the native ${options.requireNative} backend`;
      debugNative("%s: %s required but unavailable: %s", role, wanted, status.reason);
      throw new QWormholeError("E_NATIVE_UNAVAILABLE", `${role}: ${wanted} was required but cannot be used: ${status.reason}`);
    }
    if (status.reason) debugNative("%s: TS transport: %s", role, status.reason);
    return { mode: "ts", binding: null, status };
  };
  if (options.forceTs || !(options.preferNative || options.requireNative)) return ts({ nativeAvailable: false, nativeBackend: null });
  if (nativeDisabled())
    return ts({ nativeAvailable: false, nativeBackend: null, reason: "native transport disabled by QWORMHOLE_DISABLE_NATIVE" });
  const reasons: string[] = [];
  let available = false;
  const tsOnly = tsOnlyReason(options);
  for (const backend of backendOrder(options, side)) {
    const r = loadNative(backend);
    if (!r.binding) {
      reasons.push(`${backend}: ${r.reason}`);
      continue;
    }
    available = true;
    if (tsOnly) continue;
    const status: NativeStatus = { nativeAvailable: true, nativeBackend: backend };
    if (reasons.length) status.reason = `first choice unavailable (${reasons.join("; ")})`;
    const mode: TransportMode = backend === "lws" ? "native-lws" : "native-libsocket";
    debugNative("%s: %s%s", role, mode, status.reason ? ` (${status.reason})` : "");
    return { mode, binding: r.binding, status };
  }
  if (tsOnly) reasons.unshift(tsOnly);
  const why = reasons.join("; ");
  return ts({ nativeAvailable: available, nativeBackend: null, reason: options.requireNative ? why : `${why}; using the TS transport` });
}

/**
 * Creates a client, native when asked for and available, TS otherwise; says which and why.
 *
 * @example
 * ```ts
 * import { createQWormholeClient } from "qwormhole";
 *
 * const { client, mode, reason } = createQWormholeClient({ port: 9000, preferNative: true });
 * console.log(mode, reason ?? ""); // "native-lws", or "ts" and why native was not used
 * ```
 */
export function createQWormholeClient<TIn = Buffer, TOut = unknown>(
  options: QWormholeClientOptions<TIn, TOut> & FactoryOptions,
): { client: QWormholeClient<TIn, TOut>; mode: TransportMode } & NativeStatus {
  if (options === null || typeof options !== "object") throw new QWormholeError("E_INVALID_OPTION", "client options must be an object");
  const { preferNative, preferredNativeBackend, requireNative, forceTs, ...rest } = options;
  checkOptionNames(rest, CLIENT_OPTION_NAMES);
  const factory: FactoryOptions = { preferNative, forceTs };
  if (preferredNativeBackend !== undefined) factory.preferredNativeBackend = preferredNativeBackend;
  if (requireNative !== undefined) factory.requireNative = requireNative;
  const sel = select({ ...factory, ...(rest.tls ? { tls: rest.tls } : {}) }, "CLIENT");
  const clientOptions = sel.binding ? { ...rest, dialer: nativeDialer(sel.binding) } : rest;
  return { client: new QWormholeClient<TIn, TOut>(clientOptions), mode: sel.mode, ...sel.status };
}

/**
 * Creates a server, native when asked for and available, TS otherwise; says which and why.
 * With `requireNative` it throws E_NATIVE_UNAVAILABLE instead of falling back.
 *
 * @example
 * ```ts
 * import { createQWormholeServer } from "qwormhole";
 *
 * const { server, mode } = createQWormholeServer({ port: 9000, requireNative: "libsocket" });
 * console.log(mode); // "native-libsocket"
 * ```
 */
export function createQWormholeServer<TIn = Buffer, TOut = unknown>(
  options: QWormholeServerOptions<TIn, TOut> & FactoryOptions = {},
): { server: QWormholeServer<TIn, TOut>; mode: TransportMode } & NativeStatus {
  if (options === null || typeof options !== "object") throw new QWormholeError("E_INVALID_OPTION", "server options must be an object");
  const { preferNative, preferredNativeBackend, requireNative, forceTs, ...rest } = options;
  checkOptionNames(rest, SERVER_OPTION_NAMES);
  const factory: FactoryOptions = { preferNative, forceTs };
  if (preferredNativeBackend !== undefined) factory.preferredNativeBackend = preferredNativeBackend;
  if (requireNative !== undefined) factory.requireNative = requireNative;
  const sel = select({ ...factory, ...(rest.tls ? { tls: rest.tls } : {}) }, "SERVER");
  const serverOptions = sel.binding ? { ...rest, listener: nativeListener(sel.binding) } : rest;
  return { server: new QWormholeServer<TIn, TOut>(serverOptions), mode: sel.mode, ...sel.status };
}

/** Defaults shared by every client and server a runtime creates. */
export type RuntimeDefaults = Partial<QWormholeClientOptions<unknown, unknown> & QWormholeServerOptions<unknown, unknown>> & FactoryOptions;

/**
 * Shared defaults plus factories (0.3's QWormholeRuntime).
 *
 * @example
 * ```ts
 * import { QWormholeRuntime } from "qwormhole";
 *
 * const runtime = new QWormholeRuntime({ protocolVersion: "2.1.0", preferNative: true });
 * const server = runtime.createServer({ port: 9000 });
 * const client = runtime.createClient({ port: 9000 });
 * ```
 */
export class QWormholeRuntime {
  constructor(readonly defaults: RuntimeDefaults = {}) {
    if (defaults === null || typeof defaults !== "object")
      throw new QWormholeError("E_INVALID_OPTION", "runtime defaults must be an object");
    checkOptionNames(defaults, [...new Set([...CLIENT_OPTION_NAMES, ...SERVER_OPTION_NAMES, ...FACTORY_OPTION_NAMES])]);
  }

  /** The defaults that apply to one side (a server-only default is not a client option, and the reverse). */
  private defaultsFor(names: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.defaults)) if (names.includes(k) || FACTORY_OPTION_NAMES.includes(k)) out[k] = v;
    return out;
  }

  /** A client with the runtime defaults under `options`. */
  createClient<TIn = Buffer, TOut = unknown>(
    options: Partial<QWormholeClientOptions<TIn, TOut>> & { port: number } & FactoryOptions,
  ): QWormholeClient<TIn, TOut> {
    return createQWormholeClient<TIn, TOut>({ ...this.defaultsFor(CLIENT_OPTION_NAMES), ...options }).client;
  }

  /** A server with the runtime defaults under `options`. */
  createServer<TIn = Buffer, TOut = unknown>(
    options: Partial<QWormholeServerOptions<TIn, TOut>> & FactoryOptions = {},
  ): QWormholeServer<TIn, TOut> {
    return createQWormholeServer<TIn, TOut>({ ...this.defaultsFor(SERVER_OPTION_NAMES), ...options }).server;
  }
}
