import { once } from "node:events";
import { type QWormholeClientOptions, type QWormholeServerOptions } from "../../src/index.js";
import { newServer, newClient } from "./target.js";

/** A listening server on 127.0.0.1 and a cleanup list. */
export async function startServer<TIn = Buffer, TOut = unknown>(options: QWormholeServerOptions<TIn, TOut> = {}) {
  const server = newServer<TIn, TOut>({ host: "127.0.0.1", port: 0, ...options });
  const { port } = await server.listen();
  return { server, port };
}

/** A client for `port`, connected unless `connect: false`. */
export async function startClient<TIn = Buffer, TOut = unknown>(
  port: number,
  options: Partial<QWormholeClientOptions<TIn, TOut>> = {},
  connect = true,
) {
  const client = newClient<TIn, TOut>({ host: "127.0.0.1", port, reconnect: false, ...options });
  if (connect) await client.connect();
  return client;
}

/** Resolves with the next `n` values of `event` on `emitter`. */
export function collect<T>(emitter: NodeJS.EventEmitter, event: string, n: number): Promise<T[]> {
  return new Promise((resolve) => {
    const out: T[] = [];
    const on = (v: T) => {
      out.push(v);
      if (out.length === n) {
        emitter.off(event, on);
        resolve(out);
      }
    };
    emitter.on(event, on);
  });
}

export { once };

import net from "node:net";
import {
  FrameDecoder,
  FrameEncoder,
  FrameReceiver,
  MAX_HANDSHAKE_LENGTH,
  buildHello,
  encodeHandshakeJson,
  parseServerAnswer,
  type AcceptFrame,
  type CloseInfo,
  type RejectFrame,
} from "../../src/protocol/index.js";

/** `payload` as one frame. */
export function frame(payload: Uint8Array | string): Buffer {
  const p = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const h = Buffer.alloc(4);
  h.writeUInt32BE(p.length);
  return Buffer.concat([h, p]);
}

/** A hand-driven peer speaking QWH/1 at the byte level (for tests that misbehave on purpose). */
export interface RawPeer {
  socket: net.Socket;
  answer: { outcome: "accept"; accept: AcceptFrame } | { outcome: "reject"; reject: RejectFrame } | null;
  messages: Buffer[];
  pings: Buffer[];
  closes: CloseInfo[];
  error: string | null;
  ended: Promise<void>;
  send(bytes: Buffer): void;
}

/** Connects, optionally sends `hello` (object or raw bytes), reads the answer, then decodes what follows. */
export async function rawPeer(
  port: number,
  options: { hello?: Record<string, unknown> | Buffer | null; features?: string[]; answerPings?: boolean } = {},
): Promise<RawPeer> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  const features = options.features ?? ["control"];
  const peer: RawPeer = {
    socket,
    answer: null,
    messages: [],
    pings: [],
    closes: [],
    error: null,
    ended: new Promise((resolve) => socket.once("close", () => resolve())),
    send: (bytes) => socket.write(bytes),
  };
  socket.on("error", () => undefined);
  let open: FrameReceiver | null = null;
  const out = new FrameEncoder();
  const openWith = (f: readonly string[]) =>
    new FrameReceiver(
      {
        onMessage: (m) => peer.messages.push(Buffer.from(m)),
        onPing: (b) => {
          peer.pings.push(Buffer.from(b));
          if (options.answerPings !== false) {
            out.addPong(b);
            socket.write(out.takeBuffer());
          }
        },
        onPong: () => undefined,
        onClose: (c) => peer.closes.push(c),
      },
      { maxFrameLength: 1 << 24, features: f },
    );
  let answered!: () => void;
  const gotAnswer = new Promise<void>((r) => (answered = r));
  const first = new FrameDecoder(
    {
      onMessage: (payload) => {
        peer.answer = parseServerAnswer(payload, { qwh: "1.0", features });
        first.switchToRaw();
        open = openWith(peer.answer.outcome === "accept" ? peer.answer.accept.features : []);
        answered();
      },
      onControl: () => undefined,
      onRaw: (c) => open!.push(c),
    },
    { maxFrameLength: MAX_HANDSHAKE_LENGTH, control: false, oversizeCode: "E_HANDSHAKE_TOO_LARGE" },
  );
  socket.on("data", (c: Buffer) => {
    try {
      first.push(c);
    } catch (err) {
      peer.error = (err as { code: string }).code;
    }
  });
  socket.once("close", () => answered());
  if (options.hello !== null) {
    const hello = options.hello ?? buildHello({ features });
    socket.write(frame(Buffer.isBuffer(hello) ? hello : encodeHandshakeJson(hello as never)));
    await gotAnswer;
  }
  return peer;
}

/** Waits until `cond()` holds (polling each turn of the event loop), or fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
