// close: CLOSE and graceful drain (spec section 10.5), closing without control (10.6).
import * as L from "../lib.mjs";
const {
  mk,
  open,
  clientOpen,
  send,
  expectBytes,
  expectData,
  expectPong,
  expectCtrl,
  ctrlClose,
  silentClose,
  silence,
  closeWrite,
  ctrl,
  textFrame,
  utf8,
  ping,
  closeFrame,
  closeBody,
  CLOSE,
  hdr,
} = L;

const A = "close";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], ...x });
const server = [];
const client = [];
const both = (name, o) => {
  server.push(mk(A, "server", name, { config: S(o.x), ...o, steps: [...open(o.x?.features ?? ["control"]), ...o.steps] }));
  client.push(mk(A, "client", name, { config: C(o.x), ...o, steps: [...clientOpen(o.x?.features ?? ["control"]), ...o.steps] }));
};
const theirClose = expectCtrl(CLOSE, undefined, { withinMs: L.FAST });
const normal = closeFrame("E_NORMAL_CLOSE");

// Receiving a CLOSE: answer with one CLOSE, then close the transport.
both("peer-close-answered", {
  title: "a CLOSE is answered with exactly one CLOSE, then the transport closes",
  reqs: ["QWH-CLOSE-003"],
  steps: [send(normal), theirClose, silentClose()],
});
both("peer-close-with-reason", {
  title: "a CLOSE with a reason is answered with one CLOSE",
  reqs: ["QWH-CLOSE-003", "QWH-CLOSE-005"],
  steps: [send(closeFrame("E_GOING_AWAY", "restarting")), theirClose, silentClose()],
});
both("drain-before-close", {
  title: "messages, then CLOSE in one write: every message is delivered (echoed) before the answering CLOSE",
  reqs: ["QWH-CLOSE-003"],
  steps: [send(textFrame("a") + textFrame("b") + normal), expectBytes(textFrame("a") + textFrame("b")), theirClose, silentClose()],
});
both("unknown-code-accepted", {
  title: "a CLOSE with a code outside the registry is a valid CLOSE, answered normally",
  reqs: ["QWH-CLOSE-005", "QWH-ERR-006"],
  steps: [send(closeFrame("E_SOMETHING_NEW")), theirClose, silentClose()],
});
both("extra-members-ignored", {
  title: "a CLOSE body with unknown members is valid",
  reqs: ["QWH-CLOSE-005"],
  steps: [send(ctrl(CLOSE, utf8('{"code":"E_NORMAL_CLOSE","x-detail":{"a":[1,2]}}'))), theirClose, silentClose()],
});
both("reason-256-code-points", {
  title: "a CLOSE reason of 256 code points is valid",
  reqs: ["QWH-CLOSE-001", "QWH-CLOSE-005"],
  steps: [send(closeFrame("E_NORMAL_CLOSE", "\u00e9".repeat(256))), theirClose, silentClose()],
});
both("body-with-whitespace", {
  title: "a CLOSE body with whitespace and members in another order is valid",
  reqs: ["QWH-CLOSE-001"],
  steps: [send(ctrl(CLOSE, utf8(' { "reason" : "x" , "code" : "E_NORMAL_CLOSE" } '))), theirClose, silentClose()],
});

// Invalid CLOSE bodies: E_INVALID_CONTROL_FRAME.
const BAD = [
  ["body-empty", "", "an empty CLOSE body"],
  ["body-not-json", utf8("bye"), "a body that is not JSON"],
  ["body-array", utf8('["E_NORMAL_CLOSE"]'), "a JSON array"],
  ["body-code-missing", utf8('{"reason":"bye"}'), "no code"],
  ["body-code-lowercase", utf8('{"code":"e_normal_close"}'), "a code not matching ^E_[A-Z0-9_]{1,62}$"],
  ["body-code-number", utf8('{"code":1000}'), "a numeric code"],
  ["body-code-too-long", utf8(JSON.stringify({ code: "E_" + "A".repeat(63) })), "a code of 65 characters"],
  ["body-reason-257", utf8(JSON.stringify({ code: "E_NORMAL_CLOSE", reason: "r".repeat(257) })), "a reason of 257 code points"],
  ["body-reason-number", utf8('{"code":"E_NORMAL_CLOSE","reason":5}'), "a numeric reason"],
  ["body-reason-null", utf8('{"code":"E_NORMAL_CLOSE","reason":null}'), "a null reason"],
  ["body-duplicate-code", utf8('{"code":"E_NORMAL_CLOSE","code":"E_INTERNAL"}'), "code twice"],
  ["body-float", utf8('{"code":"E_NORMAL_CLOSE","x":1.5}'), "a fraction in an unknown member"],
  ["body-invalid-utf8", utf8('{"code":"E_NORMAL_CLOSE","reason":"') + "ff" + utf8('"}'), "invalid UTF-8 in the reason"],
  ["body-lone-surrogate", utf8('{"code":"E_NORMAL_CLOSE","reason":"\\ud800"}'), "a lone surrogate escape"],
  ["body-bom", "efbbbf" + closeBody("E_NORMAL_CLOSE"), "a byte order mark before the body"],
];
for (const [name, body, title] of BAD)
  both(`invalid-${name}`, {
    title: `a CLOSE with ${title} fails with E_INVALID_CONTROL_FRAME`,
    reqs: ["QWH-CLOSE-001"],
    steps: [send(ctrl(CLOSE, body)), ctrlClose("E_INVALID_CONTROL_FRAME")],
  });

