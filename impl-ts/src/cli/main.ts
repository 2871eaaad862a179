/**
 * The `qwormhole` command line: dispatch to serve, connect and bench, the
 * help texts, and the exit codes (0 done, 1 a coded error of the connection
 * or server, 2 a usage error). Errors go to stderr as `qwormhole: CODE: message`.
 * @internal
 * @packageDocumentation
 */
import { createRequire } from "node:module";
import { QWormholeError } from "../protocol/errors.js";
import { UsageError } from "./args.js";
import { bench, BENCH_HELP } from "./bench.js";
import { connect, CONNECT_HELP } from "./connect.js";
import { Output, type Io } from "./output.js";
import { serve, SERVE_HELP } from "./serve.js";

export const HELP = `Usage: qwormhole COMMAND [options]

QWH/1 framed TCP messaging from the command line (the qwormhole package's client and server).

Commands:
  serve --port P [--echo]      listen; print each message received, or echo it back
  connect HOST:PORT            send each stdin line as a message, print what comes back
  bench HOST:PORT              echo throughput (msg/s, MB/s) against serve --echo
  help [COMMAND]               this text, or a command's options

Every command takes --mode ts|native-libsocket|native-lws, --json (JSON lines on stdout),
--legacy (qwormhole 0.3 peers) and --tls-cert/--tls-key/--tls-ca FILE (PEM).

Examples:
  qwormhole serve --port 9000 --echo
  echo hi | qwormhole connect 127.0.0.1:9000
  qwormhole bench 127.0.0.1:9000 --size 1024 --seconds 10

Exit codes: 0 done; 1 a coded error (E_... on stderr); 2 a usage error (E_INVALID_OPTION).
`;

const COMMANDS: Record<string, { run: (argv: string[], io: Io, signal: AbortSignal) => Promise<number>; help: string }> = {
  serve: { run: serve, help: SERVE_HELP },
  connect: { run: connect, help: CONNECT_HELP },
  bench: { run: bench, help: BENCH_HELP },
};

function version(): string {
  return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes("--json");
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const topic = name === "help" && rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    io.stdout.write(topic ? topic.help : HELP);
    return 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!command)
      throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(", ")}; qwormhole --help)`);
    return await command.run(rest, io, signal);
  } catch (err) {
    const out = new Output(io, json);
    if (err instanceof UsageError) {
      out.error(err.code, `${err.message}${command ? ` (qwormhole ${name} --help)` : ""}`);
      return 2;
    }
    if (err instanceof QWormholeError) {
      out.error(err.code, err.message);
      return 1;
    }
    out.error("E_INTERNAL", (err as Error)?.stack ?? String(err));
    return 1;
  }
}
