/**
 * Wire constants of QWH/1 (spec/qwh-1.md). Numbers here are the spec's numbers;
 * change them only together with the spec.
 * @packageDocumentation
 */

/** Version of the wire protocol this implementation speaks, as sent in `qwh`. */
export const QWH_VERSION = "1.0";
/** Major and minor of {@link QWH_VERSION}. */
export const QWH_MAJOR = 1;
export const QWH_MINOR = 0;
/**
 * The version a side says when it offers or accepts session resumption
 * (feature `resume`, spec section 10.7); without it, a side speaks
 * {@link QWH_VERSION} and behaves exactly as a 1.0 peer.
 */
export const QWH_RESUME_VERSION = "1.1";

/** Bytes of the frame header (unsigned 32-bit big-endian). */
export const FRAME_HEADER_LENGTH = 4;
/** Bit 31 of the header marks a control frame once the `control` feature is negotiated. */
export const CONTROL_BIT = 0x8000_0000;
/** Largest maximum frame length anyone may advertise: 2^31 - 1. */
export const MAX_FRAME_LENGTH_LIMIT = 0x7fff_ffff;
/** Default receive maximum for data frames: 4 MiB. */
export const DEFAULT_MAX_FRAME_LENGTH = 4 * 1024 * 1024;
/** Limit on the hello and on the server's answer frame. */
export const MAX_HANDSHAKE_LENGTH = 16 * 1024;
/** Limit on a control frame's payload (type byte + body). */
export const MAX_CONTROL_LENGTH = 1024;
/** Default handshake timeout on both sides, in milliseconds. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default freshness window for signed hellos, in milliseconds. */
export const DEFAULT_SIGNATURE_WINDOW_MS = 30_000;
/** Largest integer allowed in QWH JSON: 2^53 - 1. */
export const MAX_SAFE_JSON_INTEGER = Number.MAX_SAFE_INTEGER;

/** Control frame types (spec registry). */
export const ControlType = {
  PING: 0x01,
  PONG: 0x02,
  CLOSE: 0x03,
  /** Reserved (never sent; session resumption happens in the hello). */
  RESUME: 0x10,
  /** Acknowledgement of data frames (feature `resume`, since 1.1). */
  ACK: 0x11,
} as const;
/** Control types at or above this value are ignorable when unknown. */
export const FIRST_IGNORABLE_CONTROL_TYPE = 0x80;

/** Feature names defined by QWH/1. */
export const Feature = {
  CONTROL: "control",
  RAW: "raw",
  /** Session resumption (since 1.1; never negotiated with qwh 1.0). */
  RESUME: "resume",
} as const;

/** Limits on hello members. */
export const HelloLimits = {
  maxFeatures: 32,
  maxTags: 64,
  maxTagValueCodePoints: 512,
  maxVersionCodePoints: 64,
  maxReasonCodePoints: 256,
} as const;

/** Prefix of the bytes covered by a hello signature: ASCII "QWH/1 hello\n". */
export const SIGNATURE_CONTEXT = "QWH/1 hello\n";
/** RFC 9266 exporter label for `tls-exporter` channel binding. */
export const CHANNEL_BINDING_LABEL = "EXPORTER-Channel-Binding";
export const CHANNEL_BINDING_LENGTH = 32;

export const QWH_VERSION_PATTERN = /^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$/;
export const FEATURE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
export const TAG_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ERROR_CODE_PATTERN = /^E_[A-Z0-9_]{1,62}$/;