// Initiating: the body, then the drain. Scenario close-after (server) / close (client).
server.push(
  mk(A, "server", "own-close-canonical", {
    title: 'a server closing gracefully sends exactly 80000019 03 {"code":"E_NORMAL_CLOSE"}',
    reqs: ["QWH-CLOSE-006", "QWH-CLOSE-007"],
    config: S({ scenario: "close-after", closeAfter: 1 }),
    steps: [...open(), send(textFrame("x")), expectData(utf8("x")), expectBytes(normal)],
  }),
);
client.push(
  mk(A, "client", "own-close-canonical", {
    title: 'a client closing gracefully sends exactly 80000019 03 {"code":"E_NORMAL_CLOSE"}',
    reqs: ["QWH-CLOSE-006", "QWH-CLOSE-007"],
    config: C({ scenario: "close" }),
    steps: [...clientOpen(), expectBytes(normal)],
  }),
);
client.push(
  mk(A, "client", "own-close-after-messages", {
    title: "a client's queued messages go out before its CLOSE",
    reqs: ["QWH-CLOSE-006", "QWH-CLOSE-002"],
    config: C({ scenario: "close", messages: [utf8("m1"), utf8("m2")] }),
    steps: [...clientOpen(), expectBytes(textFrame("m1") + textFrame("m2") + normal)],
  }),
);
const initiated = (role) =>
  role === "server"
    ? {
        cfg: S({ scenario: "close-after", closeAfter: 1 }),
        pre: [...open(), send(textFrame("x")), expectData(utf8("x")), expectBytes(normal)],
      }
    : { cfg: C({ scenario: "close" }), pre: [...clientOpen(), expectBytes(normal)] };
for (const [role, list] of [
  ["server", server],
  ["client", client],
]) {
  const { cfg, pre } = initiated(role);
  list.push(
    mk(A, role, "keeps-reading-after-own-close", {
      title: "after sending CLOSE it keeps reading: data frames do not fail the connection; our CLOSE ends it",
      reqs: ["QWH-CLOSE-008"],
      config: cfg,
      steps: [...pre, send(textFrame("late1") + textFrame("late2")), silence(200), send(normal), silentClose()],
    }),
  );
  list.push(
    mk(A, role, "no-data-after-own-close", {
      title: "after its CLOSE it sends no data frame (the data we send is not echoed)",
      reqs: ["QWH-CLOSE-002"],
      config: cfg,
      steps: [...pre, send(textFrame("late")), silence(250), send(normal), silentClose()],
    }),
  );
  list.push(
    mk(A, role, "pong-after-own-close", {
      title: "after its CLOSE a PING is still answered",
      reqs: ["QWH-PING-001", "QWH-CLOSE-008"],
      config: cfg,
      steps: [...pre, send(ping("5a")), expectPong("5a"), send(normal), silentClose()],
    }),
  );
  list.push(
    mk(A, role, "closes-on-answer", {
      title: "after its CLOSE, our CLOSE makes it close the transport with no second CLOSE",
      reqs: ["QWH-CLOSE-008", "QWH-CLOSE-002"],
      config: cfg,
      steps: [...pre, send(normal), silentClose()],
    }),
  );
  list.push(
    mk(A, role, "drain-timeout", {
      title: "after its CLOSE, with drain timeout 300 ms and no answer, it closes the transport",
      reqs: ["QWH-CLOSE-008"],
      config: { ...cfg, drainTimeoutMs: 300 },
      steps: [...pre, silence(100), silentClose(1500)],
    }),
  );
  list.push(
    mk(A, role, "second-close-from-peer", {
      title: "our CLOSE then a second CLOSE in one write: it closes and sends nothing more",
      reqs: ["QWH-CLOSE-004", "QWH-CLOSE-002"],
      config: cfg,
      steps: [...pre, send(normal + normal), silentClose()],
    }),
  );
}

