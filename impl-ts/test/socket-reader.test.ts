import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ReadTarget } from "../src/transport/link.js";
import { isScratchBuffer, SocketReader } from "../src/transport/socket-reader.js";
import { FrameDecoder, FrameEncoder } from "./support.js";

/** Whether the last chunk a target received was marked transient (its buffer may be reused). */
let lastTransient = false;

/** A read target straight over a decoder (the receiver adds error handling and the end of each read). */
function targetOf(decoder: FrameDecoder): ReadTarget {
  return {
    inPlaceTarget: (min) => decoder.inPlaceTarget(min),
    get lastFrameLength() {
      return decoder.lastFrameLength;
    },
    receivedInPlace: (n) => {
      lastTransient = false;
      decoder.commitInPlace(n);
    },
    received: (chunk, transient) => {
      lastTransient = transient;
      decoder.push(chunk, transient);
    },
  };
}

/**
 * Plays the kernel under Node's `onread` contract: asks the reader for a
 * buffer, writes up to `readSize` bytes of the stream into it, reports them.
 * Then scribbles over the buffer when its read was handed over as transient
 * (the shared scratch buffer, or a small read into a fresh one), as the next
 * read on any connection may: a view of it that escaped would show it.
 */
function feed(reader: SocketReader, stream: Buffer, readSizes: number[]): void {
  let off = 0;
  let i = 0;
  while (off < stream.length) {
    const buf = reader.onread.buffer();
    const n = Math.min(buf.length, stream.length - off, Math.max(1, readSizes[i++ % readSizes.length]!));
    stream.copy(buf, 0, off, off + n);
    off += n;
    lastTransient = false;
    reader.onread.callback(n, buf);
    if (lastTransient) buf.fill(0xee, 0, n);
  }
}

const sizes = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 16 * 1024 - 8, max: 16 * 1024 + 8 }),
  fc.integer({ min: 30 * 1024, max: 200 * 1024 }),
);

describe("socket reader (onread: shared scratch buffer, large frames received in place)", () => {
  it("delivers every message intact, and what was delivered stays intact after later reads, under any read sizes", () => {
    fc.assert(
      fc.property(
        fc.array(sizes, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 70 * 1024 }), { minLength: 1, maxLength: 8 }),
        (lengths, readSizes) => {
          const messages = lengths.map((n, i) => Buffer.alloc(n, (i * 37 + 1) & 0xff));
          const encoder = new FrameEncoder();
          for (const m of messages) encoder.addData(m);
          const got: Buffer[] = [];
          const decoder = new FrameDecoder(
            { onMessage: (p) => got.push(p), onControl: () => undefined },
            { maxFrameLength: 1 << 20, control: false },
          );
          const reader = new SocketReader();
          reader.attach(targetOf(decoder));
          feed(reader, encoder.takeBuffer(), readSizes);
          expect(decoder.idle).toBe(true);
          expect(got.length).toBe(messages.length);
          for (let i = 0; i < messages.length; i++) expect(got[i]!.equals(messages[i]!)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("receives a large frame into the frame's own buffer and keeps later reads at frame boundaries", () => {
    const big = Buffer.alloc(100_000, 3);
    const encoder = new FrameEncoder();
    encoder.addData(big);
    encoder.addData(big);
    const got: Buffer[] = [];
    const decoder = new FrameDecoder(
      { onMessage: (p) => got.push(p), onControl: () => undefined },
      { maxFrameLength: 1 << 20, control: false },
    );
    const reader = new SocketReader();
    reader.attach(targetOf(decoder));
    const stream = encoder.takeBuffer();
    const given: number[] = [];
    let off = 0;
    while (off < stream.length) {
      const buf = reader.onread.buffer();
      given.push(buf.length);
      const n = Math.min(buf.length, stream.length - off);
      stream.copy(buf, 0, off, off + n);
      off += n;
      reader.onread.callback(n, buf);
    }
    // First read: scratch (header + start of frame 1); then frame 1's rest in place;
    // then frame 2's header alone and its payload in place: first into 64 KiB, then
    // (the buffer grown as the bytes arrived) the rest.
    expect(given).toEqual([64 * 1024, 100_000 - (64 * 1024 - 4), 4, 64 * 1024, 100_000 - 64 * 1024]);
    expect(got.map((b) => b.equals(big))).toEqual([true, true]);
  });

  it("while reads come back full, small frames are views of a fresh buffer per read (no copy); the scratch buffer is used again once reads are small", () => {
    const encoder = new FrameEncoder();
    for (let i = 0; i < 10_000; i++) encoder.addData(Buffer.alloc(16, i & 0xff));
    const stream = encoder.takeBuffer();
    const got: Buffer[] = [];
    const decoder = new FrameDecoder(
      { onMessage: (p) => got.push(p), onControl: () => undefined },
      { maxFrameLength: 1 << 20, control: false },
    );
    const reader = new SocketReader();
    reader.attach(targetOf(decoder));
    const kinds: string[] = [];
    const buffers: Buffer[] = [];
    let off = 0;
    for (const want of [64 * 1024, 64 * 1024, 100, 64 * 1024]) {
      const buf = reader.onread.buffer();
      kinds.push(isScratchBuffer(buf) ? "scratch" : "fresh");
      buffers.push(buf);
      const n = Math.min(want, buf.length, stream.length - off);
      stream.copy(buf, 0, off, off + n);
      off += n;
      lastTransient = false;
      reader.onread.callback(n, buf);
      kinds.push(lastTransient ? "transient" : "kept");
    }
    // A full read makes the next one fresh; a small read (even into a fresh buffer) sends the next to scratch.
    expect(kinds).toEqual(["scratch", "transient", "fresh", "kept", "fresh", "transient", "scratch", "transient"]);
    const fromFresh = got.filter((m) => m.buffer === buffers[1]!.buffer);
    expect(fromFresh.length).toBeGreaterThan(3000);
    // Nothing views the scratch buffer (buffers[0]) or the small fresh read (buffers[2]).
    expect(got.some((m) => m.buffer === buffers[0]!.buffer || m.buffer === buffers[2]!.buffer)).toBe(false);
    for (let i = 0; i < got.length; i++) expect(got[i]!.equals(Buffer.alloc(16, i & 0xff))).toBe(true);
  });

  it("a chunk pushed as transient is never handed out as a view (raw mode too)", () => {
    const got: Buffer[] = [];
    const decoder = new FrameDecoder(
      { onMessage: (p) => got.push(p), onControl: () => undefined, onRaw: (c) => got.push(c) },
      { maxFrameLength: 100, control: false },
    );
    const chunk = Buffer.from([0, 0, 0, 2, 7, 8, 0, 0, 0, 1, 9]);
    decoder.push(chunk, true);
    decoder.switchToRaw();
    const raw = Buffer.from("raw bytes");
    decoder.push(raw, true);
    chunk.fill(0);
    raw.fill(0);
    expect(got.map((b) => [...b])).toEqual([[7, 8], [9], [...Buffer.from("raw bytes")]]);
  });
});
