// The ws package (binary messages, bufferutil for masking, no compression) over
// http or https. The client sends (its frames are masked, as the protocol requires).
import http from "node:http";
import https from "node:https";
import { createRequire } from "node:module";
import { WebSocket, WebSocketServer } from "ws";
import { goodMessage, once, payloadOf, pinger } from "./common.mjs";

const HIGH_WATER = 1 << 20;

/** Whether ws found bufferutil (ws loads it itself when it can be resolved from ws). */
export function bufferutilLoaded() {
  try {
    const requireWs = createRequire(createRequire(import.meta.url).resolve("ws"));
    requireWs("bufferutil");
    return true;
  } catch {
    return false;
  }
}

async function startServer(t, onSocket) {
  const httpServer = t ? https.createServer({ key: t.key, cert: t.cert }) : http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false, maxPayload: 64 << 20 });
  wss.on("connection", onSocket);
  await new Promise((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(0, "127.0.0.1", resolve);
  });
  const stop = () =>
    new Promise((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => httpServer.close(() => resolve()));
    });
  return { port: httpServer.address().port, stop };
}

async function connect(port, t) {
  const ws = new WebSocket(`${t ? "wss" : "ws"}://127.0.0.1:${port}`, { perMessageDeflate: false, ca: t?.cert, maxPayload: 64 << 20 });
  await new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", resolve);
  });
  ws._socket.setNoDelay(true);
  return ws;
}

export const ws = {
  awaitsStart: true,
  async receive({ count, size, onListening, onDone, tls: t }) {
    let n = 0;
    let bytes = 0;
    let bad = 0;
    const { port, stop } = await startServer(t, (socket) => {
      socket.on("message", (data) => {
        bytes += data.length;
        if (!goodMessage(data, size)) bad++;
        if (++n === count) onDone({ messages: n, bytes, bad });
      });
    });
    onListening(port);
    return stop;
  },
  async send({ port, count, size, onStart, tls: t }) {
    const socket = await connect(port, t);
    const payload = payloadOf(size);
    await onStart();
    for (let i = 0; i < count; i++) {
      socket.send(payload);
      // ws has no send() return value or drain event; its bufferedAmount includes the socket's buffer.
      if (socket.bufferedAmount > HIGH_WATER) await once(socket._socket, "drain");
    }
    return () => socket.close();
  },
  async echo({ onListening, tls: t }) {
    const { port, stop } = await startServer(t, (socket) => socket.on("message", (data) => socket.send(data)));
    onListening(port);
    return stop;
  },
  async ping({ port, size, samples, warmup, tls: t }) {
    const socket = await connect(port, t);
    const payload = payloadOf(size);
    const p = pinger({ samples, warmup, send: () => socket.send(payload) });
    socket.on("message", () => p.reply());
    const rtts = await p.start();
    socket.terminate();
    return rtts;
  },
};
