#!/usr/bin/env bash
# Quick start, first command: set up a fresh machine and run the main job.
# Until the conformance matrix exists, the main job is the echo demo over TCP.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
npm ci --no-audit --no-fund
npm run demo
