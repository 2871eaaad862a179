// serve mode of the ts adapter (spec Appendix D.3): a qwormhole server running one of the
// contract's server scenarios, printing {"ready":true,"port":P} and then its event lines.
import { createHash } from "node:crypto";
import { expandMessages, numberedMessage, NumberRuns, patternMessage } from "../../lib/messages.mjs";
import { commonOptions, tlsOptions, Unsupported } from "./options.mjs";

function line(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const SERVER_SCENARIOS = new Set(["echo", "sink", "broadcast", "push-on-connect", "close-after", "hello-info", "sequence"]);

/** serve: listens, prints the ready line, then one line per event, until stdin ends or SIGTERM. */
export async function runServe({ config, port, host, tls }) {
  const scenario = config.scenario ?? "echo";
  if (!SERVER_SCENARIOS.has(scenario)) throw new Unsupported(`unsupported server scenario ${scenario}`);
  const { QWormholeServer, createHandshakeVerifier } = await import("qwormhole");
  const options = { host, port, ...commonOptions(config) };
  delete options.handshakeProfile;
  if (config.profile === "bare") options.handshakeProfile = "bare";
  if (config.profile === "legacy" || config.allowLegacy) options.allowLegacy = true;
  if (config.requireSignature) options.requireSignedHandshake = true;
  for (const k of ["maxClients", "maxPendingHandshakes", "maxBackpressureBytes", "signatureWindowMs"])
    if (config[k] !== undefined) options[k] = config[k];
  if (tls) options.tls = tlsOptions(tls, true, config);
  if (config.allowConnection === false) options.allowConnection = () => false;
  // trustedKeys: the policy relies on signatures: only hellos signed by one of these keys pass (QWH-SIG-014).
  const trusted = Array.isArray(config.trustedKeys) ? createHandshakeVerifier({ trustedKeys: config.trustedKeys }) : () => true;
  if (config.trustedKeys !== undefined) options.verifyHandshake = trusted;
  if (config.policy !== undefined || config.verifyDelayMs !== undefined) {
    const decide = (h) => {
      if (config.policy === "throw") throw new Error("policy hook failure (adapter config)");
      return config.policy !== "reject" && trusted(h);
    };
    options.verifyHandshake = config.verifyDelayMs
      ? (h) =>
          new Promise((r, j) =>
            setTimeout(() => {
              try {
                r(decide(h));
              } catch (err) {
                j(err);
              }
            }, config.verifyDelayMs),
          )
      : decide;
  }
  const initial = expandMessages(config.messages);
  if (config.replayCacheMaxEntries !== undefined) options.replayCacheMaxEntries = config.replayCacheMaxEntries;
  const server = new QWormholeServer(options);
  const counts = new Map();
  // sequence: per connection (a resumed one is the same object), the sender's progress and what arrived.
  const streams = new Map();
  const wakeStream = (c) => {
    const w = streams.get(c.id)?.wake;
    if (w) w();
  };
  server.on("drain", ({ client }) => wakeStream(client));
  server.on("resumed", ({ client }) => {
    const st = streams.get(client.id);
    if (st) st.resumes++;
    wakeStream(client);
  });
  server.on("connection", (c) => {
    counts.set(c.id, { messages: 0, bytes: 0 });
    if (scenario === "sequence") {
      const st = { runs: new NumberRuns(), hash: createHash("sha256"), resumes: 0, sentAll: false, endSent: false, wake: null, open: true };
      streams.set(c.id, st);
      void streamTo(c, st);
      return;
    }
    for (const m of initial) {
      try {
        c.send(m);
      } catch (err) {
        // E_FRAME_TOO_LARGE for this message only (QWH-FRAME-007): the others still go out.
        line({ event: "send-error", code: err.code ?? "E_INTERNAL" });
      }
    }
    if (scenario === "close-after" && (config.closeAfter ?? 1) === 0) void c.end(config.closeCode ?? "E_NORMAL_CLOSE");
    if (scenario === "push-on-connect") {
      for (let i = 0; i < (config.pushCount ?? 1); i++) {
        try {
          c.send(patternMessage(i, config.pushSize ?? 16));
        } catch (err) {
          line({ event: "send-error", code: err.code ?? "E_INTERNAL" });
        }
      }
    } else if (scenario === "hello-info") {
      const h = c.handshake;
      c.send(
        JSON.stringify({
          profile: h.profile,
          version: h.version ?? null,
          tags: h.tags,
          features: h.features,
          maxFrameLength: h.maxFrameLength,
          signed: h.signed,
        }),
      );
    } else if (scenario === "broadcast" && server.getConnectionCount() === (config.groupSize ?? 2)) {
      server.broadcast(Buffer.from("go"));
    }
  });
  /**
   * sequence: sends `messages` in order, waiting whenever send() reports backpressure (or refuses a
   * message while the client is away); once they are all handed over and `expectCount` messages
   * have arrived, one more numbered message (number `messages.length`): the client's end mark.
   */
  const streamTo = async (c, st) => {
    const wait = () => new Promise((r) => (st.wake = r)).finally(() => (st.wake = null));
    for (let i = 0; i < initial.length && st.open;) {
      let more;
      try {
        more = c.send(initial[i]);
      } catch (err) {
        if (err.code !== "E_QUEUE_FULL") {
          line({ event: "send-error", code: err.code ?? "E_INTERNAL" });
          return;
        }
        await wait();
        continue;
      }
      i++;
      if (!more) await wait();
    }
    st.sentAll = true;
    streamEnd(c, st);
  };
  const streamEnd = (c, st) => {
    const n = counts.get(c.id);
    if (st.endSent || !st.sentAll || !n || n.messages < (config.expectCount ?? 0)) return;
    st.endSent = true;
    try {
      c.send(numberedMessage(initial.length, initial.at(-1)?.length ?? 4));
    } catch (err) {
      line({ event: "send-error", code: err.code ?? "E_INTERNAL" });
    }
  };
  server.on("message", ({ client, data }) => {
    const n = counts.get(client.id);
    if (n) {
      n.messages++;
      n.bytes += data.length;
    }
    if (scenario === "sequence") {
      const st = streams.get(client.id);
      if (st) {
        st.runs.take(data);
        st.hash.update(Buffer.from([data.length >>> 24, (data.length >>> 16) & 255, (data.length >>> 8) & 255, data.length & 255]));
        st.hash.update(data);
        streamEnd(client, st);
      }
      return;
    }
    try {
      if (scenario === "echo" || scenario === "push-on-connect" || scenario === "hello-info") client.send(data);
      else if (scenario === "broadcast") server.broadcast(data);
      else if (scenario === "close-after") {
        client.send(data);
        if (n && n.messages === (config.closeAfter ?? 1)) void client.end(config.closeCode ?? "E_NORMAL_CLOSE");
      }
    } catch {
      // a send on a closing connection: nothing to echo to
    }
  });
  server.on("clientClosed", ({ client, error }) => {
    const n = counts.get(client.id) ?? { messages: 0, bytes: 0 };
    counts.delete(client.id);
    const st = streams.get(client.id);
    if (st) {
      streams.delete(client.id);
      st.open = false;
      st.wake?.();
      line({
        event: "closed",
        messages: n.messages,
        bytes: n.bytes,
        error: error?.code ?? null,
        receivedRuns: st.runs.runs,
        receivedSha256: st.hash.digest("hex"),
        resumes: st.resumes,
      });
      return;
    }
    line({ event: "closed", messages: n.messages, bytes: n.bytes, error: error?.code ?? null });
  });
  // A refused handshake ends its connection too: "rejected", then its "closed" line (Appendix D.3).
  server.on("handshakeRejected", ({ code }) => {
    line({ event: "rejected", code });
    line({ event: "closed", messages: 0, bytes: 0, error: code ?? null });
  });
  server.on("error", () => undefined);
  const address = await server.listen();
  line({ ready: true, port: address.port });
  const stop = async () => {
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, 500))]);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.resume();
}
