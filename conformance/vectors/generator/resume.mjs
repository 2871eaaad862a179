// kind "resume": session resumption (feature "resume", QWH/1.1, spec section 10.7). Three models,
// one per group: "session" (the counting, ACK and replay rules of one side, driven by steps),
// "server-hello" (the server's answer to a hello offering "resume", given the sessions it holds and
// the bytes its random generator returns) and "client-accept" (the client's check of an accept).
// Every expected output below is written by hand from the spec text.
import { buildFile, T } from "./file.mjs";
import { b64url, pattern, utf8hex } from "./util.mjs";
import { KA, KB, NOW, signHello } from "./sign.mjs";

const R = (n) => `QWH-RESUME-${String(n).padStart(3, "0")}`;
const A = (n) => `QWH-ACK-${String(n).padStart(3, "0")}`;

// ---- model "session" --------------------------------------------------------------------------
const u64 = (n) => BigInt(n).toString(16).padStart(16, "0");
/** An ACK control payload (type byte + body): flags, then the count. */
const ack = (count, flags = 0) => "11" + flags.toString(16).padStart(2, "0") + (typeof count === "string" ? count : u64(count));
const send = (n) => ({ send: n });
const recv = (n) => ({ receive: n });
const ctl = (hex) => ({ control: hex });
const resumeAt = (n) => ({ resume: n });
const data = (n) => ({ type: "data", n });
const held = { type: "held" };
const deliver = (n) => ({ type: "deliver", n });
const acked = (count) => ({ type: "ack", count });
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const sends = (k, size = 10) => Array.from({ length: k }, () => send(size));
/** Session test: steps in, events and error out. */
function S(comment, reqs, flags, steps, events, error = null) {
  return T(comment, reqs, ["Resume", ...flags], { steps }, error ? "invalid" : "valid", { events, error });
}
const E_PE = "E_PROTOCOL_ERROR";
const E_ICF = "E_INVALID_CONTROL_FRAME";
const E_RM = "E_RESUME_MISMATCH";

