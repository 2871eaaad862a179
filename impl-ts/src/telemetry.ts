/**
 * Telemetry: periodic snapshots through `onTelemetry` and lifecycle events on
 * `node:diagnostics_channel` (published only when someone subscribes).
 * @packageDocumentation
 */
import diagnostics from "node:diagnostics_channel";

/** A telemetry snapshot (client or server; counters since creation). */
export interface TelemetrySnapshot {
  /** Milliseconds since the epoch when the snapshot was taken. */
  timestamp: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  /** Open connections (client: 0 or 1). */
  connections: number;
  backpressureEvents: number;
  drainEvents: number;
  reconnects: number;
  /** Messages waiting (disconnected queue, rate limiter, pending writes). */
  queueDepth: number;
  queuedBytes: number;
  /** Messages handed to a socket that died before writing them (at-most-once). */
  lostMessages: number;
  /** Handshakes refused (server) or refused to us (client). */
  handshakeRejections: number;
}

/** A fresh zeroed snapshot. */
export function emptySnapshot(): TelemetrySnapshot {
  return {
    timestamp: 0,
    bytesIn: 0,
    bytesOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    connections: 0,
    backpressureEvents: 0,
    drainEvents: 0,
    reconnects: 0,
    queueDepth: 0,
    queuedBytes: 0,
    lostMessages: 0,
    handshakeRejections: 0,
  };
}

/** diagnostics_channel names used by qwormhole. */
export const DiagnosticsChannels = {
  clientConnect: "qwormhole:client:connect",
  clientReady: "qwormhole:client:ready",
  clientClose: "qwormhole:client:close",
  clientReconnecting: "qwormhole:client:reconnecting",
  serverConnection: "qwormhole:server:connection",
  serverHandshakeRejected: "qwormhole:server:handshake-rejected",
  serverClientClosed: "qwormhole:server:client-closed",
  telemetry: "qwormhole:telemetry",
} as const;

const channels = new Map<string, diagnostics.Channel>();

/** Publishes `message` on `name` when it has subscribers (cheap otherwise). */
export function publish(name: string, message: object): void {
  let ch = channels.get(name);
  if (!ch) {
    ch = diagnostics.channel(name);
    channels.set(name, ch);
  }
  if (ch.hasSubscribers) ch.publish(message);
}

/** Calls `emit` every `intervalMs` with `snapshot()`, unref'd so it never keeps the process alive. */
export function startTelemetry(
  intervalMs: number,
  snapshot: () => TelemetrySnapshot,
  emit: (s: TelemetrySnapshot) => void,
): NodeJS.Timeout {
  const timer = setInterval(() => {
    const s = snapshot();
    emit(s);
    publish(DiagnosticsChannels.telemetry, s);
  }, intervalMs);
  timer.unref();
  return timer;
}

/** Traffic counters of one connection, as kept by its channel. */
export interface TrafficCounters {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  backpressureEvents: number;
  drainEvents: number;
}

/** Adds a connection's counters into a snapshot (open connections, or a closed one's final counts). */
export function addCounters(into: TelemetrySnapshot, c: TrafficCounters): void {
  into.bytesIn += c.bytesIn;
  into.bytesOut += c.bytesOut;
  into.messagesIn += c.messagesIn;
  into.messagesOut += c.messagesOut;
  into.backpressureEvents += c.backpressureEvents;
  into.drainEvents += c.drainEvents;
}
