// kind "frame-decode": the receiver pipeline, one file per concern.
// Expected events and errors are written from the rules of brief sections 1, 2 and 10.
import { buildFile } from "./file.mjs";
import { D, G, msg, ping, pong, close } from "./events.mjs";
import { cat, ctrlFrame, CTRL, dataFrame, fill, hdr, pattern, utf8hex } from "./util.mjs";
import { checkFrameDecode } from "./model-check.mjs";

const DEF = 4194304;
const MAXI = 2147483647;
const NOCTL = [];
const CTL = ["control"];
const E_TOO = "E_FRAME_TOO_LARGE";
const E_TRUNC = "E_TRUNCATED_FRAME";
const E_ICF = "E_INVALID_CONTROL_FRAME";
const E_HS = "E_HANDSHAKE_TOO_LARGE";

const check = (t, g) => checkFrameDecode(t, g);

// ------------------------------------------------------------------ basic
function basic() {
  const hello = utf8hex('{"type":"handshake","qwh":"1.0","features":[]}');
  const dataCases = (ctl) => {
    const R = ctl ? ["QWH-CTRL-007"] : [];
    const f = (fl) => fl;
    const out = [
      D("empty stream, ended: nothing happens", ["QWH-FRAME-008", ...R], f([]), "", true, []),
      D("empty stream, open: nothing happens", ["QWH-FRAME-008", ...R], f([]), "", false, []),
      D("L = 0: one empty message", ["QWH-FRAME-003", ...R], f(["EmptyMessage"]), dataFrame(""), true, [msg("")]),
      D(
        "L = 0, stream stays open: the empty message is complete and delivered",
        ["QWH-FRAME-003", ...R],
        f(["EmptyMessage"]),
        dataFrame(""),
        false,
        [msg("")],
      ),
      D("L = 1", ["QWH-FRAME-002", ...R], f([]), dataFrame("61"), true, [msg("61")]),
      D("L = 3 'abc'", ["QWH-FRAME-001", "QWH-FRAME-002", ...R], f([]), dataFrame("616263"), true, [msg("616263")]),
      D("L = 255, header 000000ff", ["QWH-FRAME-001", ...R], f(["Boundary"]), dataFrame(pattern(255)), true, [msg(pattern(255))]),
      D("L = 256, header 00000100: big-endian byte order", ["QWH-FRAME-001", ...R], f(["Boundary"]), dataFrame(pattern(256)), true, [
        msg(pattern(256)),
      ]),
      D("L = 257, header 00000101", ["QWH-FRAME-001", ...R], f(["Boundary"]), dataFrame(pattern(257, 7)), true, [msg(pattern(257, 7))]),
      D("L = 1000", ["QWH-FRAME-002", ...R], f([]), dataFrame(fill(1000, 0x5a)), true, [msg(fill(1000, 0x5a))]),
      D("L = 4096, header 00001000", ["QWH-FRAME-001", ...R], f([]), dataFrame(pattern(4096, 3)), true, [msg(pattern(4096, 3))]),
      ...(ctl
        ? []
        : [
            D("L = 65536, header 00010000 (third header byte)", ["QWH-FRAME-001"], ["Boundary"], dataFrame(fill(65536, 0x00)), true, [
              msg(fill(65536, 0x00)),
            ]),
          ]),
      D("two frames in one stream", ["QWH-FRAME-008", ...R], f(["MultiFrame"]), cat(dataFrame("61"), dataFrame("6263")), true, [
        msg("61"),
        msg("6263"),
      ]),
      D(
        "three frames, the middle one empty",
        ["QWH-FRAME-008", "QWH-FRAME-003", ...R],
        f(["MultiFrame", "EmptyMessage"]),
        cat(dataFrame("01"), dataFrame(""), dataFrame("0203")),
        true,
        [msg("01"), msg(""), msg("0203")],
      ),
      D(
        "ten empty frames: ten empty messages",
        ["QWH-FRAME-003", "QWH-FRAME-008", ...R],
        f(["MultiFrame", "EmptyMessage"]),
        dataFrame("").repeat(10),
        true,
        Array(10).fill(msg("")),
      ),
      D(
        "100 one-byte frames 00..63 in one stream",
        ["QWH-FRAME-008", ...R],
        f(["MultiFrame"]),
        Array.from({ length: 100 }, (_, i) => dataFrame(pattern(1, i))).join(""),
        true,
        Array.from({ length: 100 }, (_, i) => msg(pattern(1, i))),
      ),
      D(
        "frames of sizes 0, 1, 255, 256, 2 back to back",
        ["QWH-FRAME-008", ...R],
        f(["MultiFrame"]),
        cat(dataFrame(""), dataFrame("ff"), dataFrame(pattern(255, 1)), dataFrame(pattern(256, 2)), dataFrame("0000")),
        true,
        [msg(""), msg("ff"), msg(pattern(255, 1)), msg(pattern(256, 2)), msg("0000")],
      ),
      D(
        "payload that looks like an empty-frame header 00000000 is one 4-byte message",
        ["QWH-FRAME-011", ...R],
        f(["Opaque"]),
        dataFrame("00000000"),
        true,
        [msg("00000000")],
      ),
      D(
        "payload that looks like a complete frame is one message",
        ["QWH-FRAME-011", ...R],
        f(["Opaque"]),
        dataFrame(dataFrame("616263")),
        true,
        [msg(dataFrame("616263"))],
      ),
      D("payload ffffffff (looks like a huge header) is data", ["QWH-FRAME-011", ...R], f(["Opaque"]), dataFrame("ffffffff"), true, [
        msg("ffffffff"),
      ]),
      D(
        "payload 8000000101 (looks like a PING control frame) is data",
        ["QWH-FRAME-011", ...R],
        f(["Opaque"]),
        dataFrame(ctrlFrame(CTRL.PING)),
        true,
        [msg(ctrlFrame(CTRL.PING))],
      ),
      D("payload of invalid UTF-8 (c0 af ff) is delivered byte-exact", ["QWH-FRAME-011", ...R], f(["Opaque"]), dataFrame("c0afff"), true, [
        msg("c0afff"),
      ]),
      D("payload of NUL bytes", ["QWH-FRAME-011", ...R], f(["Opaque"]), dataFrame("000000"), true, [msg("000000")]),
      D("payload with all 256 byte values", ["QWH-FRAME-011", ...R], f(["Opaque"]), dataFrame(pattern(256)), true, [msg(pattern(256))]),
      D(
        "payload that is a hello after the handshake is an ordinary message",
        ["QWH-FRAME-011", "QWH-STATE-004", ...R],
        f(["Opaque"]),
        dataFrame(hello),
        true,
        [msg(hello)],
      ),
      D(
        "UTF-8 text payload with an astral character",
        ["QWH-FRAME-011", ...R],
        f(["Opaque"]),
        dataFrame(utf8hex("h\u00e9llo \u{1f600}")),
        true,
        [msg(utf8hex("h\u00e9llo \u{1f600}"))],
      ),
    ];
    return out;
  };
  return buildFile({
    kind: "frame-decode",
    description:
      'Data frames after the handshake: header = 4-byte big-endian length, payload delivered byte-exact, several frames per stream. The second group repeats every case with "control" negotiated: data frames decode identically (QWH-CTRL-007).',
    groups: [G("open", DEF, NOCTL, dataCases(false)), G("open", DEF, CTL, dataCases(true))],
    check,
  });
}

