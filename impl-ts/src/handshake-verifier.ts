/**
 * createHandshakeVerifier: a declarative `verifyHandshake` policy for the
 * common checks (versions, required tags, trusted signing keys, TLS).
 * @packageDocumentation
 */
import { QWormholeError } from "./protocol/errors.js";
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

/**
 * Builds a `verifyHandshake` hook from declarative rules. A refusal names the
 * rule that failed: the hook throws E_POLICY_REJECTED with a message such as
 * "trustedKeys: the hello is not signed by a trusted key", which the server
 * sends as the reject's reason and reports in `handshakeRejected`. A `custom`
 * check that returns false refuses as "custom: refused".
 */
export function createHandshakeVerifier(policy: HandshakeVerifierPolicy): (handshake: HandshakeSnapshot) => boolean | Promise<boolean> {
  const refuse = (rule: string, why: string): never => {
    throw new QWormholeError("E_POLICY_REJECTED", `${rule}: ${why}`);
  };
  return (h) => {
    if (policy.requireV1 && h.profile !== "v1") refuse("requireV1", `a ${h.profile} connection`);
    if (policy.requireTls && !h.tls) refuse("requireTls", "the connection is not TLS");
    if (policy.versions) {
      const ok =
        typeof policy.versions === "function" ? policy.versions(h.version) : h.version !== undefined && policy.versions.includes(h.version);
      if (!ok)
        refuse(
          "versions",
          h.version === undefined
            ? "the hello has no application version"
            : `version ${JSON.stringify(h.version).slice(0, 40)} is not accepted`,
        );
    }
    for (const [name, rule] of Object.entries(policy.requiredTags ?? {})) {
      const value = h.tags[name];
      if (value === undefined) refuse(`requiredTags.${name}`, "the tag is missing");
      if (rule instanceof RegExp ? !rule.test(String(value)) : typeof rule === "function" ? !rule(value!) : rule !== value)
        refuse(`requiredTags.${name}`, "the value is not accepted");
    }
    if (policy.trustedKeys && (!h.signed || h.publicKey === undefined || !policy.trustedKeys.includes(h.publicKey))) {
      refuse("trustedKeys", h.signed ? "the hello is not signed by a trusted key" : "the hello is not signed");
    }
    if (!policy.custom) return true;
    const verdict = policy.custom(h);
    if (typeof verdict === "boolean") return verdict || refuse("custom", "refused");
    return verdict.then((ok) => ok || refuse("custom", "refused"));
  };
}
