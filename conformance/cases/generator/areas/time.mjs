// time: handshake timers (spec section 9.4).
import * as L from "../lib.mjs";
const {
  mk,
  send,
  wait,
  sendSlowly,
  expectAccept,
  expectHello,
  expectData,
  rejectClose,
  silentClose,
  silence,
  textFrame,
  helloFrame,
  acceptFrame,
  HS_TIMEOUT,
} = L;

const A = "time";
const S = (x = {}) => ({ scenario: "echo", features: ["control"], handshakeTimeoutMs: HS_TIMEOUT, ...x });
const C = (x = {}) => ({ scenario: "mirror", features: ["control"], handshakeTimeoutMs: HS_TIMEOUT, ...x });
const srv = (name, o) => mk(A, "server", name, { config: S(), ...o });
const cli = (name, o) => mk(A, "client", name, { config: C(), ...o });
const server = [];
const client = [];
const H = helloFrame();

server.push(
  srv("silent-peer", {
    title: "a peer that sends nothing gets a reject E_HANDSHAKE_TIMEOUT after the handshake timeout (300 ms)",
    reqs: ["QWH-TIME-001", "QWH-LIMIT-004"],
    steps: [silence(150, "not before the timeout"), rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("partial-header", {
    title: "two bytes of a header do not stop the timer",
    reqs: ["QWH-TIME-001", "QWH-TIME-004"],
    steps: [send(H.slice(0, 4)), rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("partial-payload", {
    title: "a header and half a hello do not stop the timer",
    reqs: ["QWH-TIME-001", "QWH-TIME-004"],
    steps: [send(H.slice(0, 2 * Math.floor(H.length / 4))), rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("trickle-does-not-extend", {
    title: "a hello trickling in (pieces at 0, 200, 400 ms, timeout 600 ms) is cut off at 600 ms, not later",
    reqs: ["QWH-TIME-004"],
    config: S({ handshakeTimeoutMs: 600 }),
    steps: [
      send(H.slice(0, 12)),
      wait(200),
      send(H.slice(12, 24)),
      wait(200),
      send(H.slice(24, 36)),
      rejectClose("E_HANDSHAKE_TIMEOUT", 450),
    ],
  }),
);
server.push(
  srv("slowloris", {
    title: "a hello sent one byte every 40 ms cannot outlast the timer",
    reqs: ["QWH-TIME-004", "QWH-TIME-001"],
    timeoutMs: 6000,
    steps: [sendSlowly(H.slice(0, 40), 40), rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("hello-in-time", {
    title: "a hello sent after 100 ms (timeout 300 ms) is accepted",
    reqs: ["QWH-TIME-001"],
    steps: [wait(100), send(H), expectAccept({ type: "accept" })],
  }),
);
server.push(
  srv("timer-stops-at-accept", {
    title: "after the accept the handshake timer no longer runs: a message 700 ms later is echoed",
    reqs: ["QWH-TIME-001"],
    steps: [send(H), expectAccept({ type: "accept" }), silence(700), send(textFrame("late")), expectData(L.utf8("late"))],
  }),
);
server.push(
  srv("timeout-no-control", {
    title: "the handshake timeout also applies on a server without control",
    reqs: ["QWH-TIME-001"],
    config: S({ features: [] }),
    steps: [rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("timeout-on-legacy-listener", {
    title: "a listener that allows legacy also times out a silent peer with a reject",
    reqs: ["QWH-TIME-001", "QWH-LIMIT-004"],
    config: S({ allowLegacy: true }),
    steps: [rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  srv("slow-policy-bounded", {
    title: "a policy slower than the handshake timeout: reject E_HANDSHAKE_TIMEOUT",
    reqs: ["QWH-TIME-005"],
    level: "SHOULD",
    config: S({ verifyDelayMs: 3000 }),
    steps: [send(H), rejectClose("E_HANDSHAKE_TIMEOUT", 1500)],
  }),
);
server.push(
  mk(A, "server", "default-10s", {
    title: "without configuration the handshake timeout is 10 s: silent for 9 s, then E_HANDSHAKE_TIMEOUT by 12 s",
    reqs: ["QWH-TIME-003"],
    level: "SHOULD",
    config: { scenario: "echo", features: ["control"] },
    timeoutMs: 15000,
    steps: [silence(9000), rejectClose("E_HANDSHAKE_TIMEOUT", 3000)],
  }),
);

client.push(
  cli("no-answer", {
    title: "no answer within the handshake timeout (300 ms): the client closes without sending a frame",
    reqs: ["QWH-TIME-002", "QWH-ERR-004"],
    steps: [expectHello({ type: "handshake" }), silence(150, "not before the timeout"), silentClose(1500)],
  }),
);
client.push(
  cli("partial-answer", {
    title: "half an accept does not stop the client's timer",
    reqs: ["QWH-TIME-002", "QWH-TIME-004"],
    steps: [expectHello({ type: "handshake" }), send(acceptFrame().slice(0, 30)), silentClose(1500)],
  }),
);
client.push(
  cli("trickle-does-not-extend", {
    title: "an accept trickling in (pieces at 0, 200, 400 ms, timeout 600 ms) is cut off at 600 ms",
    reqs: ["QWH-TIME-004"],
    config: C({ handshakeTimeoutMs: 600 }),
    steps: [
      expectHello({ type: "handshake" }),
      send(acceptFrame().slice(0, 12)),
      wait(200),
      send(acceptFrame().slice(12, 24)),
      wait(200),
      send(acceptFrame().slice(24, 36)),
      silentClose(450),
    ],
  }),
);
client.push(
  cli("answer-in-time", {
    title: "an accept after 100 ms (timeout 300 ms) opens the connection",
    reqs: ["QWH-TIME-002"],
    steps: [expectHello({ type: "handshake" }), wait(100), send(acceptFrame()), send(textFrame("x")), expectData(L.utf8("x"))],
  }),
);
client.push(
  cli("timer-stops-at-accept", {
    title: "after the accept the client's handshake timer no longer runs",
    reqs: ["QWH-TIME-002"],
    steps: [expectHello({ type: "handshake" }), send(acceptFrame()), silence(700), send(textFrame("late")), expectData(L.utf8("late"))],
  }),
);
L.addResults(client, {
  "no-answer": { error: "E_HANDSHAKE_TIMEOUT", received: [] },
  "partial-answer": { error: "E_HANDSHAKE_TIMEOUT", received: [] },
  "trickle-does-not-extend": { error: "E_HANDSHAKE_TIMEOUT", received: [] },
});

export default {
  area: A,
  description:
    "Handshake timeouts (spec section 9.4): the server's timer from transport up to the complete first frame, the client's from hello to answer, unaffected by partial frames.",
  server,
  client,
};
