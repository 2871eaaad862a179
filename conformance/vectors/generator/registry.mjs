// Requirement ids fixed by the design (brief section 9) and the flag vocabulary of the vectors.

const range = (area, n) => Array.from({ length: n }, (_, i) => `QWH-${area}-${String(i + 1).padStart(3, "0")}`);

/** Ids added by later revisions of the spec (they keep their meaning too); a vector may cite them. */
export const REVISION_IDS = [
  "QWH-CLOSE-010",
  "QWH-CLOSE-011",
  "QWH-CLOSE-012",
  "QWH-CLOSE-013",
  "QWH-LEGACY-012",
  "QWH-ACCEPT-011",
  "QWH-NEG-011",
];

/** Ids of QWH/1.1 (revision 3): session resumption. */
export const RESUME_IDS = [...range("RESUME", 26), ...range("ACK", 8)];

/** Requirement ids whose meaning is fixed; vectors cite only these. */
export const REQUIREMENT_IDS = new Set([
  ...REVISION_IDS,
  ...RESUME_IDS,
  ...range("FRAME", 11),
  ...range("RAW", 5),
  ...range("HELLO", 15),
  ...range("ACCEPT", 9),
  ...range("NEG", 8),
  ...range("STATE", 4),
  ...range("TIME", 4),
  ...range("LEGACY", 6),
  ...range("BARE", 3),
  ...range("CTRL", 7),
  ...range("PING", 3),
  ...range("CLOSE", 5),
  ...range("SIG", 9),
]);

