#!/usr/bin/env bash
# Quick start, first command: set up a fresh machine and run the main job,
# the interop matrix: every client implementation built here x every server
# implementation, plain TCP and TLS, printed as a table (reports/matrix/index.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm run build
npm run matrix
