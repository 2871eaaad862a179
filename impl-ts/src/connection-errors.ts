/**
 * What a connection error says beyond its code: the operating system's error
 * name (`syscallCode`, e.g. "ECONNREFUSED"), and a hint when the peer's first
 * bytes show that it speaks another protocol (HTTP, TLS, SSH).
 * @packageDocumentation
 */
import { getSystemErrorMap } from "node:util";
import { QWormholeError } from "./protocol/errors.js";

let byMessage: Map<string, string> | null = null;

/** OS error names by their text (libuv's and the C library's strerror()), lower-cased. */
function errnoNames(): Map<string, string> {
  if (byMessage === null) {
    byMessage = new Map();
    for (const [name, message] of getSystemErrorMap().values()) byMessage.set(message.toLowerCase(), name);
    // glibc's strerror() where it differs from libuv's text.
    byMessage.set("no route to host", "EHOSTUNREACH");
    byMessage.set("transport endpoint is not connected", "ENOTCONN");
  }
  return byMessage;
}

/**
 * The OS error name behind `error`: the `code` of its Node cause
 * ("ECONNREFUSED"), or for the native transports, whose messages carry
 * strerror() text, the name of that text. Undefined when there is none.
 */
export function syscallCodeOf(error: QWormholeError): string | undefined {
  if (error.syscallCode !== undefined) return error.syscallCode;
  const cause = error.cause as { code?: unknown } | undefined;
  if (cause && typeof cause.code === "string" && /^E[A-Z0-9_]+$/.test(cause.code) && !cause.code.startsWith("ERR_")) return cause.code;
  if (error.code !== "E_SOCKET" && error.code !== "E_TLS_HANDSHAKE") return undefined;
  const text = error.message.toLowerCase();
  const names = errnoNames();
  const whole = names.get(text);
  if (whole) return whole;
  // "connect: Connection refused", "read: Connection reset by peer"
  const colon = text.lastIndexOf(": ");
  return colon >= 0 ? names.get(text.slice(colon + 2)) : undefined;
}

/** Sets `error.syscallCode` when the error has an OS cause; returns the error. */
export function withSyscallCode<E extends QWormholeError>(error: E): E {
  if (error.syscallCode === undefined) {
    const name = syscallCodeOf(error);
    if (name !== undefined) error.syscallCode = name;
  }
  return error;
}

/**
 * Names the protocol whose first four bytes, read as a QWH/1 frame length,
 * gave `length`: "HTTP" ("HTTP" or a request method), "TLS" (a TLS record:
 * handshake or alert), "SSH" ("SSH-"); undefined otherwise.
 */
export function foreignProtocolOf(length: number): "HTTP" | "TLS" | "SSH" | undefined {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length >>> 0);
  const text = b.toString("latin1");
  if (text === "HTTP" || /^(GET |POST|PUT |HEAD|DELE|OPTI|PATC|CONN|TRAC|PRI )$/.test(text)) return "HTTP";
  if (text === "SSH-") return "SSH";
  // TLS record: content type 20..23, version 3.x.
  if (b[0]! >= 0x14 && b[0]! <= 0x17 && b[1] === 0x03 && b[2]! <= 0x04) return "TLS";
  return undefined;
}

const HINT: Record<"HTTP" | "TLS" | "SSH", string> = {
  HTTP: "the peer speaks HTTP, not QWH/1; is this the right port?",
  TLS: "the peer speaks TLS; is this the right port, and is `tls` set on both sides?",
  SSH: "the peer speaks SSH, not QWH/1; is this the right port?",
};

/**
 * A hint for a frame-length error in the handshake: the peer's first bytes
 * as a protocol name, when the message carries the length (TS transport),
 * else a general one. Undefined when `error` is not such an error.
 */
export function foreignPeerHint(error: QWormholeError): string | undefined {
  if (error.code !== "E_HANDSHAKE_TOO_LARGE" && error.code !== "E_FRAME_TOO_LARGE") return undefined;
  const m = /frame length (\d+) exceeds/.exec(error.message);
  const protocol = m ? foreignProtocolOf(Number(m[1])) : undefined;
  if (protocol) return HINT[protocol];
  return m ? undefined : "the peer's first bytes are not a QWH/1 frame; does it speak QWH/1 (not HTTP, TLS or SSH) on this port?";
}

/** Adds the foreign-protocol hint to the message of `error` (same error, same code); returns it. */
export function withPeerHint<E extends QWormholeError>(error: E): E {
  const hint = foreignPeerHint(error);
  if (hint !== undefined) error.message = `${error.message}: ${hint}`;
  return error;
}

/**
 * Adds a hint to the message of a client error that a TLS mismatch explains:
 * a TLS client whose server answered in plain bytes ("wrong version
 * number"), or a plain client whose server closed before answering (what a
 * TLS server does with a plain hello). Returns the same error.
 */
export function withTlsMismatchHint<E extends QWormholeError>(error: E, tlsOn: boolean): E {
  if (tlsOn && error.code === "E_TLS_HANDSHAKE" && /wrong version number|packet length too long|unknown protocol/i.test(error.message)) {
    error.message = `${error.message.trim()}: the server did not answer with TLS; is \`tls\` set on the server, and is this its port?`;
  } else if (!tlsOn && error.code === "E_CLOSED" && /before answering the hello/.test(error.message)) {
    error.message = `${error.message} (a server that expects TLS closes a plain connection this way: is \`tls\` needed?)`;
  }
  return error;
}

/** A hint for a server's failed TLS handshake whose first bytes were not TLS (OpenSSL's wording). */
export function tlsServerFailureHint(message: string): string | undefined {
  if (/http request/i.test(message)) return "the peer speaks HTTP, not TLS";
  if (/wrong version number|unknown protocol/i.test(message)) return "the peer did not start TLS (a client without `tls`?)";
  return undefined;
}
