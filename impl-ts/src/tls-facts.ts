/**
 * TLS helpers shared by client and server: certificate fingerprints, pin
 * checks, the RFC 9266 exporter for channel binding, and the TLS facts that
 * go into hello tags and connection snapshots.
 * @packageDocumentation
 */
import type { TLSSocket } from "node:tls";
import { CHANNEL_BINDING_LABEL, CHANNEL_BINDING_LENGTH } from "./protocol/constants.js";
import type { Tags } from "./protocol/fields.js";

/** TLS facts about one connection. */
export interface TlsFacts {
  /** Negotiated protocol, e.g. "TLSv1.3". */
  protocol: string | null;
  cipher: string | null;
  /** Negotiated ALPN protocol, or null. */
  alpn: string | null;
  /** Whether the peer certificate verified against the trusted CAs. */
  authorized: boolean;
  /** SHA-256 fingerprint of the peer's certificate (uppercase hex, colon separated), or null. */
  peerFingerprint256: string | null;
  /** SHA-256 fingerprint of our own certificate, or null. */
  localFingerprint256: string | null;
}

/** Normalises a fingerprint for comparison: uppercase hex without separators. */
export function normalizeFingerprint(fp: string): string {
  return fp.replace(/[^0-9a-fA-F]/g, "").toUpperCase();
}

/** Reads the TLS facts of a connected TLS socket. */
export function tlsFactsOf(socket: TLSSocket): TlsFacts {
  const peer = socket.getPeerCertificate();
  const local = socket.getCertificate();
  const cipher = socket.getCipher();
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: cipher?.name ?? null,
    alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null,
    authorized: socket.authorized,
    peerFingerprint256: peer && "fingerprint256" in peer && peer.fingerprint256 ? peer.fingerprint256 : null,
    localFingerprint256: local && "fingerprint256" in local && local.fingerprint256 ? local.fingerprint256 : null,
  };
}

/** True when `fingerprint` matches one of `pins` (any hex formatting). */
export function fingerprintMatches(fingerprint: string | null, pins: readonly string[]): boolean {
  if (!fingerprint) return false;
  const fp = normalizeFingerprint(fingerprint);
  return pins.some((p) => normalizeFingerprint(p) === fp);
}

/** The RFC 9266 `tls-exporter` channel binding of a connection, or null without TLS. */
export function channelBindingOf(connection: {
  tlsFacts(): TlsFacts | null;
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
}): Buffer | null {
  return connection.tlsFacts() === null
    ? null
    : connection.exportKeyingMaterial(CHANNEL_BINDING_LENGTH, CHANNEL_BINDING_LABEL, Buffer.alloc(0));
}

/**
 * The TLS tags a hello sender adds. Only tlsAlpn: a client cannot tell whether
 * its certificate was actually sent (a server that did not ask never gets
 * it), and a tag must state a fact of the session (QWH-TLS-006). The server
 * learns the client certificate from the session itself.
 */
export function tlsHelloTags(facts: TlsFacts): Tags {
  const tags: Tags = {};
  if (facts.alpn) tags["tlsAlpn"] = facts.alpn;
  return tags;
}

/**
 * Checks TLS tags in a received hello against the real session: a claimed
 * fingerprint must be the peer certificate's, a claimed ALPN the negotiated
 * one. Returns a reason when they disagree.
 */
export function checkTlsTags(tags: Tags | undefined, facts: TlsFacts | null): string | null {
  if (!tags) return null;
  const fp = tags["tlsFingerprint256"];
  if (fp !== undefined) {
    if (typeof fp !== "string" || !facts || !fingerprintMatches(facts.peerFingerprint256, [fp])) {
      return "hello tag tlsFingerprint256 does not match the client certificate";
    }
  }
  const alpn = tags["tlsAlpn"];
  if (alpn !== undefined && (!facts || alpn !== facts.alpn)) return "hello tag tlsAlpn does not match the negotiated ALPN";
  return null;
}
