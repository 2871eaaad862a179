// What one idle connection keeps on the V8 heap, by constructor and closure: heap snapshots of
// this process before and after it holds N idle connections (the other side in a memory child),
// compared node by node. Closures are named with their script id, line and column; plain objects
// with their first property names; arrays and internal stores with what holds them.
//   node bench/src/memory/heap-diff.mjs [--kind ts|native-libsocket|native-lws] [--side server|client]
//                                       [--connections 2000] [--top 60]
// Runs itself again with --expose-gc when started without it.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeHeapSnapshot } from "node:v8";
import { Child } from "../lib/procs.mjs";

if (typeof globalThis.gc !== "function") {
  const again = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  again.on("exit", (code) => process.exit(code ?? 1));
} else {
  await main();
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main() {
  const kind = arg("kind", "ts");
  const side = arg("side", "server");
  const n = Number(arg("connections", "2000"));
  const top = Number(arg("top", "60"));
  const dir = mkdtempSync(join(tmpdir(), "qwh-heap-diff-"));
  const other = new Child({
    proc: spawn(process.execPath, ["--expose-gc", fileURLToPath(new URL("./child.mjs", import.meta.url))], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    }),
  });
  const gc = () => (globalThis.gc(), globalThis.gc());
  const { makeClient, makeServer } = await import("../rows/pairs.mjs");
  try {
    let count;
    let open;
    if (side === "server") {
      const server = makeServer(kind, { maxPendingHandshakes: 100_000, maxPendingHandshakesPerAddress: 100_000, backlog: 4096 });
      server.on("error", () => {});
      const { port } = await server.listen();
      count = () => server.getConnectionCount();
      open = () => other.call({ op: "open", kind, port, connections: n }, "opened", 60_000 + n * 20);
    } else {
      const { port } = await other.call({ op: "serve", kind }, "listening", 30_000);
      const held = [];
      const one = async () => {
        const c = makeClient(kind, { port, connectTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 });
        c.on("error", () => {});
        await c.connect();
        return c;
      };
      // One connection first: modules, shapes and code are then in the baseline.
      held.push(await one());
      count = () => held.length - 1;
      open = async () => {
        for (let i = 0; i < n; i += 200) held.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, one))));
      };
    }
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    // Both snapshots are written before either is read: what reading one keeps is not in the other.
    const beforeFile = writeHeapSnapshot(join(dir, "before.heapsnapshot"));
    await open();
    while (count() < n) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const heap1 = process.memoryUsage().heapUsed;
    const afterFile = writeHeapSnapshot(join(dir, "after.heapsnapshot"));
    const before = summarize(beforeFile);
    const after = summarize(afterFile);
    const rows = [];
    for (const [key, a] of after) {
      const b = before.get(key) ?? { count: 0, size: 0 };
      const size = (a.size - b.size) / n;
      if (Math.abs(size) >= 8) rows.push({ key, size, count: (a.count - b.count) / n });
    }
    rows.sort((x, y) => y.size - x.size);
    const shown = rows.reduce((s, r) => s + r.size, 0);
    console.log(`${kind} ${side}, ${n} idle connections: heapUsed ${((heap1 - heap0) / n).toFixed(0)} B per connection`);
    console.log(`snapshot difference: ${shown.toFixed(0)} B per connection in rows of at least 8 B (strings and code left out)`);
    for (const r of rows.slice(0, top)) console.log(`${r.size.toFixed(0).padStart(6)} B ${r.count.toFixed(2).padStart(6)}x  ${r.key}`);
  } finally {
    other.send({ op: "exit" });
    other.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

/** Self size and count by description of every node of a heap snapshot (strings, numbers and code left out). */
function summarize(file) {
  const s = JSON.parse(readFileSync(file, "utf8"));
  rmSync(file);
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = s;
  const [iType, iName, iSize, iEdges] = ["type", "name", "self_size", "edge_count"].map((f) => meta.node_fields.indexOf(f));
  const count = nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + iEdges] * ef;
  }
  firstEdge[count] = edges.length;
  const type = (i) => types[nodes[i * nf + iType]];
  const name = (i) => strings[nodes[i * nf + iName]];
  // One holder per node (a strong edge, preferring one that is not internal to V8).
  const holder = new Int32Array(count).fill(-1);
  const holderEdge = new Array(count);
  for (let i = 0; i < count; i++) {
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
      const et = edgeTypes[edges[e]];
      if (et === "weak" || et === "shortcut") continue;
      const to = edges[e + 2] / nf;
      const h = holder[to];
      if (h === -1 || type(h) === "hidden" || type(h) === "code") {
        holder[to] = i;
        holderEdge[to] = et === "element" || et === "hidden" ? `${et}` : `${et} ${strings[edges[e + 1]]}`;
      }
    }
  }
  const location = new Map();
  const loc = s.locations ?? [];
  for (let i = 0; i < loc.length; i += 4) location.set(loc[i] / nf, `script ${loc[i + 1]}:${loc[i + 2] + 1}:${loc[i + 3] + 1}`);
  const props = (i) => {
    const p = [];
    for (let e = firstEdge[i]; e < firstEdge[i + 1] && p.length < 6; e += ef)
      if (edgeTypes[edges[e]] === "property") p.push(strings[edges[e + 1]]);
    return p.join(",");
  };
  const short = (i) =>
    i < 0 ? "?" : type(i) === "object" && name(i) === "Object" ? `Object{${props(i)}}` : `${type(i)} ${name(i) || "(anonymous)"}`;
  const describe = (i) => {
    const t = type(i);
    const n = name(i);
    if (t === "closure") return `closure ${n || "(anonymous)"} at ${location.get(i) ?? "?"}`;
    if (t === "object" && n === "Object") return `Object{${props(i)}} <- ${holderEdge[i]} of ${short(holder[i])}`;
    if (t === "object" && n === "system / Context") return `Context <- ${holderEdge[i]} of ${short(holder[i])}`;
    if (t === "array" || t === "hidden" || (t === "object" && n === "Array")) return `${t} ${n} <- ${holderEdge[i]} of ${short(holder[i])}`;
    return `${t} ${n}`;
  };
  const out = new Map();
  for (let i = 0; i < count; i++) {
    const t = type(i);
    if (t === "string" || t === "concatenated string" || t === "sliced string" || t === "number" || t === "code") continue;
    const key = describe(i);
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i * nf + iSize];
    out.set(key, e);
  }
  return out;
}
