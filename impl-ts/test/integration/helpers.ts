import { once } from "node:events";
import { QWormholeClient, QWormholeServer, type QWormholeClientOptions, type QWormholeServerOptions } from "../../src/index.js";

/** A listening server on 127.0.0.1 and a cleanup list. */
export async function startServer<TIn = Buffer, TOut = unknown>(options: QWormholeServerOptions<TIn, TOut> = {}) {
  const server = new QWormholeServer<TIn, TOut>({ host: "127.0.0.1", port: 0, ...options });
  const { port } = await server.listen();
  return { server, port };
}

/** A client for `port`, connected unless `connect: false`. */
export async function startClient<TIn = Buffer, TOut = unknown>(port: number, options: Partial<QWormholeClientOptions<TIn, TOut>> = {}, connect = true) {
  const client = new QWormholeClient<TIn, TOut>({ host: "127.0.0.1", port, reconnect: false, ...options });
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
