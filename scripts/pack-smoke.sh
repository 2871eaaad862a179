#!/usr/bin/env bash
# What a user gets from npm. Packs every publishable workspace (every package.json without
# "private"), installs the tarballs into empty projects with npm's default settings (no
# --ignore-scripts, optional dependencies on) and uses them there with plain node:
#   - the install prints no warning and builds nothing (the native prebuilds load as shipped);
#   - every tarball holds its LICENSE and README; qwormhole ships no source maps;
#   - import and require of qwormhole, the README's first program as written, a round trip in
#     ts, native-libsocket and native-lws mode (the reported modes checked);
#   - the qwormhole CLI: `qwormhole serve --echo` and `echo hi | qwormhole connect`;
#   - `npx qwh-conformance run` against the example Python adapter of the conformance guide, the
#     same adapter in a matrix beside ts (`--agent-cmd`), and the built-in agents ts,
#     native-libsocket and native-lws from the installed packages;
#   - qwormhole installed alone: the TS transport, and the reasons native and CBOR are missing.
# Prints each tarball's size and runtime dependencies.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/pack-smoke"
work=$(mktemp -d)
started=()
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
fail() {
  echo "pack smoke: $*" >&2
  exit 1
}

cd "$root"
npm run build >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "npm run build failed"; }
mapfile -t workspaces < <(node -e '
  const root = require("./package.json");
  for (const dir of root.workspaces) {
    const p = require(`./${dir}/package.json`);
    if (!p.private) console.log(p.name);
  }')
mkdir "$work/tarballs"
npm pack $(printf -- '--workspace %s ' "${workspaces[@]}") --pack-destination "$work/tarballs" --json >"$work/pack.json" 2>"$work/pack.log" ||
  { cat "$work/pack.log" >&2; fail "npm pack failed"; }
node "$here/tarballs.mjs" "$work/pack.json"

# A project with every tarball, as a user who wants all of it installs them.
install() { # DIR TARBALL...
  local dir=$1
  shift
  mkdir "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install "$@" >"$dir/install.out" 2>"$dir/install.err") ||
    { cat "$dir/install.err" >&2; fail "npm install failed in $dir"; }
  if grep -E "npm (warn|error)" "$dir/install.err" >&2; then fail "npm install in $dir printed the warnings above"; fi
}
install "$work/app" "$work"/tarballs/*.tgz
cd "$work/app"
[ ! -d node_modules/@qwormhole/native/build ] || fail "installing @qwormhole/native ran a build"
cp "$here"/*.mjs "$here"/*.cjs .
timeout 60 node require.cjs
timeout 60 node roundtrip.mjs
# The first program of the README shipped in the package, as a user copies it.
node -e '
  const t = require("fs").readFileSync("node_modules/qwormhole/README.md", "utf8");
  process.stdout.write(/```js\n([\s\S]*?)```/.exec(t.slice(t.indexOf("\n## First program\n")))[1]);' >first.mjs
[ "$(timeout 30 node first.mjs)" = "{ sum: 5 }" ] || fail "the README's first program did not print { sum: 5 }"
echo "pack smoke: the README's first program runs as written"

# The CLI: its help lists the commands; an echo server and a client whose stdin lines come back.
help=$(timeout 30 npx --no-install qwormhole --help)
for c in "serve --port P" "connect HOST:PORT" "bench HOST:PORT"; do
  [[ $help == *"$c"* ]] || fail "npx qwormhole --help does not list '$c'"
done
timeout 60 npx --no-install qwormhole serve --port 0 --echo --json >serve.out 2>serve.err &
started+=($!)
for _ in $(seq 1 200); do grep -q '"listening"' serve.out 2>/dev/null && break; sleep 0.1; done
port=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("serve.out", "utf8").split("\n")[0]).port)') ||
  { cat serve.err >&2; fail "qwormhole serve did not report its port"; }
got=$(printf 'hi\nthere\n' | timeout 30 npx --no-install qwormhole connect "127.0.0.1:$port")
[ "$got" = $'hi\nthere' ] || fail "qwormhole connect printed '$got', expected the two lines back"
kill "${started[-1]}"
echo "pack smoke: CLI echo round trip OK"

# A third party's adapter, graded by the installed runner: the conformance guide's example, the
# whole suite (what it does not do is UNSUPPORTED), then in the interop matrix beside ts.
adapter="python3 node_modules/@qwormhole/conformance/adapters/example/minimal_adapter.py"
t0=$SECONDS
timeout 600 npx --no-install qwh-conformance run --cmd "$adapter" --name py --out reports/py --quiet ||
  fail "qwh-conformance run against the example adapter exited $?"
node -e '
  const s = require("./reports/py/index.json").summary.py;
  if (!(s.PASS > 0 && s.FAIL === 0 && s.ERROR === 0)) { console.error("pack smoke: example adapter graded", s); process.exit(1); }
  console.log(`pack smoke: qwh-conformance graded the example adapter: ${s.PASS} PASS, ${s.UNSUPPORTED} UNSUPPORTED`);'
timeout 300 npx --no-install qwh-conformance matrix --agent-cmd "py=$adapter" --agents ts,py --scenarios handshake-no-control,server-without-control \
  --transports plain --out reports/matrix-py --quiet >matrix-py.out || { cat matrix-py.out; fail "qwh-conformance matrix with --agent-cmd py exited $?"; }
node -e '
  const m = require("./reports/matrix-py/matrix.json");
  const r = m.results;
  // The adapter serves only an explicit empty feature set, and connects offering one: one PASS each way.
  const want = { "py ts handshake-no-control": "PASS", "ts py server-without-control": "PASS", "ts ts handshake-no-control": "PASS", "ts ts server-without-control": "PASS" };
  for (const [k, g] of Object.entries(want)) {
    const [c, s, sc] = k.split(" ");
    if (r[c]?.[s]?.plain?.[sc]?.grade !== g) { console.error(`pack smoke: matrix ${c} -> ${s} ${sc}:`, r[c]?.[s]?.plain?.[sc]); process.exit(1); }
  }
  if (m.summary.FAIL || m.summary.ERROR) { console.error("pack smoke: matrix", m.summary); process.exit(1); }
  console.log(`pack smoke: the example adapter in the matrix as client and server: ${m.summary.PASS} PASS, ${m.summary.UNSUPPORTED} UNSUPPORTED`);'
# The built-in agents from the installed packages (qwormhole and @qwormhole/native, not a clone):
# every vector, and the close area's wire cases (serve and connect, in both roles).
timeout 600 npx --no-install qwh-conformance run --agent ts,native-libsocket,native-lws --cases 'vector,close' --out reports/builtin --quiet ||
  fail "qwh-conformance run --agent ts,native-libsocket,native-lws exited $?"
node -e '
  const idx = require("./reports/builtin/index.json");
  for (const a of ["ts", "native-libsocket", "native-lws"]) {
    const s = idx.summary[a];
    if (!s || s.PASS === 0 || s.FAIL || s.ERROR || s.UNSUPPORTED) { console.error(`pack smoke: built-in agent ${a}:`, s ?? idx.unavailable?.[a]); process.exit(1); }
  }
  console.log(`pack smoke: the installed ts, native-libsocket and native-lws agents: ${idx.summary.ts.PASS} PASS each`);'
echo "pack smoke: qwh-conformance from the installed packages took $((SECONDS - t0)) s"

# qwormhole alone: no native package, no cbor-x.
install "$work/alone" "$work"/tarballs/qwormhole-[0-9]*.tgz
cd "$work/alone"
cp "$here/alone.mjs" .
timeout 60 node alone.mjs
echo "pack smoke: all OK"
