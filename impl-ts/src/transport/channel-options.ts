/**
 * The options every open connection of a client or server shares (one object per client or server,
 * not per connection), and what the handshake negotiated for one connection.
 * @packageDocumentation
 */
import type { FrameLimits } from "../protocol/frame-decoder.js";
import type { ResolvedCommonOptions } from "../options.js";

/** How the open connections of a client or server behave (one object for all of them). */
export interface ChannelOptions {
  framing: "length-prefixed" | "none";
  /** Our receive maximum. */
  maxFrameLength: number;
  /** The receive limits of an open connection, with and without the feature `control`. */
  limits: { control: FrameLimits; plain: FrameLimits };
  /** PING interval; 0 disables heartbeats. */
  heartbeatIntervalMs: number;
  /** Unanswered PINGs after which the peer is declared stale. */
  heartbeatMissedLimit: number;
  /** How long a graceful close waits for the peer's CLOSE (and, on a session, for room for held messages). */
  drainTimeoutMs: number;
  /** Above this many unsent bytes, `send` reports backpressure (and a server stops reading). */
  highWaterMarkBytes: number;
  /** Above this many unsent bytes the connection is destroyed with E_BACKPRESSURE; 0 disables. */
  maxBackpressureBytes: number;
  /** Stop reading while backpressured (server side). */
  pauseReadingOnBackpressure: boolean;
  /** Close after this long without traffic (E_IDLE_TIMEOUT); 0 disables. */
  idleTimeoutMs: number;
}

/** What the handshake negotiated for one connection. */
export interface Negotiated {
  /** Negotiated features (`control` enables heartbeats and the CLOSE handshake). */
  features: readonly string[];
  /** The peer's receive maximum. */
  peerMaxFrameLength: number;
}

/** Channel options from the resolved common options. */
export function channelOptions(
  o: ResolvedCommonOptions,
  side: { maxBackpressureBytes: number; pauseReadingOnBackpressure: boolean },
): ChannelOptions {
  return {
    framing: o.framing,
    maxFrameLength: o.maxFrameLength,
    limits: {
      control: { maxFrameLength: o.maxFrameLength, control: true },
      plain: { maxFrameLength: o.maxFrameLength, control: false },
    },
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    heartbeatMissedLimit: o.heartbeatMissedLimit,
    drainTimeoutMs: o.drainTimeoutMs,
    highWaterMarkBytes: o.highWaterMarkBytes,
    idleTimeoutMs: o.idleTimeoutMs,
    ...side,
  };
}
