/** Test certificates made with openssl at test time (conformance/lib/tls-certs.mjs): a CA, a server and a client certificate. */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { makeTestPki } from "../../../conformance/lib/tls-certs.mjs";

export interface TestPki {
  dir: string;
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
  otherCa: Buffer;
  serverFingerprint256: string;
  clientFingerprint256: string;
}

/** Creates a fresh PKI in a temporary directory. */
export function makePki(): TestPki {
  const files = makeTestPki({ client: true, otherCa: true });
  const serverCert = readFileSync(files.cert);
  const clientCert = readFileSync(files.clientCert!);
  return {
    dir: files.dir,
    ca: readFileSync(files.ca),
    otherCa: readFileSync(files.otherCa!),
    serverKey: readFileSync(files.key),
    serverCert,
    clientKey: readFileSync(files.clientKey!),
    clientCert,
    serverFingerprint256: new X509Certificate(serverCert).fingerprint256,
    clientFingerprint256: new X509Certificate(clientCert).fingerprint256,
  };
}
