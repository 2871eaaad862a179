/**
 * `qwormhole serve`: a QWH/1 server that prints what arrives, or echoes it
 * back to its sender with `--echo`, until SIGINT/SIGTERM (then it closes
 * gracefully: every connection gets a CLOSE).
 * @internal
 * @packageDocumentation
 */
import { createQWormholeServer } from "../runtime.js";
import { COMMON_OPTIONS, factoryOptions, intArg, parse, tlsOptions, UsageError } from "./args.js";
import { Output, type Io } from "./output.js";

export const SERVE_HELP = `Usage: qwormhole serve --port P [--host H] [--echo] [options]

Listens for QWH/1 clients. Each message received is printed on stdout (one line per message),
or sent back to its sender with --echo. Status lines go to stderr. Stops on Ctrl-C / SIGTERM.

Options:
  --port P           port to listen on (0: any free port, printed at start)      (required)
  --host H           address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)
  --echo             send every message back to its sender instead of printing it
  --tls-cert FILE    PEM certificate (chain): serve over TLS (with --tls-key)
  --tls-key FILE     PEM private key of --tls-cert
  --tls-ca FILE      PEM CA: ask clients for a certificate and verify it (mutual TLS)
  --legacy           also serve qwormhole 0.3 clients (0.3 hello, no accept frame)
  --mode M           ts (default), native-libsocket or native-lws (needs @qwormhole/native)
  --json             JSON lines on stdout: listening, connection, message, closed
`;

export async function serve(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values } = parse(
    argv,
    {
      ...COMMON_OPTIONS,
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      echo: { type: "boolean", default: false },
    },
    0,
  );
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const out = new Output(io, values.json);
  if (values.port === undefined) throw new UsageError("serve needs --port P (0 for any free port)");
  const port = intArg("port", values.port, 0, 0, 65535);
  const tls = tlsOptions("server", values);
  const { server, mode } = createQWormholeServer({
    host: values.host,
    port,
    allowLegacy: values.legacy,
    ...(tls ? { tls } : {}),
    ...factoryOptions(values.mode),
  });
  if (values.echo) server.on("message", ({ client, data }) => client.send(data));
  else server.on("message", ({ client, data }) => out.message(data, { client: client.id }));
  server.on("connection", (c) =>
    out.status(
      { event: "connection", client: c.id, remoteAddress: c.remoteAddress, remotePort: c.remotePort, profile: c.handshake.profile },
      `connection ${c.id} from ${c.remoteAddress}:${c.remotePort} (${c.handshake.profile})`,
    ),
  );
  server.on("clientClosed", ({ client, error, peerClose }) => {
    const code = error?.code ?? peerClose?.code ?? "E_NORMAL_CLOSE";
    out.status(
      { event: "closed", client: client.id, code },
      `connection ${client.id} closed (${code}${error ? `: ${error.message}` : ""})`,
    );
  });
  server.on("handshakeRejected", ({ remoteAddress, code, reason }) =>
    out.status({ event: "rejected", remoteAddress, code, reason }, `refused ${remoteAddress ?? "a client"}: ${code} ${reason}`),
  );
  server.on("error", (err) => out.status({ event: "error", code: err.code, message: err.message }, `error: ${err.code}: ${err.message}`));
  const address = await server.listen();
  out.status(
    { event: "listening", host: address.address, port: address.port, mode, tls: tls !== undefined },
    `listening on ${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port} (${mode}${tls ? ", TLS" : ""}${values.echo ? ", echo" : ""})`,
  );
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
  await server.close();
  out.status({ event: "stopped" }, "stopped");
  return 0;
}
