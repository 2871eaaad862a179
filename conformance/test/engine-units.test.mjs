// Pieces of the wire engine and runner that are easy to get subtly wrong.
import { createPublicKey, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildFrame, helloWith, jcs, jsonMatches, signedHello } from "../src/wire-engine.mjs";
import { caseMatcher } from "../src/util.mjs";
import { chunkingsFor, compareOutput, outputMismatches } from "../src/vectors.mjs";
import { digestOf, expandMessages } from "../src/scenarios.mjs";

describe("wire engine helpers", () => {
  it("builds data and control frames, and lying headers", () => {
    expect(buildFrame({ text: "hi" }).toString("hex")).toBe("000000026869");
    expect(buildFrame({ controlType: 1, hex: "00" }).toString("hex")).toBe("800000020100");
    expect(buildFrame({ hex: "01", length: 9 }).toString("hex")).toBe("0000000901");
    expect(buildFrame({}).toString("hex")).toBe("00000000");
  });

  it("adds, replaces and removes hello members", () => {
    expect(helloWith({ qwh: "2.0", features: null, x: 1 })).toEqual({ type: "handshake", qwh: "2.0", x: 1 });
  });

  it("compares JSON arrays as sets and objects as subsets", () => {
    expect(jsonMatches({ features: ["a", "b"] }, { features: ["b", "a"], x: 1 })).toBe(true);
    expect(jsonMatches({ features: [] }, { features: ["control"] })).toBe(false);
    expect(jsonMatches({ a: { b: 1 } }, { a: { b: 1, c: 2 } })).toBe(true);
  });

  it("signs hellos as QWH-SIG-002 says (prefix, JCS without value), and tampers on request", () => {
    const h = signedHello({ seed: "01".repeat(32), nonce: "00".repeat(16), ts: 1764028800000 });
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: h.sig.key }, format: "jwk" });
    const { value, ...rest } = h.sig;
    const bytes = Buffer.concat([Buffer.from("QWH/1 hello\n"), Buffer.from(jcs({ ...h, sig: rest }))]);
    expect(verify(null, bytes, key, Buffer.from(value, "base64url"))).toBe(true);
    const bad = signedHello({ seed: "01".repeat(32), nonce: "00".repeat(16), ts: 1764028800000, tamper: "flip-value-bit" });
    expect(verify(null, bytes, key, Buffer.from(bad.sig.value, "base64url"))).toBe(false);
  });
});

describe("case selection and vectors", () => {
  it("selects by glob, by area prefix and by ancestor", () => {
    const m = caseMatcher(["frame", "vector/hello-*"]);
    expect(m("frame/server/x")).toBe(true);
    expect(m("framework/x")).toBe(false);
    expect(m("vector/hello-v1/3")).toBe(true);
    expect(m("vector/negotiate/3")).toBe(false);
  });

  it("runs frame-decode under three chunkings that cover the stream", () => {
    const c = { kind: "frame-decode", tcId: 5, file: "f.json", input: { hex: "00".repeat(40) } };
    const ch = chunkingsFor(c);
    expect(ch.map((x) => x.name.split("(")[0])).toEqual(["whole", "byte-by-byte", "random"]);
    for (const x of ch.slice(1)) expect(x.chunks.reduce((a, b) => a + b, 0)).toBe(40);
  });

  it("compares accept features as sets, reject answers by code", () => {
    const accept = {
      kind: "accept",
      expected: { outcome: "accept", accept: { qwh: "1.0", features: ["a", "b"], maxFrameLength: 1 }, error: null },
    };
    expect(compareOutput(accept, { outcome: "accept", accept: { qwh: "1.0", features: ["b", "a"], maxFrameLength: 1 }, error: null })).toBe(
      null,
    );
    const neg = { kind: "negotiate", expected: { answer: { type: "reject", code: "E_X" }, error: "E_X" } };
    expect(compareOutput(neg, { answer: { type: "reject", code: "E_X", qwh: ["1.0"], reason: "r" }, error: "E_X" })).toBe(null);
    expect(compareOutput(neg, { answer: { type: "reject", code: "E_Y" }, error: "E_X" })).toMatch(/answer.code/);
  });

  it("names every mismatching field with its expected value", () => {
    const hello = { kind: "hello", expected: { profile: "v1", hello: { type: "handshake", qwh: "1.0", features: [] }, error: null } };
    const why = compareOutput(hello, { profile: "legacy", hello: { type: "handshake" }, error: "E_X" });
    expect(why).toContain('error: expected null, got "E_X"');
    expect(why).toContain('profile: expected "v1", got "legacy"');
    expect(why).toContain('hello: expected {"type":"handshake","qwh":"1.0","features":[]}');
    const neg = {
      kind: "negotiate",
      expected: { answer: { type: "accept", qwh: "1.0", features: ["control"], maxFrameLength: 10 }, error: null },
    };
    const diffs = outputMismatches(neg, { answer: { type: "accept", qwh: "1.1", features: ["control"], maxFrameLength: 11 }, error: null });
    expect(diffs.map((d) => [d.field, d.expected])).toEqual([
      ["answer.qwh", "1.0"],
      ["answer.maxFrameLength", 10],
    ]);
  });

  it("generates scenario messages as the contract says", () => {
    const m = expandMessages(["ff", { size: 3, count: 2 }]);
    expect(m.map((b) => b.toString("hex"))).toEqual(["ff", "010203", "020304"]);
    expect(digestOf([Buffer.from("hi")])).toMatch(/^[0-9a-f]{64}$/);
  });
});
