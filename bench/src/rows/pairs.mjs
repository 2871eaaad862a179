// Implementation pairs: a qwormhole client of one implementation sending to a
// qwormhole server of another, both made by the factory. Row names are
// `<client>-<server>`: ts-ts, ts-native-lws, native-lws-ts, native-libsocket-native-lws, ...
// (the client sends, the server receives). Headline rows: send() plus one
// `message` event per message with the default codec. Batch rows
// (`ts-ts-batch`) receive through the `messageBatch` event instead: one event per
// read carrying its messages, each still checked (batch APIs get rows of their own). When the
// factory does not give the implementation asked for, the row throws
// Unavailable with the factory's reason (never measured as TS).
import {
  createCborDeserializer,
  createCborSerializer,
  createQWormholeClient,
  createQWormholeServer,
  jsonDeserializer,
  jsonSerializer,
} from "qwormhole";
import { sampleValue } from "../lib/sample-value.mjs";
import { goodMessage, once, payloadOf, pinger, Unavailable } from "./common.mjs";

export const IMPLEMENTATIONS = {
  ts: { forceTs: true },
  "native-libsocket": { preferNative: true, preferredNativeBackend: "libsocket" },
  "native-lws": { preferNative: true, preferredNativeBackend: "lws" },
};

/** Splits "native-lws-ts" into ["native-lws", "ts"]; null when it is not a pair name. */
export function splitPairName(name) {
  for (const c of Object.keys(IMPLEMENTATIONS)) {
    if (name.startsWith(`${c}-`) && Object.hasOwn(IMPLEMENTATIONS, name.slice(c.length + 1))) return [c, name.slice(c.length + 1)];
  }
  return null;
}

export const pairNames = () => Object.keys(IMPLEMENTATIONS).flatMap((c) => Object.keys(IMPLEMENTATIONS).map((s) => `${c}-${s}`));

function codecs(codec) {
  if (codec === "json") return { serializer: jsonSerializer, deserializer: jsonDeserializer };
  if (codec === "cbor") return { serializer: createCborSerializer(), deserializer: createCborDeserializer() };
  return {};
}

function closeQuietly(x) {
  try {
    const r = x.destroy?.() ?? x.close?.();
    r?.catch?.(() => {});
  } catch {
    // ignore
  }
}

export function makeServer(impl, options) {
  const made = createQWormholeServer({ ...IMPLEMENTATIONS[impl], host: "127.0.0.1", port: 0, ...options });
  if (made.mode !== impl) {
    closeQuietly(made.server);
    throw new Unavailable(`${impl} server unavailable: the factory gave mode ${made.mode}${made.reason ? ` (${made.reason})` : ""}`);
  }
  return made.server;
}

export function makeClient(impl, options) {
  const made = createQWormholeClient({ ...IMPLEMENTATIONS[impl], host: "127.0.0.1", reconnect: false, ...options });
  if (made.mode !== impl) {
    closeQuietly(made.client);
    throw new Unavailable(`${impl} client unavailable: the factory gave mode ${made.mode}${made.reason ? ` (${made.reason})` : ""}`);
  }
  return made.client;
}

const serverTls = (t) => (t ? { tls: { key: t.key, cert: t.cert } } : {});
const clientTls = (t) => (t ? { tls: { ca: t.cert } } : {});

/**
 * The table entry of one pair; `batch`: the receiver takes `messageBatch` events; `extra`: options
 * given to both sides (the resume row: session resumption, ACKs and the replay buffer).
 */
export function pair(clientImpl, serverImpl, { batch = false, extra = {} } = {}) {
  const serverOf = (impl, options) => makeServer(impl, { ...extra, ...options });
  const clientOf = (impl, options) => makeClient(impl, { ...extra, ...options });
  return {
    awaitsStart: true,
    async receive({ count, size, onListening, onDone, tls: t, codec: c }) {
      const codec = c === "json" || c === "cbor" ? c : undefined; // "buffer": bytes, as by default
      const server = serverOf(serverImpl, {
        ...serverTls(t),
        ...(codec ? { deserializer: codecs(codec).deserializer } : {}),
        maxPendingHandshakes: 4096,
      });
      let n = 0;
      let bytes = 0;
      let bad = 0;
      if (batch) {
        if (codec) throw new Unavailable("batch rows measure bytes only");
        server.on("messageBatch", ({ messages }) => {
          const before = n;
          for (const data of messages) {
            bytes += data.length;
            if (!goodMessage(data, size)) bad++;
          }
          n += messages.length;
          if (before < count && n >= count) onDone({ messages: n, bytes, bad });
        });
      } else if (codec) {
        server.on("message", ({ data }) => {
          if (data.kind !== "bench" || data.id !== sampleValue.id) bad++;
          if (++n === count) onDone({ messages: n, bytes: n * size, bad });
        });
      } else {
        server.on("message", ({ data }) => {
          bytes += data.length;
          if (!goodMessage(data, size)) bad++;
          if (++n === count) onDone({ messages: n, bytes, bad });
        });
      }
      const { port } = await server.listen();
      onListening(port);
      return () => server.close();
    },
    async send({ port, count, size, onStart, tls: t, codec: c }) {
      const codec = c === "json" || c === "cbor" ? c : undefined;
      const client = clientOf(clientImpl, { port, ...clientTls(t), ...(codec ? { serializer: codecs(codec).serializer } : {}) });
      await client.connect();
      const payload = codec ? { ...sampleValue } : payloadOf(size);
      await onStart();
      for (let i = 0; i < count; i++) {
        if (!client.send(payload)) await once(client, "drain");
      }
      return () => client.close();
    },
    async echo({ onListening, tls: t }) {
      const server = serverOf(serverImpl, serverTls(t));
      server.on("message", ({ client, data }) => client.send(data));
      const { port } = await server.listen();
      onListening(port);
      return () => server.close();
    },
    async ping({ port, size, samples, warmup, tls: t }) {
      const client = clientOf(clientImpl, { port, ...clientTls(t) });
      await client.connect();
      const payload = payloadOf(size);
      const p = pinger({ samples, warmup, send: () => client.send(payload) });
      client.on("message", () => p.reply());
      const rtts = await p.start();
      await client.close();
      return rtts;
    },
    /** Which implementations the factory gives here (for the availability probe). */
    probe() {
      const out = [];
      for (const [side, impl, make] of [
        ["client", clientImpl, () => clientOf(clientImpl, { port: 1 })],
        ["server", serverImpl, () => serverOf(serverImpl, {})],
      ]) {
        try {
          closeQuietly(make());
        } catch (err) {
          out.push(err.unavailable ? err.message : `${side} ${impl}: ${err.message}`);
        }
      }
      return out;
    },
  };
}

export const pairs = Object.fromEntries(pairNames().map((name) => [name, pair(...splitPairName(name))]));

/** Rows through the batch API: one-way throughput only (plain TCP and TLS). */
export const batchPairs = { "ts-ts-batch": { ...pair("ts", "ts", { batch: true }), echo: undefined, ping: undefined } };

/** ts-ts with session resumption on (QWH/1.1): what counting, ACKs and the replay buffer cost. */
export const resumePairs = { "ts-ts-resume": pair("ts", "ts", { extra: { resume: true } }) };