// Data after the peer's CLOSE, and a second CLOSE, before we close.
both("data-after-close-not-delivered", {
  title: "a data frame right behind a CLOSE is not delivered (never echoed)",
  reqs: ["QWH-CLOSE-004", "QWH-STATE-005"],
  steps: [send(normal + textFrame("late")), theirClose, silentClose()],
});
both("second-close-not-answered-twice", {
  title: "two CLOSE frames in one write: exactly one CLOSE comes back",
  reqs: ["QWH-CLOSE-004", "QWH-CLOSE-003"],
  steps: [send(normal + normal), theirClose, silentClose()],
});

// Without control: the end of the stream plays the part of CLOSE.
both("no-control-fin-drains", {
  title: "without control: messages then FIN: all echoed, then the transport closes without a frame",
  reqs: ["QWH-CLOSE-009"],
  x: { features: [] },
  steps: [send(textFrame("a") + textFrame("b")), closeWrite(), expectBytes(textFrame("a") + textFrame("b")), silentClose()],
});
both("no-control-fin-only", {
  title: "without control: FIN right after the handshake: the transport closes without a frame",
  reqs: ["QWH-CLOSE-009"],
  x: { features: [] },
  steps: [closeWrite(), silentClose()],
});
server.push(
  mk(A, "server", "no-control-own-close-is-fin", {
    title: "without control a server closing gracefully ends its stream, no CLOSE frame",
    reqs: ["QWH-CLOSE-009", "QWH-ERR-004"],
    config: S({ features: [], scenario: "close-after", closeAfter: 1 }),
    steps: [...open([]), send(textFrame("x")), expectData(utf8("x")), silentClose()],
  }),
);
client.push(
  mk(A, "client", "no-control-own-close-is-fin", {
    title: "without control a client closing gracefully ends its stream, no CLOSE frame",
    reqs: ["QWH-CLOSE-009"],
    config: C({ features: [], scenario: "close", messages: [utf8("m")] }),
    steps: [...clientOpen([]), expectData(utf8("m")), silentClose()],
  }),
);
// Revision 2: the answering CLOSE carries E_NORMAL_CLOSE (QWH-CLOSE-010).
const answerNormal = expectCtrl(CLOSE, undefined, { json: { code: "E_NORMAL_CLOSE" }, withinMs: L.FAST });
both("answer-code-normal", {
  title: "a CLOSE with E_GOING_AWAY is answered with a CLOSE carrying E_NORMAL_CLOSE, not an echo of the received code",
  reqs: ["QWH-CLOSE-010", "QWH-CLOSE-003"],
  steps: [send(closeFrame("E_GOING_AWAY", "restarting")), answerNormal, silentClose()],
});
both("answer-code-normal-after-error-code", {
  title: "a CLOSE with E_INTERNAL is answered with a CLOSE carrying E_NORMAL_CLOSE",
  reqs: ["QWH-CLOSE-010"],
  steps: [send(closeFrame("E_INTERNAL")), answerNormal, silentClose()],
});
// A data frame behind the peer's CLOSE fails on its header, whatever its length (QWH-CLOSE-012).
const afterCloseTitle =
  "a CLOSE and, in the same write, a data header 7fffffff with no payload: answered with one CLOSE, then closed; the side reports E_PROTOCOL_ERROR";
