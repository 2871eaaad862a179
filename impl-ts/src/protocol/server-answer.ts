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
import { containsNonInteger, parseStrictJsonObject, type JsonValue } from "./strict-json.js";

/** An accept frame's content. */
export interface AcceptFrame {
  qwh: string;
  features: string[];
  maxFrameLength: number;
  tags?: Tags;
  version?: string;
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
    if (Array.isArray(versions) && versions.every((v) => typeof v === "string")) reject.qwh = versions as string[];
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
  if (obj["tags"] !== undefined) accept.tags = toTags(obj["tags"] as { [key: string]: JsonValue });
  if (obj["version"] !== undefined) accept.version = obj["version"] as string;
  return { outcome: "accept", accept };
}

/** The accept frame as a JSON object. */
export function acceptToJson(accept: AcceptFrame): { [key: string]: JsonValue } {
  const obj: { [key: string]: JsonValue } = { type: "accept", qwh: accept.qwh, features: [...accept.features], maxFrameLength: accept.maxFrameLength };
  if (accept.tags !== undefined) obj["tags"] = { ...accept.tags };
  if (accept.version !== undefined) obj["version"] = accept.version;
  return obj;
}

/** The reject frame as a JSON object. */
export function rejectToJson(reject: RejectFrame): { [key: string]: JsonValue } {
  const obj: { [key: string]: JsonValue } = { type: "reject", code: reject.code };
  if (reject.reason !== undefined) obj["reason"] = reject.reason;
  if (reject.qwh !== undefined) obj["qwh"] = [...reject.qwh];
  return obj;
}
