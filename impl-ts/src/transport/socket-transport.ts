/**
 * The socket transport: dialing (client) and listening (server) with Node's
 * net and tls modules, handing out {@link SocketLink}s. Native transports
 * provide the same two functions.
 * @packageDocumentation
 */
import net from "node:net";
import tls from "node:tls";
import { QWormholeError } from "../protocol/errors.js";
import type { QWormholeTlsOptions } from "../options.js";
import type { Link } from "./link.js";
import { SocketLink } from "./socket-link.js";
import { SocketReader } from "./socket-reader.js";

/** What a dialer needs to know. */
export interface DialOptions {
  host: string;
  port: number;
  localAddress: string | undefined;
  localPort: number | undefined;
  connectTimeoutMs: number;
  keepAlive: boolean;
  keepAliveDelayMs: number;
  tls: QWormholeTlsOptions | undefined;
}

/** The outcome of a dial, reported once. */
export interface DialCallbacks {
  connected(link: Link): void;
  failed(error: QWormholeError): void;
}

/** A dial in progress. */
export interface DialAttempt {
  /** Abandons the attempt (no callback follows). */
  cancel(): void;
}

/** Opens a connection and reports a link (or the failure). */
export type Dialer = (options: DialOptions, callbacks: DialCallbacks) => DialAttempt;

/** Dials with `net.connect` / `tls.connect`. */
export const socketDialer: Dialer = (o, callbacks) => {
  const base = {
    host: o.host,
    port: o.port,
    localAddress: o.localAddress,
    localPort: o.localPort,
    noDelay: true,
    keepAlive: o.keepAlive,
    keepAliveInitialDelay: o.keepAliveDelayMs,
  };
  let socket: net.Socket;
  let reader: SocketReader | undefined;
  if (o.tls) {
    const t = o.tls;
    socket = tls.connect({
      ...t.extra,
      ...base,
      key: t.key,
      cert: t.cert,
      ca: t.ca,
      passphrase: t.passphrase,
      servername: t.servername ?? (net.isIP(o.host) ? undefined : o.host),
      ALPNProtocols: t.alpnProtocols,
      rejectUnauthorized: t.rejectUnauthorized ?? true,
      minVersion: t.minVersion ?? "TLSv1.2",
    });
  } else {
    reader = new SocketReader();
    socket = net.connect({ ...base, onread: reader.onread });
  }
  let done = false;
  let tcpConnected = false;
  const finish = () => {
    done = true;
    clearTimeout(timer);
    socket.off("error", onError);
    socket.off("close", onClose);
  };
  const fail = (error: QWormholeError) => {
    if (done) return;
    finish();
    socket.destroy();
    callbacks.failed(error);
  };
  const onError = (err: Error) => {
    // Between TCP connect and secureConnect, an error is a failed TLS handshake (bad CA, host name, alert).
    fail(new QWormholeError(o.tls && tcpConnected ? "E_TLS_HANDSHAKE" : "E_SOCKET", err.message, { cause: err }));
  };
  const onClose = () => fail(new QWormholeError("E_SOCKET", "connection closed before it was established"));
  const timer = setTimeout(
    () => fail(new QWormholeError("E_CONNECT_TIMEOUT", `no connection to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`)),
    o.connectTimeoutMs,
  );
  socket.once("connect", () => {
    tcpConnected = true;
  });
  socket.on("error", onError);
  socket.on("close", onClose);
  socket.once(o.tls ? "secureConnect" : "connect", () => {
    if (done) return;
    finish();
    callbacks.connected(new SocketLink(socket, reader));
  });
  return {
    cancel: () => {
      if (done) return;
      finish();
      socket.destroy();
    },
  };
};

/** What a listener reports. */
export interface ListenerCallbacks {
  /** A new connection (after TLS, if any). */
  connection(link: Link): void;
  /** A connection whose TLS handshake failed (garbage, bad certificate, timeout). */
  tlsFailure(remoteAddress: string | undefined, error: QWormholeError): void;
  /** A listener-level error. */
  error(error: QWormholeError): void;
}

/** What a listener needs to know. */
export interface ListenOptions {
  host: string | undefined;
  port: number;
  backlog: number | undefined;
  reusePort: boolean;
  allowHalfOpen: boolean;
  keepAlive: boolean;
  keepAliveDelayMs: number;
  handshakeTimeoutMs: number;
  tls: QWormholeTlsOptions | undefined;
}