/** Every flag a vector may carry: bug class and what it targets. A file's notes list the flags it uses. */
export const FLAGS = {
  Boundary: {
    bugType: "EDGE_CASE",
    description: "A value exactly at, just below or just above a limit (length, count, range); off-by-one errors show here.",
  },
  LengthBeforeBuffer: {
    bugType: "MISSING_STEP",
    description:
      "The error is decided by the 4-byte header alone and must be raised as soon as the header is complete, before (and without) buffering any payload; the stream may contain no payload at all.",
  },
  Truncation: {
    bugType: "EDGE_CASE",
    description: 'The stream ends ("end": true) inside a header or a payload: E_TRUNCATED_FRAME, and the partial frame is never delivered.',
  },
  PartialFrame: {
    bugType: "EDGE_CASE",
    description: 'The stream stays open ("end": false) with an incomplete frame: the frame is pending, no event and no error.',
  },
  MultiFrame: {
    bugType: "FUNCTIONALITY",
    description: "Several frames in one stream; each is delivered in order and the decoder keeps its position across frame boundaries.",
  },
  EmptyMessage: {
    bugType: "EDGE_CASE",
    description: "L = 0 is an empty message that must be delivered, not skipped or treated as end of stream.",
  },
  Opaque: {
    bugType: "FUNCTIONALITY",
    description:
      "Payload bytes are opaque: delivered byte-exact whatever they look like (zero bytes, invalid UTF-8, bytes that look like headers or JSON).",
  },
  SignedHeader: {
    bugType: "CAN_OF_WORMS",
    description:
      "Headers with bit 31 set or near 2^31/2^32: a decoder reading the header as a signed 32-bit integer, or masking bit 31 without the control feature, gets these wrong.",
  },
  ControlBit: {
    bugType: "FUNCTIONALITY",
    description: 'Bit 31 of the header selects a control frame only when the feature "control" was negotiated.',
  },
  ControlLength: { bugType: "EDGE_CASE", description: "Control frame length L must be 1..1024, checked on the header." },
  UnknownControlType: {
    bugType: "FORWARD_COMPAT",
    description: "Unassigned control types: 0x00-0x7f are critical (error), 0x80-0xff are ignorable (no event).",
  },
  ReservedResume: {
    bugType: "MISSING_STEP",
    description: 'RESUME (0x10) is reserved and ACK (0x11) needs the feature "resume", which a 1.0 connection never negotiates.',
  },
  Resume: {
    bugType: "FUNCTIONALITY",
    description: 'Session resumption (feature "resume", QWH/1.1): counting, ACK frames, the replay buffer, the resume hello and accept.',
  },
  StateAfterClose: {
    bugType: "FUNCTIONALITY",
    description: "What may follow a received CLOSE: no data frames (E_PROTOCOL_ERROR), control frames such as PING/PONG still allowed.",
  },
  HandshakeLimit: {
    bugType: "EDGE_CASE",
    description:
      "During the handshake the frame limit is 16384 bytes (E_HANDSHAKE_TOO_LARGE), maxFrameLength does not apply and bit 31 is part of the length.",
  },
  ForwardCompat: {
    bugType: "FORWARD_COMPAT",
    description: "Unknown members, features, codes or types that a 1.0 implementation must accept or ignore.",
  },
  StrictJson: {
    bugType: "CAN_OF_WORMS",
    description:
      "A strict-JSON rule (single object, UTF-8 without BOM, no trailing bytes, JSON grammar) that lenient parsers such as JSON.parse do not enforce.",
  },
  DuplicateNames: {
    bugType: "CAN_OF_WORMS",
    description:
      "Duplicate member names (also when they differ only by escapes) make the JSON invalid; JSON.parse silently keeps the last one.",
  },
  InvalidUtf8: {
    bugType: "CAN_OF_WORMS",
    description:
      "Invalid UTF-8 (overlong forms, encoded surrogates, truncated sequences, bytes C0/C1/F5-FF, code points above U+10FFFF); decoders that substitute U+FFFD accept these.",
  },
  LoneSurrogate: {
    bugType: "CAN_OF_WORMS",
    description: "A \\u escape that produces a lone UTF-16 surrogate; the text is not a sequence of Unicode scalar values.",
  },
  NumberFormat: {
    bugType: "CAN_OF_WORMS",
    description: "Numbers must be integers written without fraction or exponent, not -0, within +-(2^53-1).",
  },
  CodePoints: {
    bugType: "EDGE_CASE",
    description:
      "Lengths of strings are counted in Unicode code points: an astral character counts once (not as two UTF-16 units, not as four bytes).",
  },
  Pattern: { bugType: "EDGE_CASE", description: "A string that must match a pattern (version, feature name, tag key, error code)." },
  WrongType: { bugType: "MISSING_STEP", description: "A member of the wrong JSON type (including null for an optional member)." },
  MissingMember: { bugType: "MISSING_STEP", description: "A REQUIRED member is absent." },
  Legacy: { bugType: "LEGACY", description: 'The 0.3 hello (no "features" member) and the legacy profile.' },
  CheckOrder: {
    bugType: "FUNCTIONALITY",
    description: "Two checks fail at once; the code of the check that comes first in the specified order must be reported.",
  },
  VersionNegotiation: {
    bugType: "FUNCTIONALITY",
    description: "qwh major/minor handling: majors must match, minor is min(client, server), compared as numbers (1.10 > 1.3).",
  },
  AppVersion: {
    bugType: "FUNCTIONALITY",
    description: "Application version check: numeric majors compared, whole strings compared when a side has no numeric major.",
  },
  FeatureNegotiation: {
    bugType: "FUNCTIONALITY",
    description:
      'Negotiated features: offered intersected with enabled, in the client\'s order, "resume" only from 1.1 with "control", "raw" only by framing agreement.',
  },
  Raw: { bugType: "FUNCTIONALITY", description: 'Raw mode (framing "none") agreement between client and server.' },
  Replay: {
    bugType: "MISSING_STEP",
    description: "A (key, nonce) pair already seen within the window must be refused with E_HANDSHAKE_REPLAY.",
  },
  Expiry: {
    bugType: "EDGE_CASE",
    description: "Signature time stamp at and just beyond the edges of the window: |now - ts| <= window is valid.",
  },
  ChannelBinding: {
    bugType: "MISSING_STEP",
    description: 'sig.cb "tls-exporter": the 32-byte TLS exporter is appended to the signed bytes; no TLS or a different exporter fails.',
  },
  ModifiedSignedContent: {
    bugType: "MODIFIED_SIGNATURE",
    description: "Signed content changed after signing (tag, ts, key, unknown member): the signature must not verify.",
  },
  WrongSignedBytes: {
    bugType: "CAN_OF_WORMS",
    description:
      'The signer signed something else than "QWH/1 hello\\n" || JCS(hello minus sig.value) [|| exporter]: raw text, no prefix, no sig, value included.',
  },
  SigShape: {
    bugType: "MISSING_STEP",
    description:
      "A malformed sig object (missing member, wrong type, wrong base64url length): E_INVALID_HANDSHAKE, not a signature failure.",
  },
  UnknownAlgorithm: {
    bugType: "WRONG_PRIMITIVE",
    description: 'alg other than exactly "ed25519" (case matters) is a signature failure, E_INVALID_HANDSHAKE_SIGNATURE.',
  },
  Jcs: {
    bugType: "CAN_OF_WORMS",
    description:
      "RFC 8785 canonicalisation: member order by UTF-16 code units, escaping as ECMAScript JSON.stringify, no whitespace, integers in decimal.",
  },
  NonCanonicalInput: {
    bugType: "FUNCTIONALITY",
    description:
      "The received text is not in canonical form (whitespace, member order, escapes); the verifier must canonicalise the parsed value, not reuse the received bytes.",
  },
  SenderLimit: {
    bugType: "MISSING_STEP",
    description: "The sender refuses a data message larger than the peer's maximum (local E_FRAME_TOO_LARGE, nothing written).",
  },
  CloseBody: {
    bugType: "MISSING_STEP",
    description: "CLOSE body validation: strict JSON object, code pattern, optional reason <= 256 code points.",
  },
  ServedLegacy: { bugType: "LEGACY", description: "A legacy hello served or refused without any accept or reject frame." },
  SignatureRequired: { bugType: "MISSING_STEP", description: "A server requiring signatures refuses an unsigned hello." },
};
