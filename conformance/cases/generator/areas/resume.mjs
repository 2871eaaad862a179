// resume: session resumption (feature "resume", QWH/1.1, spec section 10.7). What the golden
// vectors of kind "resume" cannot show: a session outliving its connection, the end of a session
// (CLOSE, window), the takeover of a connection that is still open, the client's resume hello and
// its first ACK. Cases need the adapter feature "resume"; an adapter without it grades UNSUPPORTED.
import * as L from "../lib.mjs";
const {
  mk,
  send,
  expectAccept,
  expectData,
  expectCtrl,
  expectHello,
  expectReject,
  expectClose,
  silentClose,
  closeWrite,
  wait,
  textFrame,
  utf8,
  jsonFrame,
  on,
  ctrl,
} = L;

const A = "resume";
const F = ["control", "resume"];
const LIMITS = { maxUnackedMessages: 100, maxUnackedBytes: 100000 };
const ACK = 0x11;
const server = [];
const client = [];

// ---- server role: the runner is the client ------------------------------------------------------
// No ACK by delay (ackDelayMs 60 s) and none by count (the runner announces 100 frames, 100000
// bytes): the only frames the runner receives are the ones a step expects.
const S = (x = {}) => ({
  scenario: "echo",
  features: ["control"],
  ...x,
  resume: { windowMs: 30000, ackDelayMs: 60000, ...(x.resume ?? {}) },
});
const hello = { qwh: "1.1", features: F, resume: LIMITS };
const resumeHello = (received, token = "@accept.resume.token") => ({
  qwh: "1.1",
  features: F,
  resume: { ...LIMITS, id: "@accept.resume.id", token, received },
});
const firstAccept = expectAccept({ type: "accept", qwh: "1.1", features: F, resume: { received: 0, resumed: false } });
const resumedAccept = (received) => expectAccept({ type: "accept", qwh: "1.1", features: F, resume: { received, resumed: true } });
const srv = (name, o) => server.push(mk(A, "server", name, { feature: "resume", config: S(o.x), ...o }));

srv("resends-after-reset", {
  title: "after an end of stream without CLOSE the session is resumed: the echo the client never received is sent again, then the new one",
  reqs: ["QWH-RESUME-011", "QWH-RESUME-021", "QWH-RESUME-015"],
  steps: [
    { sendHello: hello },
    firstAccept,
    send(textFrame("one")),
    expectData(utf8("one")),
    closeWrite("the connection ends without CLOSE"),
    silentClose(),
    ...on("b", [{ sendHello: resumeHello(0) }, resumedAccept(1), expectData(utf8("one")), send(textFrame("two")), expectData(utf8("two"))]),
  ],
});
srv("takes-over-open-connection", {
  title: "a resume while the first connection is still open: the server closes that one without CLOSE and continues on the new one",
  reqs: ["QWH-RESUME-017", "QWH-RESUME-018"],
  steps: [
    { sendHello: hello },
    firstAccept,
    send(textFrame("one")),
    expectData(utf8("one")),
    ...on("b", [{ sendHello: resumeHello(1) }, resumedAccept(1)]),
    ...on("a", [silentClose()]),
    ...on("b", [send(textFrame("two")), expectData(utf8("two"))]),
  ],
});
srv("wrong-token-leaves-session", {
  title: "a resume with a wrong token is refused with E_SESSION_UNKNOWN, and the real session is resumed afterwards",
  reqs: ["QWH-RESUME-015", "QWH-RESUME-011"],
  steps: [
    { sendHello: hello },
    firstAccept,
    closeWrite(),
    silentClose(),
    ...on("b", [
      { sendHello: resumeHello(0, Buffer.alloc(32, 7).toString("base64url")) },
      expectReject("E_SESSION_UNKNOWN"),
      expectClose({}),
    ]),
    ...on("c", [{ sendHello: resumeHello(0) }, resumedAccept(0)]),
  ],
});
srv("close-ends-session", {
  title: "a graceful close ends the session: a later resume of it is refused with E_SESSION_UNKNOWN",
  reqs: ["QWH-RESUME-013"],
  steps: [
    { sendHello: hello },
    firstAccept,
    send(ctrl(L.CLOSE, L.closeBody("E_NORMAL_CLOSE"))),
    expectCtrl(L.CLOSE, L.closeBody("E_NORMAL_CLOSE")),
    expectClose({}),
    ...on("b", [{ sendHello: resumeHello(0) }, expectReject("E_SESSION_UNKNOWN"), expectClose({})]),
  ],
});
srv("window-passes", {
  title: "a session whose window (200 ms) has passed is forgotten: the resume is refused with E_SESSION_UNKNOWN",
  reqs: ["QWH-RESUME-022"],
  x: { resume: { windowMs: 200 } },
  steps: [
    { sendHello: hello },
    firstAccept,
    closeWrite(),
    silentClose(),
    wait(1500),
    ...on("b", [{ sendHello: resumeHello(0) }, expectReject("E_SESSION_UNKNOWN"), expectClose({})]),
  ],
});
srv("heartbeat-timeout-keeps-session", {
  title: "a heartbeat timeout sends no CLOSE on a session, so the session is resumed afterwards",
  reqs: ["QWH-RESUME-012", "QWH-RESUME-011"],
  x: { heartbeatIntervalMs: 100, heartbeatMissedLimit: 2 },
  // On b the resumed accept is the first frame; the PINGs that follow are not looked at.
  steps: [
    { sendHello: hello },
    firstAccept,
    expectClose({ withinMs: 3000 }),
    ...on("b", [{ sendHello: resumeHello(0) }, resumedAccept(0)]),
  ],
});

