import { describe, expect, it } from "vitest";
import { JsonNonInteger, StrictJsonError, canonicalJson, parseStrictJsonText, parseStrictJson } from "../src/protocol/index.js";

const bad = (text: string) => expect(() => parseStrictJsonText(text)).toThrow(StrictJsonError);

describe("strict JSON (QWH-HELLO-002, QWH-HELLO-013, QWH-HELLO-014, QWH-HELLO-015)", () => {
  it("parses what JSON.parse parses, for strict inputs", () => {
    const text = '{"a":[1,-2,"x\\u00e9\\ud83d\\ude00",true,false,null],"b":{"c":"\\n"}}';
    expect(parseStrictJsonText(text)).toEqual(JSON.parse(text));
  });
  it("rejects duplicate member names at any depth", () => {
    bad('{"a":1,"a":2}');
    bad('{"x":{"a":1,"a":1}}');
    // Escaped spelling of the same name is still a duplicate.
    bad('{"a":1,"\\u0061":2}');
  });
  it("keeps non-integers as JsonNonInteger", () => {
    for (const t of ["1.0", "1e3", "-0", "9007199254740992"]) {
      expect(parseStrictJsonText(t)).toBeInstanceOf(JsonNonInteger);
    }
    expect(parseStrictJsonText("9007199254740991")).toBe(9007199254740991);
  });
  it("rejects lone surrogates, BOM, invalid UTF-8, trailing data and bad syntax", () => {
    bad('"\\ud800"');
    bad('"\\udc00"');
    bad('"\\ud800\\u0041"');
    bad("\ufeff{}");
    expect(() => parseStrictJson(Buffer.from([0x22, 0xc0, 0xaf, 0x22]))).toThrow(StrictJsonError);
    expect(() => parseStrictJson(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toThrow(StrictJsonError);
    bad("{} {}");
    bad("01");
    bad("[1,]");
    bad("{'a':1}");
    bad('"tab\tinside"');
  });
  it("keeps a member named __proto__ as an ordinary member", () => {
    const v = parseStrictJsonText('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(canonicalJson(v as never)).toBe('{"__proto__":{"polluted":1}}');
  });
});

describe("canonical JSON (QWH-SIG-007)", () => {
  it("sorts members by UTF-16 code units and escapes like RFC 8785", () => {
    const v = parseStrictJsonText('{"\\u20ac":1,"\\ud83d\\ude00":2,"a":"\\u001f\\"\\\\/\\u2028","b":[ 1 , {"z":0,"y":-1} ]}');
    expect(canonicalJson(v)).toBe('{"a":"\\u001f\\"\\\\/\u2028","b":[1,{"y":-1,"z":0}],"\u20ac":1,"\ud83d\ude00":2}');
  });
});

describe("application version majors (QWH-NEG-009)", () => {
  it("compares numeric majors exactly, whatever their length, and other versions whole", async () => {
    const { appVersionsCompatible } = await import("../src/protocol/index.js");
    expect(appVersionsCompatible("1.2.0", "1.0.7")).toBe(true);
    expect(appVersionsCompatible("01.0", "1.5")).toBe(true);
    expect(appVersionsCompatible("10", "10.4")).toBe(true);
    expect(appVersionsCompatible("1.2.0", "2.0.0")).toBe(false);
    expect(appVersionsCompatible("v2", "v2")).toBe(true);
    expect(appVersionsCompatible("v2", "2.0")).toBe(false);
    expect(appVersionsCompatible("2024-01", "2024-02")).toBe(false);
    expect(appVersionsCompatible("90071992547409931.0", "90071992547409932.0")).toBe(false);
    expect(appVersionsCompatible("0.1", "00.9")).toBe(true);
  });
});
