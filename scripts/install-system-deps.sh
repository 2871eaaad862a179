#!/usr/bin/env bash
# Installs the Debian packages QWormhole's build and tests need, when missing.
# Used by the quick start and by CI. Needs root (or sudo) on Debian/Ubuntu;
# elsewhere it prints what to install.
set -euo pipefail
# build-essential/libssl-dev/pkg-config: the native C implementation (OpenSSL for Ed25519 and TLS);
# libwebsockets-dev: its lws backend (see libwebsockets/README.md).
# python3: the conformance guide's example adapter is tested.
# iproute2: the fault tests make network namespaces and veth pairs (`ip netns`, `ip link`).
# clang-format: npm run lint checks the layout of the C and C++ sources.
PACKAGES=(openssl ca-certificates build-essential libssl-dev pkg-config libwebsockets-dev python3 iproute2 clang-format)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${PACKAGES[*]}"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "please install: ${missing[*]}" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
