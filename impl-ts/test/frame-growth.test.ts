/**
 * The assembly buffer of a frame that straddles reads grows as its bytes
 * arrive (spec 4.5): what the decoder holds stays within a small first buffer
 * or 16 times the bytes received, on the copying path and on the in-place
 * path, for data and handshake frames.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, FrameEncoder, MAX_HANDSHAKE_LENGTH } from "../src/protocol/index.js";

const MiB = 1024 * 1024;
const FIRST = 64 * 1024;
const FIRST_HANDSHAKE = 1024;
const GROWTH = 16;

function header(length: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(length);
  return h;
}

describe("assembly buffers grow as bytes arrive", () => {
  it("a data frame announced at 4 MiB with one byte received holds 64 KiB, not 4 MiB", () => {
    const d = new FrameDecoder({ onMessage: () => undefined, onControl: () => undefined }, { maxFrameLength: 4 * MiB, control: false });
    d.push(Buffer.concat([header(4 * MiB), Buffer.from([1])]));
    expect(d.bufferedBytes).toBe(FIRST);
  });

  it("a hello announced at 16 KiB with one byte received holds 1 KiB", () => {
    const d = new FrameDecoder(
      { onMessage: () => undefined, onControl: () => undefined },
      { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" },
    );
    d.push(Buffer.concat([header(MAX_HANDSHAKE_LENGTH), Buffer.from([1])]));
    expect(d.bufferedBytes).toBe(FIRST_HANDSHAKE);
  });

  it("copying path: any split of any frames keeps the buffer within max(first, 16 x received, received + chunk) and delivers every frame whole", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 400_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1000, max: 200_000 })), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (lengths, cuts, handshake) => {
          const max = handshake ? MAX_HANDSHAKE_LENGTH : MiB;
          const payloads = lengths.map((n, i) => Buffer.alloc(Math.min(n, max), i + 1));
          const enc = new FrameEncoder({ peerMaxFrameLength: max });
          for (const p of payloads) enc.addData(p);
          const stream = enc.takeBuffer();
          const got: Buffer[] = [];
          const d = new FrameDecoder(
            { onMessage: (p) => got.push(Buffer.from(p)), onControl: () => undefined },
            { maxFrameLength: max, control: false, ...(handshake ? { oversizeCode: "E_HANDSHAKE_TOO_LARGE" as const } : {}) },
          );
          const first = handshake ? FIRST_HANDSHAKE : FIRST;
          let off = 0;
          let frameStart = 0;
          let frame = 0;
          for (let i = 0; off < stream.length; i++) {
            // Tiny cuts only around frame boundaries, so a run stays short.
            const cut = cuts[i % cuts.length]!;
            const n = Math.min(cut < 1000 && i > 64 ? cut * 1000 : cut, stream.length - off);
            d.push(stream.subarray(off, off + n));
            off += n;
            while (frame < payloads.length && frameStart + 4 + payloads[frame]!.length <= off) frameStart += 4 + payloads[frame++]!.length;
            // Received of the frame being assembled, and the most one chunk may have brought.
            const received = Math.max(0, off - frameStart - 4);
            expect(d.bufferedBytes).toBeLessThanOrEqual(Math.max(first, GROWTH * received, received + n) + 4);
          }
          expect(got.length).toBe(payloads.length);
          got.forEach((g, i) => expect(g.equals(payloads[i]!)).toBe(true));
        },
      ),
      { numRuns: 200 },
    );
  }, 60_000);

  it("in-place path: reads into the frame's own buffer keep it within max(first, 16 x received) and deliver the frame whole", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: FIRST + 1, max: 4 * MiB }),
        fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 20 }),
        (length, reads) => {
          const payload = Buffer.alloc(length);
          for (let i = 0; i < length; i += 4093) payload[i] = i & 0xff;
          const got: Buffer[] = [];
          const d = new FrameDecoder(
            { onMessage: (p) => got.push(p), onControl: () => undefined },
            { maxFrameLength: 4 * MiB, control: false },
          );
          d.push(header(length));
          let received = 0;
          for (let i = 0; received < length; i++) {
            const target = d.inPlaceTarget(1)!;
            expect(target).not.toBeNull();
            // Small reads first, where the growth bound bites; then at least 64 KiB a read, so a
            // short read list that repeats does not feed 4 MiB one byte at a time.
            const read = reads[i % reads.length]!;
            const n = Math.min(i > 16 ? Math.max(read, 64 * 1024) : read, target.length, length - received);
            payload.copy(target, 0, received, received + n);
            received += n;
            d.commitInPlace(n);
            if (received < length) expect(d.bufferedBytes).toBeLessThanOrEqual(Math.max(FIRST, GROWTH * received));
          }
          expect(got.length).toBe(1);
          expect(got[0]!.equals(payload)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  }, 60_000);
});
