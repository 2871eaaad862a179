// The implementations a throughput run can use, as sender/receiver pairs
// running in separate processes. Each receiver counts messages and bytes and
// reports when it has all of them; each sender sends `count` messages of
// `size` bytes as fast as the transport takes them (respecting backpressure).
import net from "node:net";
import { QWormholeClient, QWormholeServer, createQWormholeClient, createQWormholeServer } from "qwormhole";

/** qwormhole TS client -> TS server, one `message` event per message (the headline row). */
export const ts = {
  async receive({ count, onListening, onDone }) {
    const server = new QWormholeServer({ host: "127.0.0.1", port: 0 });
    let n = 0;
    let bytes = 0;
    server.on("message", ({ data }) => {
      bytes += data.length;
      if (++n === count) onDone({ messages: n, bytes });
    });
    const { port } = await server.listen();
    onListening(port);
    return () => server.close();
  },
  async send({ port, count, size, onStart }) {
    const client = new QWormholeClient({ host: "127.0.0.1", port, reconnect: false });
    await client.connect();
    const payload = Buffer.alloc(size, 7);
    onStart();
    for (let i = 0; i < count; i++) {
      if (!client.send(payload)) await new Promise((r) => client.once("drain", r));
    }
    return () => client.close();
  },
};

/** Hand-optimised length-prefixed framing on plain net: batched writes, an inline parser, no events per message. */
export const netBatched = {
  async receive({ count, onListening, onDone }) {
    let n = 0;
    let bytes = 0;
    const server = net.createServer((socket) => {
      let pending = null; // bytes of an incomplete frame
      socket.on("data", (chunk) => {
        const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
        let off = 0;
        while (buf.length - off >= 4) {
          const len = buf.readUInt32BE(off);
          if (buf.length - off - 4 < len) break;
          off += 4 + len;
          bytes += len;
          n++;
        }
        pending = off < buf.length ? buf.subarray(off) : null;
        if (n === count) onDone({ messages: n, bytes });
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    onListening(server.address().port);
    return () => server.close();
  },
  async send({ port, count, size, onStart }) {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((r) => socket.once("connect", r));
    const perBatch = Math.max(1, Math.floor(60_000 / (size + 4)));
    const frame = Buffer.alloc(size + 4, 7);
    frame.writeUInt32BE(size, 0);
    onStart();
    let sent = 0;
    while (sent < count) {
      const k = Math.min(perBatch, count - sent);
      const batch = k === 1 ? frame : Buffer.allocUnsafe(k * frame.length);
      if (k > 1) for (let i = 0; i < k; i++) frame.copy(batch, i * frame.length);
      sent += k;
      if (!socket.write(batch)) await new Promise((r) => socket.once("drain", r));
    }
    return () => socket.end();
  },
};

/** Unframed stream: the loopback ceiling for large messages. */
export const netRaw = {
  async receive({ count, size, onListening, onDone }) {
    const total = count * size;
    let bytes = 0;
    const server = net.createServer((socket) => {
      socket.on("data", (chunk) => {
        bytes += chunk.length;
        if (bytes === total) onDone({ messages: count, bytes });
      });
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    onListening(server.address().port);
    return () => server.close();
  },
  async send({ port, count, size, onStart }) {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const total = count * size;
    const chunk = Buffer.alloc(Math.min(total, 1 << 20), 7);
    onStart();
    for (let left = total; left > 0; left -= chunk.length) {
      const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
      if (!socket.write(c)) await new Promise((r) => socket.once("drain", r));
    }
    return () => socket.end();
  },
};

/** The same client/server API as `ts`, made by the factory on a native backend (both ends). */
function nativePeer(backend) {
  const want = `native-${backend}`;
  const check = (made) => {
    if (made.mode !== want) throw new Error(`${want} unavailable: ${made.reason}`);
  };
  return {
    async receive({ count, onListening, onDone }) {
      const made = createQWormholeServer({ host: "127.0.0.1", port: 0, preferNative: true, preferredNativeBackend: backend });
      check(made);
      const server = made.server;
      let n = 0;
      let bytes = 0;
      server.on("message", ({ data }) => {
        bytes += data.length;
        if (++n === count) onDone({ messages: n, bytes });
      });
      const { port } = await server.listen();
      onListening(port);
      return () => server.close();
    },
    async send({ port, count, size, onStart }) {
      const made = createQWormholeClient({
        host: "127.0.0.1",
        port,
        reconnect: false,
        preferNative: true,
        preferredNativeBackend: backend,
      });
      check(made);
      const client = made.client;
      await client.connect();
      const payload = Buffer.alloc(size, 7);
      onStart();
      for (let i = 0; i < count; i++) {
        if (!client.send(payload)) await new Promise((r) => client.once("drain", r));
      }
      return () => client.close();
    },
  };
}

export const peers = {
  ts,
  "native-libsocket": nativePeer("libsocket"),
  "native-lws": nativePeer("lws"),
  "net-batched": netBatched,
  "net-raw": netRaw,
};
