// frame: the 4-byte header, the receive maximum checked on the header, chunking and truncation.
import * as L from "../lib.mjs";
const {
  mk,
  open,
  clientOpen,
  send,
  sendSlowly,
  expectData,
  expectBytes,
  ctrlClose,
  silentClose,
  silence,
  closeWrite,
  wait,
  frame,
  textFrame,
  hdr,
  pattern,
  utf8,
  hello,
  acceptFrame,
} = L;

const A = "frame";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const cli = (name, o) => mk(A, "client", name, { config: C(), ...o });

// Messages echoed back unchanged (server) or mirrored (client): payload, requirement ids, title.
const OPAQUE = [
  ["empty-message", "", ["QWH-FRAME-003", "QWH-FRAME-001"], "an empty data frame (00000000) is a valid empty message"],
  ["two-byte-message", utf8("hi"), ["QWH-FRAME-001", "QWH-FRAME-002"], 'the message "hi" (00000002 6869) is delivered'],
  ["opaque-all-byte-values", pattern(256), ["QWH-FRAME-011"], "a payload holding every byte value 00..ff is delivered byte-exact"],
  ["opaque-invalid-utf8", "c0afeda080f5fffe", ["QWH-FRAME-011"], "a payload that is not UTF-8 is delivered unchanged (no transcoding)"],
  ["opaque-bom-kept", "efbbbf6869", ["QWH-FRAME-011"], "a leading UTF-8 byte order mark is not stripped"],
  ["opaque-whitespace-kept", utf8(" hi \n\t") + "00", ["QWH-FRAME-011"], "leading and trailing whitespace and a NUL byte are not trimmed"],
  [
    "opaque-hello-json-not-interpreted",
    utf8(JSON.stringify(hello(["control"]))),
    ["QWH-FRAME-011"],
    "a message that looks like a hello, sent after the handshake, is just a message",
  ],
  [
    "opaque-legacy-ping-message",
    utf8('{"type":"ping","ts":1.5}'),
    ["QWH-FRAME-011"],
    '0.3\'s heartbeat message {"type":"ping"} is an ordinary message (floats and all)',
  ],
];

const server = [];
const client = [];
for (const [name, payload, reqs, title] of OPAQUE) {
  server.push(srv(name, { title, reqs, steps: [...open(), send(frame(payload)), expectData(payload)] }));
  client.push(cli(name, { title, reqs, steps: [...clientOpen(), send(frame(payload)), expectData(payload)] }));
}

// Chunking: the same frames, split in different ways.
const three = [frame(""), textFrame("a"), textFrame("bcd")];
const threeEcho = three.join("");
const CHUNKED = [
  ["three-frames-one-write", "three frames in one write are three messages, in order", (s) => [send(s)]],
  ["byte-by-byte", "three frames sent one byte at a time are decoded the same", (s) => [sendSlowly(s, 5)]],
  ["chunks-of-2", "frames sent in 2-byte pieces (headers split in the middle)", (s) => [sendSlowly(s, 5, 2)]],
  ["chunks-of-3", "frames sent in 3-byte pieces (headers split unevenly)", (s) => [sendSlowly(s, 5, 3)]],
  ["chunks-of-5", "frames sent in 5-byte pieces (one frame's end and the next header in one piece)", (s) => [sendSlowly(s, 5, 5)]],
  ["chunks-of-7", "frames sent in 7-byte pieces", (s) => [sendSlowly(s, 5, 7)]],
  ["header-split-with-pause", "a header split 1+3 with a pause in between", (s) => [send(s.slice(0, 2)), wait(80), send(s.slice(2))]],
  [
    "payload-split-with-pause",
    "a payload split with a pause in between does not fail",
    (s) => [send(s.slice(0, s.length - 4)), wait(80), send(s.slice(s.length - 4))],
  ],
];
for (const [name, title, how] of CHUNKED) {
  server.push(srv(name, { title, reqs: ["QWH-FRAME-008"], steps: [...open(), ...how(threeEcho), expectBytes(threeEcho)] }));
  client.push(cli(name, { title, reqs: ["QWH-FRAME-008"], steps: [...clientOpen(), ...how(threeEcho), expectBytes(threeEcho)] }));
}
{
  const many = Array.from({ length: 64 }, (_, i) => frame(pattern(i % 5, i))).join("");
  server.push(
    srv("sixty-four-frames-one-write", {
      title: "64 small frames (0..4 bytes) in one write are delivered in order",
      reqs: ["QWH-FRAME-008", "QWH-FRAME-003"],
      steps: [...open(), send(many), expectBytes(many)],
    }),
  );
  client.push(
    cli("sixty-four-frames-one-write", {
      title: "64 small frames (0..4 bytes) in one write are delivered in order",
      reqs: ["QWH-FRAME-008", "QWH-FRAME-003"],
      steps: [...clientOpen(), send(many), expectBytes(many)],
    }),
  );
}
server.push(
  srv("message-above-handshake-limit", {
    title: "after the handshake a 20000-byte message is fine (the handshake limit no longer applies)",
    reqs: ["QWH-FRAME-002", "QWH-FRAME-011"],
    steps: [...open(), send(frame(pattern(20000, 7))), expectData(pattern(20000, 7), 3000)],
  }),
);
client.push(
  cli("message-above-handshake-limit", {
    title: "after the accept a 20000-byte message is fine (the handshake limit no longer applies)",
    reqs: ["QWH-FRAME-002", "QWH-FRAME-011"],
    steps: [...clientOpen(), send(frame(pattern(20000, 7))), expectData(pattern(20000, 7), 3000)],
  }),
);

