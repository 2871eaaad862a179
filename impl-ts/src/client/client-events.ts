/**
 * What a `QWormholeClient` reports: its events, its lifecycle as
 * status values, and what it knows of a connection when it is ready and when
 * it ends.
 * @packageDocumentation
 */
import type { QWormholeError } from "../protocol/errors.js";
import type { AcceptFrame } from "../protocol/server-answer.js";
import type { TelemetrySnapshot } from "../telemetry.js";
import type { TlsFacts } from "../tls-facts.js";

/** What the client knows once a connection is ready. */
export interface ClientReadyInfo {
  profile: "v1" | "legacy" | "bare";
  /** The server's accept (v1 only). */
  accept?: AcceptFrame;
  /** TLS facts, when TLS is on. */
  tls?: TlsFacts;
}

/** Why a connection of the client ended. */
export interface ClientCloseInfo {
  hadError: boolean;
  error?: QWormholeError;
  willReconnect: boolean;
  /** The server's CLOSE frame, when it sent one (graceful close, or a failure it reported). */
  peerClose?: { code: string; reason?: string };
}

/** Client lifecycle, as reported by `QWormholeClient.statusChanges()`. */
export type ClientStatus =
  | { type: "connecting"; attempt: number }
  | { type: "ready"; info: ClientReadyInfo }
  | { type: "disconnected"; error?: QWormholeError }
  /** Heartbeats went unanswered; a disconnect (and reconnect) follows. */
  | { type: "stale" }
  /** `error`: why the previous attempt or connection ended. */
  | { type: "reconnecting"; attempt: number; delayMs: number; error?: QWormholeError }
  | { type: "closed"; error?: QWormholeError };

/** Events of a `QWormholeClient`. */
export interface ClientEvents<TIn> {
  /** TCP (and TLS) connected; the handshake follows. */
  connect: [];
  /** Handshake done: messages flow. */
  ready: [info: ClientReadyInfo];
  /**
   * With `resume`: a new connection continues the session (instead of
   * `ready`); every message of both directions is delivered exactly once.
   */
  resumed: [info: ClientReadyInfo];
  /**
   * With `resume`: the session could not be continued (server restarted,
   * window passed, CLOSE) while messages were unacknowledged. `messages` are
   * those payloads, as serialized, in order: the server may or may not have
   * received them; send them again for at-least-once delivery.
   */
  sessionLost: [info: { messages: (Uint8Array | string)[]; error?: QWormholeError }];
  message: [data: TIn];
  /**
   * The messages of one read, in order, once the read is decoded: for
   * consumers that work per batch. Only built while listened to; `message`
   * listeners still get each message as it is decoded.
   */
  messageBatch: [messages: TIn[]];
  /**
   * An open connection ended; `willReconnect` tells whether the client tries
   * again, `peerClose` carries the server's CLOSE code and reason when it sent one.
   * A `close` with `willReconnect: true` is followed by `ready` (or `resumed`)
   * of the next connection, or by a final `close` with `willReconnect: false`
   * when the client ends first: attempts exhausted (`E_ATTEMPTS_EXHAUSTED`),
   * a terminal refusal, or `close()`/`destroy()`.
   */
  close: [info: ClientCloseInfo];
  /** Emitted only when listened to: failures are also reported through `close` and `statusChanges`. */
  error: [error: QWormholeError];
  /** The idle timeout fired. */
  timeout: [];
  /** A new attempt follows after `delayMs`; `error` says why the last attempt or connection ended. */
  reconnecting: [info: { attempt: number; delayMs: number; error?: QWormholeError }];
  backpressure: [info: { queuedBytes: number; threshold: number }];
  drain: [];
  telemetry: [snapshot: TelemetrySnapshot];
}
