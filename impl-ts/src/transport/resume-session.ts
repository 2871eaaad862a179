/**
 * What one side keeps of a resumable session (feature `resume`, spec section
 * 10.7) between its connections: the counting and replay state, and the
 * messages the application sent past the replay limits, held in order until
 * acknowledgements make room.
 * @packageDocumentation
 */
import { MAX_UNACKED_MESSAGES_LIMIT, ResumeState, type ReplayPayload, type ResumeLimits } from "../protocol/resume.js";
import { checkOptionNames, intOption, invalidOption } from "../options.js";

/**
 * Session resumption (QWH/1.1 feature `resume`): `true` for the defaults, or
 * these settings. Needs the `control` feature, length-prefixed framing and
 * the v1 profile; the peer has to offer it too (1.0 peers never do).
 */
export interface ResumeOptions {
  /** Sent messages kept until the peer acknowledges them. Default 4096. */
  maxUnackedMessages?: number;
  /** Their bytes (4 + payload each). Default 4 MiB. Past either limit `send()` returns false. */
  maxUnackedBytes?: number;
  /** Server: how long a session waits for its client after a connection loss, in ms. Default 30000. */
  windowMs?: number;
  /** Longest delay before delivered messages are acknowledged, in ms. Default 100. */
  ackDelayMs?: number;
  /** Server: sessions held at most; new connections go on without resumption past it. Default 1024. */
  maxSessions?: number;
}

/** Resumption settings of one side, after validation. */
export interface ResolvedResumeOptions extends ResumeLimits {
  /** How long a server keeps a session without connection; what a client expects. */
  windowMs: number;
  /** Longest wait before an ACK for delivered frames (QWH-ACK-006). */
  ackDelayMs: number;
  /** Sessions a server holds at most (open or waiting for a resume). */
  maxSessions: number;
}

/** Defaults of {@link ResolvedResumeOptions}. */
export const RESUME_DEFAULTS: ResolvedResumeOptions = {
  maxUnackedMessages: 4096,
  maxUnackedBytes: 4 * 1024 * 1024,
  windowMs: 30_000,
  ackDelayMs: 100,
  maxSessions: 1024,
};

/** Validates the `resume` option once (E_INVALID_OPTION naming the member); null when off. */
export function resolveResumeOptions(
  value: boolean | ResumeOptions | undefined,
  context: { framing: string; control: boolean; profile: string },
): ResolvedResumeOptions | null {
  if (value === undefined || value === false) return null;
  if (value !== true && (typeof value !== "object" || value === null)) invalidOption("resume", "a boolean or an object", value);
  if (context.framing !== "length-prefixed" || !context.control || context.profile !== "v1") {
    invalidOption("resume", "used only with the v1 profile, length-prefixed framing and control", value);
  }
  const o = value === true ? {} : value;
  checkOptionNames(o, ["maxUnackedMessages", "maxUnackedBytes", "windowMs", "ackDelayMs", "maxSessions"], "resume.");
  const d = RESUME_DEFAULTS;
  return {
    maxUnackedMessages: intOption("resume.maxUnackedMessages", o.maxUnackedMessages, d.maxUnackedMessages, 1, MAX_UNACKED_MESSAGES_LIMIT),
    maxUnackedBytes: intOption("resume.maxUnackedBytes", o.maxUnackedBytes, d.maxUnackedBytes, 1),
    windowMs: intOption("resume.windowMs", o.windowMs, d.windowMs, 0),
    ackDelayMs: intOption("resume.ackDelayMs", o.ackDelayMs, d.ackDelayMs, 0, 60_000),
    maxSessions: intOption("resume.maxSessions", o.maxSessions, d.maxSessions, 0),
  };
}

/** The state of one session on one side, carried from connection to connection. */
export class ResumeSession {
  readonly state: ResumeState;
  /** Messages waiting for room in the replay buffer (sent in order before any later message). */
  readonly held: ReplayPayload[] = [];
  heldBytes = 0;
  /** Set by a server after a resume: the previous token is retired at the first frame of the new connection (QWH-RESUME-018). */
  onFirstFrame: (() => void) | null = null;
  /** True once a CLOSE was sent or received, or a resume was refused: the session is over. */
  ended = false;

  constructor(
    /** The session id (base64url). */
    readonly id: string,
    /** The latest token (client: to present; server: to accept). */
    public token: string,
    own: ResumeLimits,
    peer: ResumeLimits,
    readonly ackDelayMs: number,
  ) {
    this.state = new ResumeState(own, peer);
  }

  /**
   * Every message sent in the session that the peer has not acknowledged:
   * what an application has to send again itself when the session is lost
   * (QWH-RESUME-025). Held messages were never sent; they go to the next session.
   */
  unacknowledged(): ReplayPayload[] {
    return this.state.pending();
  }

  /** Removes and returns the held messages. */
  takeHeld(): ReplayPayload[] {
    const out = this.held.splice(0);
    this.heldBytes = 0;
    return out;
  }
}