function sessionGroups() {
  const lim = (m, b) => ({ maxUnackedMessages: m, maxUnackedBytes: b });
  return [
    {
      params: { model: "session", own: lim(4, 1000), peer: lim(4, 1000) },
      tests: [
        S("sent data frames are numbered from 1", [R(8)], [], sends(3), range(1, 3).map(data)),
        S("4 frames unacknowledged is the limit: the fifth message is held, not sent", [R(10), R(9)], ["Boundary"], sends(5), [
          ...range(1, 4).map(data),
          held,
        ]),
        S(
          "an ACK for 2 frees room: the held message goes out as frame 5",
          [R(9), R(10), A(4)],
          [],
          [...sends(5), ctl(ack(2))],
          [...range(1, 4).map(data), held, data(5)],
        ),
        S(
          "bytes: three 300-byte frames hold 912 bytes; a 100-byte message (1016) is held",
          [R(10), R(23)],
          ["Boundary"],
          [send(300), send(300), send(300), send(100)],
          [data(1), data(2), data(3), held],
        ),
        S(
          "bytes: three 300-byte frames (912 bytes) and an 84-byte message (88) make exactly 1000: sent",
          [R(10)],
          ["Boundary"],
          [send(300), send(300), send(300), send(84)],
          [data(1), data(2), data(3), data(4)],
        ),
        S(
          "bytes: an 85-byte message would make 1001: held",
          [R(10)],
          ["Boundary"],
          [send(300), send(300), send(300), send(85)],
          [data(1), data(2), data(3), held],
        ),
        S(
          "one frame larger than the byte limit goes out when nothing is unacknowledged; the next is held",
          [R(10)],
          ["Boundary"],
          [send(5000), send(10)],
          [data(1), held],
        ),
        S(
          "held messages keep their order: both go out after the ACK, in order",
          [R(10), R(26)],
          [],
          [send(300), send(300), send(300), send(100), send(10), ctl(ack(3))],
          [data(1), data(2), data(3), held, held, data(4), data(5)],
        ),
        S(
          "a message sent while others are held is held too, even when it would fit",
          [R(10), R(26)],
          [],
          [send(300), send(300), send(300), send(100), send(0)],
          [data(1), data(2), data(3), held, held],
        ),
        S(
          "receiving: an ACK is due when 2 (half of the peer's 4) frames are unacknowledged",
          [A(5), A(3)],
          ["Boundary"],
          [recv(10), recv(10), recv(10), recv(10)],
          [deliver(1), deliver(2), acked(2), deliver(3), deliver(4), acked(4)],
        ),
        S(
          "an ACK with the request bit is answered at once with the received count, request bit clear",
          [A(7), A(3), A(8)],
          [],
          [recv(1), ctl(ack(0, 1))],
          [deliver(1), acked(1)],
        ),
        S("an ACK without the request bit is not answered", [A(7)], [], [recv(1), ctl(ack(0, 0))], [deliver(1)]),
        S(
          "flag bits 1 to 7 are ignored: flags fe is no request",
          [A(2)],
          [],
          [recv(1), ...sends(2), ctl(ack(2, 0xfe))],
          [deliver(1), data(1), data(2)],
        ),
        S(
          "flag bits 1 to 7 are ignored: flags ff is a request",
          [A(2), A(7)],
          [],
          [recv(1), ...sends(2), ctl(ack(2, 0xff))],
          [deliver(1), data(1), data(2), acked(1)],
        ),
        S(
          "an ACK count below an earlier one fails with E_PROTOCOL_ERROR",
          [A(4)],
          [],
          [...sends(3), ctl(ack(2)), ctl(ack(1))],
          range(1, 3).map(data),
          E_PE,
        ),
        S(
          "an ACK for frames never sent fails with E_PROTOCOL_ERROR",
          [A(4)],
          ["Boundary"],
          [...sends(2), ctl(ack(3))],
          range(1, 2).map(data),
          E_PE,
        ),
        S(
          "an ACK for every frame sent is fine, and the same count again too",
          [A(4)],
          ["Boundary"],
          [...sends(2), ctl(ack(2)), ctl(ack(2)), send(10)],
          [data(1), data(2), data(3)],
        ),
        S("an ACK before anything was sent with count 0 is fine", [A(4)], ["Boundary"], [ctl(ack(0)), send(1)], [data(1)]),
        S(
          "an ACK body of 8 bytes fails with E_INVALID_CONTROL_FRAME",
          [A(1)],
          ["Boundary"],
          [ctl("11" + "00" + "00000000000000")],
          [],
          E_ICF,
        ),
        S("an ACK body of 10 bytes fails with E_INVALID_CONTROL_FRAME", [A(1)], ["Boundary"], [ctl(ack(0) + "00")], [], E_ICF),
        S("an ACK with no body fails with E_INVALID_CONTROL_FRAME", [A(1)], ["Boundary"], [ctl("11")], [], E_ICF),
        S("an ACK count of 2^53 fails with E_INVALID_CONTROL_FRAME", [A(1)], ["Boundary"], [ctl(ack("0020000000000000"))], [], E_ICF),
        S("an ACK count of 2^64-1 fails with E_INVALID_CONTROL_FRAME", [A(1)], ["Boundary"], [ctl(ack("ffffffffffffffff"))], [], E_ICF),
        S(
          "an ACK count of 2^53-1 is well formed, and above what was sent: E_PROTOCOL_ERROR",
          [A(1), A(4)],
          ["Boundary"],
          [ctl(ack("001fffffffffffff"))],
          [],
          E_PE,
        ),
        S(
          "resume: the peer received 1 of 3: frames 2 and 3 are sent again, in order",
          [R(21), R(9)],
          [],
          [...sends(3), resumeAt(1)],
          [...range(1, 3).map(data), data(2), data(3)],
        ),
        S(
          "resume: the peer received everything: nothing is sent again",
          [R(21)],
          ["Boundary"],
          [...sends(2), resumeAt(2)],
          [data(1), data(2)],
        ),
        S(
          "resume: the peer received nothing: everything is sent again",
          [R(21)],
          ["Boundary"],
          [...sends(2), resumeAt(0)],
          [data(1), data(2), data(1), data(2)],
        ),
        S(
          "resume: a count above what was sent fails with E_RESUME_MISMATCH",
          [R(19), R(16)],
          ["Boundary"],
          [...sends(2), resumeAt(3)],
          [data(1), data(2)],
          E_RM,
        ),
        S(
          "resume: a count below one the peer already acknowledged fails with E_RESUME_MISMATCH",
          [R(19), R(16)],
          [],
          [...sends(3), ctl(ack(2)), resumeAt(1)],
          range(1, 3).map(data),
          E_RM,
        ),
        S(
          "resume: the room it frees goes to held messages, after the frames sent again",
          [R(21), R(10), R(26)],
          [],
          [...sends(5), resumeAt(1)],
          [...range(1, 4).map(data), held, data(2), data(3), data(4), data(5)],
        ),
        S(
          "resume: its count is an acknowledgement; a later ACK may not go below it",
          [R(21), A(4)],
          [],
          [...sends(3), resumeAt(2), ctl(ack(1))],
          [...range(1, 3).map(data), data(3)],
          E_PE,
        ),
        S(
          "resume twice: the second count continues from the first",
          [R(21), R(8)],
          [],
          [...sends(3), resumeAt(1), send(10), resumeAt(2)],
          [...range(1, 3).map(data), data(2), data(3), data(4), data(3), data(4)],
        ),
      ],
    },
    {
      params: { model: "session", own: lim(100, 100000), peer: lim(100, 1000) },
      tests: [
        S(
          "receiving: an ACK is due when the unacknowledged bytes reach half (500) of the peer's 1000",
          [A(5)],
          ["Boundary"],
          [recv(495), recv(0)],
          [deliver(1), deliver(2), acked(2)],
        ),
        S(
          "receiving: 496 payload bytes are 500 frame bytes: an ACK at once",
          [A(5)],
          ["Boundary"],
          [recv(496), recv(10)],
          [deliver(1), acked(1), deliver(2)],
        ),
        S(
          "receiving: the byte count starts again after each ACK",
          [A(5), A(3)],
          [],
          [recv(496), recv(495), recv(0)],
          [deliver(1), acked(1), deliver(2), deliver(3), acked(3)],
        ),
      ],
    },
    {
      params: { model: "session", own: lim(1, 1000), peer: lim(1, 1000) },
      tests: [
        S(
          "peer's maxUnackedMessages 1: every frame is acknowledged at once",
          [A(5)],
          ["Boundary"],
          [recv(1), recv(1)],
          [deliver(1), acked(1), deliver(2), acked(2)],
        ),
        S(
          "own maxUnackedMessages 1: one frame at a time",
          [R(10)],
          ["Boundary"],
          [send(1), send(1), ctl(ack(1)), send(1)],
          [data(1), held, data(2), held],
        ),
      ],
    },
  ];
}

