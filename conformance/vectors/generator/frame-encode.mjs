// kind "frame-encode": exact bytes a sender writes for a list of events, or the local error.
import { buildFile, T } from "./file.mjs";
import { msg, ping, pong, close } from "./events.mjs";
import { cat, ctrlFrame, CTRL, dataFrame, fill, pattern, utf8hex, jcs } from "./util.mjs";

const E_TOO = "E_FRAME_TOO_LARGE";
const E_ICF = "E_INVALID_CONTROL_FRAME";

/** frame-encode test: events to send, expected bytes (of the events before any error) and error. */
const E = (comment, requirements, flags, events, hex, error = null) =>
  T(comment, requirements, flags, { events }, error ? "invalid" : "valid", { hex, error });
const G = (peerMaxFrameLength, features, tests) => ({ params: { peerMaxFrameLength, features }, tests });

// CLOSE body bytes are written out by hand below as the JCS text; check them against the helper.
const closeBytes = (text, code, reason) => {
  const obj = reason === undefined ? { code } : { code, reason };
  if (jcs(obj) !== text) throw new Error("hand-written JCS differs from helper: " + text);
  return ctrlFrame(CTRL.CLOSE, utf8hex(text));
};

export default function frameEncode() {
  const b1023 = pattern(1023, 5);
  const noCtl = [
    E("empty message: header 00000000 only", ["QWH-FRAME-003", "QWH-FRAME-002"], ["EmptyMessage"], [msg("")], "00000000"),
    E("message 'abc'", ["QWH-FRAME-001", "QWH-FRAME-002"], [], [msg("616263")], "00000003616263"),
    E(
      "two messages are two frames",
      ["QWH-FRAME-001", "QWH-FRAME-008"],
      ["MultiFrame"],
      [msg("01"), msg("0203")],
      cat("0000000101", "000000020203"),
    ),
    E("message of 256 bytes: header 00000100", ["QWH-FRAME-001"], ["Boundary"], [msg(pattern(256))], "00000100" + pattern(256)),
    E("message of 1000 bytes", ["QWH-FRAME-002"], [], [msg(fill(1000, 0x42))], "000003e8" + fill(1000, 0x42)),
    E(
      "message bytes are opaque: a payload that looks like a control frame",
      ["QWH-FRAME-011"],
      ["Opaque"],
      [msg("8000000101")],
      "000000058000000101",
    ),
    E("PING without control negotiated cannot be encoded", ["QWH-CTRL-001"], ["ControlBit"], [ping("")], "", E_ICF),
    E("PONG without control negotiated cannot be encoded", ["QWH-CTRL-001"], ["ControlBit"], [pong("01")], "", E_ICF),
    E("CLOSE without control negotiated cannot be encoded", ["QWH-CTRL-001"], ["ControlBit"], [close("E_NORMAL_CLOSE")], "", E_ICF),
    E(
      "message then PING without control: the message is written, then the error",
      ["QWH-CTRL-001", "QWH-FRAME-008"],
      ["ControlBit", "MultiFrame"],
      [msg("61"), ping("")],
      "0000000161",
      E_ICF,
    ),
  ];
  // A CLOSE whose body is exactly 1023 bytes (L = 1024) with a reason of at most 256 code points.
  const pre = '{"code":"E_NORMAL_CLOSE","reason":"';
  const post = '"}';
  const room = 1023 - pre.length - post.length; // bytes left for the reason
  const n4 = Math.ceil((room - 256) / 3); // astral characters needed to reach `room` bytes within 256 code points
  const fitReason = "\u{1f680}".repeat(n4) + "x".repeat(room - 4 * n4);
  if ([...fitReason].length > 256 || Buffer.byteLength(pre + fitReason + post) !== 1023) throw new Error("fitReason");
  const overReason = fitReason.slice(0, -1) + "\u00e9"; // one byte more, same code point count
  const ctl = [
    E("PING with empty body: 80000001 01", ["QWH-CTRL-001", "QWH-PING-001"], ["Boundary"], [ping("")], "8000000101"),
    E("PING with 2-byte body", ["QWH-CTRL-001"], [], [ping("abcd")], "8000000301abcd"),
    E("PING with 1023-byte body: header 80000400", ["QWH-CTRL-002"], ["Boundary", "ControlLength"], [ping(b1023)], "8000040001" + b1023),
    E(
      "PING with 1024-byte body cannot be encoded (L would be 1025)",
      ["QWH-CTRL-002"],
      ["Boundary", "ControlLength"],
      [ping(b1023 + "00")],
      "",
      E_ICF,
    ),
    E("PONG with empty body: 80000001 02", ["QWH-CTRL-001", "QWH-PING-001"], [], [pong("")], "8000000102"),
    E("PONG echoing a 4-byte body", ["QWH-PING-001"], [], [pong("01020304")], "800000050201020304"),
    E("PONG with 1023-byte body", ["QWH-CTRL-002", "QWH-PING-001"], ["Boundary"], [pong(b1023)], "8000040002" + b1023),
    E("PONG with 1024-byte body cannot be encoded", ["QWH-CTRL-002"], ["Boundary", "ControlLength"], [pong(b1023 + "ff")], "", E_ICF),
    E(
      "CLOSE with code only: body is the JCS form",
      ["QWH-CLOSE-001", "QWH-SIG-007"],
      ["Jcs"],
      [close("E_NORMAL_CLOSE")],
      closeBytes('{"code":"E_NORMAL_CLOSE"}', "E_NORMAL_CLOSE"),
    ),
    E(
      "CLOSE with code and reason: members sorted, no whitespace",
      ["QWH-CLOSE-001"],
      ["Jcs"],
      [close("E_GOING_AWAY", "restart")],
      closeBytes('{"code":"E_GOING_AWAY","reason":"restart"}', "E_GOING_AWAY", "restart"),
    ),
    E(
      "CLOSE with empty reason",
      ["QWH-CLOSE-001"],
      ["Jcs"],
      [close("E_NORMAL_CLOSE", "")],
      closeBytes('{"code":"E_NORMAL_CLOSE","reason":""}', "E_NORMAL_CLOSE", ""),
    ),
    E(
      "CLOSE reason escaping: quote, backslash, newline, U+0001, U+001F, tab; slash and DEL literal",
      ["QWH-CLOSE-001", "QWH-SIG-007"],
      ["Jcs"],
      [close("E_NORMAL_CLOSE", 'a"b\\c\nd\u0001\u001f\t/\u007f')],
      closeBytes(
        '{"code":"E_NORMAL_CLOSE","reason":"a\\"b\\\\c\\nd\\u0001\\u001f\\t/\u007f"}',
        "E_NORMAL_CLOSE",
        'a"b\\c\nd\u0001\u001f\t/\u007f',
      ),
    ),
    E(
      "CLOSE reason non-ASCII stays literal UTF-8 (e-acute, U+2028, emoji)",
      ["QWH-CLOSE-001", "QWH-SIG-007"],
      ["Jcs"],
      [close("E_NORMAL_CLOSE", "\u00e9\u2028\u{1f600}")],
      closeBytes('{"code":"E_NORMAL_CLOSE","reason":"\u00e9\u2028\u{1f600}"}', "E_NORMAL_CLOSE", "\u00e9\u2028\u{1f600}"),
    ),
    E(
      "CLOSE reason of 256 code points",
      ["QWH-CLOSE-001"],
      ["Boundary", "CodePoints"],
      [close("E_NORMAL_CLOSE", "z".repeat(256))],
      closeBytes(`{"code":"E_NORMAL_CLOSE","reason":"${"z".repeat(256)}"}`, "E_NORMAL_CLOSE", "z".repeat(256)),
    ),
    E(
      "CLOSE reason of 256 three-byte code points (body 804 bytes)",
      ["QWH-CLOSE-001"],
      ["Boundary", "CodePoints"],
      [close("E_NORMAL_CLOSE", "\u20ac".repeat(256))],
      closeBytes(`{"code":"E_NORMAL_CLOSE","reason":"${"\u20ac".repeat(256)}"}`, "E_NORMAL_CLOSE", "\u20ac".repeat(256)),
    ),
    E(
      `CLOSE body of exactly 1023 bytes (L = 1024; reason ${[...fitReason].length} code points)`,
      ["QWH-CTRL-002", "QWH-CLOSE-001"],
      ["Boundary", "ControlLength", "CodePoints"],
      [close("E_NORMAL_CLOSE", fitReason)],
      closeBytes(pre + fitReason + post, "E_NORMAL_CLOSE", fitReason),
    ),
    E(
      "CLOSE whose body would be 1024 bytes: the reason is shortened at a code-point boundary (last code point dropped, body 1022 bytes)",
      ["QWH-CTRL-002", "QWH-CLOSE-001"],
      ["Boundary", "ControlLength", "CodePoints"],
      [close("E_NORMAL_CLOSE", overReason)],
      closeBytes(pre + overReason.slice(0, -1) + post, "E_NORMAL_CLOSE", overReason.slice(0, -1)),
    ),
    E(
      "CLOSE reason of 256 astral code points (1024 bytes): shortened to 246 code points so the body fits in 1023 bytes",
      ["QWH-CTRL-002", "QWH-CLOSE-001"],
      ["ControlLength", "CodePoints"],
      [close("E_NORMAL_CLOSE", "\u{1f600}".repeat(256))],
      closeBytes(pre + "\u{1f600}".repeat(246) + post, "E_NORMAL_CLOSE", "\u{1f600}".repeat(246)),
    ),
    E(
      "CLOSE with an unknown but well-formed code",
      ["QWH-CLOSE-005"],
      ["ForwardCompat"],
      [close("E_FUTURE_CODE")],
      closeBytes('{"code":"E_FUTURE_CODE"}', "E_FUTURE_CODE"),
    ),
    E("data frames are byte-identical with control negotiated", ["QWH-CTRL-007"], [], [msg("616263"), msg("")], "0000000361626300000000"),
    E(
      "message, PING, message, PONG in order",
      ["QWH-CTRL-001", "QWH-FRAME-008"],
      ["MultiFrame"],
      [msg("61"), ping("01"), msg("62"), pong("01")],
      cat("0000000161", "800000020101", "0000000162", "800000020201"),
    ),
    E(
      "message after our own CLOSE is refused locally (E_CLOSED); the CLOSE was written",
      ["QWH-CLOSE-002"],
      ["StateAfterClose"],
      [close("E_NORMAL_CLOSE"), msg("61")],
      closeBytes('{"code":"E_NORMAL_CLOSE"}', "E_NORMAL_CLOSE"),
      "E_CLOSED",
    ),
    E(
      "PONG after our own CLOSE is still allowed",
      ["QWH-CLOSE-002", "QWH-PING-001"],
      ["StateAfterClose"],
      [close("E_NORMAL_CLOSE"), pong("aa")],
      closeBytes('{"code":"E_NORMAL_CLOSE"}', "E_NORMAL_CLOSE") + "80000002" + "02aa",
    ),
  ];
  const sizes = [];
  for (const M of [0, 1, 16, 1024]) {
    const g = [];
    const ok = (L) =>
      E(
        `message of ${L} bytes to a peer whose maximum is ${M}`,
        ["QWH-FRAME-007"],
        ["Boundary", "SenderLimit"],
        [msg(fill(L, 0x6d))],
        dataFrame(fill(L, 0x6d)),
      );
    const no = (L) =>
      E(
        `message of ${L} bytes to a peer whose maximum is ${M}: refused locally, nothing written`,
        ["QWH-FRAME-007"],
        ["Boundary", "SenderLimit"],
        [msg(fill(L, 0x6d))],
        "",
        E_TOO,
      );
    for (const L of [...new Set([0, M - 1, M].filter((x) => x >= 0))]) g.push(ok(L));
    g.push(no(M + 1));
    g.push(
      E(
        `message of ${M} bytes then one of ${M + 1} bytes: the first is written`,
        ["QWH-FRAME-007", "QWH-FRAME-008"],
        ["Boundary", "SenderLimit", "MultiFrame"],
        [msg(fill(M, 0x31)), msg(fill(M + 1, 0x32))],
        dataFrame(fill(M, 0x31)),
        E_TOO,
      ),
    );
    sizes.push(G(M, M === 0 || M === 1024 ? ["control"] : [], g));
  }
  sizes[0].tests.push(
    E(
      "peer maximum 0: PING with 1023-byte body is fine (control frames are not data)",
      ["QWH-CTRL-006"],
      ["Boundary"],
      [ping(b1023)],
      "8000040001" + b1023,
    ),
    E(
      "peer maximum 0: CLOSE is fine",
      ["QWH-CTRL-006", "QWH-CLOSE-001"],
      [],
      [close("E_NORMAL_CLOSE")],
      closeBytes('{"code":"E_NORMAL_CLOSE"}', "E_NORMAL_CLOSE"),
    ),
  );
  sizes.push(
    G(
      65535,
      [],
      [
        E(
          "peer maximum 65535: message of 65536 bytes refused",
          ["QWH-FRAME-007"],
          ["Boundary", "SenderLimit"],
          [msg(fill(65536, 0x00))],
          "",
          E_TOO,
        ),
        E(
          "peer maximum 65535: message of 300 bytes written",
          ["QWH-FRAME-007"],
          ["SenderLimit"],
          [msg(fill(300, 0x01))],
          dataFrame(fill(300, 0x01)),
        ),
      ],
    ),
  );
  // A reason over 256 code points: the CLOSE still goes, with the first 256 (QWH-CLOSE-011).
  const cut = (reason, keep) =>
    closeBytes(pre + [...reason].slice(0, keep).join("") + post, "E_NORMAL_CLOSE", [...reason].slice(0, keep).join(""));
  const long = [
    ["CLOSE reason of 257 code points: sent with the first 256", "r".repeat(257), 256],
    ["CLOSE reason of 1000 ASCII characters: sent with the first 256, not refused", pattern(500), 256],
    ["CLOSE reason of 300 two-byte code points (e-acute): sent with the first 256 (body 549 bytes)", "\u00e9".repeat(300), 256],
    ["CLOSE reason of 300 astral code points: the first 256 would not fit in 1023 bytes, so 246 are sent", "\u{1f600}".repeat(300), 246],
  ];
  sizes.push(
    G(
      4194304,
      ["control"],
      long.map(([comment, reason, keep]) =>
        E(
          comment,
          ["QWH-CLOSE-011", "QWH-CLOSE-001"],
          ["Boundary", "CodePoints", "CloseBody"],
          [close("E_NORMAL_CLOSE", reason)],
          cut(reason, keep),
        ),
      ),
    ),
  );
  return {
    "frame-encode": buildFile({
      kind: "frame-encode",
      description:
        'Sender side: the exact bytes for data and control events, CLOSE bodies in JCS form, and the local errors: E_FRAME_TOO_LARGE for a data message above the peer\'s maxFrameLength (nothing written), E_INVALID_CONTROL_FRAME for a control frame that cannot be encoded (no "control", PING/PONG body over 1023 bytes), E_CLOSED for a message after our own CLOSE. A CLOSE reason over 256 code points is sent with its first 256, and one too long for the 1024-byte control frame is shortened further at a code-point boundary (spec section 10.5). The failing event is always the last one; the bytes of the events before it are in "hex".',
      groups: [G(4194304, [], noCtl), G(4194304, ["control"], ctl), ...sizes],
    }),
  };
}
