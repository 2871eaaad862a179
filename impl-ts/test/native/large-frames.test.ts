/**
 * Large plain frames on each native receiver: after a large data frame the
 * addon reads each header alone (with the end of the previous frame) and
 * receives a large frame straight into the Buffer JS gets, growing it as bytes
 * arrive. Mixed sizes around that path (empty, small, just below and above the
 * thresholds, 1 MiB and 2 MiB), every message compared byte for byte and in
 * order; a receiver that pauses (an iterator at its high-water mark) after
 * every message; an empty message last, which must arrive although no byte
 * follows it; a frame cut short by the peer's end; batches larger than the
 * table the runtime shares with the addon; mid sizes, many frames per read
 * and frames that span reads, received into Buffers V8 allocates.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  createQWormholeClient,
  createQWormholeServer,
  type QWormholeClient,
  type QWormholeError,
  type QWormholeServer,
  type ServerConnection,
} from "../../src/index.js";
import { loadNative } from "../../src/native/load.js";
import { frame, rawPeer } from "../integration/helpers.js";

const BACKENDS = ["libsocket", "lws"] as const;
const SIZES = [70_000, 0, 40_000, 3, 1 << 20, 0, 16_384, 16_383, 65_536, 32_768, 100_000, 2 << 20, 17, 50_000, 0];

const payload = (i: number, size: number): Buffer => {
  const b = Buffer.alloc(size, i & 0xff);
  for (let k = 0; k < size; k += 4093) b[k] = (i * 31 + k) & 0xff;
  if (size > 0) b[size - 1] = (i * 7) & 0xff;
  return b;
};

const open: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close().catch(() => {});
});

async function nativeServer(backend: (typeof BACKENDS)[number]): Promise<{ server: QWormholeServer<Buffer, Buffer>; port: number }> {
  const made = createQWormholeServer<Buffer, Buffer>({ host: "127.0.0.1", port: 0, preferNative: true, preferredNativeBackend: backend });
  expect(made.mode).toBe(`native-${backend}`);
  open.push(made.server);
  const { port } = await made.server.listen();
  return { server: made.server, port };
}

async function client(port: number, native: (typeof BACKENDS)[number] | null): Promise<QWormholeClient<Buffer, Buffer>> {
  const made = createQWormholeClient<Buffer, Buffer>({
    host: "127.0.0.1",
    port,
    reconnect: false,
    ...(native ? { preferNative: true, preferredNativeBackend: native } : { forceTs: true }),
  });
  open.push(made.client);
  await made.client.connect();
  return made.client;
}

describe.each(BACKENDS)("large frames received by native-%s", (backend) => {
  it("has its addon built", () => expect(loadNative(backend).binding).toBeTruthy());

  /** Sends `expected` from a ts client (sender null) or a native one and checks every message arrives whole, in order. */
  async function arriveInOrder(sender: typeof backend | null, expected: Buffer[]): Promise<void> {
    const { server, port } = await nativeServer(backend);
    const got: Buffer[] = [];
    const all = new Promise<void>((resolve) =>
      server.on("message", ({ data }) => {
        got.push(Buffer.from(data));
        if (got.length === expected.length) resolve();
      }),
    );
    const c = await client(port, sender);
    for (const m of expected) c.send(m);
    await all;
    for (let i = 0; i < expected.length; i++) expect(got[i]!.equals(expected[i]!), `message ${i} (${expected[i]!.length} B)`).toBe(true);
  }

  for (const sender of [null, backend] as const) {
    it(`mixed sizes from a ${sender ? "native" : "ts"} client arrive whole and in order, an empty one last`, () =>
      arriveInOrder(
        sender,
        [...SIZES, ...SIZES].map((size, i) => payload(i, size)),
      ));

    it(`mid sizes (many frames per read, frames that span reads) from a ${sender ? "native" : "ts"} client arrive whole and in order`, () => {
      const sizes = [1024, 4096, 700, 15_000, 3000, 513, 9000, 2, 16_383, 1500];
      return arriveInOrder(
        sender,
        Array.from({ length: 3000 }, (_, i) => payload(i, sizes[i % sizes.length]!)),
      );
    });
  }

  it("batches of more frames than the runtime's table holds (empty messages sent at once) arrive whole", async () => {
    const { server, port } = await nativeServer(backend);
    const count = 100_000;
    let got = 0;
    let bytes = 0;
    const all = new Promise<void>((resolve) =>
      server.on("message", ({ data }) => {
        bytes += data.length;
        if (++got === count) resolve();
      }),
    );
    const c = await client(port, null);
    const empty = Buffer.alloc(0);
    for (let i = 0; i < count - 1; i++) c.send(empty);
    c.send(payload(1, 70_000));
    await all;
    expect(bytes).toBe(70_000);
  });

  it("a receiver that pauses after every message gets everything, the last empty message too", async () => {
    const made = createQWormholeServer<Buffer, Buffer>({ host: "127.0.0.1", port: 0, forceTs: true });
    open.push(made.server);
    const expected = [...SIZES, 1 << 20, 0].map((size, i) => payload(i, size));
    made.server.on("connection", (conn) => {
      for (const m of expected) conn.send(m);
    });
    const { port } = await made.server.listen();
    const c = await client(port, backend);
    const got: Buffer[] = [];
    for await (const m of c.messages({ highWaterMark: 1 })) {
      got.push(Buffer.from(m));
      await new Promise((r) => setImmediate(r));
      if (got.length === expected.length) break;
    }
    for (let i = 0; i < expected.length; i++) expect(got[i]!.equals(expected[i]!), `message ${i} (${expected[i]!.length} B)`).toBe(true);
  });

  it("a large frame cut short by the peer's end: the whole frames before it, then E_TRUNCATED_FRAME", async () => {
    const { server, port } = await nativeServer(backend);
    const conns = server.connections();
    const peer = await rawPeer(port);
    open.push({ close: async () => peer.socket.destroy() });
    const { value: conn } = await conns.next();
    await conns.return!();
    // Whole large frames (header reads start), then the header and part of another in several writes.
    peer.send(frame(payload(0, 50_000)));
    peer.send(frame(payload(1, 1 << 20)));
    const cut = frame(payload(2, 200_000)).subarray(0, 4 + 150_000);
    peer.send(cut.subarray(0, 2));
    peer.send(cut.subarray(2, 70_000));
    peer.send(cut.subarray(70_000));
    peer.socket.end();
    const got: Buffer[] = [];
    let thrown: QWormholeError | undefined;
    try {
      for await (const m of (conn as ServerConnection<Buffer, Buffer>).messages()) got.push(Buffer.from(m));
    } catch (err) {
      thrown = err as QWormholeError;
    }
    expect(got.map((m) => m.length)).toEqual([50_000, 1 << 20]);
    expect(got[1]!.equals(payload(1, 1 << 20))).toBe(true);
    expect(thrown?.code).toBe("E_TRUNCATED_FRAME");
  });
});
