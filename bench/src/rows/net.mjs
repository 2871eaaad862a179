// Peers on plain node:net (or node:tls with `tls`): length-prefixed framing written two
// ways, and the unframed stream.
//   net-naive    one write per message (a fresh header+payload buffer each), Buffer.concat per
//                received chunk, an EventEmitter 'message' event per message: what a first
//                attempt looks like.
//   net-batched  hand-optimised: frames copied into batches under 65,000 bytes (the loopback
//                quirk at exactly 64 KiB), one write per batch, an inline parser that assembles
//                a straddling frame in one buffer of its exact length, no events.
//   net-raw      no framing at all: 1 MiB writes, counted bytes; the loopback ceiling.
import net from "node:net";
import tls from "node:tls";
import { EventEmitter } from "node:events";
import { goodMessage, MARK, once, payloadOf, pinger } from "./common.mjs";

const HOST = "127.0.0.1";
const BATCH_LIMIT = 60_000;

function createServer(tlsOpts, onSocket) {
  const server = tlsOpts ? tls.createServer({ key: tlsOpts.key, cert: tlsOpts.cert }, onSocket) : net.createServer(onSocket);
  return server;
}

async function listen(server) {
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, resolve);
  });
  return server.address().port;
}

async function connect(port, tlsOpts) {
  const socket = tlsOpts ? tls.connect({ host: HOST, port, ca: tlsOpts.cert }) : net.connect(port, HOST);
  await new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.once(tlsOpts ? "secureConnect" : "connect", resolve);
  });
  socket.setNoDelay(true);
  return socket;
}

function closer(server) {
  const sockets = new Set();
  server.on(server instanceof tls.Server ? "secureConnection" : "connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** Naive framing: Buffer.concat per chunk, a 'message' event per message. */
function naiveParser(socket) {
  const events = new EventEmitter();
  let buf = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const msg = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      events.emit("message", msg);
    }
    buf = buf.subarray(off);
  });
  return events;
}

