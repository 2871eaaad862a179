// A round trip in each transport mode, through the factories of the installed qwormhole, with the
// native backends from the installed @qwormhole/native: the reported mode must be the one demanded.
import { createQWormholeClient, createQWormholeServer, jsonDeserializer } from "qwormhole";
import { FrameDecoder } from "qwormhole/protocol";

const modes = { ts: { forceTs: true }, "native-libsocket": { requireNative: "libsocket" }, "native-lws": { requireNative: "lws" } };
for (const [mode, factory] of Object.entries(modes)) {
  const { server, mode: serverMode } = createQWormholeServer({ host: "127.0.0.1", port: 0, deserializer: jsonDeserializer, ...factory });
  server.on("message", ({ client, data }) => client.send({ echo: data, mode }));
  const { port } = await server.listen();
  const { client, mode: clientMode } = createQWormholeClient({
    host: "127.0.0.1",
    port,
    deserializer: jsonDeserializer,
    reconnect: false,
    ...factory,
  });
  await client.connect();
  const reply = new Promise((resolve) => client.once("message", resolve));
  client.send({ hello: "from a packed tarball" });
  const got = await reply;
  await client.close();
  await server.close();
  const want = { echo: { hello: "from a packed tarball" }, mode };
  if (serverMode !== mode || clientMode !== mode || JSON.stringify(got) !== JSON.stringify(want)) {
    console.error(`pack smoke: ${mode}: server ${serverMode}, client ${clientMode}, got ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`pack smoke: round trip in ${mode} mode OK`);
}
if (typeof FrameDecoder !== "function") throw new Error("qwormhole/protocol has no FrameDecoder");
