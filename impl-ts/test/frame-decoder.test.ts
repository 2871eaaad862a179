import { describe, expect, it } from "vitest";
import { FrameDecoder, FrameEncoder, ProtocolError, type FrameSink } from "../src/protocol/index.js";

function collector() {
  const messages: Buffer[] = [];
  const controls: Buffer[] = [];
  const raw: Buffer[] = [];
  const sink: FrameSink = {
    onMessage: (p) => messages.push(p),
    onControl: (p) => controls.push(p),
    onRaw: (c) => raw.push(c),
  };
  return { sink, messages, controls, raw };
}

const frame = (payload: string) => {
  const p = Buffer.from(payload);
  const h = Buffer.alloc(4);
  h.writeUInt32BE(p.length);
  return Buffer.concat([h, p]);
};

describe("FrameDecoder", () => {
  it("delivers a frame inside one chunk as a view of that chunk (QWH-FRAME-002)", () => {
    const c = collector();
    const chunk = Buffer.concat([frame("hello"), frame("")]);
    new FrameDecoder(c.sink).push(chunk);
    expect(c.messages.map((m) => m.toString())).toEqual(["hello", ""]);
    expect(c.messages[0]!.buffer).toBe(chunk.buffer);
  });

  it("raises E_FRAME_TOO_LARGE on the header, before any payload arrives (QWH-FRAME-004, QWH-FRAME-005)", () => {
    const c = collector();
    const d = new FrameDecoder(c.sink, { maxFrameLength: 10, control: false });
    expect(() => d.push(Buffer.from("0000000b", "hex"))).toThrowError(expect.objectContaining({ code: "E_FRAME_TOO_LARGE" }));
    expect(d.bufferedBytes).toBe(0);
    // a failed decoder stays failed
    expect(() => d.push(frame("x"))).toThrow(ProtocolError);
  });

  it("keeps a split header and payload pending until complete (QWH-FRAME-008)", () => {
    const c = collector();
    const d = new FrameDecoder(c.sink);
    const bytes = frame("split me");
    for (const b of bytes) d.push(Buffer.from([b]));
    expect(c.messages.map((m) => m.toString())).toEqual(["split me"]);
    expect(d.idle).toBe(true);
  });

  it("reports E_TRUNCATED_FRAME when the stream ends inside a frame (QWH-FRAME-009)", () => {
    const c = collector();
    const d = new FrameDecoder(c.sink);
    d.push(frame("abc").subarray(0, 5));
    expect(() => d.end()).toThrowError(expect.objectContaining({ code: "E_TRUNCATED_FRAME" }));
    expect(c.messages).toEqual([]);
  });

  it("treats bit 31 as a length without the control feature and as a control frame with it (QWH-FRAME-010, QWH-CTRL-001)", () => {
    const ping = Buffer.from("800000020161", "hex");
    expect(() => new FrameDecoder(collector().sink).push(ping)).toThrowError(expect.objectContaining({ code: "E_FRAME_TOO_LARGE" }));
    const c = collector();
    new FrameDecoder(c.sink, { maxFrameLength: 100, control: true }).push(ping);
    expect(c.controls.map((b) => b.toString("hex"))).toEqual(["0161"]);
  });

  it("uses E_HANDSHAKE_TOO_LARGE while handshaking (QWH-HELLO-010)", () => {
    const d = new FrameDecoder(collector().sink, { maxFrameLength: 16384, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" });
    expect(() => d.push(Buffer.from("00004001", "hex"))).toThrowError(expect.objectContaining({ code: "E_HANDSHAKE_TOO_LARGE" }));
  });

  it("hands the rest of a chunk to onRaw after switchToRaw inside a callback (QWH-RAW-001)", () => {
    const c = collector();
    const d = new FrameDecoder({
      ...c.sink,
      onMessage: (p) => {
        c.messages.push(p);
        d.switchToRaw();
      },
    });
    d.push(Buffer.concat([frame("accept"), Buffer.from("raw bytes")]));
    d.push(Buffer.from("more"));
    expect(c.messages.map((m) => m.toString())).toEqual(["accept"]);
    expect(Buffer.concat(c.raw).toString()).toBe("raw bytesmore");
  });

  it("applies new limits from the next header, even inside the same chunk", () => {
    const c = collector();
    const d = new FrameDecoder(
      {
        ...c.sink,
        onMessage: (p) => {
          c.messages.push(p);
          d.setLimits({ maxFrameLength: 2, control: false });
        },
      },
      { maxFrameLength: 100, control: false },
    );
    expect(() => d.push(Buffer.concat([frame("hello"), frame("abc")]))).toThrowError(
      expect.objectContaining({ code: "E_FRAME_TOO_LARGE" }),
    );
    expect(c.messages.length).toBe(1);
  });
});

describe("FrameEncoder", () => {
  it("batches small frames into one buffer and references large payloads", () => {
    const e = new FrameEncoder({ copyThreshold: 1024 });
    e.addData(Buffer.from("a"));
    e.addText("bc");
    const big = Buffer.alloc(2048, 7);
    e.addData(big);
    e.addData(Buffer.from("z"));
    const parts = e.take();
    expect(parts.length).toBe(3);
    expect(parts[1]).toBe(big);
    expect(Buffer.concat(parts).toString("hex")).toBe("0000000161" + "000000026263" + "00000800" + big.toString("hex") + "000000017a");
    expect(e.pendingBytes).toBe(0);
  });

  it("never rewrites a region it handed out", () => {
    const e = new FrameEncoder({ slabSize: 64 });
    e.addData(Buffer.from("first"));
    const taken = e.take()[0]!;
    const copy = Buffer.from(taken);
    for (let i = 0; i < 50; i++) e.addData(Buffer.from("overwrite?"));
    e.take();
    expect(taken.equals(copy)).toBe(true);
  });

  it("releases its slab only when no frame is being written into it, losing nothing", () => {
    const e = new FrameEncoder();
    e.addData(Buffer.from("kept"));
    e.releaseSlab(); // "kept" is still in the open region: the slab stays
    e.addData(Buffer.from("more"));
    const first = e.take();
    e.releaseSlab(); // everything taken: the slab goes, the taken views stay valid
    e.addData(Buffer.from("next"));
    const second = e.take();
    expect(Buffer.concat(first).toString()).toBe("\0\0\0\x04kept\0\0\0\x04more");
    expect(Buffer.concat(second).toString()).toBe("\0\0\0\x04next");
    expect(second[0]!.buffer).not.toBe(first[0]!.buffer);
  });

  it("refuses a message over the peer's maximum without writing anything (QWH-FRAME-007)", () => {
    const e = new FrameEncoder({ peerMaxFrameLength: 3 });
    e.addData(Buffer.from("abc"));
    expect(() => e.addData(Buffer.from("abcd"))).toThrowError(expect.objectContaining({ code: "E_FRAME_TOO_LARGE" }));
    expect(() => e.addText("abcd")).toThrowError(expect.objectContaining({ code: "E_FRAME_TOO_LARGE" }));
    expect(e.takeBuffer().toString("hex")).toBe("00000003616263");
  });
});

describe("payload views", () => {
  it("are real Buffers sharing the chunk's memory", async () => {
    const { viewOf } = await import("../src/protocol/buffer-view.js");
    const chunk = Buffer.from("..hello world..");
    const v = viewOf(chunk, 2, 13);
    expect(Buffer.isBuffer(v)).toBe(true);
    expect(v).toBeInstanceOf(Buffer);
    expect(v.constructor).toBe(Buffer);
    expect(v.toString()).toBe("hello world");
    expect(v.subarray(6).toString()).toBe("world");
    expect(Buffer.isBuffer(v.subarray(6))).toBe(true);
    expect(v.equals(Buffer.from("hello world"))).toBe(true);
    expect(Buffer.concat([v, v]).length).toBe(22);
    expect(v.toJSON()).toEqual(Buffer.from("hello world").toJSON());
    chunk[2] = 0x48;
    expect(v.toString()).toBe("Hello world");
  });
});
