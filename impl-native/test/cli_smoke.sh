#!/bin/sh
# qwh-native against itself, without Node: serve + connect (echo, large messages, raw framing,
# a version reject, a graceful close by the server) and the codec mode. Used by `make test` and,
# with the sanitizer build, by `make sanitize` (every process must exit without a finding).
set -eu
BIN=${QWH_NATIVE:-build/qwh-native}
TMP=$(mktemp -d)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$TMP"' EXIT
fail() { echo "cli_smoke: FAIL $*" >&2; exit 1; }

serve() { # config -> sets SPID and PORT
  mkfifo "$TMP/in.$1"
  "$BIN" serve --port 0 --config "$2" <"$TMP/in.$1" >"$TMP/out.$1" &
  SPID=$!
  exec 9>"$TMP/in.$1" # keeps the server's stdin open until we close it
  i=0
  until grep -q ready "$TMP/out.$1" 2>/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || fail "server $1 not ready"; sleep 0.05; done
  PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/out.$1" | head -1)
}
unserve() { exec 9>&-; wait $SPID || fail "server exited with $?"; }
expect_ok() { echo "$1" | grep -q '"ok":true' || fail "$2: $1"; }

serve a '{"features":["control"]}'
expect_ok "$("$BIN" connect --port "$PORT" --scenario echo-2000)" "echo-2000"
expect_ok "$("$BIN" connect --port "$PORT" --scenario echo --config '{"messages":["",{"size":300000,"count":20},"6869"]}')" "large echo"
expect_ok "$("$BIN" connect --port "$PORT" --scenario close --config '{"messages":["01","02"]}')" "client close"
unserve
grep -q '"messages":2000' "$TMP/out.a" || fail "server did not count 2000 messages"

serve b '{"framing":"none"}'
expect_ok "$("$BIN" connect --port "$PORT" --scenario echo --config '{"framing":"none","messages":[{"size":1000,"count":100}]}')" "raw echo"
unserve

serve c '{"protocolVersion":"2.1.0"}'
expect_ok "$("$BIN" connect --port "$PORT" --scenario expect-reject --config '{"protocolVersion":"1.0.0","expectError":"E_VERSION_MISMATCH"}')" "version reject"
unserve
grep -q '"rejected","code":"E_VERSION_MISMATCH"' "$TMP/out.c" || fail "server did not report the reject"

serve d '{"scenario":"close-after","closeAfter":1}'
expect_ok "$("$BIN" connect --port "$PORT" --scenario await-close --config '{"messages":["6869"]}')" "close-after"
unserve

printf '%s\n' '{"id":7,"op":"canonical-json","params":{},"input":{"hex":"7b2262223a312c2261223a327d"}}' '{"id":8,"op":"bogus"}' \
  | "$BIN" codec >"$TMP/codec"
grep -q '"id":7,"ok":true,"output":{"error":null,"canonicalHex":"7b2261223a322c2262223a317d"}' "$TMP/codec" || fail "codec: $(cat "$TMP/codec")"
grep -q '"id":8,"ok":false' "$TMP/codec" || fail "codec unsupported op"
set +e
"$BIN" nonsense 2>/dev/null; [ $? -eq 127 ] || fail "unknown mode must exit 127"
set -e
echo "cli_smoke: ok"
