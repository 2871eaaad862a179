#!/bin/sh
# qwh-native against itself, without Node: serve + connect (echo, large messages, raw framing,
# a version reject, a graceful close by the server, a half-close, TLS, resume) for each pair of backends
# (posix and lws, when built with libwebsockets) and the codec mode. Used by `make test` and,
# with the sanitizer build, by `make sanitize` (every process must exit without a finding).
set -eu
BIN=${QWH_NATIVE:-build/qwh-native}
TMP=$(mktemp -d)
trap 'kill $SPID 2>/dev/null || true; rm -rf "$TMP"' EXIT
fail() { echo "cli_smoke: FAIL $*" >&2; exit 1; }

SB=posix # server backend
CB=posix # client backend
TLS_S=""
TLS_C=""
serve() { # name config -> sets SPID and PORT
  rm -f "$TMP/in.$1" "$TMP/out.$1"
  mkfifo "$TMP/in.$1"
  # shellcheck disable=SC2086
  "$BIN" --backend "$SB" serve --port 0 --config "$2" $TLS_S <"$TMP/in.$1" >"$TMP/out.$1" &
  SPID=$!
  exec 9>"$TMP/in.$1" # keeps the server's stdin open until we close it
  i=0
  until grep -q ready "$TMP/out.$1" 2>/dev/null; do i=$((i + 1)); [ $i -lt 100 ] || fail "server $1 not ready"; sleep 0.05; done
  PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$TMP/out.$1" | head -1)
}
unserve() { exec 9>&-; wait $SPID || fail "server exited with $?"; }
expect_ok() { echo "$1" | grep -q '"ok":true' || fail "$2: $1"; }

# shellcheck disable=SC2086
conn() { # the result line; a client that exits non-zero (a sanitizer finding) prints nothing
  out=$("$BIN" --backend "$CB" connect --port "$PORT" $TLS_C "$@") || { echo "client exited with $?" >&2; return 0; }
  echo "$out"
}

pair() {
  serve a '{"features":["control"]}'
  expect_ok "$(conn --scenario echo-2000)" "$SB/$CB echo-2000"
  expect_ok "$(conn --scenario echo --config '{"messages":["",{"size":300000,"count":20},"6869"]}')" "$SB/$CB large echo"
  expect_ok "$(conn --scenario close --config '{"messages":["01","02"]}')" "$SB/$CB client close"
  unserve
  grep -q '"messages":2000' "$TMP/out.a" || fail "$SB/$CB: server did not count 2000 messages"

  serve b '{"framing":"none"}'
  expect_ok "$(conn --scenario echo --config '{"framing":"none","messages":[{"size":1000,"count":100}]}')" "$SB/$CB raw echo"
  unserve

  serve c '{"protocolVersion":"2.1.0"}'
  expect_ok "$(conn --scenario expect-reject --config '{"protocolVersion":"1.0.0","expectError":"E_VERSION_MISMATCH"}')" "$SB/$CB version reject"
  unserve
  grep -q '"rejected","code":"E_VERSION_MISMATCH"' "$TMP/out.c" || fail "$SB/$CB: server did not report the reject"

  serve d '{"scenario":"close-after","closeAfter":1}'
  expect_ok "$(conn --scenario await-close --config '{"messages":["6869"]}')" "$SB/$CB close-after"
  unserve
}

tls_pair() {
  TLS_S="--tls-cert $TMP/cert.pem --tls-key $TMP/key.pem --tls-ca $TMP/ca.pem"
  TLS_C="$TLS_S"
  serve t '{"features":["control"],"alpn":["qwh/1"]}'
  expect_ok "$(conn --scenario echo --config '{"alpn":["qwh/1"],"messages":["",{"size":70000,"count":5},"6869"]}')" "$SB/$CB TLS echo"
  expect_ok "$(conn --scenario echo-2000)" "$SB/$CB TLS echo-2000"
  unserve
  serve u '{"features":["control"],"pins":["0000000000000000000000000000000000000000000000000000000000000000"]}'
  expect_ok "$(conn --scenario expect-reject --config '{"expectError":"E_TLS_PIN_MISMATCH"}')" "$SB/$CB TLS pin mismatch"
  unserve
  TLS_S=""
  TLS_C=""
}