// ---- model "server-hello" ---------------------------------------------------------------------
const ID1 = b64url(Buffer.alloc(16, 0x11));
const TOK1 = b64url(Buffer.alloc(32, 0x21));
const ID2 = b64url(Buffer.alloc(16, 0x12));
const TOK2 = b64url(Buffer.alloc(32, 0x22));
const TOK2_PREV = b64url(Buffer.alloc(32, 0x32));
const ID3 = b64url(Buffer.alloc(16, 0x13));
const TOK3 = b64url(Buffer.alloc(32, 0x23));
const ID4 = b64url(Buffer.alloc(16, 0x14));
const TOK4 = b64url(Buffer.alloc(32, 0x24));
const RANDOM = pattern(48, 0x80); // 16 bytes for a new id, then 32 for a token
const NEW_ID = b64url(Buffer.from(pattern(16, 0x80), "hex"));
const NEW_TOKEN = b64url(Buffer.from(pattern(32, 0x90), "hex"));
const TOKEN_FIRST = b64url(Buffer.from(pattern(32, 0x80), "hex")); // a resume draws only a token
const MFL = 4194304;
const SERVER_RESUME = { windowMs: 30000, maxUnackedMessages: 4096, maxUnackedBytes: 4194304 };
const server = (over = {}) => ({
  qwh: "1.1",
  features: ["control"],
  maxFrameLength: MFL,
  tls: false,
  now: NOW,
  signatureWindowMs: 30000,
  resume: { ...SERVER_RESUME, maxSessions: 8 },
  ...over,
});
const sess = (id, token, o = {}) => ({
  id,
  token,
  previousToken: null,
  key: null,
  tls: false,
  maxFrameLength: MFL,
  sent: 10,
  clientReported: 4,
  received: 7,
  ...o,
});
const SESSIONS = [
  sess(ID1, TOK1),
  sess(ID2, TOK2, { previousToken: TOK2_PREV, sent: 0, clientReported: 0, received: 0 }),
  sess(ID3, TOK3, { key: KA.publicB64 }),
  sess(ID4, TOK4, { tls: true }),
];
const LIMITS = { maxUnackedMessages: 100, maxUnackedBytes: 100000 };
const H = (over = {}) => ({ type: "handshake", qwh: "1.1", features: ["control", "resume"], resume: { ...LIMITS }, ...over });
const named = (id, token, received, over = {}) => H({ resume: { ...LIMITS, id, token, received }, ...over });
const accNew = (features = ["control", "resume"]) => ({
  type: "accept",
  qwh: "1.1",
  features,
  maxFrameLength: MFL,
  resume: {
    id: NEW_ID,
    token: NEW_TOKEN,
    windowMs: 30000,
    maxUnackedMessages: 4096,
    maxUnackedBytes: 4194304,
    received: 0,
    resumed: false,
  },
});
const accResumed = (id, received) => ({
  type: "accept",
  qwh: "1.1",
  features: ["control", "resume"],
  maxFrameLength: MFL,
  resume: { id, token: TOKEN_FIRST, windowMs: 30000, maxUnackedMessages: 4096, maxUnackedBytes: 4194304, received, resumed: true },
});
const acc = (qwh, features) => ({ type: "accept", qwh, features, maxFrameLength: MFL });
/** Server-hello test: the hello (object or raw text) in, the answer out. */
function N(comment, reqs, flags, hello, answer) {
  const hex = utf8hex(typeof hello === "string" ? hello : JSON.stringify(hello));
  if (answer.type === "reject") return T(comment, reqs, ["Resume", ...flags], { hex }, "invalid", { error: answer.code, answer });
  return T(comment, reqs, ["Resume", ...flags], { hex }, "valid", { error: null, answer });
}
const rej = (code) => ({ type: "reject", code });

