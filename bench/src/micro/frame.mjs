#!/usr/bin/env node
// Frame encode and decode (qwormhole/protocol): 1 frame and batches of 64 and 1024,
// payloads of 16 B to 1 MiB, the stream fed in one chunk or split into 4,093-byte
// chunks (headers and payloads straddle), plus the full receive pipeline (FrameReceiver).
import { FrameDecoder, FrameEncoder, FrameReceiver } from "qwormhole/protocol";
import { fileURLToPath } from "node:url";
import { fmtSize } from "../lib/stats.mjs";

const SPLIT = 4093;
const MAX_BYTES_PER_OP = 64 << 20;

function encodeStream(size, batch) {
  const enc = new FrameEncoder({ peerMaxFrameLength: 1 << 30 });
  const payload = Buffer.alloc(size, 0x71);
  for (let i = 0; i < batch; i++) enc.addData(payload);
  return enc.takeBuffer();
}

/** Where the stream is cut: 4,093-byte pieces, or 3 pieces when it is short. */
function cuts(length) {
  const piece = length > 3 * SPLIT ? SPLIT : Math.max(1, Math.ceil(length / 3));
  const out = [];
  for (let off = 0; off < length; off += piece) out.push([off, Math.min(length, off + piece)]);
  return out;
}

export function tasks({ full = false } = {}) {
  const sizes = full ? [16, 256, 1024, 4096, 65536, 1 << 20] : [16, 1024, 65536, 1 << 20];
  const batches = [1, 64, 1024];
  const out = [];
  for (const size of sizes) {
    for (const batch of batches) {
      if (size * batch > MAX_BYTES_PER_OP) continue;
      const label = `${batch} x ${fmtSize(size)}`;
      const common = { group: "frame", messagesPerOp: batch, bytesPerOp: size * batch };
      const pieces = cuts((size + 4) * batch).length;
      // The data is made by prepare(), just before the task runs, so waiting tasks hold no memory.
      out.push({
        ...common,
        name: `encode ${label}`,
        prepare: () => {
          const payload = Buffer.alloc(size, 0x71);
          const enc = new FrameEncoder({ peerMaxFrameLength: 1 << 30 });
          return () => {
            for (let i = 0; i < batch; i++) enc.addData(payload);
            if (enc.take().length === 0) throw new Error("nothing encoded");
          };
        },
      });
      const chunksOf = (split) => {
        const stream = encodeStream(size, batch);
        return split ? cuts(stream.length).map(([a, b]) => stream.subarray(a, b)) : [stream];
      };
      const decoder = (split) => () => {
        const chunks = chunksOf(split);
        let n = 0;
        const dec = new FrameDecoder({ onMessage: () => n++, onControl: () => {} }, { maxFrameLength: 1 << 30, control: true });
        return () => {
          n = 0;
          for (const c of chunks) dec.push(c);
          if (n !== batch) throw new Error(`decoded ${n}/${batch}`);
        };
      };
      out.push({ ...common, name: `decode ${label}, one chunk`, prepare: decoder(false) });
      out.push({ ...common, name: `decode ${label}, ${pieces} chunks`, prepare: decoder(true) });
      if (batch === 64 && (full || size <= 1024)) {
        out.push({
          ...common,
          name: `FrameReceiver ${label}, ${pieces} chunks`,
          prepare: () => {
            const chunks = chunksOf(true);
            let m = 0;
            const rcv = new FrameReceiver(
              { onMessage: () => m++, onPing() {}, onPong() {}, onClose() {} },
              { maxFrameLength: 1 << 30, features: ["control"] },
            );
            return () => {
              m = 0;
              for (const c of chunks) rcv.push(c);
              if (m !== batch) throw new Error(`received ${m}/${batch}`);
            };
          },
        });
      }
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await (await import("./run.mjs")).main(tasks);
