// zeromq 6 (libzmq through its prebuilt binding): PUSH/PULL for one-way throughput,
// REQ/REP for the round trip. No TLS (zeromq's encryption is CURVE, not TLS).
import * as zmq from "zeromq";
import { goodMessage, payloadOf, Unavailable } from "./common.mjs";

const endpointPort = (sock) => Number(/:(\d+)$/.exec(sock.lastEndpoint)[1]);

function noTls(t) {
  if (t) throw new Unavailable("zeromq has no TLS transport (its encryption is CURVE)");
}

export const zeromq = {
  awaitsStart: true,
  tlsUnsupported: "zeromq has no TLS transport (its encryption is CURVE)",
  async receive({ count, size, onListening, onDone, tls: t }) {
    noTls(t);
    const pull = new zmq.Pull({ receiveHighWaterMark: 10_000 });
    await pull.bind("tcp://127.0.0.1:*");
    onListening(endpointPort(pull));
    let n = 0;
    let bytes = 0;
    let bad = 0;
    (async () => {
      try {
        for await (const [msg] of pull) {
          bytes += msg.length;
          if (!goodMessage(msg, size)) bad++;
          if (++n === count) onDone({ messages: n, bytes, bad });
        }
      } catch {
        // closed
      }
    })();
    return () => pull.close();
  },
  async send({ port, count, size, onStart, tls: t }) {
    noTls(t);
    const push = new zmq.Push({ sendHighWaterMark: 10_000 });
    push.connect(`tcp://127.0.0.1:${port}`);
    const payload = payloadOf(size);
    await onStart();
    for (let i = 0; i < count; i++) await push.send(payload);
    return async () => {
      push.linger = 2000;
      push.close();
    };
  },
  async echo({ onListening, tls: t }) {
    noTls(t);
    const rep = new zmq.Reply();
    await rep.bind("tcp://127.0.0.1:*");
    onListening(endpointPort(rep));
    (async () => {
      try {
        for await (const [msg] of rep) await rep.send(msg);
      } catch {
        // closed
      }
    })();
    return () => rep.close();
  },
  async ping({ port, size, samples, warmup, tls: t }) {
    noTls(t);
    const req = new zmq.Request();
    req.connect(`tcp://127.0.0.1:${port}`);
    const payload = payloadOf(size);
    const rtts = new Float64Array(samples);
    for (let i = -warmup; i < samples; i++) {
      const t0 = process.hrtime.bigint();
      await req.send(payload);
      await req.receive();
      const t1 = process.hrtime.bigint();
      if (i >= 0) rtts[i] = Number(t1 - t0);
    }
    req.close();
    return rtts;
  },
};