function serverGroups() {
  const bad = (comment, member, flags = ["WrongType"]) =>
    N(comment, [R(2), R(4)], flags, H({ resume: member }), rej("E_INVALID_HANDSHAKE"));
  return [
    {
      params: { model: "server-hello", server: server(), sessions: SESSIONS, random: RANDOM },
      tests: [
        N(
          "a 1.1 hello offering resume: a new session, id and token from the generator, received 0",
          [R(3), R(5), R(6)],
          ["FeatureNegotiation"],
          H(),
          accNew(),
        ),
        N(
          "the hello member is required with resume offered: E_INVALID_HANDSHAKE",
          [R(4), R(2)],
          ["MissingMember"],
          H({ resume: undefined }),
          rej("E_INVALID_HANDSHAKE"),
        ),
        bad("resume is not an object", [1]),
        bad("maxUnackedMessages 0", { ...LIMITS, maxUnackedMessages: 0 }, ["Boundary"]),
        bad("maxUnackedMessages 4294967296", { ...LIMITS, maxUnackedMessages: 4294967296 }, ["Boundary"]),
        N(
          "maxUnackedMessages 4294967295 is valid",
          [R(2)],
          ["Boundary"],
          H({ resume: { ...LIMITS, maxUnackedMessages: 4294967295 } }),
          accNew(),
        ),
        bad("maxUnackedBytes 0", { ...LIMITS, maxUnackedBytes: 0 }, ["Boundary"]),
        bad("maxUnackedBytes missing", { maxUnackedMessages: 1 }, ["MissingMember"]),
        bad("maxUnackedMessages a string", { ...LIMITS, maxUnackedMessages: "1" }),
        bad("id without token and received", { ...LIMITS, id: ID1 }, ["MissingMember"]),
        bad("id and token without received", { ...LIMITS, id: ID1, token: TOK1 }, ["MissingMember"]),
        bad("id of 15 bytes", { ...LIMITS, id: b64url(Buffer.alloc(15, 1)), token: TOK1, received: 0 }, ["Boundary"]),
        bad("token of 33 bytes", { ...LIMITS, id: ID1, token: b64url(Buffer.alloc(33, 1)), received: 0 }, ["Boundary"]),
        bad("token with = padding", { ...LIMITS, id: ID1, token: TOK1 + "=", received: 0 }, ["Pattern"]),
        bad(
          "token in the standard base64 alphabet",
          { ...LIMITS, id: ID1, token: Buffer.alloc(32, 0xfb).toString("base64").replace(/=+$/, ""), received: 0 },
          ["Pattern"],
        ),
        bad("id not canonical (unused bits set)", { ...LIMITS, id: ID1.slice(0, -1) + "B", token: TOK1, received: 0 }, ["Pattern"]),
        bad("received -1", { ...LIMITS, id: ID1, token: TOK1, received: -1 }, ["Boundary"]),
        N(
          "a 1.0 hello offering resume: accept 1.0 without resume, the member ignored",
          [R(4), R(3), "QWH-NEG-004"],
          ["FeatureNegotiation", "VersionNegotiation"],
          H({ qwh: "1.0", resume: 7 }),
          acc("1.0", ["control"]),
        ),
        N(
          "a 1.1 hello with the member but without offering resume: the member is ignored",
          [R(4), R(5)],
          ["ForwardCompat"],
          H({ features: ["control"], resume: "x" }),
          acc("1.1", ["control"]),
        ),
        N(
          "resume offered without control: not listed (ACK needs control)",
          [R(3)],
          ["FeatureNegotiation"],
          H({ features: ["resume"] }),
          acc("1.1", []),
        ),
        N("a 1.4 hello: accept 1.1 with resume", [R(3), "QWH-NEG-002"], ["VersionNegotiation"], H({ qwh: "1.4" }), accNew()),
        N(
          "resume of session 1 with its token: resumed, a new token, the server's received count",
          [R(15), R(18), R(6)],
          [],
          named(ID1, TOK1, 6),
          accResumed(ID1, 7),
        ),
        N("resume with a count equal to the client's last report (4)", [R(16)], ["Boundary"], named(ID1, TOK1, 4), accResumed(ID1, 7)),
        N("resume with a count equal to what the server sent (10)", [R(16)], ["Boundary"], named(ID1, TOK1, 10), accResumed(ID1, 7)),
        N(
          "resume with a count above what the server sent (11): E_RESUME_MISMATCH",
          [R(16)],
          ["Boundary"],
          named(ID1, TOK1, 11),
          rej("E_RESUME_MISMATCH"),
        ),
        N(
          "resume with a count below the client's last report (3): E_RESUME_MISMATCH",
          [R(16)],
          ["Boundary"],
          named(ID1, TOK1, 3),
          rej("E_RESUME_MISMATCH"),
        ),
        N(
          "resume with a receive maximum below the session's: E_RESUME_MISMATCH",
          [R(16)],
          [],
          named(ID1, TOK1, 6, { maxFrameLength: MFL - 1 }),
          rej("E_RESUME_MISMATCH"),
        ),
        N(
          "resume with a larger receive maximum is fine",
          [R(16)],
          [],
          named(ID1, TOK1, 6, { maxFrameLength: MFL + 1 }),
          accResumed(ID1, 7),
        ),
        N("resume with a wrong token: E_SESSION_UNKNOWN", [R(15)], [], named(ID1, TOK2, 6), rej("E_SESSION_UNKNOWN")),
        N("resume with the token of another session: E_SESSION_UNKNOWN", [R(15)], [], named(ID2, TOK1, 0), rej("E_SESSION_UNKNOWN")),
        N(
          "resume of an unknown session: E_SESSION_UNKNOWN",
          [R(15)],
          [],
          named(b64url(Buffer.alloc(16, 0x19)), TOK1, 0),
          rej("E_SESSION_UNKNOWN"),
        ),
        N(
          "wrong token and a count out of range: E_SESSION_UNKNOWN comes first",
          [R(15), R(16)],
          ["CheckOrder"],
          named(ID1, TOK2, 99),
          rej("E_SESSION_UNKNOWN"),
        ),
        N("resume with the previous token, still valid: resumed", [R(18)], [], named(ID2, TOK2_PREV, 0), accResumed(ID2, 0)),
        N("resume with the latest token while a previous one is valid: resumed", [R(18)], [], named(ID2, TOK2, 0), accResumed(ID2, 0)),
        N(
          "session 3 began with a hello signed by key A: an unsigned resume is E_SESSION_UNKNOWN",
          [R(15), R(14)],
          [],
          named(ID3, TOK3, 6),
          rej("E_SESSION_UNKNOWN"),
        ),
        N(
          "session 3: a resume signed by key B is E_SESSION_UNKNOWN",
          [R(15), R(14)],
          [],
          signHello(named(ID3, TOK3, 6), { key: KB }),
          rej("E_SESSION_UNKNOWN"),
        ),
        N(
          "session 3: a resume signed by key A is resumed",
          [R(15), R(14)],
          [],
          signHello(named(ID3, TOK3, 6), { key: KA }),
          accResumed(ID3, 7),
        ),
        N(
          "session 1 began unsigned: a signed resume is E_SESSION_UNKNOWN",
          [R(15)],
          [],
          signHello(named(ID1, TOK1, 6), { key: KA }),
          rej("E_SESSION_UNKNOWN"),
        ),
        N(
          "session 4 began over TLS: a resume over plain TCP is E_SESSION_UNKNOWN",
          [R(15), R(14)],
          [],
          named(ID4, TOK4, 6),
          rej("E_SESSION_UNKNOWN"),
        ),
      ],
    },
    {
      params: { model: "server-hello", server: server({ tls: true }), sessions: SESSIONS, random: RANDOM },
      tests: [
        N("over TLS: session 4 (began over TLS) is resumed", [R(15)], [], named(ID4, TOK4, 6), accResumed(ID4, 7)),
        N("over TLS: session 1 (began over plain TCP) is resumed too", [R(15)], [], named(ID1, TOK1, 6), accResumed(ID1, 7)),
      ],
    },
    {
      params: {
        model: "server-hello",
        server: server({ resume: { ...SERVER_RESUME, maxSessions: 4 } }),
        sessions: SESSIONS,
        random: RANDOM,
      },
      tests: [
        N(
          "4 sessions held, maxSessions 4: a new connection is accepted without resume",
          [R(24), R(3), R(5)],
          ["Boundary"],
          H(),
          acc("1.1", ["control"]),
        ),
        N(
          "4 sessions held, maxSessions 4: a held session is still resumed",
          [R(24)],
          ["Boundary"],
          named(ID1, TOK1, 6),
          accResumed(ID1, 7),
        ),
      ],
    },
    {
      params: {
        model: "server-hello",
        server: server({ resume: { ...SERVER_RESUME, maxSessions: 5 } }),
        sessions: SESSIONS,
        random: RANDOM,
      },
      tests: [N("4 sessions held, maxSessions 5: a new session", [R(24), R(3)], ["Boundary"], H(), accNew())],
    },
  ];
}

