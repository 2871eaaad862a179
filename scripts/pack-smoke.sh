#!/usr/bin/env bash
# Packs the published packages, installs the tarballs into a throw-away
# project and runs a client/server round trip with plain `node` (no
# TypeScript loader, no workspace links): what a user gets from npm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
npm run build --workspace qwormhole >/dev/null
tarball=$(npm pack --workspace qwormhole --pack-destination "$work" --silent | tail -n 1)
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --omit=optional "./$tarball" >/dev/null
cat > smoke.mjs <<'JS'
import { QWormholeClient, QWormholeServer, jsonDeserializer, createCborSerializer } from "qwormhole";
// Installed without optional dependencies: CBOR must say why it is unavailable.
try {
  createCborSerializer();
  console.error("pack smoke: CBOR without cbor-x should fail");
  process.exit(1);
} catch (err) {
  if (err.code !== "E_CODEC_UNAVAILABLE") throw err;
}
import { FrameDecoder } from "qwormhole/protocol";
const server = new QWormholeServer({ host: "127.0.0.1", port: 0, deserializer: jsonDeserializer });
server.on("message", ({ client, data }) => client.send({ echo: data }));
const { port } = await server.listen();
const client = new QWormholeClient({ host: "127.0.0.1", port, deserializer: jsonDeserializer, reconnect: false });
await client.connect();
const reply = new Promise((resolve) => client.once("message", resolve));
client.send({ hello: "from a packed tarball" });
const got = await reply;
await client.close();
await server.close();
if (JSON.stringify(got) !== JSON.stringify({ echo: { hello: "from a packed tarball" } }) || typeof FrameDecoder !== "function") {
  console.error("pack smoke: unexpected", got);
  process.exit(1);
}
console.log("pack smoke: qwormhole tarball round trip OK");
JS
node smoke.mjs