// ------------------------------------------------------------------ limits
function limits() {
  const groups = [];
  for (const M of [0, 1, 16, 1024, 65535, DEF, MAXI]) {
    const tests = [];
    const Ls = [...new Set([0, 1, M - 1, M, M + 1].filter((L) => L >= 0))].sort((a, b) => a - b);
    for (const L of Ls) {
      const tag = L === M + 1 ? "max+1" : L === M ? "max" : L === M - 1 ? "max-1" : String(L);
      if (L <= M) {
        if (L <= 1024) {
          const p = pattern(L, 0x41);
          tests.push(
            D(
              `L = ${L} (${tag}) with maxFrameLength ${M}: delivered`,
              ["QWH-FRAME-004", "QWH-FRAME-006"],
              ["Boundary"],
              dataFrame(p),
              true,
              [msg(p)],
            ),
          );
        } else {
          tests.push(
            D(
              `L = ${L} (${tag}) with maxFrameLength ${M}, header only, stream open: allowed, pending`,
              ["QWH-FRAME-004", "QWH-FRAME-006"],
              ["Boundary", "PartialFrame"],
              hdr(L),
              false,
              [],
            ),
          );
          tests.push(
            D(
              `L = ${L} (${tag}) with maxFrameLength ${M}, header and 3 payload bytes, stream open: pending`,
              ["QWH-FRAME-004", "QWH-FRAME-006"],
              ["Boundary", "PartialFrame"],
              hdr(L) + "010203",
              false,
              [],
            ),
          );
        }
      } else {
        const flags = L >= 0x80000000 ? ["Boundary", "LengthBeforeBuffer", "SignedHeader"] : ["Boundary", "LengthBeforeBuffer"];
        const reqs = L >= 0x80000000 ? ["QWH-FRAME-004", "QWH-FRAME-005", "QWH-FRAME-010"] : ["QWH-FRAME-004", "QWH-FRAME-005"];
        tests.push(
          D(
            `L = ${L} (${tag}) with maxFrameLength ${M}, header only, stream open: refused on the header`,
            reqs,
            flags,
            hdr(L),
            false,
            [],
            E_TOO,
          ),
        );
        tests.push(
          D(
            `L = ${L} (${tag}) with maxFrameLength ${M}, header only, stream ended: E_FRAME_TOO_LARGE, not E_TRUNCATED_FRAME`,
            reqs,
            flags,
            hdr(L),
            true,
            [],
            E_TOO,
          ),
        );
        tests.push(
          D(`L = ${L} (${tag}) with maxFrameLength ${M}, header and 1 payload byte: refused`, reqs, flags, hdr(L) + "00", false, [], E_TOO),
        );
        if (L <= 1025)
          tests.push(
            D(
              `L = ${L} (${tag}) with maxFrameLength ${M}, complete frame: still refused`,
              reqs,
              flags,
              dataFrame(pattern(L)),
              true,
              [],
              E_TOO,
            ),
          );
        tests.push(
          D(
            `valid frame then L = ${L} (${tag}): the first message is delivered before the error`,
            [...reqs, "QWH-FRAME-008"],
            [...flags, "MultiFrame"],
            dataFrame("") + hdr(L),
            false,
            [msg("")],
            E_TOO,
          ),
        );
        tests.push(
          D(
            `L = ${L} (${tag}) then a valid frame: nothing after the error is delivered`,
            reqs,
            flags,
            hdr(L) + dataFrame(""),
            true,
            [],
            E_TOO,
          ),
        );
      }
    }
    groups.push(G("open", M, NOCTL, tests));
  }
  // Named headers around 2^22, 2^31 and 2^32 with the default maximum.
  const H = (h, what, err, flags, reqs = ["QWH-FRAME-004", "QWH-FRAME-005"]) =>
    D(`header ${hdr(h)} (${what}) with maxFrameLength ${DEF}${err ? "" : ", stream open: pending"}`, reqs, flags, hdr(h), false, [], err);
  groups.push(
    G("open", DEF, NOCTL, [
      H(0x00400000, "L = 4194304 = default maximum", null, ["Boundary", "PartialFrame"], ["QWH-FRAME-006"]),
      D(
        "header 00400000 and 16 payload bytes, stream open: pending",
        ["QWH-FRAME-006"],
        ["Boundary", "PartialFrame"],
        hdr(0x00400000) + pattern(16),
        false,
        [],
      ),
      H(0x00400001, "L = 4194305", E_TOO, ["Boundary", "LengthBeforeBuffer"]),
      H(0x003fffff, "L = 4194303", null, ["Boundary", "PartialFrame"], ["QWH-FRAME-006"]),
      H(0x01000000, "L = 2^24", E_TOO, ["LengthBeforeBuffer"]),
      H(0x7fffffff, "L = 2^31-1", E_TOO, ["LengthBeforeBuffer", "SignedHeader"]),
      H(
        0x80000000,
        "bit 31 set, L = 2^31 without control",
        E_TOO,
        ["LengthBeforeBuffer", "SignedHeader", "ControlBit"],
        ["QWH-FRAME-005", "QWH-FRAME-010"],
      ),
      H(
        0x80000001,
        "bit 31 set, would be a control header with control",
        E_TOO,
        ["LengthBeforeBuffer", "SignedHeader", "ControlBit"],
        ["QWH-FRAME-005", "QWH-FRAME-010"],
      ),
      H(
        0x80000400,
        "bit 31 set, L & 0x7fffffff = 1024",
        E_TOO,
        ["LengthBeforeBuffer", "SignedHeader", "ControlBit"],
        ["QWH-FRAME-005", "QWH-FRAME-010"],
      ),
      H(0xfffffffe, "2^32-2", E_TOO, ["LengthBeforeBuffer", "SignedHeader"], ["QWH-FRAME-005", "QWH-FRAME-010"]),
      H(0xffffffff, "2^32-1, -1 as signed", E_TOO, ["LengthBeforeBuffer", "SignedHeader"], ["QWH-FRAME-005", "QWH-FRAME-010"]),
      D(
        "header ffffffff, stream ended right after it: E_FRAME_TOO_LARGE",
        ["QWH-FRAME-005", "QWH-FRAME-010"],
        ["LengthBeforeBuffer", "SignedHeader"],
        hdr(0xffffffff),
        true,
        [],
        E_TOO,
      ),
      D(
        "two messages then header 80000000: both messages delivered first",
        ["QWH-FRAME-008", "QWH-FRAME-010"],
        ["MultiFrame", "SignedHeader"],
        cat(dataFrame("61"), dataFrame("62"), hdr(0x80000000)),
        false,
        [msg("61"), msg("62")],
        E_TOO,
      ),
    ]),
    G("open", MAXI, NOCTL, [
      H(0x7fffffff, "L = 2^31-1 with maximum 2^31-1", null, ["Boundary", "PartialFrame", "SignedHeader"], ["QWH-FRAME-006"]),
      D(
        "header 7fffffff with maximum 2^31-1 and 5 payload bytes, open: pending",
        ["QWH-FRAME-006"],
        ["Boundary", "PartialFrame", "SignedHeader"],
        hdr(0x7fffffff) + pattern(5),
        false,
        [],
      ),
      D(
        "header 7fffffff with maximum 2^31-1, stream ended: E_TRUNCATED_FRAME",
        ["QWH-FRAME-009"],
        ["Boundary", "Truncation", "SignedHeader"],
        hdr(0x7fffffff) + pattern(5),
        true,
        [],
        E_TRUNC,
      ),
      D(
        "header 80000005 with maximum 2^31-1, no control: bit 31 is length, 2^31+5 > max",
        ["QWH-FRAME-010"],
        ["LengthBeforeBuffer", "SignedHeader", "ControlBit"],
        hdr(0x80000005),
        false,
        [],
        E_TOO,
      ),
      D(
        "header ffffffff with maximum 2^31-1, no control",
        ["QWH-FRAME-010"],
        ["LengthBeforeBuffer", "SignedHeader"],
        hdr(0xffffffff),
        false,
        [],
        E_TOO,
      ),
    ]),
    G("open", MAXI, CTL, [
      D(
        "with control and maximum 2^31-1: header 7fffffff is still a data header, pending",
        ["QWH-FRAME-006", "QWH-CTRL-001"],
        ["Boundary", "PartialFrame", "ControlBit"],
        hdr(0x7fffffff),
        false,
        [],
      ),
      D(
        "with control: header 80000000 is a control header with L = 0",
        ["QWH-CTRL-002"],
        ["LengthBeforeBuffer", "ControlBit", "ControlLength"],
        hdr(0x80000000),
        false,
        [],
        E_ICF,
      ),
      D(
        "with control: header ffffffff is a control header with L = 2^31-1 > 1024",
        ["QWH-CTRL-002"],
        ["LengthBeforeBuffer", "ControlBit", "ControlLength", "SignedHeader"],
        hdr(0xffffffff),
        false,
        [],
        E_ICF,
      ),
    ]),
  );
  return buildFile({
    kind: "frame-decode",
    description:
      'Frame length limits: L = 0, 1, max-1, max, max+1 for maxima 0, 1, 16, 1024, 65535, 4194304 (default) and 2147483647, and headers near 2^22, 2^31 and 2^32. An oversized header fails with E_FRAME_TOO_LARGE as soon as its 4 bytes are in, whether or not payload follows; large valid frames are given with a few payload bytes and "end": false (valid, pending).',
    groups,
    check,
  });
}