// The receive maximum, checked on the header. Server: maximum from config; client: announced.
const MAXED = [
  // name, max, bytes sent after open, title, reqs, with echo of a first valid frame?
  [
    "over-max-by-one-header-only",
    16,
    hdr(17),
    "maximum 16: the header 00000011 alone fails with E_FRAME_TOO_LARGE (no payload sent)",
    ["QWH-FRAME-004", "QWH-FRAME-005"],
  ],
  [
    "over-max-by-one-with-payload",
    16,
    frame(pattern(17)),
    "maximum 16: a complete 17-byte frame fails with E_FRAME_TOO_LARGE",
    ["QWH-FRAME-005"],
  ],
  [
    "over-default-max-header-only",
    undefined,
    hdr(L.DEFAULT_MAX + 1),
    "default maximum 4194304: the header 00400001 alone fails at once",
    ["QWH-FRAME-004", "QWH-FRAME-005", "QWH-FRAME-006"],
  ],
  [
    "over-max-7fffffff-header-only",
    undefined,
    hdr(0x7fffffff),
    "the header 7fffffff fails at once, nothing is buffered",
    ["QWH-FRAME-004", "QWH-FRAME-005"],
  ],
  ["over-max-zero", 0, hdr(1) + "61", "maximum 0: a 1-byte frame fails with E_FRAME_TOO_LARGE", ["QWH-FRAME-005", "QWH-FRAME-006"]],
  [
    "over-max-after-valid-frame",
    16,
    frame(pattern(16)) + hdr(17),
    "maximum 16: a 16-byte frame is delivered, the 17-byte header after it in the same write fails",
    ["QWH-FRAME-005", "QWH-FRAME-008"],
  ],
];
for (const [name, max, bytes, title, reqs] of MAXED) {
  const cfgS = S(max === undefined ? {} : { maxFrameLength: max });
  const cfgC = C(max === undefined ? {} : { maxFrameLength: max });
  const echo = name === "over-max-after-valid-frame" ? [expectData(pattern(16))] : [];
  const acc = max === undefined ? {} : { maxFrameLength: max };
  server.push(
    srv(name, {
      title,
      reqs,
      config: cfgS,
      steps: [...open(["control"], { acceptJson: acc }), send(bytes), ...echo, ctrlClose("E_FRAME_TOO_LARGE")],
    }),
  );
  client.push(
    cli(name, {
      title,
      reqs: max === undefined ? reqs : [...reqs, "QWH-HELLO-017"],
      config: cfgC,
      steps: [...clientOpen(["control"], { helloJson: acc }), send(bytes), ...echo, ctrlClose("E_FRAME_TOO_LARGE")],
    }),
  );
}
server.push(
  srv("over-max-header-byte-by-byte", {
    title: "maximum 16: the header 00000011 sent byte by byte fails once its 4th byte is in",
    reqs: ["QWH-FRAME-004", "QWH-FRAME-008"],
    config: S({ maxFrameLength: 16 }),
    steps: [...open(["control"], { acceptJson: { maxFrameLength: 16 } }), sendSlowly(hdr(17), 40), ctrlClose("E_FRAME_TOO_LARGE")],
  }),
);
server.push(
  srv("at-max-delivered", {
    title: "maximum 16: a frame of exactly 16 bytes is delivered",
    reqs: ["QWH-FRAME-005", "QWH-NEG-006"],
    config: S({ maxFrameLength: 16 }),
    steps: [...open(["control"], { acceptJson: { maxFrameLength: 16 } }), send(frame(pattern(16))), expectData(pattern(16))],
  }),
);
client.push(
  cli("at-max-delivered", {
    title: "maximum 16: a frame of exactly 16 bytes is delivered",
    reqs: ["QWH-FRAME-005", "QWH-HELLO-017"],
    config: C({ maxFrameLength: 16 }),
    steps: [...clientOpen(["control"], { helloJson: { maxFrameLength: 16 } }), send(frame(pattern(16))), expectData(pattern(16))],
  }),
);

