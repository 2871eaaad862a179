#!/usr/bin/env node
// qwh-conformance: the QWH/1 conformance runner and interop matrix. See conformance/README.md.
import { main } from "../src/cli.mjs";

// A reader that stops early (`qwh-conformance list | head`) closes the pipe: end quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
process.exitCode = await main(process.argv.slice(2));