// ------------------------------------------------------------------ truncation
function truncation() {
  const tests = [];
  const fr = dataFrame("6162636465"); // 9 bytes
  for (let n = 1; n < 9; n++) {
    const where =
      n < 4 ? `${n} header byte${n > 1 ? "s" : ""}` : n === 4 ? "complete header, no payload" : `header and ${n - 4} of 5 payload bytes`;
    tests.push(D(`stream ends after ${where}`, ["QWH-FRAME-009"], ["Truncation"], fr.slice(0, 2 * n), true, [], E_TRUNC));
    tests.push(D(`stream open after ${where}: pending`, ["QWH-FRAME-008"], ["PartialFrame"], fr.slice(0, 2 * n), false, []));
  }
  tests.push(D("stream ends exactly after a complete frame: no error", ["QWH-FRAME-009"], [], fr, true, [msg("6162636465")]));
  const first = dataFrame("78"); // 5 bytes
  const second = dataFrame("010203040506"); // 10 bytes
  for (const n of [1, 2, 3, 4, 5, 9]) {
    const where =
      n < 4 ? `${n} header byte${n > 1 ? "s" : ""}` : n === 4 ? "its complete header" : `its header and ${n - 4} of 6 payload bytes`;
    tests.push(
      D(
        `complete frame, then the stream ends after ${where} of the next`,
        ["QWH-FRAME-009", "QWH-FRAME-008"],
        ["Truncation", "MultiFrame"],
        first + second.slice(0, 2 * n),
        true,
        [msg("78")],
        E_TRUNC,
      ),
    );
    tests.push(
      D(
        `complete frame, then ${where} of the next, stream open: first delivered, second pending`,
        ["QWH-FRAME-008"],
        ["PartialFrame", "MultiFrame"],
        first + second.slice(0, 2 * n),
        false,
        [msg("78")],
      ),
    );
  }
  tests.push(
    D(
      "empty frame, then 1 byte of the next header, ended",
      ["QWH-FRAME-009", "QWH-FRAME-003"],
      ["Truncation", "EmptyMessage"],
      dataFrame("") + "00",
      true,
      [msg("")],
      E_TRUNC,
    ),
    D(
      "header 00000000 is complete on its own: ended stream is not truncated",
      ["QWH-FRAME-003", "QWH-FRAME-009"],
      ["EmptyMessage"],
      "00000000",
      true,
      [msg("")],
    ),
    D("header 00000001 with no payload, ended", ["QWH-FRAME-009"], ["Truncation"], "00000001", true, [], E_TRUNC),
    D(
      "header of 1000 bytes and 999 payload bytes, ended",
      ["QWH-FRAME-009"],
      ["Truncation", "Boundary"],
      hdr(1000) + fill(999, 0x33),
      true,
      [],
      E_TRUNC,
    ),
    D(
      "header of 1000 bytes and 999 payload bytes, open: pending",
      ["QWH-FRAME-008"],
      ["PartialFrame", "Boundary"],
      hdr(1000) + fill(999, 0x33),
      false,
      [],
    ),
    D("header of 4194304 bytes and 10 payload bytes, ended", ["QWH-FRAME-009"], ["Truncation"], hdr(DEF) + pattern(10), true, [], E_TRUNC),
    D(
      "three frames then 2 header bytes, ended: three messages then the error",
      ["QWH-FRAME-009", "QWH-FRAME-008"],
      ["Truncation", "MultiFrame"],
      cat(dataFrame("01"), dataFrame("0202"), dataFrame("030303"), "0000"),
      true,
      [msg("01"), msg("0202"), msg("030303")],
      E_TRUNC,
    ),
    D("1 header byte 00, ended", ["QWH-FRAME-009"], ["Truncation"], "00", true, [], E_TRUNC),
    D(
      "3 header bytes ffffff, ended: truncated (the header is incomplete, no length to check)",
      ["QWH-FRAME-009"],
      ["Truncation", "SignedHeader"],
      "ffffff",
      true,
      [],
      E_TRUNC,
    ),
    D(
      "3 header bytes ffffff, open: pending (the length is not known yet)",
      ["QWH-FRAME-004"],
      ["PartialFrame", "LengthBeforeBuffer"],
      "ffffff",
      false,
      [],
    ),
    D("3 header bytes 004000 (prefix of the 4 MiB header), open: pending", ["QWH-FRAME-004"], ["PartialFrame"], "004000", false, []),
  );
  const ctl = [
    D("control: 1 byte of a PING header, ended", ["QWH-FRAME-009", "QWH-CTRL-001"], ["Truncation", "ControlBit"], "80", true, [], E_TRUNC),
    D("control: 3 bytes of a PING header, open: pending", ["QWH-CTRL-001"], ["PartialFrame", "ControlBit"], "800000", false, []),
    D(
      "control: PING header, no type byte, ended",
      ["QWH-FRAME-009", "QWH-CTRL-001"],
      ["Truncation", "ControlBit"],
      hdr(0x80000003),
      true,
      [],
      E_TRUNC,
    ),
    D(
      "control: PING header and type byte, body missing 1 byte, ended",
      ["QWH-FRAME-009", "QWH-CTRL-001"],
      ["Truncation", "ControlBit"],
      ctrlFrame(CTRL.PING, "aabb").slice(0, -2),
      true,
      [],
      E_TRUNC,
    ),
    D(
      "control: PING header and type byte, body missing 1 byte, open: pending",
      ["QWH-CTRL-001"],
      ["PartialFrame", "ControlBit"],
      ctrlFrame(CTRL.PING, "aabb").slice(0, -2),
      false,
      [],
    ),
    D(
      "control: complete PING, then a partial data frame, ended",
      ["QWH-FRAME-009", "QWH-PING-001"],
      ["Truncation", "MultiFrame"],
      ctrlFrame(CTRL.PING, "aa") + "0000000261",
      true,
      [ping("aa")],
      E_TRUNC,
    ),
    D(
      "control: data frame, then a CLOSE missing its last byte, ended: the CLOSE is not processed",
      ["QWH-FRAME-009", "QWH-CLOSE-001"],
      ["Truncation", "MultiFrame"],
      dataFrame("61") + ctrlFrame(CTRL.CLOSE, utf8hex('{"code":"E_NORMAL_CLOSE"}')).slice(0, -2),
      true,
      [msg("61")],
      E_TRUNC,
    ),
    D(
      "control: data frame, then a CLOSE missing its last byte, open: pending",
      ["QWH-FRAME-008", "QWH-CLOSE-001"],
      ["PartialFrame", "MultiFrame"],
      dataFrame("61") + ctrlFrame(CTRL.CLOSE, utf8hex('{"code":"E_NORMAL_CLOSE"}')).slice(0, -2),
      false,
      [msg("61")],
    ),
    D(
      "control: header 80000400 (L = 1024) and 100 bytes, ended",
      ["QWH-FRAME-009", "QWH-CTRL-002"],
      ["Truncation", "Boundary"],
      hdr(0x80000400) + "01" + fill(99, 0x70),
      true,
      [],
      E_TRUNC,
    ),
    D(
      "control: header 80000400 (L = 1024) and 100 bytes, open: pending",
      ["QWH-CTRL-002"],
      ["PartialFrame", "Boundary"],
      hdr(0x80000400) + "01" + fill(99, 0x70),
      false,
      [],
    ),
  ];
  return buildFile({
    kind: "frame-decode",
    description:
      'End of stream at every offset class: inside the header (1, 2, 3 bytes), after the header, inside the payload, and the same after complete frames. "end": true gives E_TRUNCATED_FRAME after the complete frames\' events; "end": false leaves the partial frame pending with no event and no error.',
    groups: [G("open", DEF, NOCTL, tests), G("open", DEF, CTL, ctl)],
    check,
  });
}

