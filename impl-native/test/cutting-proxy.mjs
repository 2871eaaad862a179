// A TCP proxy that resets both sides of each connection after a random number of bytes (either
// direction), for session resumption under real faults. The cut points follow from the seed
// (mulberry32), so a failing run can be replayed from the seed it prints.
import net from "node:net";

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Listens on 127.0.0.1 and forwards to `upstream`; each connection is reset after between `minBytes`
 * and `maxBytes` bytes carried. Resolves { port, cuts, stop() (no more cuts), close() }.
 */
export async function cuttingProxy(upstream, seed, minBytes, maxBytes) {
  const random = rng(seed);
  let cuts = 0;
  let stopped = false;
  const open = new Set();
  const server = net.createServer((down) => {
    const up = net.connect(upstream, "127.0.0.1");
    const limit = minBytes + Math.floor(random() * (maxBytes - minBytes));
    let carried = 0;
    let cut = false;
    open.add(down).add(up);
    const reset = () => {
      if (cut) return;
      cut = true;
      cuts++;
      down.resetAndDestroy();
      up.resetAndDestroy();
    };
    const pipe = (from, to) => {
      from.on("data", (chunk) => {
        if (cut) return;
        if (!stopped && carried + chunk.length >= limit) {
          to.write(chunk.subarray(0, limit - carried)); // what fits below the mark goes through; the rest is lost
          reset();
          return;
        }
        carried += chunk.length;
        if (!to.write(chunk)) from.pause();
      });
      to.on("drain", () => from.resume());
      from.on("error", () => undefined); // a reset is the point
      from.on("end", () => to.end());
      from.on("close", () => {
        open.delete(from);
        to.destroy();
      });
    };
    pipe(down, up);
    pipe(up, down);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    get cuts() {
      return cuts;
    },
    stop() {
      stopped = true;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Checks a numbered stream (a 32-bit big-endian number first in each message): in order, no duplicate, no gap. */
export class Sequence {
  next = 0;
  duplicates = 0;
  gaps = 0;
  take(payload) {
    const seq = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readUInt32BE(0);
    if (seq === this.next) this.next++;
    else if (seq < this.next) this.duplicates++;
    else {
      this.gaps++;
      this.next = seq + 1;
    }
  }
}
