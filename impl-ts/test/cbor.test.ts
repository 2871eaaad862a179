/**
 * The default CBOR codecs speak plain RFC 8949 CBOR: checked against
 * hand-written bytes (RFC 8949 Appendix A, where cbor-x writes the preferred
 * serialization) in both directions, never against cbor-x's own output.
 * The exchange with a peer over a socket is in integration/first-contact.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createCborDeserializer, createCborSerializer } from "../src/index.js";

const hex = (s: string) => Buffer.from(s, "hex");

/** [value, its CBOR in hex] as RFC 8949 Appendix A lists them (preferred serialization). */
const BOTH_WAYS: [unknown, string][] = [
  [0, "00"],
  [1, "01"],
  [10, "0a"],
  [23, "17"],
  [24, "1818"],
  [25, "1819"],
  [100, "1864"],
  [1000, "1903e8"],
  [1000000, "1a000f4240"],
  [18446744073709551615n, "1bffffffffffffffff"],
  [18446744073709551616n, "c249010000000000000000"],
  [-1, "20"],
  [-10, "29"],
  [-100, "3863"],
  [-1000, "3903e7"],
  [1.1, "fb3ff199999999999a"],
  [1.0e300, "fb7e37e43c8800759c"],
  [-4.1, "fbc010666666666666"],
  [false, "f4"],
  [true, "f5"],
  [null, "f6"],
  [undefined, "f7"],
  [new Uint8Array([]), "40"],
  [new Uint8Array([1, 2, 3, 4]), "4401020304"],
  ["", "60"],
  ["a", "6161"],
  ["IETF", "6449455446"],
  ['"\\', "62225c"],
  ["\u00fc", "62c3bc"],
  ["\u6c34", "63e6b0b4"],
  ["\ud800\udd51", "64f0908591"],
  [[], "80"],
  [[1, 2, 3], "83010203"],
  [[1, [2, 3], [4, 5]], "8301820203820405"],
  [Array.from({ length: 25 }, (_, i) => i + 1), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"],
  [{}, "a0"],
  [{ a: 1, b: [2, 3] }, "a26161016162820203"],
  [["a", { b: "c" }], "826161a161626163"],
  [{ a: "A", b: "B", c: "C", d: "D", e: "E" }, "a56161614161626142616361436164614461656145"],
];

/** Appendix A encodings cbor-x does not write itself but any CBOR decoder must read. */
const DECODE_ONLY: [string, unknown][] = [
  ["f90000", 0],
  ["f93c00", 1],
  ["f97bff", 65504],
  ["fa47c35000", 100000],
  ["f9c400", -4],
  ["f97c00", Infinity],
  ["3bffffffffffffffff", -18446744073709551616n],
  ["1b0000000100000000", 4294967296], // a 64-bit integer that is a safe JS number arrives as a number
  ["1b000000e8d4a51000", 1000000000000],
  ["9fff", []],
  ["9f018202039f0405ffff", [1, [2, 3], [4, 5]]],
  ["bf61610161629f0203ffff", { a: 1, b: [2, 3] }],
  ["a201020304", { 1: 2, 3: 4 }],
];

describe("default CBOR codecs: plain RFC 8949 CBOR", () => {
  const encode = createCborSerializer();
  const decode = createCborDeserializer();

  it.each(BOTH_WAYS)("%s encodes to the hand-written bytes and decodes back", (value, bytes) => {
    expect(Buffer.from(encode(value) as Uint8Array).toString("hex")).toBe(bytes);
    const back = decode(hex(bytes));
    if (value instanceof Uint8Array) expect(new Uint8Array(back as Uint8Array)).toEqual(value);
    else expect(back).toEqual(value);
  });

  it.each(DECODE_ONLY)("%s decodes to %s", (bytes, value) => {
    expect(decode(hex(bytes))).toEqual(value);
  });

  it("maps decode as plain objects, never Map or cbor-x records", () => {
    const v = decode(hex("a26161016162820203"));
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    // No record extension on the way out: a repeated shape is still a plain map each time.
    expect(Buffer.from(encode([{ a: 1 }, { a: 2 }]) as Uint8Array).toString("hex")).toBe("82a16161 01a16161 02".replace(/ /g, ""));
  });

  it("opting into cbor-x records is explicit, and its output is not plain CBOR", () => {
    const records = createCborSerializer({ useRecords: true });
    const bytes = Buffer.from(records({ a: 1, b: [2, 3] }) as Uint8Array);
    expect(bytes.toString("hex")).not.toBe("a26161016162820203");
    expect(createCborDeserializer({ useRecords: true })(bytes)).toEqual({ a: 1, b: [2, 3] });
    expect(createCborDeserializer({ bigIntsAsNumbers: false })(hex("1b0000000100000000"))).toBe(4294967296n);
  });
});
