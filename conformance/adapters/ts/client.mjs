// connect mode of the ts adapter (spec Appendix D.3): a qwormhole client running one of the
// contract's client scenarios, ending with one result line. The scenario runner is a function, so
// that one process can run many clients (connect-many) as well as one (connect).
import { generateKeyPairSync } from "node:crypto";
import { digestOf, expandMessages, NumberRuns } from "../../lib/messages.mjs";
import { commonOptions, tlsOptions, Unsupported } from "./options.mjs";

/**
 * The result line's received members, from the messages received so far: their count, the
 * digest over all of them, and the first ones in hex (up to 64 messages and 64 KiB).
 */
export function summarize(result, received, raw) {
  result.received = received.length;
  result.receivedSha256 = digestOf(received, raw);
  let budget = 65536;
  result.receivedHex = [];
  for (const b of received.slice(0, 64)) {
    if ((budget -= b.length) < 0) break;
    result.receivedHex.push(b.toString("hex"));
  }
  return result;
}

const CLIENT_SCENARIOS = new Set([
  "mirror",
  "close",
  "echo",
  "hold",
  "receive",
  "broadcast",
  "await-close",
  "expect-reject",
  "oversize",
  "reconnect",
  "heartbeat",
  "retry",
  "sequence",
]);

/**
 * Runs one client scenario to its end and resolves its result line (spec Appendix D.3). `live` is
 * filled in as the scenario goes (live.result: the result so far), `emit(line)` prints an event
 * line (the reconnect scenario's checkpoint). Throws Unsupported for a scenario or option it
 * cannot run. Many can run at once in one process (connect-many mode).
 */
