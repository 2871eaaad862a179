#!/usr/bin/env node
// qwh-conformance: the QWH/1 conformance runner and interop matrix. See conformance/README.md.
import { main } from "../src/cli.mjs";

// A reader that stops early (`qwh-conformance list | head`) closes the pipe: end quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
// Everything is written: a handle that still holds the event loop (an adapter process that did not
// exit, a socket) must not keep the command running. The timer does not hold the loop itself, so
// it fires only in that case; it names what was left over.
setTimeout(() => {
  const left = process
    ._getActiveHandles()
    .filter((h) => h !== process.stdout && h !== process.stderr && h !== process.stdin)
    .map((h) => (h.spawnargs ? `process ${h.pid}: ${h.spawnargs.join(" ").slice(0, 300)}` : (h.constructor?.name ?? "handle")));
  process.stderr.write(`qwh-conformance: done, but still held open after 10 s by: ${left.join("; ") || "(unknown)"}; exiting\n`);
  process.exit(process.exitCode);
}, 10000).unref();
