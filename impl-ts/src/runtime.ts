/**
 * QWormholeRuntime: shared defaults for the clients and servers an
 * application creates, and the TS/native factories.
 * @packageDocumentation
 */
import { QWormholeClient } from "./client/client.js";
import type { QWormholeClientOptions } from "./client/client-options.js";
import { QWormholeError } from "./protocol/errors.js";
import { QWormholeServer } from "./server/server.js";
import type { QWormholeServerOptions } from "./server/server-options.js";

/** Which implementation a factory picked. */
export type TransportMode = "ts" | "native-lws" | "native-libsocket";

/** Factory switches (0.3 names). */
export interface FactoryOptions {
  /** Try a native backend first. Default false. */
  preferNative?: boolean;
  /** Native backend to try first. */
  preferredNativeBackend?: "lws" | "libsocket";
  /** Always use the TS transport. */
  forceTs?: boolean;
}

/** Why native was not used, as reported by the factories. */
export interface NativeStatus {
  nativeAvailable: boolean;
  nativeBackend: "lws" | "libsocket" | null;
  /** Why the TS transport was chosen, when native was asked for. */
  reason?: string;
}

function nativeStatus(options: FactoryOptions): NativeStatus {
  if (options.forceTs || !options.preferNative) return { nativeAvailable: false, nativeBackend: null };
  if (process.env["QWORMHOLE_DISABLE_NATIVE"] === "1") {
    return { nativeAvailable: false, nativeBackend: null, reason: "QWORMHOLE_DISABLE_NATIVE=1" };
  }
  const reason = "the native implementation is not part of this release (@qwormhole/native not built); using the TS transport";
  if (process.env["QWORMHOLE_DEBUG_NATIVE"] === "1") console.warn(`[qwormhole] ${reason}`);
  return { nativeAvailable: false, nativeBackend: null, reason };
}

/** Creates a client, native when asked for and available, TS otherwise; says which and why. */
export function createQWormholeClient<TIn = Buffer, TOut = unknown>(
  options: QWormholeClientOptions<TIn, TOut> & FactoryOptions,
): { client: QWormholeClient<TIn, TOut>; mode: TransportMode } & NativeStatus {
  const { preferNative, preferredNativeBackend: _b, forceTs, ...rest } = options;
  const status = nativeStatus({ preferNative, forceTs } as FactoryOptions);
  return { client: new QWormholeClient<TIn, TOut>(rest), mode: "ts", ...status };
}

/** Creates a server, native when asked for and available, TS otherwise; says which and why. */
export function createQWormholeServer<TIn = Buffer, TOut = unknown>(
  options: QWormholeServerOptions<TIn, TOut> & FactoryOptions = {},
): { server: QWormholeServer<TIn, TOut>; mode: TransportMode } & NativeStatus {
  const { preferNative, preferredNativeBackend: _b, forceTs, ...rest } = options;
  const status = nativeStatus({ preferNative, forceTs } as FactoryOptions);
  return { server: new QWormholeServer<TIn, TOut>(rest), mode: "ts", ...status };
}

/** Defaults shared by every client and server a runtime creates. */
export type RuntimeDefaults = Partial<QWormholeClientOptions<unknown, unknown> & QWormholeServerOptions<unknown, unknown>> & FactoryOptions;

/** Shared defaults plus factories (0.3's QWormholeRuntime). */
export class QWormholeRuntime {
  constructor(readonly defaults: RuntimeDefaults = {}) {
    if (defaults === null || typeof defaults !== "object") throw new QWormholeError("E_INVALID_OPTION", "runtime defaults must be an object");
  }

  /** A client with the runtime defaults under `options`. */
  createClient<TIn = Buffer, TOut = unknown>(options: Partial<QWormholeClientOptions<TIn, TOut>> & { port: number } & FactoryOptions): QWormholeClient<TIn, TOut> {
    const { server: _s, ...rest } = { server: undefined, ...this.defaults } as Record<string, unknown>;
    return createQWormholeClient<TIn, TOut>({ ...(rest as object), ...options } as QWormholeClientOptions<TIn, TOut> & FactoryOptions).client;
  }

  /** A server with the runtime defaults under `options`. */
  createServer<TIn = Buffer, TOut = unknown>(options: Partial<QWormholeServerOptions<TIn, TOut>> & FactoryOptions = {}): QWormholeServer<TIn, TOut> {
    return createQWormholeServer<TIn, TOut>({ ...(this.defaults as object), ...options } as QWormholeServerOptions<TIn, TOut> & FactoryOptions).server;
  }
}
