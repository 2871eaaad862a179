/**
 * Native dialing and listening: the {@link Dialer} and listener function the
 * factory hands to QWormholeClient/QWormholeServer when a native backend is
 * selected. Host names are resolved here with `dns.lookup` (IPv4 and IPv6);
 * the addons only ever see literal addresses: resolving a name here would block.
 * @packageDocumentation
 */
import dns from "node:dns";
import net from "node:net";
import type { QWormholeTlsOptions } from "../options.js";
import { QWormholeError } from "../protocol/errors.js";
import type { Dialer, Listener, ListenerCallbacks, ListenOptions } from "../transport/socket-transport.js";
import type { NativeBinding } from "./load.js";
import { NativeEvent } from "./native-events.js";
import { NativeFrameLink, runtimeOf } from "./native-link.js";

type Pem = string | Buffer | (string | Buffer | { pem: string | Buffer })[] | undefined;

function pemOf(v: Pem): string | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  const parts = list.map((x) => (typeof x === "string" ? x : Buffer.isBuffer(x) ? x.toString("utf8") : String(x.pem)));
  return parts.length ? parts.join("\n") : undefined;
}

/**
 * Why `tls` cannot be served natively, or null. Native TLS takes PEM key,
 * cert, ca (string/Buffer/arrays), passphrase, ALPN, requestCert,
 * rejectUnauthorized, servername, pins and minVersion; anything passed
 * through `extra` (pfx, ciphers, custom checks...) is Node-only.
 */
export function nativeTlsUnsupported(tls: QWormholeTlsOptions | undefined): string | null {
  if (!tls || tls.enabled === false) return null;
  const extra = tls.extra ? Object.keys(tls.extra).filter((k) => (tls.extra as Record<string, unknown>)[k] !== undefined) : [];
  if (extra.length > 0) return `tls.extra (${extra.join(", ")}) is only supported by the TS transport`;
  for (const k of ["key", "cert", "ca"] as const) {
    const v = tls[k] as unknown;
    const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
    for (const x of list) {
      if (typeof x !== "string" && !Buffer.isBuffer(x) && !(x && typeof x === "object" && "pem" in x))
        return `tls.${k} must be PEM (string or Buffer) for the native transport`;
    }
  }
  return null;
}

const contexts = new WeakMap<NativeBinding, WeakMap<QWormholeTlsOptions, object>>();

function tlsContext(binding: NativeBinding, tls: QWormholeTlsOptions, server: boolean): object {
  let perBinding = contexts.get(binding);
  if (!perBinding) contexts.set(binding, (perBinding = new WeakMap()));
  const cached = perBinding.get(tls);
  // One cache entry per options object; server and client contexts differ, so key them apart.
  const key = server ? "server" : "client";
  const hit = cached as Record<string, object> | undefined;
  if (hit && hit[key]) return hit[key];
  let ctx: object;
  try {
    ctx = binding.tlsContext({
      server,
      ca: pemOf(tls.ca),
      cert: pemOf(tls.cert),
      key: pemOf(tls.key),
      passphrase: tls.passphrase,
      alpn: tls.alpnProtocols,
      requestCert: tls.requestCert ?? false,
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
      minVersion: tls.minVersion ?? "TLSv1.2",
    });
  } catch (err) {
    throw new QWormholeError("E_INVALID_OPTION", `TLS options: ${(err as Error).message}`, { cause: err });
  }
  const entry = hit ?? {};
  entry[key] = ctx;
  perBinding.set(tls, entry);
  return ctx;
}

function lookup(host: string, done: (err: Error | null, address: string) => void): void {
  if (net.isIP(host)) {
    done(null, host);
    return;
  }
  dns.lookup(host, { all: false, verbatim: true }, (err, address) => done(err, address));
}

