/* Codec operations "frame-decode" (the receive pipeline over a vector's chunks) and "frame-encode". */
#include <string.h>

#include "codec_params.h"

typedef struct decode_ctx {
  qwh_arena *a;
  qwh_json *events;
  bool oom;
} decode_ctx;

static qwh_code add_event(decode_ctx *c, const char *type, const uint8_t *p, size_t n) {
  qwh_json *e = qwh_json_object(c->a);
  if (!e || qwh_json_set(c->a, e, "type", qwh_json_cstring(c->a, type)) || qwh_json_set(c->a, e, "hex", qwh_hex_json(c->a, p, n)) ||
      qwh_json_push(c->a, c->events, e)) {
    c->oom = true;
    return QWH_E_INTERNAL;
  }
  return QWH_OK;
}

static qwh_code on_message(void *u, const uint8_t *p, size_t n) { return add_event(u, "message", p, n); }
static qwh_code on_ping(void *u, const uint8_t *p, size_t n) { return add_event(u, "ping", p, n); }
static qwh_code on_pong(void *u, const uint8_t *p, size_t n) { return add_event(u, "pong", p, n); }

static qwh_code on_close(void *u, const qwh_close_info *info) {
  decode_ctx *c = u;
  qwh_json *e = qwh_json_object(c->a);
  if (!e || qwh_json_set(c->a, e, "type", qwh_json_cstring(c->a, "close")) ||
      qwh_json_set(c->a, e, "code", qwh_json_string(c->a, info->code.s, info->code.len)) ||
      (info->has_reason && qwh_json_set(c->a, e, "reason", qwh_json_string(c->a, info->reason.s, info->reason.len))) ||
      qwh_json_push(c->a, c->events, e)) {
    c->oom = true;
    return QWH_E_INTERNAL;
  }
  return QWH_OK;
}

static qwh_code on_handshake_frame(void *u, bool control, const uint8_t *p, size_t n) {
  (void)control;
  return add_event(u, "message", p, n);
}

/*
 * Feeds one received chunk. The bytes of a frame being assembled go through
 * qwh_decoder_room/commit, as a reader receiving in place puts them (the
 * addon does for large frames); the rest through push. Every chunking of
 * every vector thus runs both paths, and they must agree.
 */
static qwh_code feed(qwh_receiver *rx, const uint8_t *p, size_t n) {
  while (n > 0) {
    uint8_t *at = NULL;
    size_t room = qwh_decoder_room(&rx->dec, 1, &at);
    size_t used = 0;
    qwh_code rc;
    if (room > 0) {
      used = room < n ? room : n;
      memcpy(at, p, used);
      rc = qwh_decoder_commit(&rx->dec, used);
    } else {
      rc = qwh_receiver_push(rx, p, n, &used);
    }
    if (rc != QWH_OK) return rc;
    if (used == 0) return QWH_E_INTERNAL; /* no progress: a pause nobody resumes */
    p += used;
    n -= used;
  }
  return QWH_OK;
}

int codec_frame_decode(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (codec_hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  decode_ctx ctx = {a, qwh_json_array(a), false};
  bool handshake = qwh_json_is_string(qwh_json_get(params, "phase"), "handshake");
  int64_t max = codec_get_int(params, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  bool control = qwh_features_has(qwh_json_get(params, "features"), "control");
  qwh_receiver rx;
  qwh_receiver_handlers h = {on_message, on_ping, on_pong, on_close, NULL};
  qwh_receiver_init(&rx, &h, &ctx, (uint32_t)(max < 0 ? 0 : max > 0x7fffffff ? 0x7fffffff : max), control);
  if (handshake) {
    qwh_decoder_init(&rx.dec, on_handshake_frame, &ctx);
    qwh_decoder_handshake(&rx.dec);
  }
  qwh_code rc = QWH_OK;
  const qwh_json *chunks = qwh_json_get(input, "chunks");
  size_t off = 0;
  if (chunks && chunks->type == QWH_JSON_ARRAY) {
    for (size_t i = 0; i < chunks->u.arr.n && off < bytes.len && rc == QWH_OK; i++) {
      const qwh_json *c = chunks->u.arr.items[i];
      size_t n = c->type == QWH_JSON_INT && c->u.i > 0 ? (size_t)c->u.i : 0;
      if (n > bytes.len - off) n = bytes.len - off;
      rc = feed(&rx, bytes.data + off, n);
      off += n;
    }
  }
  if (rc == QWH_OK && off < bytes.len) rc = feed(&rx, bytes.data + off, bytes.len - off);
  if (rc == QWH_OK && codec_get_bool(input, "end", true)) rc = qwh_receiver_end(&rx);
  qwh_receiver_free(&rx);
  qwh_buf_free(&bytes);
  if (ctx.oom || !ctx.events) return -1;
  *out = codec_result(a, rc);
  return *out && qwh_json_set(a, *out, "events", ctx.events) == 0 ? 0 : -1;
}

/* ---- frame-encode ---- */

int codec_frame_encode(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_encoder enc;
  int64_t peer = codec_get_int(params, "peerMaxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  qwh_encoder_init(&enc,
                   (uint32_t)(peer < 0            ? 0
                              : peer > 0x7fffffff ? 0x7fffffff
                                                  : peer),
                   qwh_features_has(qwh_json_get(params, "features"), "control"));
  const qwh_json *events = qwh_json_get(input, "events");
  if (!events || events->type != QWH_JSON_ARRAY) return -1;
  qwh_buf wire, body;
  qwh_buf_init(&wire);
  qwh_buf_init(&body);
  qwh_code rc = QWH_OK;
  int ret = 0;
  for (size_t i = 0; i < events->u.arr.n && rc == QWH_OK; i++) {
    const qwh_json *ev = events->u.arr.items[i];
    body.len = 0;
    const qwh_json *type = qwh_json_get(ev, "type");
    if (qwh_json_is_string(type, "close")) {
      const qwh_json *code = qwh_json_get(ev, "code"), *reason = qwh_json_get(ev, "reason");
      if (!code || code->type != QWH_JSON_STRING || (reason && reason->type != QWH_JSON_STRING)) {
        ret = -1;
        break;
      }
      rc = qwh_encoder_close(&enc, &wire, code->u.str.s, code->u.str.len, reason ? reason->u.str.s : NULL, reason ? reason->u.str.len : 0);
      continue;
    }
    if (codec_hex_input(ev, "hex", &body)) {
      ret = -1;
      break;
    }
    if (qwh_json_is_string(type, "message"))
      rc = qwh_encoder_data(&enc, &wire, body.data, body.len);
    else if (qwh_json_is_string(type, "ping"))
      rc = qwh_encoder_ping(&enc, &wire, body.data, body.len);
    else if (qwh_json_is_string(type, "pong"))
      rc = qwh_encoder_pong(&enc, &wire, body.data, body.len);
    else
      ret = -1;
  }
  if (ret == 0) {
    *out = codec_result(a, rc);
    if (!*out || qwh_json_set(a, *out, "hex", qwh_hex_json(a, wire.data, wire.len))) ret = -1;
  }
  qwh_buf_free(&wire);
  qwh_buf_free(&body);
  return ret;
}
