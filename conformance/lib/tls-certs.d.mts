// Types of tls-certs.mjs, for the TypeScript tests that make certificates.

/** Paths of the files {@link makeTestPki} made. */
export interface TestPkiFiles {
  /** The directory that holds them. */
  dir: string;
  /** The CA certificate. */
  ca: string;
  /** A certificate for localhost and 127.0.0.1 signed by the CA, and its key. */
  cert: string;
  key: string;
  /** With `client`: a certificate for the name qwh-client signed by the CA, and its key. */
  clientCert?: string;
  clientKey?: string;
  /** With `otherCa`: a CA certificate that signed neither. */
  otherCa?: string;
}

/** A CA and the certificates it signed, made now with openssl (EC P-256, valid 2 days). */
export function makeTestPki(options?: { dir?: string; client?: boolean; otherCa?: boolean }): TestPkiFiles;

/** A self-signed certificate for localhost and 127.0.0.1, as PEM texts. */
export function makeSelfSigned(): { key: string; cert: string };
