// The matrix's fault injector: a TCP proxy between a client and a server that resets both sides
// of a connection after a random number of bytes (counted over both directions), for the first
// `cuts` connections (or until stop()), then forwards untouched. The limits come from a seeded
// PRNG, so a run's cut points are replayed from its seed. It works below TLS: a cut lands anywhere
// in a record. The repository's resume tests (impl-ts, impl-native) use it too.
import net from "node:net";
import { mulberry32 } from "./util.mjs";

export { mulberry32 };

/**
 * The 32-bit seed of one cell, derived from the run's seed and the cell's name, so that a cell
 * cuts at the same byte counts whatever order the cells run in.
 */
export function cellSeed(runSeed, key) {
  let h = (runSeed >>> 0) ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * Starts the proxy on 127.0.0.1 (a port of its own) in front of `host:port`. Connection k (in the
 * order they arrive) is reset once it has carried `limit_k` bytes, `limit_k` drawn uniformly from
 * [minBytes, maxBytes), until `cuts` connections have been reset (`Infinity`: until stop()).
 * `note(text)` logs each cut. Resolves {port, cuts, connections, stop() (no more cuts), close()}.
 */
export async function startCuttingProxy({ host = "127.0.0.1", port, seed, cuts, minBytes, maxBytes, note = () => undefined }) {
  const random = mulberry32(seed);
  const sockets = new Set();
  const state = { cuts: 0, connections: 0, closing: false, stopped: false };
  const cutting = () => !state.stopped && state.cuts < cuts;
  const server = net.createServer((down) => {
    // A connection accepted while the proxy closes: refused, so that close() does not wait for it.
    if (state.closing) return void down.destroy();
    const index = ++state.connections;
    // Drawn for every connection, so the limits of later ones do not depend on which ones were cut.
    const drawn = minBytes + Math.floor(random() * (maxBytes - minBytes));
    const limit = cutting() ? drawn : Infinity;
    note(`connection ${index}: limit ${limit}`);
    const up = net.connect(port, host);
    sockets.add(down).add(up);
    let carried = 0;
    let cut = false;
    const reset = () => {
      if (cut) return;
      cut = true;
      state.cuts++;
      note(`cut ${state.cuts}/${cuts}: connection ${index} reset after ${carried} bytes`);
      down.resetAndDestroy();
      up.resetAndDestroy();
    };
    const pipe = (from, to) => {
      from.on("data", (chunk) => {
        if (cut) return;
        if (carried + chunk.length >= limit && cutting()) {
          // What fits below the limit goes through; the rest of the chunk is lost in flight.
          const head = limit - carried;
          carried = limit;
          if (head > 0) to.write(chunk.subarray(0, head));
          reset();
          return;
        }
        carried += chunk.length;
        if (!to.write(chunk)) from.pause();
      });
      to.on("drain", () => from.resume());
      from.on("error", () => undefined); // a reset peer: the close below ends the pair
      from.on("end", () => {
        if (!cut) to.end();
      });
      from.on("close", () => {
        sockets.delete(from);
        if (!cut) to.destroy();
      });
    };
    pipe(down, up);
    pipe(up, down);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    get cuts() {
      return state.cuts;
    },
    get connections() {
      return state.connections;
    },
    stop() {
      state.stopped = true;
    },
    close: () =>
      new Promise((resolve) => {
        state.closing = true;
        for (const s of sockets) s.destroy();
        sockets.clear();
        server.close(() => resolve());
      }),
  };
}
