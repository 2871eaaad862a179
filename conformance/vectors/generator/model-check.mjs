// Cross-checks of the hand-written frame-decode tables against a minimal reading of the rules.
// The generator refuses to write a file when a table and this model disagree; the tables stay the
// source of the expected outcomes.
import { parseStrict, StrictJsonError } from "./strict-json.mjs";

const CODE = /^E_[A-Z0-9_]{1,62}$/;

function closeBody(bodyHex) {
  let v;
  try {
    v = parseStrict(bodyHex);
  } catch (e) {
    if (e instanceof StrictJsonError) return null;
    throw e;
  }
  if (typeof v.code !== "string" || !CODE.test(v.code)) return null;
  if ("reason" in v && (typeof v.reason !== "string" || [...v.reason].length > 256)) return null;
  return "reason" in v ? { type: "close", code: v.code, reason: v.reason } : { type: "close", code: v.code };
}

function decode(h, end, { phase, maxFrameLength, features }) {
  const b = Buffer.from(h, "hex");
  const ctl = phase === "open" && features.includes("control");
  const limit = phase === "handshake" ? 16384 : maxFrameLength;
  const events = [];
  let i = 0;
  let closed = false;
  for (;;) {
    const left = b.length - i;
    if (left === 0) return { events, error: null };
    if (left < 4) return { events, error: end ? "E_TRUNCATED_FRAME" : null };
    const H = b.readUInt32BE(i);
    const isCtl = ctl && H >= 0x80000000;
    const L = isCtl ? H - 0x80000000 : H;
    if (isCtl) {
      if (L === 0 || L > 1024) return { events, error: "E_INVALID_CONTROL_FRAME" };
    } else {
      // After the peer's CLOSE any data header fails, whatever its length (QWH-CLOSE-012).
      if (closed) return { events, error: "E_PROTOCOL_ERROR" };
      if (L > limit) return { events, error: phase === "handshake" ? "E_HANDSHAKE_TOO_LARGE" : "E_FRAME_TOO_LARGE" };
    }
    if (left - 4 < L) return { events, error: end ? "E_TRUNCATED_FRAME" : null };
    const p = b.subarray(i + 4, i + 4 + L);
    i += 4 + L;
    if (!isCtl) {
      events.push({ type: "message", hex: p.toString("hex") });
      if (phase === "handshake" && i < b.length) throw new Error("handshake-phase stream holds more than one frame");
      continue;
    }
    const type = p[0];
    const body = p.subarray(1).toString("hex");
    if (type === 1) events.push({ type: "ping", hex: body });
    else if (type === 2) events.push({ type: "pong", hex: body });
    else if (type === 3) {
      if (closed) return { events, error: "E_PROTOCOL_ERROR" };
      const ev = closeBody(body);
      if (!ev) return { events, error: "E_INVALID_CONTROL_FRAME" };
      events.push(ev);
      closed = true;
    } else if (type < 0x80) return { events, error: "E_INVALID_CONTROL_FRAME" };
  }
}

export function checkFrameDecode(t, g) {
  const got = decode(t.hex, t.end, g);
  const want = { events: t.events, error: t.error };
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`table says ${JSON.stringify(want).slice(0, 300)}, rules say ${JSON.stringify(got).slice(0, 300)}`);
  if ((t.result === "invalid") !== (t.error !== null)) throw new Error("result does not match error");
}
