/**
 * The client's side of session resumption (feature `resume`, spec section
 * 10.7): which session the next hello names, what an accept does to it, and
 * what is reported when it is lost.
 * @packageDocumentation
 */
import type { ReplayPayload } from "../protocol/resume.js";
import type { AcceptFrame } from "../protocol/server-answer.js";
import { ResumeSession, type ResolvedResumeOptions } from "../transport/resume-session.js";
import type { ResumeRequest } from "./client-handshake.js";

/** What the channel of a new connection gets, and whether it continues a session. */
export interface ClientResumeOutcome {
  channel?: { session: ResumeSession; firstAck: boolean };
  resumed: boolean;
}

/** A session that is over before all its messages were acknowledged. */
export interface LostSession {
  /** Sent, never acknowledged: the application decides whether to send them again (QWH-RESUME-025). */
  unacknowledged: ReplayPayload[];
  /** Never sent (held past the replay limits): they go to the next connection, in order. */
  held: ReplayPayload[];
}

/** A client's session across its connections. */
export class ClientResume {
  private session: ResumeSession | null = null;
  private serverMaxFrameLength = 0;

  constructor(private readonly options: ResolvedResumeOptions) {}

  /** True while a session waits to be resumed or is in use. */
  get active(): boolean {
    return this.session !== null;
  }

  /** The session the next hello names, or null for a new one (QWH-RESUME-014). */
  request(): ResumeRequest | null {
    const s = this.session;
    if (s === null) return null;
    // The count in the hello is reported: the server takes it as an ACK (QWH-RESUME-021).
    return {
      id: s.id,
      token: s.token,
      received: s.state.report(),
      sent: s.state.sent,
      serverReported: s.state.peerReceived,
      maxFrameLength: this.serverMaxFrameLength,
    };
  }

  /**
   * An accept arrived (already checked against the request by the handshake).
   * Returns what the channel needs; `lost` is set when a session ended
   * because the server answered without "resume".
   */
  opened(accept: AcceptFrame | undefined): ClientResumeOutcome & { lost: LostSession | null } {
    const r = accept?.resume;
    if (!r) return { resumed: false, lost: this.drop() };
    const s = this.session;
    if (r.resumed && s !== null) {
      s.state.acknowledge(r.received, "E_RESUME_MISMATCH");
      s.token = r.token;
      s.state.peer = { maxUnackedMessages: r.maxUnackedMessages, maxUnackedBytes: r.maxUnackedBytes };
      return { channel: { session: s, firstAck: true }, resumed: true, lost: null };
    }
    const lost = this.drop();
    const o = this.options;
    const session = new ResumeSession(
      r.id,
      r.token,
      { maxUnackedMessages: o.maxUnackedMessages, maxUnackedBytes: o.maxUnackedBytes },
      { maxUnackedMessages: r.maxUnackedMessages, maxUnackedBytes: r.maxUnackedBytes },
      o.ackDelayMs,
    );
    this.session = session;
    this.serverMaxFrameLength = accept ? accept.maxFrameLength : 0;
    return { channel: { session, firstAck: false }, resumed: false, lost };
  }

  /** Ends the session; returns what was not acknowledged and what was never sent, or null without a session. */
  drop(): LostSession | null {
    const s = this.session;
    if (s === null) return null;
    this.session = null;
    s.ended = true;
    return { unacknowledged: s.unacknowledged(), held: s.takeHeld() };
  }
}