srv("answers-ack-request", {
  title: "an ACK with the request bit is answered with an ACK carrying the count received (1), request bit clear",
  reqs: ["QWH-ACK-007", "QWH-ACK-003", "QWH-ACK-008"],
  x: { scenario: "sink" },
  steps: [
    { sendHello: hello },
    firstAccept,
    send(textFrame("one")),
    send(ctrl(ACK, "01" + "0".repeat(16))),
    expectCtrl(ACK, "00" + "0".repeat(15) + "1"),
  ],
});

// ---- client role: the runner is the server ------------------------------------------------------
const ID = Buffer.alloc(16, 0x51).toString("base64url");
const TOKEN1 = Buffer.alloc(32, 0x61).toString("base64url");
const TOKEN2 = Buffer.alloc(32, 0x62).toString("base64url");
const grant = (o) => ({ id: ID, token: TOKEN1, windowMs: 30000, ...LIMITS, received: 0, resumed: false, ...o });
const acceptWith = (resume) => jsonFrame({ type: "accept", qwh: "1.1", features: F, maxFrameLength: L.DEFAULT_MAX, resume });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], resume: { ackDelayMs: 60000 }, ...x });
const cli = (name, o) => client.push(mk(A, "client", name, { feature: "resume", config: C(o.x), ...o }));
const ackBody = (count) => "00" + BigInt(count).toString(16).padStart(16, "0");

cli("offers-resume", {
  title: 'a client configured for resumption offers "resume" with "control" in a 1.1 hello carrying the member "resume"',
  reqs: ["QWH-RESUME-001"],
  steps: [expectHello({ type: "handshake", qwh: "1.1", features: F, resume: {} })],
});
cli("resumes-and-acks-first", {
  title:
    "after an end of stream without CLOSE the client resumes with the id, the latest token and its count, and its first frame is an ACK",
  reqs: ["QWH-RESUME-014", "QWH-RESUME-020", "QWH-RESUME-011"],
  steps: [
    expectHello({ type: "handshake", qwh: "1.1", features: F }),
    send(acceptWith(grant({}))),
    send(textFrame("one")),
    expectData(utf8("one")),
    closeWrite("the connection ends without CLOSE"),
    silentClose(),
    ...on("b", [
      expectHello({ type: "handshake", qwh: "1.1", features: F, resume: { id: ID, token: TOKEN1, received: 1 } }),
      send(acceptWith(grant({ token: TOKEN2, received: 1, resumed: true }))),
      expectCtrl(ACK, ackBody(1)),
      send(textFrame("two")),
      expectData(utf8("two")),
    ]),
  ],
});
cli("resends-what-server-missed", {
  title: "a resume accept with received 0: after its ACK the client sends again the message the server did not receive",
  reqs: ["QWH-RESUME-021", "QWH-RESUME-020"],
  steps: [
    expectHello({ type: "handshake", qwh: "1.1", features: F }),
    send(acceptWith(grant({}))),
    send(textFrame("one")),
    expectData(utf8("one")),
    closeWrite(),
    silentClose(),
    ...on("b", [
      expectHello({ type: "handshake", qwh: "1.1", features: F, resume: { id: ID, token: TOKEN1, received: 1 } }),
      send(acceptWith(grant({ token: TOKEN2, received: 0, resumed: true }))),
      expectCtrl(ACK, ackBody(1)),
      expectData(utf8("one")),
    ]),
  ],
});

cli("answers-ack-request", {
  title: "an ACK with the request bit is answered with an ACK carrying the count received (1), request bit clear",
  reqs: ["QWH-ACK-007", "QWH-ACK-003", "QWH-ACK-008"],
  steps: [
    expectHello({ type: "handshake", qwh: "1.1", features: F }),
    send(acceptWith(grant({}))),
    send(textFrame("one")),
    expectData(utf8("one")),
    send(ctrl(ACK, "01" + "0".repeat(15) + "1")),
    expectCtrl(ACK, ackBody(1)),
  ],
});

export default { area: A, server, client };
