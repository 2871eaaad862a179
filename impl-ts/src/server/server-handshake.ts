/**
 * The server side of the handshake on an accepted link: the first frame is
 * judged in the order of spec section 8.1 (decideHandshake), TLS tags are
 * checked against the session, then the application's policy hook decides
 * (sync or async) while the connection waits in VERIFYING. Nothing is
 * delivered before the verdict. Calls back once: opened or refused.
 * @packageDocumentation
 */
import { DEFAULT_MAX_FRAME_LENGTH, MAX_HANDSHAKE_LENGTH } from "../protocol/constants.js";
import type { WireErrorCode } from "../protocol/error-codes.js";
import { QWormholeError } from "../protocol/errors.js";
import type { Tags } from "../protocol/fields.js";
import { encodeHandshakeJson } from "../protocol/hello.js";
import { decideHandshake } from "../protocol/negotiate.js";
import { acceptToJson } from "../protocol/server-answer.js";
import type { ReplayCache } from "../protocol/signature.js";
import type { HelloV1 } from "../protocol/hello.js";
import type { AcceptResume } from "../protocol/resume.js";
import { channelBindingOf, checkTlsTags, type TlsFacts } from "../tls-facts.js";
import type { Link } from "../transport/link.js";
import type { Receiver } from "../transport/receiver.js";
import type { HandshakeSnapshot } from "./server-connection.js";
import type { ResolvedServerOptions } from "./server-options.js";

/** What the handshake needs from the server, and how it reports. */
export interface ServerHandshakeContext {
  verifyHandshake: ((handshake: HandshakeSnapshot) => boolean | Promise<boolean>) | undefined;
  replayCache: ReplayCache;
  /**
   * Step 11 (feature `resume`), run right before the accept is written: a
   * refusal, or the accept member "resume" (null: accept without "resume")
   * and what `opened` receives as `session`.
   */
  resume?: (hello: HelloV1) => { refuse: { code: WireErrorCode; reason: string } } | { grant: AcceptResume | null; session: unknown };
  /** Admitted (accept already written for v1); `early` holds a 0.3 client's frames that came with its hello. */
  opened(snapshot: HandshakeSnapshot, early: Buffer[], session?: unknown): void;
  /** Refused with `code`; `sendFrame` is false where no frame may be sent (0.3 peers). */
  refused(code: WireErrorCode, reason: string, sendFrame: boolean): void;
  /** The connection closed during the handshake. */
  gone(): void;
}

/**
 * The hello's tags as the application sees them: "tls"-prefixed tags only when
 * they were checked against the TLS session (QWH-TLS-008).
 */
function verifiedTags(tags: Tags | undefined, legacy: boolean): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (k.startsWith("tls") && (legacy || (k !== "tlsFingerprint256" && k !== "tlsAlpn"))) continue;
    out[k] = v;
  }
  return out;
}

/** Where the link comes from, for the snapshot. */
function peerOf(
  link: Link,
  facts: TlsFacts | undefined,
): { remoteAddress: string | undefined; remotePort: number | undefined; tls?: TlsFacts } {
  return { remoteAddress: link.peer.remoteAddress, remotePort: link.peer.remotePort, ...(facts ? { tls: facts } : {}) };
}

