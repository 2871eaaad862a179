#!/usr/bin/env node
// qwh-conformance: the QWH/1 conformance runner and interop matrix. See conformance/README.md.
import { main } from "../src/cli.mjs";

process.exitCode = await main(process.argv.slice(2));
