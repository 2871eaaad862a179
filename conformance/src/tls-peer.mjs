// The runner's side of a TLS wire case: the Node TLS options of the scripted peer built from a
// case's `tlsPeer` member, the facts a case checks against the session (certificate digests), and
// a self-check that this machine's OpenSSL can still play an old (TLS 1.0/1.1) peer, so that a
// case proving "a TLS 1.1-only peer is refused" never passes because the runner itself could not
// speak TLS 1.1.
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { HarnessError } from "./util.mjs";

const OLD = new Set(["TLSv1", "TLSv1.1"]);

/** Node TLS options for the scripted peer: versions, ALPN; old versions need OpenSSL security level 0. */
export function peerTlsOptions(peer = {}) {
  const o = {};
  if (peer.minVersion) o.minVersion = peer.minVersion;
  if (peer.maxVersion) o.maxVersion = peer.maxVersion;
  if (OLD.has(peer.maxVersion) || OLD.has(peer.minVersion)) {
    o.minVersion = peer.minVersion ?? "TLSv1";
    o.ciphers = "DEFAULT@SECLEVEL=0";
  }
  if (peer.alpn) o.ALPNProtocols = peer.alpn;
  return o;
}

/** Lowercase hex SHA-256 of the DER of a PEM certificate (the form of pins in adapter configs). */
export function certSha256Hex(pem) {
  return new X509Certificate(pem).fingerprint256.replaceAll(":", "").toLowerCase();
}

/** Replaces the placeholders of a case config ("@cert-sha256") by their values for this run. */
export function substituteConfig(value, tlsFiles) {
  if (typeof value === "string") {
    if (value === "@cert-sha256") {
      if (!tlsFiles) throw new HarnessError('config placeholder "@cert-sha256" needs a TLS case');
      return certSha256Hex(tlsFiles.certPem);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => substituteConfig(v, tlsFiles));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteConfig(v, tlsFiles)]));
  return value;
}

const capability = new Map();

/**
 * null when a loopback TLS handshake limited to `peer`'s versions succeeds between two Node
 * endpoints with the run's certificates, else why not. Memoised per version range.
 */
export function tlsCapabilityProblem(peer, tlsFiles) {
  if (!OLD.has(peer?.maxVersion)) return Promise.resolve(null);
  const key = `${peer.minVersion ?? ""}-${peer.maxVersion}`;
  if (!capability.has(key)) {
    capability.set(
      key,
      new Promise((resolve) => {
        const opts = peerTlsOptions(peer);
        const server = tls.createServer({ cert: tlsFiles.certPem, key: tlsFiles.keyPem, ...opts }, (s) => s.end());
        const timer = setTimeout(() => finish(`no ${peer.maxVersion} handshake within 3 s`), 3000);
        const finish = (problem) => {
          clearTimeout(timer);
          server.close();
          resolve(problem);
        };
        server.on("tlsClientError", (err) => finish(`this machine's TLS library cannot negotiate ${peer.maxVersion} (${err.message})`));
        server.listen(0, "127.0.0.1", () => {
          const s = tls.connect(
            { host: "127.0.0.1", port: server.address().port, ca: tlsFiles.caPem, servername: "localhost", ...opts },
            () => {
              const got = s.getProtocol();
              s.destroy();
              finish(got === peer.maxVersion ? null : `self-check negotiated ${got}, not ${peer.maxVersion}`);
            },
          );
          s.on("error", (err) => finish(`this machine's TLS library cannot negotiate ${peer.maxVersion} (${err.message})`));
        });
      }),
    );
  }
  return capability.get(key);
}