/** A listening endpoint. */
export interface Listener {
  listen(): Promise<net.AddressInfo>;
  /** Stops accepting; resolves once every connection it made is gone. */
  close(): Promise<void>;
  address(): net.AddressInfo | null;
}

/** Listens with `net.createServer` / `tls.createServer`. */
export function createSocketListener(o: ListenOptions, callbacks: ListenerCallbacks): Listener {
  // Plain TCP connections are re-created around their handle with an onread reader (see adoptAccepted).
  const adopted = new Set<net.Socket>();
  let closed: (() => void) | null = null;
  // One listener for every adopted socket (`this` is the socket).
  const onAdoptedClose = function (this: net.Socket) {
    adopted.delete(this);
    if (adopted.size === 0) closed?.();
  };
  const onSocket = (accepted: net.Socket) => {
    let socket = accepted;
    let reader: SocketReader | undefined;
    if (!o.tls) {
      reader = new SocketReader();
      const own = adoptAccepted(accepted, reader, o.allowHalfOpen);
      if (own) {
        socket = own;
        adopted.add(own);
        own.on("close", onAdoptedClose);
      } else {
        reader = undefined;
      }
    }
    socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveDelayMs);
    callbacks.connection(new SocketLink(socket, reader));
  };
  let server: net.Server;
  if (o.tls) {
    const t = o.tls;
    const tlsServer = tls.createServer({
      ...t.extra,
      key: t.key,
      cert: t.cert,
      ca: t.ca,
      passphrase: t.passphrase,
      ALPNProtocols: t.alpnProtocols,
      requestCert: t.requestCert ?? false,
      rejectUnauthorized: t.rejectUnauthorized ?? true,
      minVersion: t.minVersion ?? "TLSv1.2",
      handshakeTimeout: o.handshakeTimeoutMs, // QWH-TIME-005: the TLS handshake is bounded too
      allowHalfOpen: o.allowHalfOpen,
      noDelay: true,
    });
    tlsServer.on("secureConnection", onSocket);
    // The peer's address is read on accept: a TLS socket that failed has no address left to ask for
    // (the TCP socket under it keeps the one read here).
    tlsServer.prependListener("connection", (raw: net.Socket) => void raw.remoteAddress);
    // A garbage or failed TLS handshake concerns that socket only.
    tlsServer.on("tlsClientError", (err, socket) => {
      const remoteAddress = socket.remoteAddress ?? (socket as { _parent?: net.Socket | null })._parent?.remoteAddress;
      callbacks.tlsFailure(remoteAddress, new QWormholeError("E_TLS_HANDSHAKE", err.message, { cause: err }));
      socket.destroy();
    });
    server = tlsServer;
  } else {
    // Paused on accept: no byte may be read before the socket is adopted.
    server = net.createServer({ allowHalfOpen: o.allowHalfOpen, noDelay: true, pauseOnConnect: true }, onSocket);
  }
  server.on("error", (err) => callbacks.error(new QWormholeError("E_SOCKET", err.message, { cause: err })));
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(new QWormholeError("E_SOCKET", err.message, { cause: err }));
        server.once("error", onError);
        server.listen({ host: o.host, port: o.port, backlog: o.backlog, reusePort: o.reusePort } as net.ListenOptions, () => {
          server.off("error", onError);
          resolve(server.address() as net.AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          // The server no longer counts adopted sockets: wait for them here.
          if (adopted.size === 0) resolve();
          else closed = resolve;
        }),
      ),
    address: () => (server.address() as net.AddressInfo | null) ?? null,
  };
}

/**
 * `net.Server` cannot give the sockets it accepts an `onread` option, so an
 * accepted plain TCP socket (paused on accept, nothing read yet) is re-created
 * around the same handle with the reader's `onread`. The accepted Socket object
 * gives up the handle and is destroyed, which only ends the server's count of
 * it (the listener counts adopted sockets itself). Returns null, leaving the
 * accepted socket in use, if this Node does not expose the handle.
 */
function adoptAccepted(accepted: net.Socket, reader: SocketReader, allowHalfOpen: boolean): net.Socket | null {
  const holder = accepted as unknown as { _handle?: object | null };
  const handle = holder._handle;
  if (!handle || typeof (handle as { readStart?: unknown }).readStart !== "function") return null;
  holder._handle = null;
  accepted.destroy();
  const options = { handle, allowHalfOpen, readable: true, writable: true, onread: reader.onread };
  return new net.Socket(options);
}
