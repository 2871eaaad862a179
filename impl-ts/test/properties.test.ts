import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, FrameEncoder, FrameReceiver, QWormholeError, splitAt } from "./support.js";

const NUM_RUNS = 300;

/** Arbitrary cut points that split a buffer into chunks. */
const chunked = (bytes: Buffer) =>
  fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 20 }).map((cuts) => splitAt(bytes, cuts));

describe("codec properties (fast-check)", () => {
  it("encode then decode returns the messages under any chunking (QWH-FRAME-008, QWH-FRAME-011)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }).chain((messages) => {
          const e = new FrameEncoder({ copyThreshold: 128, slabSize: 512 });
          for (const m of messages) e.addData(m);
          return fc.tuple(fc.constant(messages), chunked(e.takeBuffer()));
        }),
        ([messages, chunks]) => {
          const got: string[] = [];
          const d = new FrameDecoder({ onMessage: (p) => got.push(Buffer.from(p).toString("hex")), onControl: () => undefined });
          for (const c of chunks) d.push(c);
          d.end();
          expect(got).toEqual(messages.map((m) => Buffer.from(m).toString("hex")));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it("arbitrary bytes never throw anything but a coded error, nor make the decoder hold more than the maximum (QWH-FRAME-004)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.integer({ min: 0, max: 64 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 30 }),
        (bytes, max, control, cuts) => {
          const r = new FrameReceiver(
            { onMessage: () => undefined, onPing: () => undefined, onPong: () => undefined, onClose: () => undefined },
            { maxFrameLength: max, features: control ? ["control"] : [] },
          );
          try {
            for (const c of splitAt(Buffer.from(bytes), cuts)) {
              r.push(c);
              expect(r.decoder.bufferedBytes).toBeLessThanOrEqual(Math.max(max, control ? 1024 : 0) + 4);
            }
            r.end();
          } catch (err) {
            expect(err).toBeInstanceOf(QWormholeError);
            expect((err as QWormholeError).code).toMatch(/^E_[A-Z_]+$/);
          }
        },
      ),
      { numRuns: NUM_RUNS * 3 },
    );
  });

  it("the same stream gives the same events and error under any two chunkings (QWH-FRAME-008)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 20 }), (bytes, cuts) => {
        const run = (chunks: Buffer[]) => {
          const events: string[] = [];
          let error = "";
          const r = new FrameReceiver(
            {
              onMessage: (p) => events.push(`m${p.toString("hex")}`),
              onPing: (b) => events.push(`p${b.toString("hex")}`),
              onPong: (b) => events.push(`o${b.toString("hex")}`),
              onClose: (c) => events.push(`c${c.code}`),
            },
            { maxFrameLength: 32, features: ["control"] },
          );
          try {
            for (const c of chunks) r.push(c);
            r.end();
          } catch (err) {
            error = (err as QWormholeError).code;
          }
          return { events, error };
        };
        const buf = Buffer.from(bytes);
        expect(run(splitAt(buf, cuts))).toEqual(run([buf]));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
