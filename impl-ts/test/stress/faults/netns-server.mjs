// A QWormhole server run inside a network namespace for the fault tests (over IPC).
// It uses the built package (impl-ts/dist): `npm run build` first, as `npm test` does.
//   { op: "serve", kind, host, options } -> { type: "serving", port }
//   events: { type: "connection", remoteAddress }, { type: "clientClosed", code }
//   { op: "stats" } -> { type: "stats", received, inOrder, last }
import { createQWormholeServer } from "../../../dist/index.js";

const factory = {
  ts: { forceTs: true },
  "native-libsocket": { preferNative: true, requireNative: "libsocket", preferredNativeBackend: "libsocket" },
  "native-lws": { preferNative: true, requireNative: "lws", preferredNativeBackend: "lws" },
};
let received = 0;
let last = -1;
let inOrder = true;
process.on("message", async (m) => {
  if (m.op === "serve") {
    const { server, mode } = createQWormholeServer({ host: m.host, port: 0, ...m.options, ...factory[m.kind] });
    if (mode !== m.kind) return process.send({ type: "error", message: `asked for ${m.kind}, got ${mode}` });
    server.on("error", () => undefined);
    server.on("connection", (c) => process.send({ type: "connection", remoteAddress: c.remoteAddress }));
    server.on("clientClosed", ({ error }) => process.send({ type: "clientClosed", code: error?.code ?? null }));
    server.on("message", ({ client, data }) => {
      const seq = data.readUInt32BE(0);
      if (seq !== last + 1) inOrder = false;
      last = seq;
      received++;
      if (data.length === 4) client.send(data); // 4-byte messages are echoed
    });
    const { port } = await server.listen();
    process.send({ type: "serving", port });
  } else if (m.op === "stats") {
    process.send({ type: "stats", received, inOrder, last });
  }
});
process.on("disconnect", () => process.exit(0));
