/**
 * createHandshakeVerifier: a declarative `verifyHandshake` policy for the
 * common checks (versions, required tags, trusted signing keys, TLS).
 * @packageDocumentation
 */
import type { HandshakeSnapshot } from "./server/server-connection.js";

/** Rules of {@link createHandshakeVerifier}; every rule given must hold. */
export interface HandshakeVerifierPolicy {
  /** Accepted application versions (exact strings, or a predicate). */
  versions?: readonly string[] | ((version: string | undefined) => boolean);
  /** Tags that must be present, with an exact value, a pattern or a predicate. */
  requiredTags?: Record<string, string | number | RegExp | ((value: string | number) => boolean)>;
  /** The hello must be signed by one of these keys (base64url raw Ed25519). */
  trustedKeys?: readonly string[];
  /** Refuse connections without TLS. */
  requireTls?: boolean;
  /** Refuse 0.3 (legacy) and bare connections. */
  requireV1?: boolean;
  /** A last custom check, sync or async. */
  custom?: (handshake: HandshakeSnapshot) => boolean | Promise<boolean>;
}

/** Builds a `verifyHandshake` hook from declarative rules. */
export function createHandshakeVerifier(policy: HandshakeVerifierPolicy): (handshake: HandshakeSnapshot) => boolean | Promise<boolean> {
  return (h) => {
    if (policy.requireV1 && h.profile !== "v1") return false;
    if (policy.requireTls && !h.tls) return false;
    if (policy.versions) {
      const ok = typeof policy.versions === "function" ? policy.versions(h.version) : h.version !== undefined && policy.versions.includes(h.version);
      if (!ok) return false;
    }
    for (const [name, rule] of Object.entries(policy.requiredTags ?? {})) {
      const value = h.tags[name];
      if (value === undefined) return false;
      if (rule instanceof RegExp ? !rule.test(String(value)) : typeof rule === "function" ? !rule(value) : rule !== value) return false;
    }
    if (policy.trustedKeys && (!h.signed || h.publicKey === undefined || !policy.trustedKeys.includes(h.publicKey))) return false;
    return policy.custom ? policy.custom(h) : true;
  };
}