// ------------------------------------------------------------------ control
function control() {
  const P = (b) => ctrlFrame(CTRL.PING, b);
  const Q = (b) => ctrlFrame(CTRL.PONG, b);
  const C = (s) => ctrlFrame(CTRL.CLOSE, utf8hex(s));
  const b1023 = pattern(1023, 9);
  const t = [
    D("PING with empty body (L = 1)", ["QWH-CTRL-001", "QWH-PING-001"], ["Boundary"], P(""), true, [ping("")]),
    D("PING with 1-byte body", ["QWH-CTRL-001", "QWH-PING-001"], [], P("00"), true, [ping("00")]),
    D("PING with 8-byte body", ["QWH-CTRL-001", "QWH-PING-001"], [], P(pattern(8)), true, [ping(pattern(8))]),
    D("PING with 1023-byte body (L = 1024, the maximum)", ["QWH-CTRL-002", "QWH-PING-001"], ["Boundary", "ControlLength"], P(b1023), true, [
      ping(b1023),
    ]),
    D("PING with 1022-byte body (L = 1023)", ["QWH-CTRL-002", "QWH-PING-001"], ["Boundary", "ControlLength"], P(b1023.slice(2)), true, [
      ping(b1023.slice(2)),
    ]),
    D(
      "header for a 1024-byte PING body (L = 1025): error on the header alone",
      ["QWH-CTRL-002"],
      ["Boundary", "ControlLength", "LengthBeforeBuffer"],
      hdr(0x80000401),
      false,
      [],
      E_ICF,
    ),
    D(
      "L = 1025 control frame complete: still E_INVALID_CONTROL_FRAME",
      ["QWH-CTRL-002"],
      ["Boundary", "ControlLength"],
      hdr(0x80000401) + "01" + fill(1024, 0x00),
      true,
      [],
      E_ICF,
    ),
    D(
      "control header L = 0 (80000000): error on the header",
      ["QWH-CTRL-002"],
      ["Boundary", "ControlLength", "LengthBeforeBuffer"],
      hdr(0x80000000),
      false,
      [],
      E_ICF,
    ),
    D(
      "control header L = 0 followed by bytes",
      ["QWH-CTRL-002"],
      ["Boundary", "ControlLength"],
      hdr(0x80000000) + "01" + dataFrame(""),
      true,
      [],
      E_ICF,
    ),
    D(
      "control header L = 0, stream ended right after: E_INVALID_CONTROL_FRAME, not truncation",
      ["QWH-CTRL-002"],
      ["ControlLength", "LengthBeforeBuffer"],
      hdr(0x80000000),
      true,
      [],
      E_ICF,
    ),
    D(
      "control header L = 65536: error on the header",
      ["QWH-CTRL-002"],
      ["ControlLength", "LengthBeforeBuffer"],
      hdr(0x80010000),
      false,
      [],
      E_ICF,
    ),
    D(
      "control header ffffffff: L = 2^31-1 > 1024",
      ["QWH-CTRL-002"],
      ["ControlLength", "LengthBeforeBuffer", "SignedHeader"],
      hdr(0xffffffff),
      false,
      [],
      E_ICF,
    ),
    D(
      "control header 80000400 (L = 1024) alone, open: pending",
      ["QWH-CTRL-002"],
      ["Boundary", "PartialFrame"],
      hdr(0x80000400),
      false,
      [],
    ),
    D("PONG with empty body", ["QWH-CTRL-001", "QWH-PING-002"], [], Q(""), true, [pong("")]),
    D(
      "PONG with 4-byte body (unsolicited at the codec level: reported, the connection ignores it)",
      ["QWH-CTRL-001", "QWH-PING-002"],
      [],
      Q("01020304"),
      true,
      [pong("01020304")],
    ),
    D("PONG with 1023-byte body", ["QWH-CTRL-002", "QWH-PING-002"], ["Boundary"], Q(b1023), true, [pong(b1023)]),
    D("CLOSE with code only", ["QWH-CTRL-001", "QWH-CLOSE-001"], [], C('{"code":"E_NORMAL_CLOSE"}'), true, [close("E_NORMAL_CLOSE")]),
    D("CLOSE with code and reason", ["QWH-CTRL-001", "QWH-CLOSE-001"], [], C('{"code":"E_GOING_AWAY","reason":"restart"}'), true, [
      close("E_GOING_AWAY", "restart"),
    ]),
    D(
      "data, PING, data, PONG, data interleaved",
      ["QWH-FRAME-008", "QWH-CTRL-006"],
      ["MultiFrame"],
      cat(dataFrame("61"), P("aa"), dataFrame("62"), Q("bb"), dataFrame("63")),
      true,
      [msg("61"), ping("aa"), msg("62"), pong("bb"), msg("63")],
    ),
    D("control frames are never messages: PING body that looks like a data frame", ["QWH-CTRL-006"], ["Opaque"], P(dataFrame("61")), true, [
      ping(dataFrame("61")),
    ]),
    D(
      "data frame whose payload starts with 0x01 stays a message with control negotiated",
      ["QWH-CTRL-007"],
      ["Opaque"],
      dataFrame("0161"),
      true,
      [msg("0161")],
    ),
  ];
  const crit = [0x00, 0x04, 0x05, 0x0f, 0x12, 0x40, 0x7e, 0x7f];
  for (const ty of crit) {
    const tyh = ty.toString(16).padStart(2, "0");
    t.push(
      D(`unknown critical control type 0x${tyh} with empty body`, ["QWH-CTRL-003"], ["UnknownControlType"], ctrlFrame(ty), true, [], E_ICF),
    );
  }
  t.push(
    D(
      "unknown critical type 0x04 with body, after a message: message delivered first",
      ["QWH-CTRL-003"],
      ["UnknownControlType", "MultiFrame"],
      dataFrame("61") + ctrlFrame(0x04, "0102"),
      true,
      [msg("61")],
      E_ICF,
    ),
    D(
      "type 0x00 (reserved, invalid) followed by a PING: error first",
      ["QWH-CTRL-003"],
      ["UnknownControlType"],
      ctrlFrame(0x00, "00") + P(""),
      true,
      [],
      E_ICF,
    ),
  );
  for (const ty of [0x10, 0x11]) {
    const name = ty === 0x10 ? "RESUME" : "ACK";
    t.push(
      D(`${name} (0x${ty.toString(16)}) without "resume" negotiated`, ["QWH-CTRL-005"], ["ReservedResume"], ctrlFrame(ty), true, [], E_ICF),
      D(
        `${name} (0x${ty.toString(16)}) with an 8-byte body, after a PING`,
        ["QWH-CTRL-005"],
        ["ReservedResume", "MultiFrame"],
        P("") + ctrlFrame(ty, pattern(8)),
        true,
        [ping("")],
        E_ICF,
      ),
    );
  }
  for (const ty of [0x80, 0x81, 0xc0, 0xfe, 0xff]) {
    const tyh = ty.toString(16);
    t.push(
      D(
        `unknown ignorable type 0x${tyh} with empty body: no event`,
        ["QWH-CTRL-004"],
        ["UnknownControlType", "ForwardCompat"],
        ctrlFrame(ty),
        true,
        [],
      ),
    );
  }
  t.push(
    D(
      "ignorable type 0x80 with a 1023-byte body between two messages",
      ["QWH-CTRL-004"],
      ["UnknownControlType", "ForwardCompat", "Boundary"],
      cat(dataFrame("61"), ctrlFrame(0x80, b1023), dataFrame("62")),
      true,
      [msg("61"), msg("62")],
    ),
    D(
      "ignorable type 0xff whose body looks like a CLOSE: ignored, data after it is fine",
      ["QWH-CTRL-004"],
      ["UnknownControlType", "ForwardCompat"],
      ctrlFrame(0xff, utf8hex('{"code":"E_NORMAL_CLOSE"}')) + dataFrame("61"),
      true,
      [msg("61")],
    ),
    D(
      "three ignorable frames then a PING",
      ["QWH-CTRL-004"],
      ["UnknownControlType", "MultiFrame"],
      cat(ctrlFrame(0x90), ctrlFrame(0xa0, "00"), ctrlFrame(0xef, "0000"), P("01")),
      true,
      [ping("01")],
    ),
  );
  // CTRL-006: control frames do not count against maxFrameLength.
  const zero = [
    D("maxFrameLength 0: PING with a 1023-byte body is allowed", ["QWH-CTRL-006"], ["Boundary"], P(b1023), true, [ping(b1023)]),
    D(
      "maxFrameLength 0: empty data frame allowed, PONG allowed",
      ["QWH-CTRL-006", "QWH-FRAME-003"],
      ["EmptyMessage"],
      dataFrame("") + Q("01"),
      true,
      [msg(""), pong("01")],
    ),
    D("maxFrameLength 0: CLOSE allowed", ["QWH-CTRL-006", "QWH-CLOSE-001"], [], C('{"code":"E_NORMAL_CLOSE"}'), true, [
      close("E_NORMAL_CLOSE"),
    ]),
    D(
      "maxFrameLength 0: 1-byte data frame refused after a PING",
      ["QWH-CTRL-006", "QWH-FRAME-005"],
      ["Boundary", "LengthBeforeBuffer"],
      P("") + hdr(1),
      false,
      [ping("")],
      E_TOO,
    ),
  ];
  // Same bytes without control: bit 31 is part of the length.
  const sameBytes = [
    ["PING with empty body", P("")],
    ["PING with 1023-byte body", P(b1023)],
    ["PONG", Q("01")],
    ["CLOSE", C('{"code":"E_NORMAL_CLOSE"}')],
    ["ignorable type 0x80", ctrlFrame(0x80)],
    ["control header L = 0", hdr(0x80000000)],
  ];
  const noCtl = sameBytes.map(([what, bytes]) =>
    D(
      `no control negotiated: bytes of a ${what} are a data header with L >= 2^31`,
      ["QWH-FRAME-010", "QWH-CTRL-001"],
      ["ControlBit", "SignedHeader", "LengthBeforeBuffer"],
      bytes,
      true,
      [],
      E_TOO,
    ),
  );
  noCtl.push(
    D(
      "no control negotiated: message then PING bytes, message delivered first",
      ["QWH-FRAME-010", "QWH-FRAME-008"],
      ["ControlBit", "MultiFrame"],
      dataFrame("61") + P("aa"),
      true,
      [msg("61")],
      E_TOO,
    ),
  );
  const noCtlMax = sameBytes
    .slice(0, 3)
    .map(([what, bytes]) =>
      D(
        `no control, maxFrameLength 2^31-1: bytes of a ${what} are still too large`,
        ["QWH-FRAME-010"],
        ["ControlBit", "SignedHeader", "Boundary"],
        bytes,
        true,
        [],
        E_TOO,
      ),
    );
  return buildFile({
    kind: "frame-decode",
    description:
      'Control frames with "control" negotiated: PING/PONG bodies 0..1023 bytes, control L checked on the header (1..1024), critical unknown types 0x00-0x7f and reserved 0x10/0x11 fail, ignorable 0x80-0xff produce no event, control frames outside maxFrameLength; and the same bytes without "control", where bit 31 is part of the length.',
    groups: [G("open", DEF, CTL, t), G("open", 0, CTL, zero), G("open", DEF, NOCTL, noCtl), G("open", MAXI, NOCTL, noCtlMax)],
    check,
  });
}

