#!/usr/bin/env node
/**
 * The `qwormhole` executable: runs the CLI on the process's streams; SIGINT
 * and SIGTERM stop a command gracefully (a second one exits at once).
 * @internal
 * @packageDocumentation
 */
import { main } from "./main.js";

const stop = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  });
}
// EPIPE (the reader of stdout went away, e.g. `| head`): stop quietly.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") stop.abort();
});

process.exitCode = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, stop.signal);