// ---- model "client-accept" --------------------------------------------------------------------
const G = (over = {}) => ({
  id: ID1,
  token: TOK1,
  windowMs: 30000,
  maxUnackedMessages: 4096,
  maxUnackedBytes: 4194304,
  received: 0,
  resumed: false,
  ...over,
});
const ACC = (over = {}) => ({ type: "accept", qwh: "1.1", features: ["control", "resume"], maxFrameLength: MFL, resume: G(), ...over });
function C(comment, reqs, flags, accept, error) {
  const hex = utf8hex(JSON.stringify(accept));
  if (error) return T(comment, reqs, ["Resume", ...flags], { hex }, "invalid", { error });
  const { type, ...rest } = accept;
  return T(comment, reqs, ["Resume", ...flags], { hex }, "valid", { error: null, answer: { type, ...rest } });
}
const SESSION = { id: ID1, sent: 10, serverReported: 4, maxFrameLength: MFL };

function clientGroups() {
  const badMember = (comment, resume, flags = ["WrongType"]) => C(comment, [R(7), R(5)], flags, ACC({ resume }), "E_INVALID_HANDSHAKE");
  return [
    {
      params: { model: "client-accept", offered: { features: ["control", "resume"] }, session: null },
      tests: [
        C("a new session: the accept and its member", [R(7), R(5)], [], ACC()),
        C(
          "resume listed without the member: E_INVALID_HANDSHAKE",
          [R(7), R(5)],
          ["MissingMember"],
          ACC({ resume: undefined }),
          "E_INVALID_HANDSHAKE",
        ),
        badMember("the member is not an object", true),
        badMember("token of 31 bytes", G({ token: b64url(Buffer.alloc(31, 1)) }), ["Boundary"]),
        badMember("resumed missing", { ...G(), resumed: undefined }, ["MissingMember"]),
        badMember("windowMs negative", G({ windowMs: -1 }), ["Boundary"]),
        badMember("maxUnackedMessages 0", G({ maxUnackedMessages: 0 }), ["Boundary"]),
        C(
          "resume listed without control: E_PROTOCOL_ERROR",
          [R(7)],
          ["FeatureNegotiation"],
          ACC({ features: ["resume"] }),
          "E_PROTOCOL_ERROR",
        ),
        C(
          "resumed true in answer to a hello that named no session: E_PROTOCOL_ERROR",
          [R(7)],
          [],
          ACC({ resume: G({ resumed: true }) }),
          "E_PROTOCOL_ERROR",
        ),
        C("resume not listed: no session, whatever the client offered", [R(5)], [], {
          type: "accept",
          qwh: "1.0",
          features: ["control"],
          maxFrameLength: MFL,
        }),
        C(
          "an accept saying 1.2 to a client that offered 1.1: E_UNSUPPORTED_VERSION",
          ["QWH-ACCEPT-006"],
          ["VersionNegotiation"],
          ACC({ qwh: "1.2" }),
          "E_UNSUPPORTED_VERSION",
        ),
      ],
    },
    {
      params: { model: "client-accept", offered: { features: ["control", "resume"] }, session: SESSION },
      tests: [
        C("the named session resumed, the server received 6", [R(7), R(19)], [], ACC({ resume: G({ resumed: true, received: 6 }) })),
        C("received equal to the server's last report (4)", [R(19)], ["Boundary"], ACC({ resume: G({ resumed: true, received: 4 }) })),
        C("received equal to what the client sent (10)", [R(19)], ["Boundary"], ACC({ resume: G({ resumed: true, received: 10 }) })),
        C(
          "received above what the client sent (11): E_RESUME_MISMATCH",
          [R(19)],
          ["Boundary"],
          ACC({ resume: G({ resumed: true, received: 11 }) }),
          "E_RESUME_MISMATCH",
        ),
        C(
          "received below the server's last report (3): E_RESUME_MISMATCH",
          [R(19)],
          ["Boundary"],
          ACC({ resume: G({ resumed: true, received: 3 }) }),
          "E_RESUME_MISMATCH",
        ),
        C(
          "a receive maximum below the session's: E_RESUME_MISMATCH",
          [R(19)],
          [],
          ACC({ maxFrameLength: MFL - 1, resume: G({ resumed: true, received: 6 }) }),
          "E_RESUME_MISMATCH",
        ),
        C(
          "resumed false in answer to a resume hello: E_PROTOCOL_ERROR",
          [R(7)],
          [],
          ACC({ resume: G({ resumed: false }) }),
          "E_PROTOCOL_ERROR",
        ),
        C(
          "another session resumed: E_PROTOCOL_ERROR",
          [R(7)],
          [],
          ACC({ resume: G({ id: ID2, resumed: true, received: 6 }) }),
          "E_PROTOCOL_ERROR",
        ),
        C(
          "another session and a count out of range: E_PROTOCOL_ERROR comes first",
          [R(7), R(19)],
          ["CheckOrder"],
          ACC({ resume: G({ id: ID2, resumed: true, received: 99 }) }),
          "E_PROTOCOL_ERROR",
        ),
      ],
    },
  ];
}

