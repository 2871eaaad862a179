/**
 * The server's answer to a v1 hello: accept or reject. Built by the server,
 * parsed and checked by the client against what it offered.
 * @packageDocumentation
 */
import { ProtocolError } from "./errors.js";
import {
  checkAppVersion,
  checkErrorCode,
  checkFeatures,
  checkMaxFrameLength,
  checkReason,
  checkTags,
  parseQwhVersion,
  toTags,
  type QwhVersion,
  type Tags,
} from "./fields.js";
import { acceptResumeToJson, checkAcceptResume, toAcceptResume, type AcceptResume } from "./resume.js";
import { containsNonInteger, parseStrictJsonObject, type JsonValue } from "./strict-json.js";

/** An accept frame's content. */
export interface AcceptFrame {
  qwh: string;
  features: string[];
  maxFrameLength: number;
  tags?: Tags;
  version?: string;
  /** The session, when "resume" is listed (QWH-RESUME-005). */
  resume?: AcceptResume;
}

/** A reject frame's content. `code` may be a code this version does not know. */
export interface RejectFrame {
  code: string;
  reason?: string;
  /** Versions the server speaks (sent with E_UNSUPPORTED_VERSION). */
  qwh?: string[];
}

/** The server's answer as a client sees it. */
export type ServerAnswer = { outcome: "accept"; accept: AcceptFrame } | { outcome: "reject"; reject: RejectFrame };

/** What the client offered in its hello. */
export interface OfferedHandshake {
  qwh: string;
  features: readonly string[];
  /**
   * The session the hello named, when it asked to resume one: its id, the
   * data frames the client sent in it, the highest count the server reported
   * and the server's receive maximum in the session's first accept.
   */
  session?: { id: string; sent: number; serverReported: number; maxFrameLength: number } | null;
}

function invalid(reason: string): never {
  throw new ProtocolError("E_INVALID_HANDSHAKE", `invalid server answer: ${reason}`);
}

/**
 * Parses and checks the first frame a v1 client receives. Throws a
 * {@link ProtocolError}: E_INVALID_HANDSHAKE (not an accept or reject),
 * E_UNSUPPORTED_VERSION (a version the client did not offer), E_PROTOCOL_ERROR
 * (a feature the client did not offer).
 */
export function parseServerAnswer(payload: Uint8Array, offered: OfferedHandshake): ServerAnswer {
  const obj = parseStrictJsonObject(payload);
  if (typeof obj === "string") invalid(obj);
  if (containsNonInteger(obj)) invalid("a number is not a safe integer");
  if (obj["type"] === "reject") {
    const reason = checkErrorCode(obj["code"]) ?? checkReason(obj["reason"]);
    if (reason) invalid(reason);
    const reject: RejectFrame = { code: obj["code"] as string };
    if (obj["reason"] !== undefined) reject.reason = obj["reason"] as string;
    const versions = obj["qwh"];
    if (Array.isArray(versions) && versions.every((v) => typeof v === "string")) reject.qwh = versions;
    return { outcome: "reject", reject };
  }
  if (obj["type"] !== "accept") invalid('type is neither "accept" nor "reject"');
  const version = parseQwhVersion(obj["qwh"]);
  if (!version) invalid("qwh is missing or malformed");
  const reason =
    checkFeatures(obj["features"]) ??
    checkMaxFrameLength(obj["maxFrameLength"]) ??
    (obj["tags"] !== undefined ? checkTags(obj["tags"]) : null) ??
    (obj["version"] !== undefined ? checkAppVersion(obj["version"]) : null);
  if (reason) invalid(reason);
  const mine = parseQwhVersion(offered.qwh) as QwhVersion;
  if (version.major !== mine.major || version.minor > mine.minor) {
    throw new ProtocolError("E_UNSUPPORTED_VERSION", `server accepted qwh ${obj["qwh"] as string}, offered ${offered.qwh}`);
  }
  const features = obj["features"] as string[];
  for (const f of features) {
    if (!offered.features.includes(f)) throw new ProtocolError("E_PROTOCOL_ERROR", `server accepted feature ${f}, which was not offered`);
  }
  if (offered.features.includes("raw") && !features.includes("raw")) {
    throw new ProtocolError("E_FRAMING_MISMATCH", "raw framing was offered and the server did not accept it");
  }
  const accept: AcceptFrame = { qwh: obj["qwh"] as string, features: [...features], maxFrameLength: obj["maxFrameLength"] as number };
  if (features.includes("resume"))
    accept.resume = checkResumeAnswer(obj["resume"], features, accept.maxFrameLength, offered.session ?? null);
  if (obj["tags"] !== undefined) accept.tags = toTags(obj["tags"] as { [key: string]: JsonValue });
  if (obj["version"] !== undefined) accept.version = obj["version"] as string;
  return { outcome: "accept", accept };
}

/** Checks 7 to 9 of the client's table (spec section 7.5): the accept member "resume" (QWH-RESUME-007, QWH-RESUME-019). */
function checkResumeAnswer(
  value: JsonValue | undefined,
  features: readonly string[],
  maxFrameLength: number,
  session: OfferedHandshake["session"] | null,
): AcceptResume {
  const reason = checkAcceptResume(value);
  if (reason) invalid(reason);
  const r = toAcceptResume(value as { [key: string]: JsonValue });
  if (!features.includes("control")) throw new ProtocolError("E_PROTOCOL_ERROR", 'server accepted "resume" without "control"');
  if (r.resumed !== (session !== null)) {
    throw new ProtocolError(
      "E_PROTOCOL_ERROR",
      session ? "the accept does not resume the session the hello named" : "the accept resumes a session the hello did not name",
    );
  }
  if (session) {
    if (r.id !== session.id) throw new ProtocolError("E_PROTOCOL_ERROR", "the accept resumes another session");
    if (r.received < session.serverReported || r.received > session.sent) {
      throw new ProtocolError(
        "E_RESUME_MISMATCH",
        `the server reports ${r.received} data frames received; ${session.serverReported}..${session.sent} are possible`,
      );
    }
    if (maxFrameLength < session.maxFrameLength) {
      throw new ProtocolError("E_RESUME_MISMATCH", `maxFrameLength ${maxFrameLength} is below the session's ${session.maxFrameLength}`);
    }
  }
  return r;
}

/** The accept frame as a JSON object. */
export function acceptToJson(accept: AcceptFrame): { [key: string]: JsonValue } {
  const obj: { [key: string]: JsonValue } = {
    type: "accept",
    qwh: accept.qwh,
    features: [...accept.features],
    maxFrameLength: accept.maxFrameLength,
  };
  if (accept.tags !== undefined) obj["tags"] = { ...accept.tags };
  if (accept.version !== undefined) obj["version"] = accept.version;
  if (accept.resume !== undefined) obj["resume"] = acceptResumeToJson(accept.resume);
  return obj;
}

/** The reject frame as a JSON object. */
export function rejectToJson(reject: RejectFrame): { [key: string]: JsonValue } {
  const obj: { [key: string]: JsonValue } = { type: "reject", code: reject.code };
  if (reject.reason !== undefined) obj["reason"] = reject.reason;
  if (reject.qwh !== undefined) obj["qwh"] = [...reject.qwh];
  return obj;
}
