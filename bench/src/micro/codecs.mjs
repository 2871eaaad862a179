#!/usr/bin/env node
// Each codec on its own (no I/O): JSON, CBOR (cbor-x), text, buffer; encode and decode of
// the value the codec rows of the end-to-end run carry (../lib/sample-value.mjs).
// The codec goal compares the end-to-end cost of a codec row with these numbers.
import {
  bufferDeserializer,
  createCborDeserializer,
  createCborSerializer,
  defaultSerializer,
  jsonDeserializer,
  jsonSerializer,
  textDeserializer,
} from "qwormhole";
import { fileURLToPath } from "node:url";
import { sampleValue } from "../lib/sample-value.mjs";

export function tasks() {
  const g = "codec";
  const jsonBytes = Buffer.from(JSON.stringify(sampleValue));
  const text = "x".repeat(200) + "é".repeat(28);
  const textBytes = Buffer.from(text);
  const buf = Buffer.alloc(256, 0x71);
  const out = [
    // "encode" is value -> bytes for every codec (the JSON serializer gives a string; qwormhole
    // writes it into its send buffer as UTF-8, so the codec alone is stringify + UTF-8).
    {
      group: g,
      name: `json encode (${jsonBytes.length} B)`,
      bytesPerOp: jsonBytes.length,
      fn: () => Buffer.from(jsonSerializer(sampleValue), "utf8"),
    },
    { group: g, name: `json decode (${jsonBytes.length} B)`, bytesPerOp: jsonBytes.length, fn: () => jsonDeserializer(jsonBytes) },
    {
      group: g,
      name: `text encode (${textBytes.length} B)`,
      bytesPerOp: textBytes.length,
      fn: () => Buffer.from(defaultSerializer(text), "utf8"),
    },
    { group: g, name: `text decode (${textBytes.length} B)`, bytesPerOp: textBytes.length, fn: () => textDeserializer(textBytes) },
    { group: g, name: "buffer encode (256 B)", bytesPerOp: 256, fn: () => defaultSerializer(buf) },
    { group: g, name: "buffer decode (256 B)", bytesPerOp: 256, fn: () => bufferDeserializer(buf) },
  ];
  try {
    const enc = createCborSerializer();
    const dec = createCborDeserializer();
    const cborBytes = Buffer.from(enc(sampleValue));
    out.push(
      { group: g, name: `cbor encode (${cborBytes.length} B)`, bytesPerOp: cborBytes.length, fn: () => enc(sampleValue) },
      { group: g, name: `cbor decode (${cborBytes.length} B)`, bytesPerOp: cborBytes.length, fn: () => dec(cborBytes) },
    );
  } catch (err) {
    out.push({
      group: g,
      name: "cbor encode",
      fn: () => {
        throw err;
      },
    });
  }
  return out;
}

/** Encoded sizes of the sample value per codec. */
export function sampleSizes() {
  const sizes = { json: Buffer.byteLength(JSON.stringify(sampleValue)) };
  try {
    sizes.cbor = createCborSerializer()(sampleValue).length;
  } catch {
    // cbor-x missing
  }
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await (await import("./run.mjs")).main(tasks);