// Without "control": the same limits, and bit 31 is a length; nothing is sent on failure.
const NOCTRL = [
  [
    "no-control-over-max",
    { maxFrameLength: 16 },
    hdr(17),
    "without control, maximum 16: 00000011 fails and nothing is sent",
    ["QWH-FRAME-005", "QWH-ERR-004"],
  ],
  [
    "bit31-without-control",
    {},
    L.ping(pattern(8)),
    "without control, 80000009 (a PING) is a length over 2^31: E_FRAME_TOO_LARGE, no frame sent",
    ["QWH-FRAME-010", "QWH-ERR-004"],
  ],
  [
    "bit31-header-only-without-control",
    {},
    "80000000",
    "without control, the header 80000000 alone fails at once",
    ["QWH-FRAME-010", "QWH-FRAME-004"],
  ],
  ["ffffffff-without-control", {}, "ffffffff", "without control, the header ffffffff fails at once", ["QWH-FRAME-010"]],
];
for (const [name, x, bytes, title, reqs] of NOCTRL) {
  const acc = x.maxFrameLength === undefined ? {} : { maxFrameLength: x.maxFrameLength };
  server.push(
    srv(name, { title, reqs, config: S({ features: [], ...x }), steps: [...open([], { acceptJson: acc }), send(bytes), silentClose()] }),
  );
  client.push(
    cli(name, {
      title,
      reqs,
      config: C({ features: [], ...x }),
      steps: [...clientOpen([], { helloJson: acc }), send(bytes), silentClose()],
    }),
  );
}
server.push(
  srv("bit31-control-not-offered", {
    title: "server enables control, the client did not offer it: a PING is a too-large data frame",
    reqs: ["QWH-FRAME-010", "QWH-NEG-003"],
    steps: [...open([]), send(L.ping()), silentClose()],
  }),
);
client.push(
  cli("bit31-control-not-accepted", {
    title: "client offered control, the accept did not list it: a PING is a too-large data frame",
    reqs: ["QWH-FRAME-010", "QWH-ERR-004"],
    steps: [...clientOpen(["control"], { acceptFrame: acceptFrame([]) }), send(L.ping()), silentClose()],
  }),
);

