/**
 * `qwormhole connect HOST:PORT`: sends each stdin line as a message and
 * prints every message that comes back. When stdin ends it closes
 * gracefully (CLOSE, then the server's CLOSE), so every answer the server
 * sent before it saw the CLOSE is printed before the command exits.
 * @internal
 * @packageDocumentation
 */
import { createInterface } from "node:readline";
import type { ClientCloseInfo, QWormholeClient } from "../client/client.js";
import { QWormholeError } from "../protocol/errors.js";
import { createQWormholeClient } from "../runtime.js";
import { COMMON_OPTIONS, factoryOptions, hostPort, parse, tlsOptions } from "./args.js";
import { Output, type Io } from "./output.js";

export const CONNECT_HELP = `Usage: qwormhole connect HOST:PORT [options]

Connects to a QWH/1 server, sends each line read from stdin as one message (without its newline)
and prints each message received on stdout. When stdin ends, it closes gracefully and exits once
the server's answers are in: echo hi | qwormhole connect 127.0.0.1:9000

Options:
  --tls              connect over TLS, verifying the server against the system's CAs
  --tls-ca FILE      PEM CA to verify the server with (turns TLS on)
  --tls-cert FILE    PEM client certificate, for servers that ask for one (with --tls-key)
  --tls-key FILE     PEM private key of --tls-cert
  --tls-servername N name to verify in the server's certificate (default: HOST)
  --legacy           speak to a qwormhole 0.3 server (0.3 hello, no graceful close)
  --mode M           ts (default), native-libsocket or native-lws (needs @qwormhole/native)
  --json             JSON lines on stdout: connected, message, closed
`;

/** Options of connect and bench that describe the connection. */
export const CLIENT_OPTIONS = {
  ...COMMON_OPTIONS,
  tls: { type: "boolean", default: false },
  "tls-servername": { type: "string" },
} as const;

/** Creates and connects a client as the command line says; rejects with the coded error. */
export async function connectClient(
  command: string,
  values: {
    mode: string;
    legacy: boolean;
    tls: boolean;
    "tls-cert"?: string;
    "tls-key"?: string;
    "tls-ca"?: string;
    "tls-servername"?: string;
  },
  target: string | undefined,
  out: Output,
): Promise<{ client: QWormholeClient<Buffer, unknown>; closed: Promise<ClientCloseInfo> }> {
  const { host, port } = hostPort(target, command);
  const tls = tlsOptions("client", values);
  const { client, mode } = createQWormholeClient<Buffer, unknown>({
    host,
    port,
    reconnect: false,
    handshakeProfile: values.legacy ? "legacy" : "v1",
    ...(tls ? { tls } : {}),
    ...factoryOptions(values.mode),
  });
  const closed = new Promise<ClientCloseInfo>((resolve) => client.once("close", resolve));
  await client.connect();
  const info = client.connection;
  out.status(
    { event: "connected", host, port, mode, profile: info?.profile, tls: info?.tls?.protocol ?? null },
    `connected to ${host}:${port} (${mode}, ${info?.profile}${info?.tls ? `, ${info.tls.protocol}` : ""})`,
  );
  return { client, closed };
}

/** How a connection that ended on the server's initiative ends the command. */
export function peerEnded(info: ClientCloseInfo, out: Output): number {
  const code = info.error?.code ?? info.peerClose?.code ?? "E_NORMAL_CLOSE";
  out.status(
    { event: "closed", code, by: "server" },
    `closed by the server (${code}${info.peerClose?.reason ? `: ${info.peerClose.reason}` : ""})`,
  );
  if (code === "E_NORMAL_CLOSE" || code === "E_GOING_AWAY") return 0;
  out.error(code, info.error?.message ?? info.peerClose?.reason ?? "the server closed the connection");
  return 1;
}

export async function connect(argv: string[], io: Io, signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, CLIENT_OPTIONS, 1);
  if (values.help) {
    io.stdout.write(CONNECT_HELP);
    return 0;
  }
  const out = new Output(io, values.json);
  const { client, closed } = await connectClient("connect", values, positionals[0], out);
  client.on("message", (data) => out.message(data));
  let peerGone = false;
  const ended = closed.then((info) => {
    peerGone = true;
    return info;
  });
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  const stop = (): void => lines.close();
  signal.addEventListener("abort", stop, { once: true });
  void ended.then(stop);
  try {
    for await (const line of lines) {
      if (peerGone) break;
      if (!client.send(line)) {
        // Backpressure: wait until the socket took what is queued (or the connection ended).
        await Promise.race([new Promise<void>((resolve) => client.once("drain", () => resolve())), ended]);
      }
    }
  } catch (err) {
    if (!(err instanceof QWormholeError)) throw err;
    client.destroy();
    throw err;
  } finally {
    signal.removeEventListener("abort", stop);
  }
  if (peerGone) return peerEnded(await ended, out);
  await client.close();
  out.status({ event: "closed", code: "E_NORMAL_CLOSE", by: "client" }, "closed");
  return 0;
}