function naiveFrame(payload) {
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

export const netNaive = {
  awaitsStart: true,
  async receive({ count, size, onListening, onDone, tls: t }) {
    let n = 0;
    let bytes = 0;
    let bad = 0;
    const server = createServer(t, (socket) => {
      naiveParser(socket).on("message", (msg) => {
        bytes += msg.length;
        if (!goodMessage(msg, size)) bad++;
        if (++n === count) onDone({ messages: n, bytes, bad });
      });
    });
    const stop = closer(server);
    onListening(await listen(server));
    return stop;
  },
  async send({ port, count, size, onStart, tls: t }) {
    const socket = await connect(port, t);
    const payload = payloadOf(size);
    await onStart();
    for (let i = 0; i < count; i++) {
      if (!socket.write(naiveFrame(payload))) await once(socket, "drain");
    }
    return () => socket.end();
  },
  async echo({ onListening, tls: t }) {
    const server = createServer(t, (socket) => {
      naiveParser(socket).on("message", (msg) => socket.write(naiveFrame(msg)));
    });
    const stop = closer(server);
    onListening(await listen(server));
    return stop;
  },
  async ping({ port, size, samples, warmup, tls: t }) {
    const socket = await connect(port, t);
    const payload = payloadOf(size);
    const p = pinger({ samples, warmup, send: () => socket.write(naiveFrame(payload)) });
    naiveParser(socket).on("message", () => p.reply());
    const rtts = await p.start();
    socket.destroy();
    return rtts;
  },
};

/**
 * Hand-optimised receive side: headers read inline, frames inside a chunk are
 * handled in place, a frame that straddles chunks is assembled once into a
 * buffer of its exact length. `onMessage(buf, start, end)` avoids a view per message.
 */
function batchedReader(onMessage) {
  let header = 0;
  let headerBytes = 0;
  let partial = null;
  let filled = 0;
  return (chunk) => {
    const len = chunk.length;
    let off = 0;
    if (partial !== null) {
      const take = Math.min(partial.length - filled, len);
      chunk.copy(partial, filled, 0, take);
      filled += take;
      off = take;
      if (filled < partial.length) return;
      const p = partial;
      partial = null;
      onMessage(p, 0, p.length);
    }
    while (off < len) {
      let size;
      if (headerBytes === 0 && len - off >= 4) {
        size = ((chunk[off] << 24) >>> 0) + (chunk[off + 1] << 16) + (chunk[off + 2] << 8) + chunk[off + 3];
        off += 4;
      } else {
        while (headerBytes < 4 && off < len) {
          header = header * 256 + chunk[off++];
          headerBytes++;
        }
        if (headerBytes < 4) return;
        size = header;
        header = 0;
        headerBytes = 0;
      }
      if (off + size <= len) {
        onMessage(chunk, off, off + size);
        off += size;
      } else {
        partial = Buffer.allocUnsafe(size);
        filled = len - off;
        chunk.copy(partial, 0, off, len);
        return;
      }
    }
  };
}

function batchedFrame(payload) {
  const frame = Buffer.allocUnsafe(payload.length + 4);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

export const netBatched = {
  awaitsStart: true,
  async receive({ count, size, onListening, onDone, tls: t }) {
    let n = 0;
    let bytes = 0;
    let bad = 0;
    const check = (buf, start, end) => {
      const len = end - start;
      bytes += len;
      if (len !== size || (len > 0 && (buf[start] !== MARK || buf[end - 1] !== MARK))) bad++;
      if (++n === count) onDone({ messages: n, bytes, bad });
    };
    const server = createServer(t, (socket) => {
      // The parser of batchedReader with the per-message work inlined (this is the hot path).
      let header = 0;
      let headerBytes = 0;
      let partial = null;
      let filled = 0;
      socket.on("data", (chunk) => {
        const len = chunk.length;
        let off = 0;
        if (partial !== null) {
          const take = Math.min(partial.length - filled, len);
          chunk.copy(partial, filled, 0, take);
          filled += take;
          off = take;
          if (filled < partial.length) return;
          const p = partial;
          partial = null;
          check(p, 0, p.length);
        }
        let m = 0;
        let b = 0;
        let wrong = 0;
        while (off < len) {
          let fl;
          if (headerBytes === 0 && len - off >= 4) {
            fl = ((chunk[off] << 24) >>> 0) + (chunk[off + 1] << 16) + (chunk[off + 2] << 8) + chunk[off + 3];
            off += 4;
          } else {
            while (headerBytes < 4 && off < len) {
              header = header * 256 + chunk[off++];
              headerBytes++;
            }
            if (headerBytes < 4) break;
            fl = header;
            header = 0;
            headerBytes = 0;
          }
          const end = off + fl;
          if (end <= len) {
            if (fl !== size || (fl > 0 && (chunk[off] !== MARK || chunk[end - 1] !== MARK))) wrong++;
            m++;
            b += fl;
            off = end;
          } else {
            partial = Buffer.allocUnsafe(fl);
            filled = len - off;
            chunk.copy(partial, 0, off, len);
            break;
          }
        }
        bytes += b;
        bad += wrong;
        n += m;
        if (m > 0 && n >= count && n - m < count) onDone({ messages: n, bytes, bad });
      });
    });
    const stop = closer(server);
    onListening(await listen(server));
    return stop;
  },
  async send({ port, count, size, onStart, tls: t }) {
    const socket = await connect(port, t);
    const frame = batchedFrame(payloadOf(size));
    const perBatch = Math.max(1, Math.floor(BATCH_LIMIT / frame.length));
    await onStart();
    let sent = 0;
    while (sent < count) {
      const k = Math.min(perBatch, count - sent);
      let batch = frame;
      if (k > 1) {
        batch = Buffer.allocUnsafe(k * frame.length);
        for (let i = 0; i < k; i++) frame.copy(batch, i * frame.length);
      }
      sent += k;
      if (!socket.write(batch)) await once(socket, "drain");
    }
    return () => socket.end();
  },
  async echo({ onListening, tls: t }) {
    const server = createServer(t, (socket) => {
      socket.on(
        "data",
        batchedReader((buf, start, end) => socket.write(batchedFrame(buf.subarray(start, end)))),
      );
    });
    const stop = closer(server);
    onListening(await listen(server));
    return stop;
  },
  async ping({ port, size, samples, warmup, tls: t }) {
    const socket = await connect(port, t);
    const frame = batchedFrame(payloadOf(size));
    const p = pinger({ samples, warmup, send: () => socket.write(frame) });
    socket.on(
      "data",
      batchedReader(() => p.reply()),
    );
    const rtts = await p.start();
    socket.destroy();
    return rtts;
  },
};

export const netRaw = {
  awaitsStart: true,
  async receive({ count, size, onListening, onDone, tls: t }) {
    const total = count * size;
    let bytes = 0;
    let bad = 0;
    const server = createServer(t, (socket) => {
      socket.on("data", (chunk) => {
        if (chunk[0] !== MARK) bad++;
        bytes += chunk.length;
        if (bytes === total) onDone({ messages: count, bytes, bad });
      });
    });
    const stop = closer(server);
    onListening(await listen(server));
    return stop;
  },
  async send({ port, count, size, onStart, tls: t }) {
    const socket = await connect(port, t);
    const total = count * size;
    const chunk = payloadOf(Math.min(total, 1 << 20));
    await onStart();
    for (let left = total; left > 0; left -= chunk.length) {
      const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
      if (!socket.write(c)) await once(socket, "drain");
    }
    return () => socket.end();
  },
  /** Echoes bytes as they come: the raw `net` ping-pong the round-trip goals compare with. */
  async echo({ onListening, tls: t }) {
    const server = createServer(t, (socket) => socket.on("data", (chunk) => socket.write(chunk)));
    const stop = closer(server);
    onListening(await listen(server));
    return stop;
  },
  async ping({ port, size, samples, warmup, tls: t }) {
    const socket = await connect(port, t);
    const payload = payloadOf(size);
    let got = 0;
    const p = pinger({ samples, warmup, send: () => socket.write(payload) });
    socket.on("data", (chunk) => {
      got += chunk.length;
      if (got >= size) {
        got -= size;
        p.reply();
      }
    });
    const rtts = await p.start();
    socket.destroy();
    return rtts;
  },
};
