// Test certificates generated at run time with the openssl command: a CA, and one certificate
// for localhost / 127.0.0.1 (usable by servers and clients) signed by it. Never reused across runs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HarnessError } from "./util.mjs";

/** Creates (once per directory) ca.pem, cert.pem, key.pem under dir; returns their paths. */
export function generateCertificates(dir) {
  const paths = { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
  if (existsSync(paths.ca) && existsSync(paths.cert) && existsSync(paths.key)) return paths;
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, "ca-key.pem");
  const csr = join(dir, "cert.csr");
  const ext = join(dir, "cert.ext");
  writeFileSync(
    ext,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  const run = (args) => {
    try {
      execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
    } catch (err) {
      throw new HarnessError(`openssl ${args[0]} failed (is openssl installed?): ${err.stderr?.toString().trim() ?? err.message}`);
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(["req", "-x509", ...ec, "-keyout", caKey, "-out", paths.ca, "-days", "2", "-subj", "/CN=qwh-conformance test CA"]);
  run(["req", ...ec, "-keyout", paths.key, "-out", csr, "-subj", "/CN=localhost"]);
  run(["x509", "-req", "-in", csr, "-CA", paths.ca, "-CAkey", caKey, "-CAcreateserial", "-out", paths.cert, "-days", "2", "-extfile", ext]);
  return paths;
}
