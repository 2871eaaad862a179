// The run's test certificates (lib/tls-certs.mjs): a CA, and one certificate for localhost /
// 127.0.0.1 (usable by servers and clients) signed by it, made once per output directory.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki } from "../lib/tls-certs.mjs";
import { HarnessError } from "./util.mjs";

/** Creates (once per directory) the CA, certificate and key under dir; returns their paths. */
export function generateCertificates(dir) {
  const paths = { ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
  if (existsSync(paths.ca) && existsSync(paths.cert) && existsSync(paths.key)) return paths;
  mkdirSync(dir, { recursive: true });
  try {
    return makeTestPki({ dir });
  } catch (err) {
    throw new HarnessError(`openssl failed (is openssl installed?): ${err.stderr?.toString().trim() ?? err.message}`);
  }
}