export async function runClientScenario({ port, host, tls, scenario, config }, { emit, live = {} }) {
  if (!CLIENT_SCENARIOS.has(scenario)) throw new Unsupported(`unsupported client scenario ${scenario}`);
  const { QWormholeClient, createHelloSigner } = await import("qwormhole");
  const raw = config.framing === "none";
  const options = {
    host,
    port,
    ...commonOptions(config),
    reconnect:
      scenario === "reconnect"
        ? { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 100 }
        : scenario === "retry"
          ? { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: config.maxAttempts ?? 5 }
          : scenario === "sequence"
            ? // Through the runner's cutting proxy: more attempts than it cuts connections.
              { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: config.maxAttempts ?? 100 }
            : // A session is resumed by the reconnect that follows a lost connection.
              config.resume
              ? { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 20 }
              : false,
    connectTimeoutMs: config.connectTimeoutMs ?? 5000,
  };
  if (config.sign) options.handshakeSigner = createHelloSigner(generateKeyPairSync("ed25519").privateKey);
  if (tls) options.tls = tlsOptions(tls, false, config);
  const client = new QWormholeClient(options);
  const received = [];
  const result = {
    ok: false,
    scenario,
    sent: 0,
    received: 0,
    receivedSha256: "",
    receivedHex: [],
    error: null,
    closeCode: null,
    closedByPeer: false,
    accept: null,
  };
  live.result = result;
  live.received = received;
  live.raw = raw;
  let closingOurselves = false;
  const waiters = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  // sequence: the numbers of what arrives, as runs (the runner counts lost, duplicated and out of order).
  const runs = scenario === "sequence" ? new NumberRuns() : null;
  client.on("message", (m) => {
    const b = Buffer.from(m);
    received.push(b);
    runs?.take(b);
    wake();
  });
  client.on("error", (e) => {
    if (!/^server closed the connection/.test(e.message)) result.error ??= e.code;
    wake();
  });
  let closed = false;
  client.on("close", (info) => {
    // qwormhole reports a peer's CLOSE with a code other than E_NORMAL_CLOSE as an error whose
    // message starts "server closed the connection"; here it is the close code, not a failure.
    const peerCode = info.error && /^server closed the connection/.test(info.error.message) ? info.error.code : null;
    if (peerCode && result.error === peerCode) result.error = null;
    if (!closingOurselves && scenario !== "reconnect" && !(scenario === "sequence" && info.willReconnect)) {
      result.closedByPeer = true;
      // The code of the peer's CLOSE; null when none came (an unclean end with "control", QWH-CLOSE-013).
      result.closeCode = peerCode ?? (info.error ? null : (info.peerClose?.code ?? null));
      if (info.error && !peerCode) result.error ??= info.error.code;
    }
    if (!info.willReconnect) closed = true;
    wake();
  });
  const deadline = Date.now() + (config.timeoutMs ?? 10000);
  const until = async (cond) => {
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const finish = async (ok, message) => {
    result.ok = ok && (["expect-reject", "await-close", "hold", "mirror", "close", "retry"].includes(scenario) || result.error === null);
    if (message) result.message = message;
    if (!closed && client.connected) {
      closingOurselves = true;
      await Promise.race([client.close(), sleep(2000)]);
    } else client.destroy();
    return summarize(result, received, raw);
  };
  const messages = expandMessages(config.messages);
  const sendAll = (list) => {
    for (const m of list) {
      client.send(m);
      result.sent++;
    }
  };
  // mirror and close queue their messages before the accept has arrived (QWH-STATE-001).
  const early = scenario === "mirror" || scenario === "close";
  if (scenario === "mirror") {
    client.on("message", (m) => {
      try {
        client.send(m);
        result.sent++;
      } catch {
        // closing: nothing more to mirror
      }
    });
  }
  // retry: automatic reconnect on; counts the ends of open connections, queues whileDownMessages
  // at the first end that a reconnect follows, sends laterMessages once the next handshake is done.
  let closesSeen = 0;
  let readies = 0;
  if (scenario === "retry") {
    client.on("close", (info) => {
      closesSeen++;
      if (info.willReconnect && closesSeen === 1) sendAll(expandMessages(config.whileDownMessages));
      wake();
    });
    client.on("ready", () => {
      readies++;
      result.reconnects = readies - 1;
      if (readies === 2) sendAll(expandMessages(config.laterMessages));
      wake();
    });
  }
  // sequence: connections lost and sessions resumed along the way, and messages reported lost.
  let drained = true;
  if (scenario === "sequence") {
    result.drops = 0;
    result.resumes = 0;
    result.sessionLost = 0;
    client.on("close", (info) => {
      if (info.willReconnect) result.drops++;
    });
    client.on("resumed", () => result.resumes++);
    client.on("sessionLost", ({ messages: lost }) => (result.sessionLost += lost.length));
    // The client has ended for good once statusChanges says closed (after its final close event).
    void (async () => {
      for await (const st of client.statusChanges()) {
        if (st.type !== "closed") continue;
        if (!closingOurselves) result.error ??= st.error?.code ?? null;
        closed = true;
        wake();
        return;
      }
    })();
    client.on("drain", () => {
      drained = true;
      wake();
    });
  }
  const connecting = client.connect();
  if (early) sendAll(messages);
  try {
    await connecting;
  } catch (err) {
    result.error = err.code ?? "E_INTERNAL";
    if (scenario === "expect-reject") return finish(result.error === config.expectError, `connect failed with ${result.error}`);
    return finish(false, `connect failed: ${err.message}`);
  }
  result.accept = client.connection?.accept ?? null;
  const total = (list) => list.reduce((n, m) => n + m.length, 0);
  switch (scenario) {
    case "expect-reject":
      return finish(false, "connected although a reject was expected");
    case "echo": {
      sendAll(messages);
      const want = raw ? total(messages) : messages.length;
      const ok = await until(() => (raw ? total(received) >= want : received.length >= want) || closed);
      return finish(
        ok && digestOf(raw ? [Buffer.concat(received)] : received, raw) === digestOf(raw ? [Buffer.concat(messages)] : messages, raw),
        ok ? undefined : "timed out waiting for the echo",
      );
    }
    case "mirror": {
      const end = Date.now() + (config.holdMs ?? 10000);
      await until(() => closed || Date.now() >= end);
      return finish(true);
    }
    case "close": {
      closingOurselves = true;
      await Promise.race([client.close(), sleep((config.drainTimeoutMs ?? 5000) + 1000)]);
      closed = true;
      return finish(true);
    }
    case "hold": {
      sendAll(messages);
      const end = Date.now() + (config.holdMs ?? 1000);
      await until(() => closed || Date.now() >= end);
      return finish(true);
    }
    case "heartbeat": {
      await sleep(config.holdMs ?? 500);
      if (closed) return finish(false, "connection closed while idle");
      sendAll(messages.length ? messages : [Buffer.from("after-idle")]);
      const ok = await until(() => received.length >= Math.max(1, messages.length) || closed);
      return finish(ok && !closed);
    }
    case "receive": {
      sendAll(messages);
      const ok = await until(() => received.length >= (config.expectCount ?? 1) || closed);
      return finish(ok && received.length >= (config.expectCount ?? 1));
    }
    case "broadcast": {
      const go = await until(() => received.length >= 1 || closed);
      if (!go) return finish(false, "no go message");
      received.shift();
      sendAll(messages);
      const ok = await until(() => received.length >= (config.expectCount ?? 1) || closed);
      return finish(ok && received.length >= (config.expectCount ?? 1));
    }
    case "await-close": {
      sendAll(messages);
      const ok = await until(() => closed);
      return finish(ok && result.closedByPeer, ok ? undefined : "the server did not close");
    }
    case "oversize": {
      let code = null;
      try {
        client.send(Buffer.alloc(config.size ?? 1));
      } catch (err) {
        code = err.code;
      }
      result.localError = code;
      sendAll(messages.length ? messages : [Buffer.from("still-open")]);
      const ok = await until(() => received.length >= Math.max(1, messages.length) || closed);
      return finish(ok && code === "E_FRAME_TOO_LARGE" && !closed, `local error ${code}`);
    }
    case "retry": {
      sendAll(messages);
      const ok = await until(() => closed || closesSeen >= (config.closes ?? 1));
      return finish(ok, ok ? undefined : "timed out waiting for the connection to end");
    }
    case "sequence": {
      // Every message once, in order, waiting whenever send() reports backpressure; then the
      // server's expectCount messages (its last one comes after it has received all of ours).
      for (const m of messages) {
        try {
          drained = client.send(m);
        } catch (err) {
          result.sendError = err.code ?? "E_INTERNAL";
          break;
        }
        result.sent++;
        if (!drained && !(await until(() => closed || drained))) break;
        if (closed) break;
      }
      const ok = await until(() => received.length >= (config.expectCount ?? 0) || closed);
      result.receivedRuns = runs.runs;
      // Connection losses along the way are what the scenario is about; a client that gave up keeps its error.
      if (!closed) result.error = null;
      return finish(ok && !closed, ok ? undefined : `timed out with ${received.length} of ${config.expectCount ?? 0} messages`);
    }
    case "reconnect": {
      sendAll(messages.slice(0, 1));
      if (!(await until(() => received.length >= 1))) return finish(false, "no first echo");
      let readyAgain = false;
      client.once("ready", () => {
        readyAgain = true;
        wake();
      });
      emit({ event: "checkpoint" });
      if (!(await until(() => readyAgain || closed))) return finish(false, "did not reconnect");
      result.reconnected = true;
      sendAll(messages.slice(1));
      const ok = await until(() => received.length >= messages.length || closed);
      result.error = null; // the drop itself is expected
      return finish(ok && received.length >= messages.length);
    }
  }
}
