// Event objects of brief section 10 and the frame-decode test constructor.
import { T } from "./file.mjs";

export const msg = (h) => ({ type: "message", hex: h });
export const ping = (h) => ({ type: "ping", hex: h });
export const pong = (h) => ({ type: "pong", hex: h });
export const close = (code, reason) => (reason === undefined ? { type: "close", code } : { type: "close", code, reason });

/** frame-decode test: the stream, whether it ended, the events before any error, the error. */
export const D = (comment, requirements, flags, streamHex, end, events, error = null) =>
  T(comment, requirements, flags, { hex: streamHex, end }, error ? "invalid" : "valid", { events, error });

/** frame-decode group parameters. */
export const G = (phase, maxFrameLength, features, tests) => ({ params: { phase, maxFrameLength, features }, tests });
