// Test certificates made with the openssl command at run time, never reused across runs: EC P-256
// keys, valid 2 days. The one maker of the conformance runner, the tests of every workspace and
// the bench.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const LOCALHOST = "DNS:localhost,IP:127.0.0.1";

function openssl(dir, args) {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], timeout: 30_000, killSignal: "SIGKILL" });
}

function makeCa(dir, name) {
  openssl(dir, ["req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=qwh test ${name}`]);
}

/** NAME.key and NAME.crt, signed by the CA `ca`; usable by servers and clients. */
function issue(dir, name, subject, san, ca) {
  openssl(dir, ["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject]);
  writeFileSync(
    join(dir, `${name}.ext`),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  ]);
}

/**
 * A CA (`ca`) and a certificate it signed for localhost and 127.0.0.1 (`cert`, `key`), usable by
 * servers and clients; with `client`, a second one for the name qwh-client (`clientCert`,
 * `clientKey`); with `otherCa`, a CA that signed neither (`otherCa`). Files in `dir` (default: a
 * new temporary directory); returns their paths. Throws when openssl fails or is missing.
 */
export function makeTestPki({ dir, client = false, otherCa = false } = {}) {
  dir ??= mkdtempSync(join(tmpdir(), "qwh-pki-"));
  makeCa(dir, "ca");
  issue(dir, "server", "/CN=localhost", LOCALHOST, "ca");
  const pki = { dir, ca: join(dir, "ca.crt"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
  if (client) {
    issue(dir, "client", "/CN=qwh-client", "DNS:qwh-client", "ca");
    Object.assign(pki, { clientCert: join(dir, "client.crt"), clientKey: join(dir, "client.key") });
  }
  if (otherCa) {
    makeCa(dir, "other-ca");
    pki.otherCa = join(dir, "other-ca.crt");
  }
  return pki;
}

/**
 * A self-signed certificate for localhost and 127.0.0.1, as PEM texts { key, cert } (a client
 * trusts it with `ca: cert`); no file is left behind. Throws when openssl fails or is missing.
 */
export function makeSelfSigned() {
  const dir = mkdtempSync(join(tmpdir(), "qwh-self-signed-"));
  try {
    openssl(dir, [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      `subjectAltName=${LOCALHOST}`,
    ]);
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