export default function resume() {
  return {
    resume: buildFile({
      kind: "resume",
      qwh: "1.1",
      description:
        'Session resumption (feature "resume", QWH/1.1, spec section 10.7), in three models chosen by the group\'s "model". "session": one side of a session with its own and the peer\'s replay bounds; each step is a message the application sends ({"send": payload length}), a data frame received and delivered ({"receive": payload length}), a control frame received ({"control": hex of type byte and body}) or the peer\'s received count in a resume hello or accept ({"resume": count}); the events are the data frames written ({"type":"data","n"}: frame number n, first sent or sent again), messages held past the bounds ({"type":"held"}), frames delivered ({"type":"deliver","n"}) and the ACKs required by QWH-ACK-005 and QWH-ACK-007 ({"type":"ack","count"}, request bit clear); optional ACKs (a delay, QWH-ACK-006, or a request, QWH-ACK-008) are not events, and processing stops at the first error. "server-hello": the server\'s answer to a hello (hex), given its configuration, the sessions it holds (sent: data frames it sent, clientReported: the highest count the client reported, received: data frames it received) and the bytes its random generator returns, in order (16 for a new id, 32 for each token). "client-accept": the client\'s check of an accept (hex), given what it offered and the session its hello named (sent: data frames it sent, serverReported: the highest count the server reported).',
      groups: [...sessionGroups(), ...serverGroups(), ...clientGroups()],
    }),
  };
}
