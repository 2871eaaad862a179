// Helpers shared by the rows (the implementations and peers a run measures).
//
// Every row follows the shape of the table in ../peers.mjs:
//   receive({ count, size, onListening, onDone, ...extra }) -> stop()
//   send({ port, count, size, onStart, ...extra }) -> stop()
// and may add, for round trips:
//   echo({ size, onListening, ...extra }) -> stop()
//   ping({ port, size, samples, warmup, ...extra }) -> Float64Array of round trips in ns
// `extra` is { tls: { key, cert } | undefined, codec: "json" | "cbor" | undefined }.
// onStart() returns a promise: a row with `awaitsStart: true` awaits it before its first
// send, so that with several connections all of them are open when the clock starts.
// A receiver counts every message across all its connections and calls onDone once
// when it has `count` of them, with { messages, bytes, bad } (bad: messages whose
// length or marker bytes were wrong). A row that cannot serve a request throws
// Unavailable with the reason.

/** The byte every payload is filled with; receivers check the first and last byte of each message. */
export const MARK = 0x71;

export class Unavailable extends Error {
  constructor(reason) {
    super(reason);
    this.name = "Unavailable";
    this.unavailable = true;
  }
}

export const payloadOf = (size) => Buffer.alloc(size, MARK);

/** True when a received message has the expected length and marker bytes. */
export function goodMessage(msg, size) {
  const len = msg.length;
  return len === size && (len === 0 || (msg[0] === MARK && msg[len - 1] === MARK));
}

export const once = (emitter, event) => new Promise((resolve) => emitter.once(event, resolve));

/**
 * One ping in flight: `send()` is called to send a ping; the row calls
 * `reply()` when the answer arrived. The first `warmup` round trips are not recorded.
 */
export function pinger({ samples, warmup, send }) {
  const rtts = new Float64Array(samples);
  let i = -warmup;
  let t0 = 0n;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  const next = () => {
    t0 = process.hrtime.bigint();
    send();
  };
  return {
    start() {
      next();
      return done;
    },
    reply() {
      const t1 = process.hrtime.bigint();
      if (i >= 0) rtts[i] = Number(t1 - t0);
      if (++i === samples) resolve(rtts);
      else next();
    },
  };
}
