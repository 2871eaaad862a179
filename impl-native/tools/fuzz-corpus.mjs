#!/usr/bin/env node
// Seeds the fuzz targets from the golden vectors: every frame stream (frame-decode-*, frame-encode)
// becomes inputs of the frame receiver target (test/fuzz_decoder.c: byte 0 = limit / 64, an odd one
// with control meaning "resume" too, byte 1 = control flag + chunk step, then the stream), and so do
// the control frames of the resume session vectors, every hello, answer and JSON text becomes an input of
// the hello target (test/fuzz_hello.c: the bytes as they are). A crash input kept as a regression
// (test/fuzz-regressions/<target>/) joins its target's corpus.
//   node tools/fuzz-corpus.mjs OUTDIR   -> OUTDIR/decoder, OUTDIR/hello
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) throw new Error("usage: node tools/fuzz-corpus.mjs OUTDIR");
const here = import.meta.dirname;
const vectors = join(here, "..", "..", "conformance", "vectors");
const regressions = join(here, "..", "test", "fuzz-regressions");
const dirs = { decoder: join(out, "decoder"), hello: join(out, "hello") };
for (const d of Object.values(dirs)) {
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
}
const counts = { decoder: 0, hello: 0 };
const put = (target, bytes) => writeFileSync(join(dirs[target], String(counts[target]++).padStart(5, "0")), bytes);

for (const f of readdirSync(vectors)
  .filter((n) => n.endsWith(".json"))
  .sort()) {
  const v = JSON.parse(readFileSync(join(vectors, f), "utf8"));
  const frames = v.kind === "frame-decode" || v.kind === "frame-encode";
  for (const g of v.testGroups) {
    for (const t of g.tests) {
      for (const step of v.kind === "resume" ? (t.steps ?? []) : []) {
        if (typeof step.control !== "string") continue;
        const body = Buffer.from(step.control, "hex");
        const header = Buffer.alloc(4);
        header.writeUInt32BE((0x80000000 | body.length) >>> 0);
        for (const limit of [255, 254]) put("decoder", Buffer.concat([Buffer.from([limit, (127 << 1) | 1]), header, body]));
      }
      if (typeof t.hex !== "string") continue;
      const bytes = Buffer.from(t.hex, "hex");
      if (!frames) {
        put("hello", bytes);
        continue;
      }
      const control = Array.isArray(g.features) && g.features.includes("control") ? 1 : 0;
      // a limit of 255 x 64 bytes and of 1 x 64; one stream whole, one in 1-byte and one in 7-byte chunks
      for (const [limit, step] of [
        [255, 127],
        [255, 0],
        [1, 6],
      ])
        put("decoder", Buffer.concat([Buffer.from([limit, (step << 1) | control]), bytes]));
    }
  }
}
for (const target of Object.keys(dirs)) {
  let names;
  try {
    names = readdirSync(join(regressions, target));
  } catch {
    continue;
  }
  for (const n of names) put(target, readFileSync(join(regressions, target, n)));
}
console.log(`fuzz corpus: ${counts.decoder} decoder inputs, ${counts.hello} hello inputs in ${out}`);