// ------------------------------------------------------------------ close
function closeFile() {
  const C = (s) => ctrlFrame(CTRL.CLOSE, utf8hex(s));
  const Cb = (h) => ctrlFrame(CTRL.CLOSE, h);
  const ok = (comment, s, ev, flags = [], reqs = ["QWH-CLOSE-001"]) => D(comment, reqs, flags, C(s), true, [ev]);
  const bad = (comment, bodyHex, flags, reqs = ["QWH-CLOSE-001"]) => D(comment, reqs, flags, Cb(bodyHex), true, [], E_ICF);
  const badS = (comment, s, flags, reqs) => bad(comment, utf8hex(s), flags, reqs);
  const a256 = "r".repeat(256);
  const e256 = "\u00e9".repeat(256); // 2-byte UTF-8
  const k256 = "\u20ac".repeat(256); // 3-byte UTF-8: 768 bytes
  const k257 = "\u20ac".repeat(257);
  const astral200 = "\u{1f600}".repeat(200); // 200 code points, 400 UTF-16 units, 800 bytes
  const tests = [
    ok("code only", '{"code":"E_NORMAL_CLOSE"}', close("E_NORMAL_CLOSE")),
    ok("code and reason", '{"code":"E_NORMAL_CLOSE","reason":"bye"}', close("E_NORMAL_CLOSE", "bye")),
    ok("reason before code (member order is free)", '{"reason":"bye","code":"E_GOING_AWAY"}', close("E_GOING_AWAY", "bye")),
    ok("empty reason", '{"code":"E_NORMAL_CLOSE","reason":""}', close("E_NORMAL_CLOSE", "")),
    ok("whitespace as JSON allows", ' {\n\t"code" : "E_IDLE_TIMEOUT" ,\r\n "reason":"idle" } ', close("E_IDLE_TIMEOUT", "idle"), [
      "StrictJson",
    ]),
    ok(
      "unknown code accepted (forward compatible)",
      '{"code":"E_SOMETHING_FROM_1_7"}',
      close("E_SOMETHING_FROM_1_7"),
      ["ForwardCompat"],
      ["QWH-CLOSE-005"],
    ),
    ok(
      "code with 62 characters after E_ (longest)",
      `{"code":"E_${"A".repeat(62)}"}`,
      close(`E_${"A".repeat(62)}`),
      ["Boundary", "Pattern"],
      ["QWH-CLOSE-001", "QWH-CLOSE-005"],
    ),
    ok("code E_1 (one digit after E_)", '{"code":"E_1"}', close("E_1"), ["Boundary", "Pattern"], ["QWH-CLOSE-001", "QWH-CLOSE-005"]),
    ok("unknown member ignored", '{"code":"E_NORMAL_CLOSE","retryAfterMs":1000,"x":{"y":[true,null]}}', close("E_NORMAL_CLOSE"), [
      "ForwardCompat",
    ]),
    ok("reason of 256 ASCII code points", JSON.stringify({ code: "E_NORMAL_CLOSE", reason: a256 }), close("E_NORMAL_CLOSE", a256), [
      "Boundary",
      "CodePoints",
    ]),
    ok(
      "reason of 256 two-byte code points (512 bytes)",
      JSON.stringify({ code: "E_NORMAL_CLOSE", reason: e256 }),
      close("E_NORMAL_CLOSE", e256),
      ["Boundary", "CodePoints"],
    ),
    ok(
      "reason of 256 three-byte code points (768 bytes)",
      JSON.stringify({ code: "E_NORMAL_CLOSE", reason: k256 }),
      close("E_NORMAL_CLOSE", k256),
      ["Boundary", "CodePoints"],
    ),
    ok(
      "reason of 200 astral code points (400 UTF-16 units, 800 bytes): counted as 200",
      JSON.stringify({ code: "E_NORMAL_CLOSE", reason: astral200 }),
      close("E_NORMAL_CLOSE", astral200),
      ["CodePoints"],
    ),
    ok(
      "reason with escapes \\n \\u00e9 \\ud83d\\ude00",
      '{"code":"E_NORMAL_CLOSE","reason":"a\\nb\\u00e9\\ud83d\\ude00"}',
      close("E_NORMAL_CLOSE", "a\nb\u00e9\u{1f600}"),
    ),
    badS("reason of 257 ASCII code points", JSON.stringify({ code: "E_NORMAL_CLOSE", reason: "r".repeat(257) }), [
      "Boundary",
      "CodePoints",
      "CloseBody",
    ]),
    badS("reason of 257 three-byte code points (771 bytes)", JSON.stringify({ code: "E_NORMAL_CLOSE", reason: k257 }), [
      "Boundary",
      "CodePoints",
      "CloseBody",
    ]),
    badS("reason of 257 two-byte code points", JSON.stringify({ code: "E_NORMAL_CLOSE", reason: "\u00e9".repeat(257) }), [
      "Boundary",
      "CodePoints",
      "CloseBody",
    ]),
    bad("empty body (L = 1): not JSON", "", ["CloseBody", "StrictJson"]),
    badS("body is a JSON array", '["E_NORMAL_CLOSE"]', ["CloseBody", "StrictJson"]),
    badS("body is a JSON string", '"E_NORMAL_CLOSE"', ["CloseBody", "StrictJson"]),
    badS("body is null", "null", ["CloseBody", "StrictJson"]),
    badS("body is plain text", "E_NORMAL_CLOSE", ["CloseBody", "StrictJson"]),
    badS("missing code", '{"reason":"bye"}', ["CloseBody", "MissingMember"]),
    badS("empty object", "{}", ["CloseBody", "MissingMember"]),
    badS("code in lowercase", '{"code":"e_normal_close"}', ["CloseBody", "Pattern"]),
    badS("code E_ with nothing after it", '{"code":"E_"}', ["CloseBody", "Pattern", "Boundary"]),
    badS("code with 63 characters after E_", `{"code":"E_${"A".repeat(63)}"}`, ["CloseBody", "Pattern", "Boundary"]),
    badS("code without the E_ prefix", '{"code":"NORMAL_CLOSE"}', ["CloseBody", "Pattern"]),
    badS("code with a hyphen", '{"code":"E_NORMAL-CLOSE"}', ["CloseBody", "Pattern"]),
    badS("code is a number", '{"code":1000}', ["CloseBody", "WrongType"]),
    badS("code is null", '{"code":null}', ["CloseBody", "WrongType"]),
    badS("reason is a number", '{"code":"E_NORMAL_CLOSE","reason":1}', ["CloseBody", "WrongType"]),
    badS("reason is null", '{"code":"E_NORMAL_CLOSE","reason":null}', ["CloseBody", "WrongType"]),
    badS("duplicate member code", '{"code":"E_NORMAL_CLOSE","code":"E_GOING_AWAY"}', ["CloseBody", "DuplicateNames"]),
    badS("duplicate member reason with identical values", '{"code":"E_NORMAL_CLOSE","reason":"a","reason":"a"}', [
      "CloseBody",
      "DuplicateNames",
    ]),
    badS("duplicate member written with an escape (\\u0063ode)", '{"code":"E_NORMAL_CLOSE","\\u0063ode":"E_NORMAL_CLOSE"}', [
      "CloseBody",
      "DuplicateNames",
    ]),
    badS("float in an unknown member", '{"code":"E_NORMAL_CLOSE","retryAfter":1.5}', ["CloseBody", "NumberFormat"]),
    badS("1.0 in an unknown member", '{"code":"E_NORMAL_CLOSE","n":1.0}', ["CloseBody", "NumberFormat"]),
    badS("exponent 1e3 in an unknown member", '{"code":"E_NORMAL_CLOSE","n":1e3}', ["CloseBody", "NumberFormat"]),
    badS("-0 in an unknown member", '{"code":"E_NORMAL_CLOSE","n":-0}', ["CloseBody", "NumberFormat"]),
    badS("2^53 in an unknown member", '{"code":"E_NORMAL_CLOSE","n":9007199254740992}', ["CloseBody", "NumberFormat", "Boundary"]),
    bad("invalid UTF-8 in reason (lone continuation byte 80)", cat(utf8hex('{"code":"E_NORMAL_CLOSE","reason":"'), "80", utf8hex('"}')), [
      "CloseBody",
      "InvalidUtf8",
    ]),
    bad("invalid UTF-8 in reason (overlong c1 81)", cat(utf8hex('{"code":"E_NORMAL_CLOSE","reason":"'), "c181", utf8hex('"}')), [
      "CloseBody",
      "InvalidUtf8",
    ]),
    bad("UTF-8 BOM before the object", "efbbbf" + utf8hex('{"code":"E_NORMAL_CLOSE"}'), ["CloseBody", "StrictJson"]),
    badS("lone surrogate escape in reason", '{"code":"E_NORMAL_CLOSE","reason":"\\ud800"}', ["CloseBody", "LoneSurrogate"]),
    badS("trailing garbage after the object", '{"code":"E_NORMAL_CLOSE"}x', ["CloseBody", "StrictJson"]),
    badS("two objects", '{"code":"E_NORMAL_CLOSE"}{"code":"E_NORMAL_CLOSE"}', ["CloseBody", "StrictJson"]),
    badS("trailing comma", '{"code":"E_NORMAL_CLOSE",}', ["CloseBody", "StrictJson"]),
  ];
  const N = C('{"code":"E_NORMAL_CLOSE"}');
  const state = [
    D(
      "messages before CLOSE are delivered, in order",
      ["QWH-CLOSE-003", "QWH-FRAME-008"],
      ["MultiFrame"],
      cat(dataFrame("61"), dataFrame("62"), N),
      true,
      [msg("61"), msg("62"), close("E_NORMAL_CLOSE")],
    ),
    D(
      "data frame after CLOSE: E_PROTOCOL_ERROR",
      ["QWH-CLOSE-004"],
      ["StateAfterClose"],
      N + dataFrame("61"),
      true,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "empty data frame after CLOSE: E_PROTOCOL_ERROR",
      ["QWH-CLOSE-004"],
      ["StateAfterClose", "EmptyMessage"],
      N + dataFrame(""),
      true,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "data header after CLOSE with no payload yet, open: error on the header",
      ["QWH-CLOSE-004"],
      ["StateAfterClose", "LengthBeforeBuffer"],
      N + hdr(5),
      false,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D("PING after CLOSE is allowed", ["QWH-CLOSE-002", "QWH-PING-001"], ["StateAfterClose"], N + ctrlFrame(CTRL.PING, "01"), true, [
      close("E_NORMAL_CLOSE"),
      ping("01"),
    ]),
    D("PONG after CLOSE is allowed", ["QWH-CLOSE-002", "QWH-PING-002"], ["StateAfterClose"], N + ctrlFrame(CTRL.PONG, "01"), true, [
      close("E_NORMAL_CLOSE"),
      pong("01"),
    ]),
    D(
      "ignorable control after CLOSE: no event, no error",
      ["QWH-CTRL-004", "QWH-CLOSE-004"],
      ["StateAfterClose", "UnknownControlType"],
      N + ctrlFrame(0x80),
      true,
      [close("E_NORMAL_CLOSE")],
    ),
    D(
      "PING after CLOSE then data: E_PROTOCOL_ERROR after the ping event",
      ["QWH-CLOSE-004"],
      ["StateAfterClose", "MultiFrame"],
      N + ctrlFrame(CTRL.PING, "") + dataFrame("61"),
      true,
      [close("E_NORMAL_CLOSE"), ping("")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "second CLOSE: E_PROTOCOL_ERROR",
      ["QWH-CLOSE-004"],
      ["StateAfterClose"],
      N + C('{"code":"E_GOING_AWAY"}'),
      true,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D("CLOSE then end of stream: clean", ["QWH-CLOSE-003"], [], N, true, [close("E_NORMAL_CLOSE")]),
    D(
      "CLOSE then a partial control header, ended: E_TRUNCATED_FRAME",
      ["QWH-FRAME-009"],
      ["StateAfterClose", "Truncation"],
      N + "8000",
      true,
      [close("E_NORMAL_CLOSE")],
      E_TRUNC,
    ),
    // The header alone decides a data frame after CLOSE: E_PROTOCOL_ERROR before the length check and before truncation (QWH-CLOSE-012).
    D(
      "data header 7fffffff (beyond every maximum) after CLOSE, open: E_PROTOCOL_ERROR, not E_FRAME_TOO_LARGE",
      ["QWH-CLOSE-012", "QWH-CLOSE-004"],
      ["StateAfterClose", "LengthBeforeBuffer", "CheckOrder"],
      N + hdr(MAXI),
      false,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "data header 7fffffff after CLOSE, stream ended: E_PROTOCOL_ERROR",
      ["QWH-CLOSE-012", "QWH-CLOSE-004"],
      ["StateAfterClose", "LengthBeforeBuffer", "CheckOrder"],
      N + hdr(MAXI),
      true,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "data header after CLOSE, stream ended right after the header: E_PROTOCOL_ERROR, not E_TRUNCATED_FRAME",
      ["QWH-CLOSE-012", "QWH-CLOSE-004"],
      ["StateAfterClose", "LengthBeforeBuffer", "CheckOrder"],
      N + hdr(5),
      true,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "data header after CLOSE, 2 of its 5 payload bytes, stream ended: E_PROTOCOL_ERROR, not E_TRUNCATED_FRAME",
      ["QWH-CLOSE-012", "QWH-CLOSE-004"],
      ["StateAfterClose", "CheckOrder"],
      N + hdr(5) + "6162",
      true,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "CLOSE then 2 bytes of a data header, open: pending (the header decides only once complete)",
      ["QWH-CLOSE-012", "QWH-FRAME-008"],
      ["StateAfterClose", "PartialFrame"],
      N + "0000",
      false,
      [close("E_NORMAL_CLOSE")],
    ),
    D(
      "CLOSE then 3 bytes of a data header, ended: E_TRUNCATED_FRAME (the header never completed)",
      ["QWH-CLOSE-012", "QWH-FRAME-009"],
      ["StateAfterClose", "Truncation"],
      N + "000005",
      true,
      [close("E_NORMAL_CLOSE")],
      E_TRUNC,
    ),
  ];
  const N16 = [
    D(
      "maximum 16: data header 00000011 after CLOSE: E_PROTOCOL_ERROR, not E_FRAME_TOO_LARGE",
      ["QWH-CLOSE-012", "QWH-CLOSE-004"],
      ["StateAfterClose", "LengthBeforeBuffer", "CheckOrder", "Boundary"],
      N + hdr(17),
      false,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "maximum 16: data header 00000010 after CLOSE: E_PROTOCOL_ERROR (a length within the maximum changes nothing)",
      ["QWH-CLOSE-012", "QWH-CLOSE-004"],
      ["StateAfterClose", "LengthBeforeBuffer", "Boundary"],
      N + hdr(16),
      false,
      [close("E_NORMAL_CLOSE")],
      "E_PROTOCOL_ERROR",
    ),
    D(
      "maximum 16: a 17-byte data frame before CLOSE is E_FRAME_TOO_LARGE as usual",
      ["QWH-FRAME-005"],
      ["Boundary", "LengthBeforeBuffer"],
      hdr(17) + N,
      false,
      [],
      E_TOO,
    ),
  ];
  return buildFile({
    kind: "frame-decode",
    description:
      'CLOSE (type 0x03): the body is a strict-JSON object with "code" (^E_[A-Z0-9_]{1,62}$, unknown codes accepted) and optional "reason" (string of at most 256 code points); unknown members are ignored; anything else is E_INVALID_CONTROL_FRAME. After a received CLOSE, data frames are E_PROTOCOL_ERROR, decided on their complete header whatever the length (before E_FRAME_TOO_LARGE and E_TRUNCATED_FRAME), while control frames are still processed.',
    groups: [G("open", DEF, CTL, tests), G("open", DEF, CTL, state), G("open", 16, CTL, N16)],
    check,
  });
}

// ------------------------------------------------------------------ handshake phase
function handshake() {
  const hello = utf8hex('{"type":"handshake","qwh":"1.0","features":["control"]}');
  const big = pattern(16384, 0x20);
  const a = [
    D(
      "hello frame in the handshake phase: its payload is handed over as one frame",
      ["QWH-HELLO-001", "QWH-FRAME-002"],
      [],
      dataFrame(hello),
      true,
      [msg(hello)],
    ),
    D(
      "L = 0 is a complete frame at the framing layer (the hello layer then rejects it)",
      ["QWH-FRAME-003", "QWH-HELLO-010"],
      ["EmptyMessage"],
      dataFrame(""),
      false,
      [msg("")],
    ),
    D("L = 16384 complete: allowed", ["QWH-HELLO-010"], ["Boundary", "HandshakeLimit"], dataFrame(big), true, [msg(big)]),
    D("L = 16383 complete: allowed", ["QWH-HELLO-010"], ["Boundary", "HandshakeLimit"], dataFrame(big.slice(2)), true, [msg(big.slice(2))]),
    D("L = 16384 header only, open: pending", ["QWH-HELLO-010"], ["Boundary", "HandshakeLimit", "PartialFrame"], hdr(16384), false, []),
    D(
      "L = 16385 header only, open: E_HANDSHAKE_TOO_LARGE on the header",
      ["QWH-HELLO-010", "QWH-FRAME-004"],
      ["Boundary", "HandshakeLimit", "LengthBeforeBuffer"],
      hdr(16385),
      false,
      [],
      E_HS,
    ),
    D(
      "L = 16385 header only, ended: E_HANDSHAKE_TOO_LARGE, not truncation",
      ["QWH-HELLO-010", "QWH-FRAME-004"],
      ["Boundary", "HandshakeLimit", "LengthBeforeBuffer"],
      hdr(16385),
      true,
      [],
      E_HS,
    ),
    D(
      "L = 16385 with 10 payload bytes",
      ["QWH-HELLO-010"],
      ["Boundary", "HandshakeLimit", "LengthBeforeBuffer"],
      hdr(16385) + pattern(10),
      false,
      [],
      E_HS,
    ),
    D("L = 65536", ["QWH-HELLO-010"], ["HandshakeLimit", "LengthBeforeBuffer"], hdr(65536), false, [], E_HS),
    D(
      "L = 4194304 (the data default does not apply)",
      ["QWH-HELLO-010"],
      ["HandshakeLimit", "LengthBeforeBuffer"],
      hdr(DEF),
      false,
      [],
      E_HS,
    ),
    D("header 7fffffff", ["QWH-HELLO-010"], ["HandshakeLimit", "LengthBeforeBuffer", "SignedHeader"], hdr(0x7fffffff), false, [], E_HS),
    D(
      "header 80000005: bit 31 is not a control bit in the handshake phase",
      ["QWH-HELLO-010", "QWH-FRAME-010"],
      ["HandshakeLimit", "LengthBeforeBuffer", "SignedHeader", "ControlBit"],
      hdr(0x80000005),
      false,
      [],
      E_HS,
    ),
    D(
      "bytes of a PING control frame as first frame",
      ["QWH-HELLO-010", "QWH-FRAME-010"],
      ["HandshakeLimit", "ControlBit", "SignedHeader"],
      ctrlFrame(CTRL.PING, ""),
      true,
      [],
      E_HS,
    ),
    D("header ffffffff", ["QWH-HELLO-010"], ["HandshakeLimit", "LengthBeforeBuffer", "SignedHeader"], hdr(0xffffffff), true, [], E_HS),
    D("hello truncated in the payload, ended", ["QWH-FRAME-009"], ["Truncation"], dataFrame(hello).slice(0, -4), true, [], E_TRUNC),
    D("hello truncated in the payload, open: pending", ["QWH-FRAME-008"], ["PartialFrame"], dataFrame(hello).slice(0, -4), false, []),
    D("2 header bytes, ended", ["QWH-FRAME-009"], ["Truncation"], "0000", true, [], E_TRUNC),
    D("3 header bytes, open: pending", ["QWH-FRAME-008"], ["PartialFrame"], "000040", false, []),
    D("nothing received, ended", ["QWH-FRAME-009"], [], "", true, []),
  ];
  const b = [
    D(
      "maxFrameLength 0 is ignored in the handshake phase: 100-byte frame allowed",
      ["QWH-HELLO-010"],
      ["HandshakeLimit"],
      dataFrame(fill(100, 0x7b)),
      true,
      [msg(fill(100, 0x7b))],
    ),
    D(
      "maxFrameLength 0 ignored: L = 16384 header, open: pending",
      ["QWH-HELLO-010"],
      ["HandshakeLimit", "Boundary", "PartialFrame"],
      hdr(16384),
      false,
      [],
    ),
    D(
      "control feature not in effect during the handshake: 80000001 is L = 2^31+1",
      ["QWH-HELLO-010", "QWH-FRAME-010"],
      ["HandshakeLimit", "ControlBit", "SignedHeader"],
      hdr(0x80000001),
      false,
      [],
      E_HS,
    ),
    D(
      "L = 16385 with maxFrameLength 0",
      ["QWH-HELLO-010"],
      ["HandshakeLimit", "Boundary", "LengthBeforeBuffer"],
      hdr(16385),
      false,
      [],
      E_HS,
    ),
  ];
  const c = [
    D(
      "maxFrameLength 2^31-1 is ignored in the handshake phase: L = 16385 refused",
      ["QWH-HELLO-010"],
      ["HandshakeLimit", "Boundary", "LengthBeforeBuffer"],
      hdr(16385),
      false,
      [],
      E_HS,
    ),
    D(
      "maxFrameLength 2^31-1 ignored: L = 1048576 refused",
      ["QWH-HELLO-010"],
      ["HandshakeLimit", "LengthBeforeBuffer"],
      hdr(1048576),
      false,
      [],
      E_HS,
    ),
  ];
  return buildFile({
    kind: "frame-decode",
    description:
      'The first frame of a connection (phase "handshake": the server reading the hello, the client reading the accept/reject). The limit is 16384 payload bytes whatever maxFrameLength says, checked on the header (E_HANDSHAKE_TOO_LARGE), and bit 31 is part of the length. Each stream holds at most this one frame; its payload is reported as a message event for the handshake layer.',
    groups: [G("handshake", DEF, NOCTL, a), G("handshake", 0, CTL, b), G("handshake", MAXI, NOCTL, c)],
    check,
  });
}

export default function frameDecode() {
  return {
    "frame-decode-basic": basic(),
    "frame-decode-limits": limits(),
    "frame-decode-truncation": truncation(),
    "frame-decode-control": control(),
    "frame-decode-close": closeFile(),
    "frame-decode-handshake": handshake(),
  };
}
