/**
 * Command-line arguments of the `qwormhole` CLI: the options every command
 * shares (transport mode, TLS files, profile, JSON output) turned into client
 * and server options, each checked once with E_INVALID_OPTION naming it.
 * @internal
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { QWormholeTlsOptions } from "../options.js";
import { QWormholeError } from "../protocol/errors.js";
import type { FactoryOptions, TransportMode } from "../runtime.js";

/** A usage error: exit code 2. */
export class UsageError extends QWormholeError {
  constructor(message: string) {
    super("E_INVALID_OPTION", message);
  }
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  mode: { type: "string", default: "ts" },
  json: { type: "boolean", default: false },
  legacy: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-ca": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: boolean }>>;

/** Parses `argv` strictly: an unknown option or a missing value is a UsageError. */
export function parse<O extends Options>(argv: string[], options: O, positionals: number): Parsed<O> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals > 0 });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
  if (parsed.positionals.length > positionals)
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`);
  return parsed;
}

const MODES: readonly TransportMode[] = ["ts", "native-libsocket", "native-lws"];

/** `--mode` as factory options: ts is forced, a native mode is required (no silent fallback). */
export function factoryOptions(mode: string): FactoryOptions {
  if (mode === "ts") return { forceTs: true };
  if (mode === "native-libsocket") return { requireNative: "libsocket" };
  if (mode === "native-lws") return { requireNative: "lws" };
  throw new UsageError(`option --mode must be one of ${MODES.join(", ")}, got ${JSON.stringify(mode)}`);
}

/** `HOST:PORT` (`[v6]:PORT` for IPv6 literals). */
export function hostPort(value: string | undefined, command: string): { host: string; port: number } {
  if (value === undefined) throw new UsageError(`${command} needs HOST:PORT`);
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 1 && port <= 65535))
    throw new UsageError(`${command}: expected HOST:PORT (e.g. 127.0.0.1:9000), got ${JSON.stringify(value)}`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/** An integer option within [min, max]. */
export function intArg(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !(n >= min && n <= max))
    throw new UsageError(`option --${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** A positive number option (seconds may be fractional). */
export function numberArg(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new UsageError(`option --${name} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`option --${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * TLS from the `--tls-*` files. A server needs a certificate and key (a CA
 * also asks clients for certificates); a client turns TLS on with any of them
 * or with `--tls` (the system's CAs).
 */
export function tlsOptions(
  role: "client" | "server",
  values: {
    "tls-cert"?: string | undefined;
    "tls-key"?: string | undefined;
    "tls-ca"?: string | undefined;
    tls?: boolean | undefined;
    "tls-servername"?: string | undefined;
  },
): QWormholeTlsOptions | undefined {
  const { "tls-cert": cert, "tls-key": key, "tls-ca": ca } = values;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("options --tls-cert and --tls-key go together");
  const any = cert !== undefined || ca !== undefined || values.tls === true || values["tls-servername"] !== undefined;
  if (!any) return undefined;
  if (role === "server" && cert === undefined) throw new UsageError("a TLS server needs --tls-cert and --tls-key");
  const tls: QWormholeTlsOptions = {};
  if (cert !== undefined && key !== undefined) {
    tls.cert = readPem("tls-cert", cert);
    tls.key = readPem("tls-key", key);
  }
  if (ca !== undefined) {
    tls.ca = readPem("tls-ca", ca);
    if (role === "server") tls.requestCert = true;
  }
  if (values["tls-servername"] !== undefined) tls.servername = values["tls-servername"];
  return tls;
}