/** Runs the server handshake of `o.handshakeProfile` on the receiver's link. */
export function runServerHandshake(
  receiver: Receiver,
  facts: TlsFacts | undefined,
  o: ResolvedServerOptions,
  ctx: ServerHandshakeContext,
): void {
  const link = receiver.link;
  const noop = () => undefined;
  if (o.handshakeProfile === "bare") {
    ctx.opened(
      {
        profile: "bare",
        tags: {},
        features: [],
        offeredFeatures: [],
        maxFrameLength: DEFAULT_MAX_FRAME_LENGTH,
        signed: false,
        ...peerOf(link, facts),
      },
      [],
    );
    return;
  }
  let stage: "hello" | "verifying" | "done" = "hello";
  let buffered: Buffer[] = [];
  let legacy = false;
  const timer = setTimeout(() => {
    if (stage !== "done")
      ctx.refused("E_HANDSHAKE_TIMEOUT", `no complete hello within ${o.handshakeTimeoutMs} ms`, stage === "hello" || !legacy);
    stage = "done";
  }, o.handshakeTimeoutMs);
  const fail = (code: WireErrorCode, reason: string, frame = true) => {
    if (stage === "done") return;
    stage = "done";
    clearTimeout(timer);
    ctx.refused(code, reason, frame);
  };
  receiver.setHandlers({
    onMessage: (payload) => {
      if (stage === "hello") {
        stage = "verifying";
        process(payload);
      } else if (stage === "verifying") {
        // 0.3 clients send right after their hello: held until it is judged (QWH-LEGACY-011).
        // A v1 client may not send before our accept (QWH-STATE-003): raw bytes, or a frame
        // that a link that decodes had decoded before the switch to raw.
        if (legacy) buffered.push(payload);
        else fail("E_PROTOCOL_ERROR", "data received before the accept");
      }
    },
    onControl: noop,
    // Raw bytes (a link switched to raw) are messages too.
    onRaw(chunk) {
      this.onMessage(chunk);
    },
    onReadEnd: noop,
    onEnd: () => {
      if (stage === "hello") fail("E_INVALID_HANDSHAKE", "connection ended before the hello", false);
    },
    // A legacy peer gets no frame of ours, not even a reject (QWH-LEGACY-006).
    onError: (err) => fail(err.code as WireErrorCode, err.message, !legacy),
    onDrain: noop,
    onClosed: () => {
      if (stage !== "done") {
        stage = "done";
        clearTimeout(timer);
        ctx.gone();
      }
    },
    onTimeout: noop,
  });
  const process = (payload: Buffer) => {
    const decision = decideHandshake(payload, {
      features: o.features,
      maxFrameLength: o.maxFrameLength,
      ...(o.protocolVersion !== undefined ? { version: o.protocolVersion } : {}),
      ...(o.handshakeTags !== undefined ? { tags: o.handshakeTags } : {}),
      framing: o.framing,
      legacyAllowed: o.allowLegacy,
      resume: o.resume !== null,
      requireSignature: o.requireSignedHandshake,
      signatureWindowMs: o.signatureWindowMs,
      exporter: channelBindingOf(link),
      replayCache: ctx.replayCache,
      checkTlsTags: (tags) => checkTlsTags(tags, facts ?? null),
    });
    if (decision.type === "reject") return fail(decision.code, decision.reason);
    if (decision.type === "close") return fail(decision.code, decision.reason, false);
    legacy = decision.type === "legacy";
    // A 0.3 client's data frames follow at once, under the data limits. A v1 client may
    // send nothing before our answer: any byte at all fails it (QWH-STATE-003).
    if (legacy) receiver.setLimits({ maxFrameLength: o.maxFrameLength, control: false });
    else receiver.switchToRaw();
    const hello = decision.hello;
    const tags = verifiedTags(hello.tags, legacy);
    const { remoteAddress, remotePort } = link.peer;
    // Every member a connection keeps set in one literal (the feature lists copied to their
    // length): the snapshot lives as long as the connection.
    const snapshot: HandshakeSnapshot =
      decision.type === "accept"
        ? {
            profile: "v1",
            qwh: decision.accept.qwh,
            tags,
            features: decision.accept.features.slice(),
            offeredFeatures: decision.hello.features.slice(),
            maxFrameLength: decision.hello.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH,
            signed: decision.hello.sig !== undefined,
            remoteAddress,
            remotePort,
          }
        : {
            profile: "legacy",
            tags,
            features: [],
            offeredFeatures: [],
            maxFrameLength: DEFAULT_MAX_FRAME_LENGTH,
            signed: false,
            remoteAddress,
            remotePort,
          };
    if (facts) snapshot.tls = facts;
    if (decision.type === "accept" && decision.hello.sig) snapshot.publicKey = decision.hello.sig.key;
    if (hello.version !== undefined) snapshot.version = hello.version;
    const verify = ctx.verifyHandshake;
    // A hook that throws E_POLICY_REJECTED (as createHandshakeVerifier does) gives the reason itself.
    const hookFailed = (err: unknown) =>
      err instanceof QWormholeError && err.code === "E_POLICY_REJECTED"
        ? `verifyHandshake: ${err.message}`
        : `verifyHandshake failed: ${(err as Error)?.message}`;
    const decide = () => {
      if (stage !== "verifying") return; // a frame sent too early already failed it
      if (!verify) return admit();
      let verdict: boolean | Promise<boolean>;
      try {
        verdict = verify(snapshot);
      } catch (err) {
        return fail("E_POLICY_REJECTED", hookFailed(err), !legacy);
      }
      if (typeof verdict === "boolean") return verdict ? admit() : fail("E_POLICY_REJECTED", "refused by verifyHandshake", !legacy);
      verdict.then(
        (ok) => (ok ? admit() : fail("E_POLICY_REJECTED", "refused by verifyHandshake", !legacy)),
        // No decision is a refusal (QWH-NEG-008).
        (err) => fail("E_POLICY_REJECTED", hookFailed(err), !legacy),
      );
    };
    const admit = () => {
      if (stage !== "verifying" || link.destroyed) return;
      let session: unknown;
      if (decision.type === "accept" && ctx.resume && decision.accept.features.includes("resume")) {
        const step = ctx.resume(decision.hello);
        if ("refuse" in step) return fail(step.refuse.code, step.refuse.reason);
        if (step.grant) decision.accept.resume = step.grant;
        else decision.accept.features.splice(decision.accept.features.indexOf("resume"), 1);
        session = step.session;
      }
      stage = "done";
      clearTimeout(timer);
      if (decision.type === "accept") {
        receiver.switchToFrames();
        link.encoder.setPeerMaxFrameLength(MAX_HANDSHAKE_LENGTH);
        link.encoder.addData(encodeHandshakeJson(acceptToJson(decision.accept)));
        link.flush();
      }
      const rest = buffered;
      buffered = [];
      ctx.opened(snapshot, rest, session);
    };
    // After the rest of this read: frames that came with the hello were sent before any accept.
    // Not a microtask: a native link hands over a read's frames in several calls, and microtasks
    // run between them.
    setImmediate(decide);
  };
}