// Truncation: end of stream inside a frame is local-only; nothing delivered, nothing sent.
const TRUNC = [
  [
    "truncated-payload",
    hdr(5) + utf8("hi"),
    "end of stream inside a payload: nothing delivered, nothing sent",
    [],
    ["QWH-FRAME-009", "QWH-ERR-005"],
  ],
  ["truncated-header", "000000", "end of stream inside a header: nothing sent", [], ["QWH-FRAME-009", "QWH-ERR-005"]],
  [
    "truncated-after-complete-frame",
    textFrame("ok") + "0000",
    "a complete frame then half a header and end of stream: the first is delivered",
    [expectData(utf8("ok"))],
    ["QWH-FRAME-009", "QWH-FRAME-008"],
  ],
];
for (const [name, bytes, title, mid, reqs] of TRUNC) {
  server.push(srv(name, { title, reqs, steps: [...open(), send(bytes), ...mid, closeWrite(), silentClose()] }));
  client.push(cli(name, { title, reqs, steps: [...clientOpen(), send(bytes), ...mid, closeWrite(), silentClose()] }));
  server.push(
    srv(name + "-no-control", {
      title: title + " (no control)",
      reqs,
      config: S({ features: [] }),
      steps: [...open([]), send(bytes), ...mid, closeWrite(), silentClose()],
    }),
  );
}

// What the client sends: its messages are framed exactly.
client.push(
  cli("client-frames-messages", {
    title: "the client frames its messages (empty, 2 bytes, 300 bytes) with exact 4-byte headers",
    reqs: ["QWH-FRAME-001", "QWH-FRAME-002", "QWH-FRAME-012", "QWH-CTRL-007"],
    config: C({ messages: ["", utf8("hi"), pattern(300)] }),
    steps: [...clientOpen(), expectBytes(frame("") + textFrame("hi") + frame(pattern(300)))],
  }),
);
client.push(
  cli("client-frames-without-control", {
    title: "without control the client frames its messages the same way",
    reqs: ["QWH-FRAME-001", "QWH-CTRL-007"],
    config: C({ features: [], messages: ["", utf8("hi")] }),
    steps: [...clientOpen([]), expectBytes(frame("") + textFrame("hi"))],
  }),
);
client.push(
  cli("respects-peer-max", {
    title: "accept maxFrameLength 3: the client does not send a 4-byte message, and still sends the 3-byte one",
    reqs: ["QWH-FRAME-007"],
    config: C({ messages: [utf8("abcd"), utf8("abc")] }),
    steps: [
      ...clientOpen(["control"], { acceptFrame: acceptFrame(["control"], { maxFrameLength: 3 }) }),
      expectData(utf8("abc")),
      silence(),
    ],
  }),
);
client.push(
  cli("respects-peer-max-zero", {
    title: "accept maxFrameLength 0: only empty messages can be sent",
    reqs: ["QWH-FRAME-007"],
    config: C({ messages: ["61", ""] }),
    steps: [...clientOpen(["control"], { acceptFrame: acceptFrame(["control"], { maxFrameLength: 0 }) }), expectData(""), silence()],
  }),
);
L.addResults(client, {
  "over-max-by-one-header-only": { error: "E_FRAME_TOO_LARGE", received: [] },
  "over-max-by-one-with-payload": { error: "E_FRAME_TOO_LARGE", received: [] },
  "over-default-max-header-only": { error: "E_FRAME_TOO_LARGE", received: [] },
  "over-max-7fffffff-header-only": { error: "E_FRAME_TOO_LARGE", received: [] },
  "over-max-zero": { error: "E_FRAME_TOO_LARGE", received: [] },
  "over-max-after-valid-frame": { error: "E_FRAME_TOO_LARGE", received: [pattern(16)] },
  "no-control-over-max": { error: "E_FRAME_TOO_LARGE", received: [] },
  "bit31-without-control": { error: "E_FRAME_TOO_LARGE", received: [] },
  "bit31-header-only-without-control": { error: "E_FRAME_TOO_LARGE" },
  "ffffffff-without-control": { error: "E_FRAME_TOO_LARGE" },
  "bit31-control-not-accepted": { error: "E_FRAME_TOO_LARGE" },
  "truncated-payload": { error: "E_TRUNCATED_FRAME", received: [] },
  "truncated-header": { error: "E_TRUNCATED_FRAME", received: [] },
  "truncated-after-complete-frame": { error: "E_TRUNCATED_FRAME", received: [utf8("ok")] },
});

export default {
  area: A,
  description:
    "Framing (spec section 4): the 4-byte big-endian header, opaque payloads, the receive maximum checked on the header, bit 31 without control, chunking and truncation.",
  server,
  client,
};