# profiles, policy timers, heartbeats, signing, resume, reconnects (one backend for both sides)
more() {
  serve e '{"profile":"bare"}'
  expect_ok "$(conn --scenario echo --config '{"profile":"bare","messages":["6869",""]}')" "$SB/$CB bare echo"
  unserve
  # An idle timeout long enough that a busy machine does not end the echo before it.
  serve f '{"allowLegacy":true,"idleTimeoutMs":1000}'
  expect_ok "$(conn --scenario echo --config '{"profile":"legacy","protocolVersion":"1.0.0","messages":["6869"]}')" "$SB/$CB legacy client"
  out=$(conn --scenario await-close)
  expect_ok "$out" "$SB/$CB idle timeout"
  echo "$out" | grep -q '"closeCode":"E_IDLE_TIMEOUT"' || fail "$SB/$CB idle timeout: $out"
  unserve
  # Pings every 30 ms across a 200 ms hold; 20 missed in a row to fail, so a process the loaded machine
  # leaves unscheduled for a while is not taken for a dead peer (the timeout itself has wire cases).
  serve g '{"requireSignature":true,"verifyDelayMs":60,"heartbeatIntervalMs":30,"heartbeatMissedLimit":20,"messages":["01"]}'
  expect_ok "$(conn --scenario heartbeat --config '{"sign":true,"heartbeatIntervalMs":30,"heartbeatMissedLimit":20,"holdMs":200,"messages":["01"]}')" "$SB/$CB signed + slow policy + heartbeats"
  unserve
  serve h '{"trustedKeys":["0uuZO2MUNSjnDc3H65yiEBDddpvpUlDCxbq_rRXUWOI"],"replayCacheMaxEntries":4}'
  expect_ok "$(conn --scenario expect-reject --config '{"sign":true,"expectError":"E_POLICY_REJECTED"}')" "$SB/$CB untrusted key"
  unserve
  # resume: small replay bounds, so messages are held and released by ACKs; a close waits for the held ones
  serve j '{"resume":{"windowMs":5000}}'
  expect_ok "$(conn --scenario echo-2000 --config '{"resume":{"maxUnackedMessages":16}}')" "$SB/$CB resume echo-2000"
  out=$(conn --scenario close --config '{"resume":{"maxUnackedMessages":2},"messages":[{"size":10,"count":50}]}')
  expect_ok "$out" "$SB/$CB resume close"
  echo "$out" | grep -q '"unacknowledged":0' || fail "$SB/$CB resume close: $out"
  unserve
  grep -q '"messages":2000,' "$TMP/out.j" || fail "$SB/$CB resume: server did not count 2000 messages"
  grep -q '"messages":50,' "$TMP/out.j" || fail "$SB/$CB resume: server did not count the 50 held messages"
  serve i '{"scenario":"close-after","closeAfter":1,"closeCode":"E_GOING_AWAY"}'
  out=$(conn --scenario retry --config '{"closes":2,"messages":["6869"],"laterMessages":["01"]}')
  expect_ok "$out" "$SB/$CB retry"
  echo "$out" | grep -q '"reconnects":1' || fail "$SB/$CB retry: $out"
  unserve
}

BACKENDS=posix
if "$BIN" --backend lws codec </dev/null 2>/dev/null; then BACKENDS="posix lws"; fi
HAVE_TLS=0
if command -v openssl >/dev/null 2>&1; then
  (
    cd "$TMP"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=qwh-test-ca -keyout ca-key.pem -out ca.pem
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -keyout key.pem -out cert.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >cert.ext
    openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile cert.ext -out cert.pem
  ) >/dev/null 2>&1 && HAVE_TLS=1
fi
for SB in $BACKENDS; do
  for CB in $BACKENDS; do
    pair
    [ $HAVE_TLS -eq 0 ] || tls_pair
  done
  CB=$SB
  more
done

printf '%s\n' '{"id":7,"op":"canonical-json","params":{},"input":{"hex":"7b2262223a312c2261223a327d"}}' '{"id":8,"op":"bogus"}' \
  | "$BIN" codec >"$TMP/codec"
grep -q '"id":7,"ok":true,"output":{"error":null,"canonicalHex":"7b2261223a322c2262223a317d"}' "$TMP/codec" || fail "codec: $(cat "$TMP/codec")"
grep -q '"id":8,"ok":false' "$TMP/codec" || fail "codec unsupported op"
set +e
"$BIN" nonsense 2>/dev/null; [ $? -eq 127 ] || fail "unknown mode must exit 127"
"$BIN" connect --port 1 --config '{"noSuchName":1}' 2>/dev/null; [ $? -eq 127 ] || fail "an unknown config name must exit 127"
set -e
echo "cli_smoke: ok"
