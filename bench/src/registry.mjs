// The table of rows a run can measure: the entries of ./peers.mjs (kept as they are;
// other helpers add native entries there) merged with the rows defined under ./rows/
// (implementation pairs through the factory, net-naive, net-batched, net-raw with TLS
// and round trips, ws, zeromq). Rows load lazily so a child process only imports what it measures.
import { pairNames, splitPairName } from "./rows/pairs.mjs";

const local = {
  "net-naive": async () => (await import("./rows/net.mjs")).netNaive,
  "net-batched": async () => (await import("./rows/net.mjs")).netBatched,
  "net-raw": async () => (await import("./rows/net.mjs")).netRaw,
  ws: async () => (await import("./rows/ws.mjs")).ws,
  zeromq: async () => (await import("./rows/zeromq.mjs")).zeromq,
  "ts-ts-batch": async () => (await import("./rows/pairs.mjs")).batchPairs["ts-ts-batch"],
  "ts-ts-resume": async () => (await import("./rows/pairs.mjs")).resumePairs["ts-ts-resume"],
};

/** Rows of the batch API: measured beside ts-ts in the one-way throughput tables only. */
export const BATCH_ROWS = ["ts-ts-batch"];

/** The peers (non-qwormhole rows) in the order of the tables. */
export const PEER_NAMES = ["net-naive", "net-batched", "net-raw", "ws", "zeromq"];

export async function loadRow(name) {
  if (splitPairName(name)) return (await import("./rows/pairs.mjs")).pairs[name];
  if (Object.hasOwn(local, name)) return local[name]();
  const { peers } = await import("./peers.mjs");
  if (Object.hasOwn(peers, name)) return peers[name];
  throw new Error(`unknown row ${name}; known: ${(await rowNames()).join(", ")}`);
}

/** Every name a run can ask for. */
export async function rowNames() {
  const { peers } = await import("./peers.mjs");
  return [...new Set([...pairNames(), ...Object.keys(local), ...Object.keys(peers)])];
}

export { pairNames, splitPairName };
