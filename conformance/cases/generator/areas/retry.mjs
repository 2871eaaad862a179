// retry: a client that reconnects automatically (spec 13.6, 14.2, 15.6). After a terminal code it
// does not reconnect; after a non-terminal failure it reconnects with the same profile, features and
// transport (no downgrade); messages sent while it was down are delivered first, once, in order.
// The adapter's "retry" scenario turns automatic reconnect on (see CASE-FORMAT.md).
import * as L from "../lib.mjs";
const { mk, send, expectHello, expectData, rejectFrame, acceptFrame, closeFrame, closeWrite, expectClose, result, QWH } = L;

const A = "retry";
const server = [];
const client = [];
const R = (x = {}) => ({ scenario: "retry", features: ["control"], ...x });
const cli = (name, o) => client.push(mk(A, "client", name, { config: R(o.cfg ?? {}), ...o, cfg: undefined }));
const b = (steps) => L.on("b", steps);
const v1Hello = expectHello({ type: "handshake", qwh: QWH, features: ["control"] });
const noReconnect = { expectNoConnection: 500 };

// Terminal codes in a reject (QWH-ERR-007): the client gives up at once.
const TERMINAL = [
  "E_POLICY_REJECTED",
  "E_VERSION_MISMATCH",
  "E_SIGNATURE_REQUIRED",
  "E_INVALID_HANDSHAKE_SIGNATURE",
  "E_FRAMING_MISMATCH",
  "E_TLS_PIN_MISMATCH",
  "E_LEGACY_NOT_ALLOWED",
];
for (const code of TERMINAL) {
  cli(`terminal-reject-${code.slice(2).toLowerCase().replaceAll("_", "-")}`, {
    title: `a reject with the terminal code ${code}: the client does not reconnect`,
    reqs: ["QWH-ERR-007"],
    steps: [
      v1Hello,
      send(rejectFrame(code)),
      closeWrite(),
      expectClose({ withinMs: 2000 }),
      noReconnect,
      result({ ok: false, error: code }),
    ],
  });
}
// A terminal code in a CLOSE of the open phase: no reconnect either.
cli("terminal-close-no-reconnect", {
  title: "a CLOSE with the terminal code E_POLICY_REJECTED on an open connection: the client does not reconnect",
  reqs: ["QWH-ERR-007"],
  cfg: { closes: 2 },
  steps: [
    v1Hello,
    send(acceptFrame()),
    send(closeFrame("E_POLICY_REJECTED")),
    expectClose({ withinMs: 2000 }),
    noReconnect,
    result({ closeCode: "E_POLICY_REJECTED" }),
  ],
});
// A non-terminal code: the client does reconnect (so the cases above are not passed by a client that never reconnects).
cli("non-terminal-close-reconnects", {
  title: "a CLOSE with E_GOING_AWAY (not terminal): the client reconnects",
  reqs: ["QWH-ERR-007"],
  cfg: { closes: 2 },
  steps: [
    v1Hello,
    send(acceptFrame()),
    send(closeFrame("E_GOING_AWAY")),
    expectClose({ withinMs: 2000 }),
    ...b([v1Hello, send(acceptFrame())]),
    result({ ok: true }),
  ],
});

// No downgrade after a failed or rejected attempt (QWH-SEC-004).
cli("rejected-reconnects-v1", {
  title: "rejected with E_MAX_CLIENTS (not terminal): the next attempt is again a v1 hello with the same features",
  reqs: ["QWH-SEC-004"],
  steps: [
    v1Hello,
    send(rejectFrame("E_MAX_CLIENTS")),
    closeWrite(),
    expectClose({ withinMs: 2000 }),
    ...b([v1Hello, send(acceptFrame())]),
    result({ ok: true }),
  ],
});
cli("failed-attempt-reconnects-v1", {
  title: "the server closes before answering (E_CLOSED, not terminal): the next attempt is again a v1 hello",
  reqs: ["QWH-SEC-004"],
  steps: [v1Hello, closeWrite("no answer"), expectClose({ withinMs: 2000 }), ...b([v1Hello, send(acceptFrame())]), result({ ok: true })],
});
cli("rejected-raw-reconnects-raw", {
  title: "a raw-mode client rejected with E_MAX_PENDING_HANDSHAKES reconnects offering the same features",
  reqs: ["QWH-SEC-004"],
  cfg: { framing: "none", features: [] },
  steps: [
    expectHello({ type: "handshake", qwh: QWH, features: ["raw"] }),
    send(rejectFrame("E_MAX_PENDING_HANDSHAKES")),
    closeWrite(),
    expectClose({ withinMs: 2000 }),
    ...b([expectHello({ type: "handshake", qwh: QWH, features: ["raw"] }), send(acceptFrame(["raw"]))]),
    result({ ok: true }),
  ],
});
cli("tls-rejected-reconnects-over-tls", {
  title: "over TLS, rejected with E_MAX_CLIENTS: the next attempt is again TLS (the runner listens for TLS only) with a v1 hello",
  reqs: ["QWH-SEC-004", "QWH-TLS-002"],
  transport: "tls",
  steps: [
    v1Hello,
    send(rejectFrame("E_MAX_CLIENTS")),
    closeWrite(),
    expectClose({ withinMs: 2000 }),
    ...b([v1Hello, send(acceptFrame())]),
    result({ ok: true }),
  ],
});
cli("tls-failed-attempt-reconnects-over-tls", {
  title: "over TLS, the server closes before answering: the next attempt is again TLS with a v1 hello",
  reqs: ["QWH-SEC-004", "QWH-TLS-002"],
  transport: "tls",
  steps: [v1Hello, closeWrite("no answer"), expectClose({ withinMs: 2000 }), ...b([v1Hello, send(acceptFrame())]), result({ ok: true })],
});

// Messages sent while disconnected (QWH-DELIV-001): after the next handshake, first, once, in order.
const Q = ["71310a", "71320a", "71330a"];
cli("queued-while-down-sent-first", {
  title: "messages sent while the client is reconnecting are sent after the next handshake, once each, in order, before later ones",
  reqs: ["QWH-DELIV-001"],
  cfg: { closes: 2, whileDownMessages: Q, laterMessages: ["6c61746572"] },
  steps: [
    v1Hello,
    send(acceptFrame()),
    send(closeFrame("E_GOING_AWAY")),
    expectClose({ withinMs: 2000 }),
    ...b([v1Hello, send(acceptFrame()), ...Q.map((h) => expectData(h)), expectData("6c61746572"), L.silence(200)]),
    result({ ok: true }),
  ],
});

export default {
  area: A,
  description:
    "Automatic reconnect (spec 13.6, 14.2, 15.6): no reconnect after a terminal code, no downgrade of profile, features or transport after a failed or rejected attempt, and messages sent while down delivered first, once, in order.",
  server,
  client,
};
