/**
 * Memory bounded by what arrived: peers that announce large frames and stall
 * pin small buffers (spec 4.5). Ported to the native transports (see
 * test/native/suite.ts).
 */
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { frame, rawPeer, startServer, until, type RawPeer } from "./helpers.js";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** External memory (ArrayBuffers and native allocations V8 is told of) after full collections. */
async function external(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().external;
}

const MiB = 1024 * 1024;

describe("stalled large frames (spec 4.5)", () => {
  it("200 connections that announce 4 MiB and send one byte raise external memory by less than 50 MB", async () => {
    const { server, port } = await startServer({ maxFrameLength: 4 * MiB });
    cleanup.push(() => server.close());
    const echoed: Buffer[] = [];
    server.on("message", ({ data }) => echoed.push(data));
    const before = await external();
    const peers: RawPeer[] = [];
    cleanup.push(() => peers.forEach((p) => p.socket.destroy()));
    for (let i = 0; i < 200; i += 40) peers.push(...(await Promise.all(Array.from({ length: 40 }, () => rawPeer(port)))));
    expect(peers.every((p) => p.answer?.outcome === "accept")).toBe(true);
    await until(() => server.getConnectionCount() === 200, 20_000, "200 open connections");
    const base = server.telemetry().bytesIn;
    const header = Buffer.alloc(5);
    header.writeUInt32BE(4 * MiB);
    for (const p of peers) p.send(header);
    await until(() => server.telemetry().bytesIn === base + 200 * 5, 20_000, "every announced frame's first byte at the server");
    const grown = (await external()) - before;
    expect(grown).toBeLessThan(50 * 1000 * 1000);
    // The connections still work: one of them completes its frame and it arrives whole.
    const rest = Buffer.alloc(4 * MiB - 1, 7);
    peers[0]!.send(rest);
    peers[0]!.send(frame("after"));
    await until(() => echoed.length === 2, 20_000, "the completed frame and the next one");
    expect(echoed[0]!.length).toBe(4 * MiB);
    expect(echoed[0]![0]).toBe(0);
    expect(echoed[0]!.subarray(1).equals(rest)).toBe(true);
    expect(echoed[1]!.toString()).toBe("after");
  }, 120_000);
});
