/**
 * The client side of the handshake on a connected link (through its
 * receiver): TLS pin check,
 * the hello of the configured profile (v1 signed or not, 0.3 legacy, or
 * none), and the server's answer. Calls back once: opened or failed.
 * @packageDocumentation
 */
import { DEFAULT_MAX_FRAME_LENGTH, MAX_HANDSHAKE_LENGTH, QWH_RESUME_VERSION, QWH_VERSION } from "../protocol/constants.js";
import { helloResumeToJson, type HelloResume } from "../protocol/resume.js";
import { isTerminalErrorCode } from "../protocol/error-codes.js";
import { HandshakeRejectedError, QWormholeError } from "../protocol/errors.js";
import { buildHello, buildLegacyHello, encodeHandshakeJson } from "../protocol/hello.js";
import { parseServerAnswer } from "../protocol/server-answer.js";
import { signHello } from "../protocol/signature.js";
import { channelBindingOf, fingerprintMatches, tlsHelloTags } from "../tls-facts.js";
import type { Receiver, ReceiverHandlers } from "../transport/receiver.js";
import type { ClientReadyInfo } from "./client-events.js";
import type { ResolvedClientOptions } from "./client-options.js";

/** Outcomes of {@link runClientHandshake}; exactly one of `opened` / `failed` is called. */
export interface ClientHandshakeCallbacks {
  /** Handshake done; called inside the read that completed it, so the caller can take over the link at once. */
  opened(info: ClientReadyInfo, features: readonly string[], peerMaxFrameLength: number): void;
  /** The server sent a reject frame (counted before `failed`). */
  rejected(): void;
  /** The link is destroyed; `terminal` says whether a reconnect could help. */
  failed(error: QWormholeError, terminal: boolean): void;
}

const noop = () => undefined;

/** The session a resume hello names (QWH-RESUME-014). */
export interface ResumeRequest {
  id: string;
  token: string;
  /** The client's received count. */
  received: number;
  /** Data frames the client sent in the session, and the highest count the server reported. */
  sent: number;
  serverReported: number;
  /** The server's receive maximum in the session's first accept. */
  maxFrameLength: number;
}

/** Runs the client handshake of `o.handshakeProfile` on the receiver's link; `session` names a session to resume. */
export function runClientHandshake(
  receiver: Receiver,
  o: ResolvedClientOptions,
  callbacks: ClientHandshakeCallbacks,
  session: ResumeRequest | null = null,
): void {
  const link = receiver.link;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const fail = (err: QWormholeError, terminal = isTerminalErrorCode(err.code)) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    link.destroy();
    callbacks.failed(err, terminal);
  };
  const open = (info: ClientReadyInfo, features: readonly string[], peerMax: number) => {
    settled = true;
    clearTimeout(timer);
    callbacks.opened(info, features, peerMax);
  };
  const handlers = (onMessage: ReceiverHandlers["onMessage"]): ReceiverHandlers => ({
    onMessage,
    onControl: noop,
    // Raw bytes (a link switched to raw) are messages too.
    onRaw(chunk) {
      this.onMessage(chunk);
    },
    onReadEnd: noop,
    // End of stream at a frame boundary before the answer (inside a frame is E_TRUNCATED_FRAME).
    onEnd: () => fail(new QWormholeError("E_CLOSED", "the server closed the connection before answering the hello"), false),
    onError: (err) => fail(err),
    onDrain: noop,
    onClosed: () => fail(new QWormholeError("E_SOCKET", "connection closed during the handshake"), false),
    onTimeout: noop,
  });
  receiver.setHandlers(handlers(noop));

  const facts = link.tlsFacts() ?? undefined;
  const pins = o.tls?.pinnedFingerprints256;
  if (facts && pins && pins.length > 0 && !fingerprintMatches(facts.peerFingerprint256, pins)) {
    // QWH-TLS-004: before the hello or any other byte.
    fail(
      new QWormholeError("E_TLS_PIN_MISMATCH", `server certificate ${facts.peerFingerprint256 ?? "(none)"} matches no pinned fingerprint`),
      true,
    );
    return;
  }
  const tags = { ...o.handshakeTags, ...(facts ? tlsHelloTags(facts) : {}) };
  const hasTags = Object.keys(tags).length > 0;
  const tlsInfo = facts ? { tls: facts } : {};
  const sendHello = (hello: Parameters<typeof encodeHandshakeJson>[0]) => {
    link.encoder.setPeerMaxFrameLength(MAX_HANDSHAKE_LENGTH);
    link.encoder.addData(encodeHandshakeJson(hello));
    link.flush();
  };

  if (o.handshakeProfile === "bare") {
    open({ profile: "bare", ...tlsInfo }, [], DEFAULT_MAX_FRAME_LENGTH);
    return;
  }
  if (o.handshakeProfile === "legacy") {
    // A 0.3 server never answers: data may follow the hello at once (QWH-LEGACY-005).
    sendHello(
      buildLegacyHello({ ...(o.protocolVersion !== undefined ? { version: o.protocolVersion } : {}), ...(hasTags ? { tags } : {}) }),
    );
    open({ profile: "legacy", ...tlsInfo }, [], DEFAULT_MAX_FRAME_LENGTH);
    return;
  }
  let hello = buildHello({
    features: o.features,
    maxFrameLength: o.maxFrameLength,
    ...(o.protocolVersion !== undefined ? { version: o.protocolVersion } : {}),
    ...(hasTags ? { tags } : {}),
  });
  const offersResume = o.resume !== null && o.features.includes("resume");
  if (offersResume) {
    // "resume" is offered only in a 1.1 hello, with its member (QWH-RESUME-001, QWH-HELLO-018).
    hello["qwh"] = QWH_RESUME_VERSION;
    const r: HelloResume = { maxUnackedMessages: o.resume!.maxUnackedMessages, maxUnackedBytes: o.resume!.maxUnackedBytes };
    if (session) Object.assign(r, { id: session.id, token: session.token, received: session.received });
    hello["resume"] = helloResumeToJson(r);
  }
  // Every member, TLS tags included, is in place before signing (QWH-SIG-012).
  if (o.handshakeSigner) hello = signHello(hello, o.handshakeSigner, { exporter: channelBindingOf(link) });
  timer = setTimeout(
    () => fail(new QWormholeError("E_HANDSHAKE_TIMEOUT", `no answer to the hello within ${o.handshakeTimeoutMs} ms`), false),
    o.handshakeTimeoutMs,
  );
  receiver.setHandlers(
    handlers((payload) => {
      if (settled) return;
      let answer;
      try {
        answer = parseServerAnswer(payload, {
          qwh: offersResume ? QWH_RESUME_VERSION : QWH_VERSION,
          features: o.features,
          session: session && {
            id: session.id,
            sent: session.sent,
            serverReported: session.serverReported,
            maxFrameLength: session.maxFrameLength,
          },
        });
      } catch (err) {
        fail(err as QWormholeError);
        return;
      }
      if (answer.outcome === "reject") {
        callbacks.rejected();
        fail(new HandshakeRejectedError(answer.reject.code, answer.reject.reason));
        return;
      }
      // Still inside the read that brought the accept: frames behind it go to whoever takes the receiver now.
      open({ profile: "v1", accept: answer.accept, ...tlsInfo }, answer.accept.features, answer.accept.maxFrameLength);
    }),
  );
  sendHello(hello);
}