/** A dialer over `binding`. */
export function nativeDialer(binding: NativeBinding): Dialer {
  const runtime = runtimeOf(binding);
  return (o, callbacks) => {
    let done = false;
    let id = 0;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      if (id) runtime.endpoints.delete(id);
    };
    const fail = (error: QWormholeError) => {
      if (done) return;
      finish();
      if (id) binding.destroy(id, true);
      callbacks.failed(error);
    };
    const timer = setTimeout(
      () => fail(new QWormholeError("E_CONNECT_TIMEOUT", `no connection to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`)),
      o.connectTimeoutMs,
    );
    lookup(o.host, (err, address) => {
      if (done) return;
      if (err) return fail(new QWormholeError("E_SOCKET", err.message, { cause: err }));
      try {
        const t = o.tls;
        id = binding.connect(address, o.port, {
          tls: t ? tlsContext(binding, t, false) : undefined,
          sni: t ? (t.servername ?? (net.isIP(o.host) ? undefined : o.host)) : undefined,
          verifyHost: t ? (t.servername ?? o.host) : undefined,
          keepAlive: o.keepAlive,
          keepAliveDelayMs: o.keepAliveDelayMs,
          localAddress: o.localAddress,
          localPort: o.localPort,
        });
      } catch (e) {
        const q =
          e instanceof QWormholeError
            ? e
            : new QWormholeError(((e as { code?: string }).code as "E_SOCKET") ?? "E_SOCKET", (e as Error).message, { cause: e });
        return fail(q);
      }
      runtime.endpoints.set(id, {
        event: (type, a, b) => {
          if (done) return;
          if (type === NativeEvent.Connected) {
            finish();
            callbacks.connected(new NativeFrameLink(runtime, id));
          } else if (type === NativeEvent.ConnectFailed) {
            finish();
            callbacks.failed(new QWormholeError(a as "E_SOCKET", b as string));
          }
        },
      });
    });
    return {
      cancel: () => {
        if (done) return;
        finish();
        if (id) binding.destroy(id, true);
      },
    };
  };
}

/** A listener function over `binding`. */
export function nativeListener(binding: NativeBinding): (o: ListenOptions, callbacks: ListenerCallbacks) => Listener {
  const runtime = runtimeOf(binding);
  return (o, callbacks) => {
    let id = 0;
    let bound: net.AddressInfo | null = null;
    let closing: Promise<void> | null = null;
    const links = new Set<NativeFrameLink>();
    let allGone: (() => void) | null = null;
    const ctx = o.tls ? tlsContext(binding, o.tls, true) : undefined;
    const onEvent = (type: NativeEvent, a: unknown, b: unknown) => {
      if (type === NativeEvent.Accept) {
        const link = new NativeFrameLink(runtime, a as number, o.allowHalfOpen);
        links.add(link);
        link.onClosed = () => {
          links.delete(link);
          if (links.size === 0 && allGone) allGone();
        };
        if (closing) {
          link.destroy();
          return;
        }
        callbacks.connection(link);
      } else if (type === NativeEvent.TlsFail) {
        callbacks.tlsFailure((b as string) || undefined, new QWormholeError("E_TLS_HANDSHAKE", a as string));
      } else if (type === NativeEvent.ListenError) {
        callbacks.error(new QWormholeError("E_SOCKET", a as string));
      }
    };
    const listenOn = (address: string): [number, number] =>
      binding.listen(address, o.port, {
        backlog: o.backlog,
        reusePort: o.reusePort,
        tls: ctx,
        keepAlive: o.keepAlive,
        keepAliveDelayMs: o.keepAliveDelayMs,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
      });
    return {
      listen: () =>
        new Promise<net.AddressInfo>((resolve, reject) => {
          const start = (address: string | null) => {
            try {
              let r: [number, number];
              let addr: string;
              if (address === null) {
                // No host: every interface, IPv6 dual-stack when available (like net.Server).
                try {
                  r = listenOn("::");
                  addr = "::";
                } catch {
                  r = listenOn("0.0.0.0");
                  addr = "0.0.0.0";
                }
              } else {
                r = listenOn(address);
                addr = address;
              }
              id = r[0];
              runtime.endpoints.set(id, { event: onEvent });
              bound = { address: addr, family: net.isIPv6(addr) ? "IPv6" : "IPv4", port: r[1] };
              resolve(bound);
            } catch (e) {
              reject(new QWormholeError("E_SOCKET", (e as Error).message, { cause: e }));
            }
          };
          if (o.host === undefined) start(null);
          else
            lookup(o.host, (err, address) => {
              if (err) reject(new QWormholeError("E_SOCKET", err.message, { cause: err }));
              else start(address);
            });
        }),
      close: () => {
        if (closing) return closing;
        closing = new Promise<void>((resolve) => {
          if (id) {
            binding.closeListener(id);
            runtime.endpoints.delete(id);
          }
          bound = null;
          if (links.size === 0) resolve();
          else allGone = resolve;
        });
        return closing;
      },
      address: () => bound,
    };
  };
}
