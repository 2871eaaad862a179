#!/usr/bin/env node
// The conformance adapter of the TypeScript reference (`qwormhole`), in the modes of the adapter
// contract (spec Appendix D): codec (JSON lines over stdin/stdout), serve, connect, connect-many
// (many connect scenarios in one process, one JSON request line each) and info. Loads qwormhole
// through normal module resolution (the installed package, or the workspace's build).
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { runClientScenario, summarize } from "./client.mjs";
import { runCodec } from "./codec.mjs";
import { parseConfig, readTls } from "./options.mjs";
import { runServe } from "./serve.mjs";

const UNSUPPORTED = 127;
const [mode, ...rest] = process.argv.slice(2);

function line(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** The arguments of serve and connect: --port, --host, --tls-*, --config (and connect's --scenario). */
function parseCommon(args, extra = {}) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-ca": { type: "string" },
      config: { type: "string", default: "{}" },
      ...extra,
    },
    strict: true,
  });
  const port = Number(values.port ?? "0");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be 0..65535");
  return {
    values,
    config: parseConfig(values.config),
    port,
    host: values.host,
    tls: readTls({ cert: values["tls-cert"], key: values["tls-key"], ca: values["tls-ca"] }),
  };
}

async function serve(args) {
  await runServe(parseCommon(args));
}

async function connect(args) {
  const { values, ...common } = parseCommon(args, { scenario: { type: "string", default: "echo" } });
  const live = {};
  // If the event loop drains while a promise of the client is still pending (it should never),
  // say so instead of exiting silently.
  process.on("beforeExit", () => {
    if (!live.result) return;
    live.result.message = "the event loop drained while waiting for the client (a promise never settled)";
    line(summarize(live.result, live.received, live.raw));
    live.result = null;
  });
  const result = await runClientScenario({ ...common, scenario: values.scenario }, { emit: line, live });
  live.result = null;
  // Exit only once the line is out: process.exit() can cut a pending write to a pipe.
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

/**
 * connect-many: one request line per client, {"id", "port", "host"?, "scenario", "config"?,
 * "tls"?: {"cert", "key", "ca"} (paths)}; the clients run at once; each event line and the
 * result come back with the request's id: {"id", "event", ...}, {"id", "result"}, or
 * {"id", "unsupported": true, "message"}. Ends when stdin ends and every client is done.
 */
async function connectMany() {
  const running = new Set();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const text of lines) {
    if (text.trim() === "") continue;
    let req;
    try {
      req = JSON.parse(text);
    } catch (err) {
      line({ id: null, error: `not JSON: ${err.message}` });
      continue;
    }
    const { id } = req;
    const run = (async () => {
      try {
        const options = {
          port: req.port,
          host: req.host ?? "127.0.0.1",
          tls: readTls(req.tls),
          scenario: req.scenario ?? "echo",
          config: req.config ?? {},
        };
        const result = await runClientScenario(options, { emit: (e) => line({ id, ...e }) });
        line({ id, result });
      } catch (err) {
        if (err?.unsupported) line({ id, unsupported: true, message: err.message });
        else line({ id, error: String(err?.stack ?? err) });
      }
    })();
    running.add(run);
    run.finally(() => running.delete(run));
  }
  await Promise.all(running);
  process.exit(0);
}

// The optional features this adapter can exercise (cases needing another one grade UNSUPPORTED).
function info() {
  line({
    name: "ts",
    implementation: "qwormhole (impl-ts)",
    features: ["control", "raw", "legacy", "bare", "tls", "sign", "heartbeat", "resume"],
  });
}

const modes = { codec: runCodec, serve, connect, "connect-many": connectMany, info };
if (!Object.hasOwn(modes, mode ?? "")) {
  process.stderr.write(`ts adapter: unsupported mode ${JSON.stringify(mode ?? "")}\n`);
  process.exit(UNSUPPORTED);
}
try {
  await modes[mode](rest);
} catch (err) {
  process.stderr.write(`ts adapter: ${err?.message ?? err}\n`);
  if (!err?.unsupported) process.stderr.write(`${err?.stack ?? ""}\n`);
  process.exit(err?.unsupported ? UNSUPPORTED : 2);
}