client.push(
  mk(A, "client", "data-header-after-close-fails", {
    title: afterCloseTitle,
    reqs: ["QWH-CLOSE-012", "QWH-CLOSE-004"],
    config: C(),
    steps: [...clientOpen(), send(normal + hdr(0x7fffffff)), answerNormal, silentClose()],
  }),
);
server.push(
  mk(A, "server", "data-header-after-close-fails", {
    title: afterCloseTitle,
    reqs: ["QWH-CLOSE-012", "QWH-CLOSE-004"],
    config: S(),
    steps: [
      ...open(),
      send(normal + hdr(0x7fffffff)),
      answerNormal,
      { expectServerEvent: { match: { event: "closed", error: "E_PROTOCOL_ERROR" } } },
      silentClose(),
    ],
  }),
);
// The peer's FIN without a CLOSE on a connection with control: unclean (QWH-CLOSE-013).
both("fin-without-close-unclean", {
  title:
    "with control, messages then the peer's FIN without a CLOSE: the messages are delivered (echoed), then the transport closes without a CLOSE",
  reqs: ["QWH-CLOSE-013"],
  steps: [send(textFrame("a") + textFrame("b")), closeWrite(), expectBytes(textFrame("a") + textFrame("b")), silentClose()],
});
// Failing in the open phase: the CLOSE carrying the code is a recommendation of its own (QWH-ERR-008).
both("failure-close-carries-code", {
  title: "an oversized data header in the open phase: a CLOSE carrying E_FRAME_TOO_LARGE comes before the transport closes",
  reqs: ["QWH-ERR-008"],
  level: "SHOULD",
  description: "Checks QWH-ERR-008; the close itself is QWH-ERR-003 (MUST), checked by the frame area's cases.",
  steps: [send(hdr(0x00400001)), ctrlClose("E_FRAME_TOO_LARGE")],
});
// The adapter contract (spec Appendix D.3): what a client result's closeCode and a server's
// "closed" line report, and how long hold and mirror stay connected by default.
client.push(
  mk(A, "client", "own-close-result-has-no-close-code", {
    title: "a client that closed first reports closeCode null, although the server answered with CLOSE E_NORMAL_CLOSE",
    reqs: ["QWH-CLOSE-006"],
    description:
      "Adapter contract (Appendix D.3): closeCode is the code of a CLOSE with which the peer started the close; null when the client closed first.",
    config: C({ scenario: "close" }),
    steps: [...clientOpen(), expectBytes(normal), send(normal), silentClose(), L.result({ closeCode: null, error: null })],
  }),
);
client.push(
  mk(A, "client", "hold-default-one-second", {
    title: "scenario hold without holdMs stays connected about one second, then closes gracefully",
    reqs: ["QWH-CLOSE-006"],
    description: "Adapter contract (Appendix D.3): hold stays 1000 ms by default (not 0, not until the peer closes).",
    config: C({ scenario: "hold" }),
    steps: [
      ...clientOpen(),
      silence(500, "hold lasts 1000 ms: nothing before"),
      L.expectCtrl(CLOSE, closeBody("E_NORMAL_CLOSE"), { withinMs: 3000 }),
      send(normal),
      silentClose(),
      L.result({ closeCode: null }),
    ],
  }),
);
client.push(
  mk(A, "client", "mirror-default-stays-open", {
    title: "scenario mirror without holdMs is still connected and echoing after two seconds",
    reqs: ["QWH-CLOSE-003"],
    description: "Adapter contract (Appendix D.3): mirror stays 10000 ms by default (hold's 1000 ms default does not apply).",
    config: C(),
    steps: [
      ...clientOpen(),
      silence(2000, "mirror lasts 10000 ms"),
      send(textFrame("late")),
      expectData(utf8("late")),
      send(normal),
      theirClose,
      silentClose(),
      L.result({ closeCode: "E_NORMAL_CLOSE" }),
    ],
  }),
);
server.push(
  mk(A, "server", "closed-event-counts-received", {
    title:
      "the server's closed line counts the messages and bytes it received (1 message of 5 bytes), not those it sent (3 pushed and 1 echoed)",
    reqs: ["QWH-CLOSE-003"],
    description: 'Adapter contract (Appendix D.3): {"event":"closed"} counts what the server received and delivered on that connection.',
    config: S({ scenario: "push-on-connect", pushCount: 3, pushSize: 16 }),
    steps: [
      ...open(),
      L.expectDataLength(16),
      L.expectDataLength(16),
      L.expectDataLength(16),
      send(textFrame("hello")),
      expectData(utf8("hello")),
      send(normal),
      theirClose,
      { expectServerEvent: { match: { event: "closed", messages: 1, bytes: 5, error: null } } },
      silentClose(),
    ],
  }),
);

L.addResults(
  client,
  Object.fromEntries(
    client.filter((c) => c.id.includes("/invalid-")).map((c) => [c.id.split("/").pop(), { error: "E_INVALID_CONTROL_FRAME" }]),
  ),
);
L.addResults(client, {
  "peer-close-with-reason": { closeCode: "E_GOING_AWAY" },
  "unknown-code-accepted": { closeCode: "E_SOMETHING_NEW" },
  "drain-before-close": { received: [utf8("a"), utf8("b")], error: null },
  "data-after-close-not-delivered": { received: [] },
  "no-control-fin-drains": { received: [utf8("a"), utf8("b")], error: null },
  "answer-code-normal": { closeCode: "E_GOING_AWAY" },
  "data-header-after-close-fails": { error: "E_PROTOCOL_ERROR", received: [] },
  "fin-without-close-unclean": { received: [utf8("a"), utf8("b")], error: null, closeCode: null },
});

export default {
  area: A,
  description:
    "Closing (spec sections 10.5 and 10.6): CLOSE answered once after the drain, CLOSE bodies, what a side may do after its own CLOSE, and closing without control.",
  server,
  client,
};
