#!/bin/sh
# Probe for a usable system libwebsockets: version >= 4.1, raw role and TLS (OpenSSL) built in.
# Exit 0 when usable. --quiet: no output. --install: as root on Debian, apt-get install it first.
here=$(dirname "$0")
quiet=0; install=0
for a in "$@"; do
  case "$a" in --quiet) quiet=1 ;; --install) install=1 ;; esac
done
say() { [ "$quiet" = 1 ] || echo "$@"; }
if [ "$install" = 1 ] && ! pkg-config --exists libwebsockets 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y libwebsockets-dev pkg-config >/dev/null || { apt-get update -qq && apt-get install -y libwebsockets-dev pkg-config >/dev/null; }
  fi
fi
command -v pkg-config >/dev/null 2>&1 || { say "libwebsockets: pkg-config missing (Debian: apt-get install -y pkg-config libwebsockets-dev)"; exit 1; }
if ! pkg-config --exists libwebsockets; then
  say "libwebsockets: not found by pkg-config (Debian: apt-get install -y libwebsockets-dev)"; exit 1
fi
if ! pkg-config --atleast-version=4.1 libwebsockets; then
  say "libwebsockets: $(pkg-config --modversion libwebsockets) is older than 4.1"; exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
if ! ${CC:-cc} -o "$tmp/check" "$here/check.c" $(pkg-config --cflags --libs libwebsockets) >"$tmp/log" 2>&1; then
  say "libwebsockets: the raw role or TLS is missing in this build:"; [ "$quiet" = 1 ] || sed 's/^/  /' "$tmp/log"; exit 1
fi
"$tmp/check" >"$tmp/out" 2>&1 || { say "libwebsockets: check program failed: $(cat "$tmp/out")"; exit 1; }
say "libwebsockets $(pkg-config --modversion libwebsockets): raw role and TLS present ($(cat "$tmp/out"))"
exit 0
