/**
 * The sessions a server holds for resumption (feature `resume`, spec section
 * 10.7): creation within `maxSessions`, the check of a hello that names a
 * session (step 11 of section 8.1), token rotation, and the window a session
 * without connection waits for its client.
 * @packageDocumentation
 */
import { DEFAULT_MAX_FRAME_LENGTH } from "../protocol/constants.js";
import type { HelloV1 } from "../protocol/hello.js";
import {
  SESSION_ID_BYTES,
  SESSION_TOKEN_BYTES,
  checkResumeHello,
  secureRandom,
  toHelloResume,
  type AcceptResume,
  type RandomSource,
  type ResumeRefusal,
} from "../protocol/resume.js";
import type { JsonValue } from "../protocol/strict-json.js";
import { ResumeSession, type ResolvedResumeOptions } from "../transport/resume-session.js";

/** One session as the server holds it. */
export interface StoredSession<TConn> {
  readonly session: ResumeSession;
  /** The token the last resume presented, valid until the first frame of the resumed connection (QWH-RESUME-018). */
  previousToken: string | null;
  /** The key that signed the session's first hello, or null. */
  readonly key: string | null;
  readonly tls: boolean;
  /** The client's receive maximum in the session's first hello. */
  readonly maxFrameLength: number;
  /** The application's connection object, the same across resumes. */
  conn: TConn | null;
  timer: NodeJS.Timeout | null;
}

/** Step 11 of a hello that offers "resume". */
export type SessionDecision<TConn> =
  /** No session: the accept goes without "resume" (QWH-RESUME-024). */
  | { type: "none" }
  | { type: "new"; entry: StoredSession<TConn>; grant: AcceptResume }
  | { type: "resume"; entry: StoredSession<TConn>; grant: AcceptResume }
  /** `ended`: the session that E_RESUME_MISMATCH ended (QWH-RESUME-016). */
  | { type: "refuse"; refusal: ResumeRefusal; ended?: StoredSession<TConn> };

/** Sessions of one server. */
export class SessionStore<TConn> {
  private readonly sessions = new Map<string, StoredSession<TConn>>();

  constructor(
    private readonly options: ResolvedResumeOptions,
    private readonly random: RandomSource = secureRandom,
  ) {}

  /** Sessions held (with or without a connection). */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Decides on a hello whose accept is to list "resume", right before the
   * accept is written. `takeOver` closes an earlier connection of a resumed
   * session before its count is taken (QWH-RESUME-017).
   */
  decide(hello: HelloV1, tls: boolean, takeOver: (entry: StoredSession<TConn>) => void): SessionDecision<TConn> {
    const o = this.options;
    const r = toHelloResume(hello.raw["resume"] as { [key: string]: JsonValue });
    const peer = { maxUnackedMessages: r.maxUnackedMessages, maxUnackedBytes: r.maxUnackedBytes };
    const key = hello.sig?.key ?? null;
    const maxFrameLength = hello.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    const limits = { maxUnackedMessages: o.maxUnackedMessages, maxUnackedBytes: o.maxUnackedBytes };
    if (r.id === undefined) {
      if (this.sessions.size >= o.maxSessions) return { type: "none" };
      let id: string;
      do id = this.random(SESSION_ID_BYTES).toString("base64url");
      while (this.sessions.has(id));
      const session = new ResumeSession(id, this.random(SESSION_TOKEN_BYTES).toString("base64url"), limits, peer, o.ackDelayMs);
      const entry: StoredSession<TConn> = { session, previousToken: null, key, tls, maxFrameLength, conn: null, timer: null };
      this.sessions.set(id, entry);
      return { type: "new", entry, grant: { id, token: session.token, windowMs: o.windowMs, ...limits, received: 0, resumed: false } };
    }
    const entry = this.sessions.get(r.id);
    const refusal = checkResumeHello(
      entry && {
        token: entry.session.token,
        previousToken: entry.previousToken,
        key: entry.key,
        tls: entry.tls,
        maxFrameLength: entry.maxFrameLength,
        sent: entry.session.state.sent,
        clientReported: entry.session.state.peerReceived,
      },
      { token: r.token!, received: r.received!, key, tls, maxFrameLength },
    );
    if (refusal) {
      if (refusal.code === "E_RESUME_MISMATCH" && entry) {
        this.end(entry);
        return { type: "refuse", refusal, ended: entry };
      }
      return { type: "refuse", refusal };
    }
    const e = entry!;
    if (e.timer) clearTimeout(e.timer);
    e.timer = null;
    takeOver(e);
    const s = e.session;
    s.state.acknowledge(r.received!, "E_RESUME_MISMATCH");
    s.state.peer = peer;
    e.previousToken = r.token!;
    s.token = this.random(SESSION_TOKEN_BYTES).toString("base64url");
    s.onFirstFrame = () => {
      e.previousToken = null;
    };
    return {
      type: "resume",
      entry: e,
      grant: { id: s.id, token: s.token, windowMs: o.windowMs, ...limits, received: s.state.report(), resumed: true },
    };
  }

  /** The session lost its connection: it waits `windowMs`, then `expired` runs (QWH-RESUME-011, QWH-RESUME-022). */
  detach(entry: StoredSession<TConn>, expired: () => void): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.end(entry);
      expired();
    }, this.options.windowMs);
    entry.timer.unref();
  }

  /** The session is over (CLOSE, mismatch, window passed): forgotten, never resumed (QWH-RESUME-013). */
  end(entry: StoredSession<TConn>): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    entry.session.ended = true;
    if (this.sessions.get(entry.session.id) === entry) this.sessions.delete(entry.session.id);
  }

  /**
   * Adds a session as a server would hold it after some traffic (golden
   * vectors): `sent` data frames sent, `clientReported` of them
   * acknowledged, `received` data frames received.
   */
  load(h: {
    id: string;
    token: string;
    previousToken?: string | null;
    key?: string | null;
    tls: boolean;
    maxFrameLength: number;
    sent: number;
    clientReported: number;
    received?: number;
  }): void {
    const o = this.options;
    const limits = { maxUnackedMessages: o.maxUnackedMessages, maxUnackedBytes: o.maxUnackedBytes };
    const session = new ResumeSession(h.id, h.token, limits, limits, o.ackDelayMs);
    session.state.sent = session.state.peerReceived = h.clientReported;
    for (let i = h.clientReported; i < h.sent; i++) session.state.recordSent("", 0);
    session.state.received = session.state.reported = h.received ?? 0;
    this.sessions.set(h.id, {
      session,
      previousToken: h.previousToken ?? null,
      key: h.key ?? null,
      tls: h.tls,
      maxFrameLength: h.maxFrameLength,
      conn: null,
      timer: null,
    });
  }

  /** Forgets every session. */
  clear(): void {
    for (const e of this.sessions.values()) if (e.timer) clearTimeout(e.timer);
    this.sessions.clear();
  }

  /** Every session that waits for its client, for a server that shuts down. */
  detached(): StoredSession<TConn>[] {
    return [...this.sessions.values()].filter((e) => e.timer !== null);
  }
}
