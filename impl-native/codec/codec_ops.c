#include "codec_ops.h"

#include <string.h>

/* ---- small helpers ---- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int qwh_hex_decode(const char *hex, size_t len, qwh_buf *out) {
  if (len % 2) return -1;
  if (qwh_buf_reserve(out, len / 2)) return -1;
  for (size_t i = 0; i < len; i += 2) {
    int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out->data[out->len++] = (uint8_t)(hi * 16 + lo);
  }
  return 0;
}

qwh_json *qwh_hex_json(qwh_arena *a, const uint8_t *bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  qwh_json *v = qwh_json_string(a, "", 0);
  char *s = v ? qwh_arena_alloc(a, len * 2 + 1) : NULL;
  if (!s) return NULL;
  for (size_t i = 0; i < len; i++) {
    s[2 * i] = digits[bytes[i] >> 4];
    s[2 * i + 1] = digits[bytes[i] & 15];
  }
  v->u.str.s = s;
  v->u.str.len = len * 2;
  return v;
}

static int hex_input(const qwh_json *input, const char *name, qwh_buf *out) {
  const qwh_json *h = qwh_json_get(input, name);
  if (!h || h->type != QWH_JSON_STRING) return -1;
  return qwh_hex_decode(h->u.str.s, h->u.str.len, out);
}

static bool get_bool(const qwh_json *o, const char *name, bool dflt) {
  const qwh_json *v = qwh_json_get(o, name);
  return v && v->type == QWH_JSON_BOOL ? v->u.b : dflt;
}

static int64_t get_int(const qwh_json *o, const char *name, int64_t dflt) {
  const qwh_json *v = qwh_json_get(o, name);
  return v && v->type == QWH_JSON_INT ? v->u.i : dflt;
}

static qwh_json *error_json(qwh_arena *a, qwh_code code) {
  if (code == QWH_OK) return qwh_json_null(a);
  return qwh_json_cstring(a, qwh_code_name(code));
}

/* Output object {error: code|null} plus what the caller adds. */
static qwh_json *result(qwh_arena *a, qwh_code code) {
  qwh_json *o = qwh_json_object(a);
  if (!o || qwh_json_set(a, o, "error", error_json(a, code))) return NULL;
  return o;
}

/* Collects the strings of a JSON array into a C array (arena-owned). */
static const char **strings_of(qwh_arena *a, const qwh_json *arr, size_t *n) {
  *n = 0;
  if (!arr || arr->type != QWH_JSON_ARRAY) return qwh_arena_alloc(a, sizeof(char *));
  const char **out = qwh_arena_alloc(a, (arr->u.arr.n + 1) * sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < arr->u.arr.n; i++)
    if (arr->u.arr.items[i]->type == QWH_JSON_STRING) out[(*n)++] = arr->u.arr.items[i]->u.str.s;
  return out;
}

/* ---- frame-decode ---- */

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

static int op_frame_decode(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  decode_ctx ctx = {a, qwh_json_array(a), false};
  bool handshake = qwh_json_is_string(qwh_json_get(params, "phase"), "handshake");
  int64_t max = get_int(params, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
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
  if (rc == QWH_OK && get_bool(input, "end", true)) rc = qwh_receiver_end(&rx);
  qwh_receiver_free(&rx);
  qwh_buf_free(&bytes);
  if (ctx.oom || !ctx.events) return -1;
  *out = result(a, rc);
  return *out && qwh_json_set(a, *out, "events", ctx.events) == 0 ? 0 : -1;
}

/* ---- frame-encode ---- */

static int op_frame_encode(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_encoder enc;
  int64_t peer = get_int(params, "peerMaxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
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
    if (hex_input(ev, "hex", &body)) {
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
    *out = result(a, rc);
    if (!*out || qwh_json_set(a, *out, "hex", qwh_hex_json(a, wire.data, wire.len))) ret = -1;
  }
  qwh_buf_free(&wire);
  qwh_buf_free(&body);
  return ret;
}

/* ---- hello ---- */

static int op_hello(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_hello h;
  qwh_code rc = qwh_hello_parse(a, bytes.data, bytes.len, get_bool(params, "legacyAllowed", false), &h, NULL);
  qwh_buf_free(&bytes);
  *out = result(a, rc);
  if (!*out) return -1;
  if (rc) return 0;
  qwh_json *o = qwh_json_object(a);
  bool v1 = h.profile == QWH_PROFILE_V1;
  if (!o || qwh_json_set(a, *out, "profile", qwh_json_cstring(a, v1 ? "v1" : "legacy")) || qwh_json_set(a, *out, "hello", o)) return -1;
  if (v1 && (qwh_json_set(a, o, "qwh", qwh_json_get(h.raw, "qwh")) || qwh_json_set(a, o, "features", (qwh_json *)h.features))) return -1;
  if (h.version && qwh_json_set(a, o, "version", (qwh_json *)h.version)) return -1;
  if (h.tags && qwh_json_set(a, o, "tags", (qwh_json *)h.tags)) return -1;
  if (v1 && h.has_max_frame_length && qwh_json_set(a, o, "maxFrameLength", qwh_json_int(a, h.max_frame_length))) return -1;
  return qwh_json_set(a, o, "signed", qwh_json_bool(a, v1 && h.sig_state != QWH_SIG_NONE));
}

/* ---- accept ---- */

static int op_accept(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *offered = qwh_json_get(params, "offered");
  qwh_offer offer;
  if (!qwh_parse_qwh(qwh_json_get(offered, "qwh"), &offer.qwh_major, &offer.qwh_minor)) return -1;
  offer.features = strings_of(a, qwh_json_get(offered, "features"), &offer.n_features);
  if (!offer.features) return -1;
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_answer ans;
  qwh_code rc = qwh_answer_parse(a, bytes.data, bytes.len, &offer, &ans);
  qwh_buf_free(&bytes);
  *out = result(a, rc);
  if (!*out) return -1;
  if (rc) return 0;
  qwh_json *o = qwh_json_object(a);
  if (!o) return -1;
  if (ans.accepted) {
    if (qwh_json_set(a, *out, "outcome", qwh_json_cstring(a, "accept")) || qwh_json_set(a, *out, "accept", o) ||
        qwh_json_set(a, o, "qwh", qwh_json_string(a, ans.qwh.s, ans.qwh.len)) || qwh_json_set(a, o, "features", (qwh_json *)ans.features) ||
        qwh_json_set(a, o, "maxFrameLength", qwh_json_int(a, ans.max_frame_length)) ||
        (ans.tags && qwh_json_set(a, o, "tags", (qwh_json *)ans.tags)) ||
        (ans.version && qwh_json_set(a, o, "version", (qwh_json *)ans.version)))
      return -1;
    return 0;
  }
  if (qwh_json_set(a, *out, "outcome", qwh_json_cstring(a, "reject")) || qwh_json_set(a, *out, "reject", o) ||
      qwh_json_set(a, o, "code", qwh_json_string(a, ans.code.s, ans.code.len)) ||
      (ans.reason && qwh_json_set(a, o, "reason", (qwh_json *)ans.reason)))
    return -1;
  return 0;
}

/* ---- negotiate and signature ---- */

static int fill_replay_cache(qwh_replay_cache *c, const qwh_json *entries, int64_t now, int64_t window) {
  if (qwh_replay_cache_init(c, window, 100000)) return -1;
  if (!entries || entries->type != QWH_JSON_ARRAY) return 0;
  for (size_t i = 0; i < entries->u.arr.n; i++) {
    const qwh_json *k = qwh_json_get(entries->u.arr.items[i], "key"), *n = qwh_json_get(entries->u.arr.items[i], "nonce");
    if (!k || !n || k->type != QWH_JSON_STRING || n->type != QWH_JSON_STRING) continue;
    qwh_replay_cache_add(c, k->u.str.s, k->u.str.len, n->u.str.s, n->u.str.len, now, now);
  }
  return 0;
}

/* The 32 exporter bytes of a {"exporterHex"} object; false without TLS. */
static bool exporter_of(const qwh_json *tls, uint8_t exporter[32]) {
  if (!tls || tls->type != QWH_JSON_OBJECT) return false;
  qwh_buf b;
  qwh_buf_init(&b);
  bool ok = hex_input(tls, "exporterHex", &b) == 0 && b.len == 32;
  if (ok) memcpy(exporter, b.data, 32);
  qwh_buf_free(&b);
  return ok;
}

static int op_negotiate(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *s = qwh_json_get(params, "server");
  if (!s) return -1;
  qwh_server_policy p;
  qwh_server_policy_defaults(&p);
  const qwh_json *qwh = qwh_json_get(s, "qwh");
  if (qwh && !qwh_parse_qwh(qwh, &p.qwh_major, &p.qwh_minor)) return -1;
  p.features = strings_of(a, qwh_json_get(s, "features"), &p.n_features);
  if (!p.features) return -1;
  p.max_frame_length = (uint32_t)get_int(s, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  const qwh_json *version = qwh_json_get(s, "version");
  p.version = version && version->type == QWH_JSON_STRING ? version->u.str.s : NULL;
  const qwh_json *tags = qwh_json_get(s, "tags");
  p.tags = tags && tags->type == QWH_JSON_OBJECT ? tags : NULL;
  p.framing_none = qwh_json_is_string(qwh_json_get(s, "framing"), "none");
  p.legacy_allowed = get_bool(s, "legacyAllowed", false);
  p.require_signature = get_bool(s, "requireSignature", false);
  p.signature_window_ms = get_int(s, "signatureWindowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  p.now_ms = get_int(s, "now", 0);
  uint8_t exporter[32];
  p.exporter = exporter_of(qwh_json_get(s, "tls"), exporter) ? exporter : NULL;
  qwh_replay_cache cache;
  if (fill_replay_cache(&cache, qwh_json_get(input, "replayCache"), p.now_ms, p.signature_window_ms)) return -1;
  p.replay_cache = &cache;
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  int ret = hex_input(input, "hex", &bytes);
  qwh_decision d;
  if (ret == 0) qwh_decide(a, bytes.data, bytes.len, &p, &d);
  qwh_buf_free(&bytes);
  qwh_replay_cache_free(&cache);
  if (ret) return -1;
  bool policy_rejects = qwh_json_is_string(qwh_json_get(s, "policy"), "reject");
  qwh_json *answer = qwh_json_object(a);
  if (!answer) return -1;
  qwh_code code = d.code;
  const char *type = "reject";
  switch (d.type) {
    case QWH_DECIDE_ACCEPT:
      if (policy_rejects) {
        code = QWH_E_POLICY_REJECTED;
        break;
      }
      answer = d.accept;
      type = "accept";
      break;
    case QWH_DECIDE_LEGACY:
      if (policy_rejects) code = QWH_E_POLICY_REJECTED;
      type = policy_rejects ? "close" : "legacy";
      break;
    case QWH_DECIDE_REJECT:
      break;
    case QWH_DECIDE_CLOSE:
      type = "close";
      break;
  }
  if (qwh_json_set(a, answer, "type", qwh_json_cstring(a, type))) return -1;
  if (strcmp(type, "reject") == 0 && qwh_json_set(a, answer, "code", qwh_json_cstring(a, qwh_code_name(code)))) return -1;
  *out = result(a, code);
  return *out && qwh_json_set(a, *out, "answer", answer) == 0 ? 0 : -1;
}

static int op_signature(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_hello h;
  qwh_code rc = qwh_hello_parse(a, bytes.data, bytes.len, false, &h, NULL);
  qwh_buf_free(&bytes);
  if (rc) return (*out = result(a, rc)) ? 0 : -1;
  if (h.profile != QWH_PROFILE_V1 || h.sig_state == QWH_SIG_NONE) return (*out = result(a, QWH_E_SIGNATURE_REQUIRED)) ? 0 : -1;
  uint8_t exporter[32];
  const uint8_t *exp = exporter_of(qwh_json_get(params, "tls"), exporter) ? exporter : NULL;
  int64_t now = get_int(params, "now", 0), window = get_int(params, "windowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  qwh_buf signed_bytes;
  qwh_buf_init(&signed_bytes);
  const qwh_json *cb = qwh_json_get(qwh_json_get(h.raw, "sig"), "cb");
  /* With "cb":"tls-exporter" and no TLS there is no exporter, so no signed bytes to show. */
  bool show = !(qwh_json_is_string(cb, "tls-exporter") && !exp) && qwh_hello_signed_bytes(h.raw, exp, &signed_bytes) == QWH_OK;
  qwh_replay_cache cache;
  if (fill_replay_cache(&cache, qwh_json_get(input, "replayCache"), now, window)) return qwh_buf_free(&signed_bytes), -1;
  qwh_sig_check chk = {now, window, exp, &cache};
  rc = qwh_verify_hello_signature(h.raw, h.sig_state == QWH_SIG_PRESENT ? &h.sig : NULL, &chk);
  qwh_replay_cache_free(&cache);
  *out = result(a, rc);
  int ret = *out ? 0 : -1;
  if (ret == 0 && show && qwh_json_set(a, *out, "signedHex", qwh_hex_json(a, signed_bytes.data, signed_bytes.len))) ret = -1;
  qwh_buf_free(&signed_bytes);
  return ret;
}

/* ---- resume (feature "resume", spec 10.7) ---- */

static qwh_resume_limits limits_param(const qwh_json *o) {
  qwh_resume_limits l = {(uint64_t)get_int(o, "maxUnackedMessages", 4096), (uint64_t)get_int(o, "maxUnackedBytes", 4194304)};
  return l;
}

static int event_n(qwh_arena *a, qwh_json *events, const char *type, const char *key, uint64_t n) {
  qwh_json *e = qwh_json_object(a);
  if (!e || qwh_json_set(a, e, "type", qwh_json_cstring(a, type)) || (key && qwh_json_set(a, e, key, qwh_json_int(a, (int64_t)n))) ||
      qwh_json_push(a, events, e))
    return -1;
  return 0;
}

/* The frames numbered from..to were written (each one a "data" event). */
static int data_events(qwh_arena *a, qwh_json *events, uint64_t from, uint64_t to) {
  for (uint64_t n = from; n <= to; n++)
    if (event_n(a, events, "data", "n", n)) return -1;
  return 0;
}

/* Model "session": one side's counting, ACK and replay rules driven by `steps`. */
static int resume_session(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_resume_limits own = limits_param(qwh_json_get(params, "own")), peer = limits_param(qwh_json_get(params, "peer"));
  qwh_resume_state st;
  qwh_resume_init(&st, &own, &peer);
  qwh_json *events = qwh_json_array(a);
  const qwh_json *steps = qwh_json_get(input, "steps");
  qwh_buf sink, payload;
  qwh_buf_init(&sink);
  qwh_buf_init(&payload);
  qwh_code rc = QWH_OK;
  int ret = events && steps && steps->type == QWH_JSON_ARRAY ? 0 : -1;
  for (size_t i = 0; ret == 0 && rc == QWH_OK && i < steps->u.arr.n; i++) {
    const qwh_json *step = steps->u.arr.items[i];
    const qwh_json *send = qwh_json_get(step, "send"), *receive = qwh_json_get(step, "receive");
    const qwh_json *control = qwh_json_get(step, "control"), *resume = qwh_json_get(step, "resume");
    uint64_t before = st.sent;
    if (send && send->type == QWH_JSON_INT && send->u.i >= 0) {
      size_t n = (size_t)send->u.i;
      payload.len = 0;
      if (qwh_buf_reserve(&payload, n + 1)) {
        ret = -1;
        break;
      }
      memset(payload.data, 0, n);
      bool held = false;
      sink.len = 0;
      rc = qwh_resume_send(&st, &sink, payload.data, n, &held);
      if (rc == QWH_OK) ret = held ? event_n(a, events, "held", NULL, 0) : data_events(a, events, before + 1, st.sent);
    } else if (receive && receive->type == QWH_JSON_INT && receive->u.i >= 0) {
      ret = event_n(a, events, "deliver", "n", st.received + 1);
      if (ret == 0 && qwh_resume_delivered(&st, (size_t)receive->u.i, 0)) ret = event_n(a, events, "ack", "count", qwh_resume_report(&st));
    } else if (control && control->type == QWH_JSON_STRING) {
      qwh_buf bytes;
      qwh_buf_init(&bytes);
      if (qwh_hex_decode(control->u.str.s, control->u.str.len, &bytes) || bytes.len < 1) {
        qwh_buf_free(&bytes);
        ret = -1;
        break;
      }
      if (bytes.data[0] == QWH_CTRL_ACK) {
        bool request = false;
        uint64_t count = 0;
        rc = qwh_ack_parse(bytes.data + 1, bytes.len - 1, &request, &count);
        if (rc == QWH_OK) rc = qwh_resume_acknowledge(&st, count, QWH_E_PROTOCOL_ERROR);
        if (rc == QWH_OK && request) ret = event_n(a, events, "ack", "count", qwh_resume_report(&st));
        if (rc == QWH_OK && ret == 0) {
          sink.len = 0;
          qwh_resume_release(&st, &sink);
          ret = data_events(a, events, before + 1, st.sent);
        }
      }
      qwh_buf_free(&bytes);
    } else if (resume && resume->type == QWH_JSON_INT && resume->u.i >= 0) {
      rc = qwh_resume_acknowledge(&st, (uint64_t)resume->u.i, QWH_E_RESUME_MISMATCH);
      if (rc == QWH_OK) {
        ret = data_events(a, events, st.peer_received + 1, st.sent); /* sent again (QWH-RESUME-021) */
        sink.len = 0;
        qwh_resume_release(&st, &sink);
        if (ret == 0) ret = data_events(a, events, before + 1, st.sent);
      }
    } else {
      ret = -1;
    }
  }
  qwh_buf_free(&sink);
  qwh_buf_free(&payload);
  qwh_resume_free(&st);
  if (ret) return -1;
  *out = result(a, rc);
  return *out && qwh_json_set(a, *out, "events", events) == 0 ? 0 : -1;
}

typedef struct random_bytes {
  qwh_buf bytes;
  size_t off;
} random_bytes;

/* The vector's generator: its bytes in order. */
static int vector_random(void *user, uint8_t *out, size_t n) {
  random_bytes *r = user;
  if (r->bytes.len - r->off < n) return -1;
  memcpy(out, r->bytes.data + r->off, n);
  r->off += n;
  return 0;
}

static bool b64_param(const qwh_json *v, uint8_t *out, size_t n) {
  size_t got = 0;
  return v && v->type == QWH_JSON_STRING && qwh_b64url_decode(v->u.str.s, v->u.str.len, out, n, &got) && got == n;
}

/* Loads the sessions a vector says the server holds. */
static int load_sessions(qwh_resume_store *store, const qwh_json *sessions, int64_t now) {
  for (size_t i = 0; sessions && sessions->type == QWH_JSON_ARRAY && i < sessions->u.arr.n; i++) {
    const qwh_json *h = sessions->u.arr.items[i];
    uint8_t id[QWH_SESSION_ID_BYTES], token[QWH_SESSION_TOKEN_BYTES], prev[QWH_SESSION_TOKEN_BYTES], key[32];
    if (!b64_param(qwh_json_get(h, "id"), id, sizeof id) || !b64_param(qwh_json_get(h, "token"), token, sizeof token)) return -1;
    bool has_prev = b64_param(qwh_json_get(h, "previousToken"), prev, sizeof prev);
    bool has_key = b64_param(qwh_json_get(h, "key"), key, sizeof key);
    if (!qwh_resume_store_load(store, id, token, has_prev ? prev : NULL, has_key ? key : NULL, get_bool(h, "tls", false),
                               (uint32_t)get_int(h, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH), (uint64_t)get_int(h, "sent", 0),
                               (uint64_t)get_int(h, "clientReported", 0), (uint64_t)get_int(h, "received", 0), now))
      return -1;
  }
  return 0;
}

static qwh_json *reject_answer(qwh_arena *a, qwh_code code) {
  qwh_json *r = qwh_json_object(a);
  if (!r || qwh_json_set(a, r, "type", qwh_json_cstring(a, "reject")) ||
      qwh_json_set(a, r, "code", qwh_json_cstring(a, qwh_code_name(code))))
    return NULL;
  return r;
}

/* Model "server-hello": the server's answer to a hello, given the sessions it holds (step 11 of spec 8.1). */
static int resume_server_hello(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *s = qwh_json_get(params, "server");
  if (!s) return -1;
  qwh_server_policy p;
  qwh_server_policy_defaults(&p);
  const qwh_json *qwh = qwh_json_get(s, "qwh");
  if (qwh && !qwh_parse_qwh(qwh, &p.qwh_major, &p.qwh_minor)) return -1;
  p.features = strings_of(a, qwh_json_get(s, "features"), &p.n_features);
  if (!p.features) return -1;
  p.max_frame_length = (uint32_t)get_int(s, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  p.resume = true;
  p.signature_window_ms = get_int(s, "signatureWindowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  p.now_ms = get_int(s, "now", 0);
  bool tls = get_bool(s, "tls", false);
  qwh_replay_cache cache;
  if (fill_replay_cache(&cache, NULL, p.now_ms, p.signature_window_ms)) return -1;
  p.replay_cache = &cache;
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  int ret = hex_input(input, "hex", &bytes);
  qwh_decision d;
  if (ret == 0) qwh_decide(a, bytes.data, bytes.len, &p, &d);
  qwh_buf_free(&bytes);
  qwh_replay_cache_free(&cache);
  if (ret) return -1;
  if (d.type == QWH_DECIDE_REJECT) {
    *out = result(a, d.code);
    return *out && qwh_json_set(a, *out, "answer", reject_answer(a, d.code)) == 0 ? 0 : -1;
  }
  if (d.type != QWH_DECIDE_ACCEPT) return -1; /* a v1 hello was expected */
  qwh_json *accept = d.accept;
  if (d.resume) {
    const qwh_json *rs = qwh_json_get(s, "resume");
    qwh_resume_limits limits = limits_param(rs);
    qwh_resume_store store;
    qwh_resume_store_init(&store, &limits, (uint64_t)get_int(rs, "windowMs", 30000), (uint64_t)get_int(rs, "maxSessions", 1024));
    random_bytes rnd = {{NULL, 0, 0}, 0};
    const qwh_json *random = qwh_json_get(params, "random");
    if (random && random->type == QWH_JSON_STRING && qwh_hex_decode(random->u.str.s, random->u.str.len, &rnd.bytes)) ret = -1;
    store.random = vector_random;
    store.user = &rnd;
    if (ret == 0) ret = load_sessions(&store, qwh_json_get(params, "sessions"), p.now_ms);
    qwh_hello_resume r;
    qwh_resume_entry *entry;
    qwh_accept_resume grant;
    qwh_code refusal = QWH_OK;
    qwh_resume_outcome o = QWH_RESUME_NONE;
    if (ret == 0 && !qwh_hello_resume_parse(qwh_json_get(d.hello.raw, "resume"), &r)) ret = -1; /* checked at step 3 */
    if (ret == 0) {
      const uint8_t *key = d.hello.sig_state == QWH_SIG_PRESENT ? d.hello.sig.key_bytes : NULL;
      o = qwh_resume_store_decide(&store, &r, key, tls, d.hello.max_frame_length, p.now_ms, &entry, &grant, &refusal);
    }
    qwh_resume_store_free(&store);
    qwh_buf_free(&rnd.bytes);
    if (ret) return -1;
    if (o == QWH_RESUME_REFUSED) {
      *out = result(a, refusal);
      return *out && qwh_json_set(a, *out, "answer", reject_answer(a, refusal)) == 0 ? 0 : -1;
    }
    if (o == QWH_RESUME_NONE) {
      if (qwh_json_set(a, accept, "features", qwh_features_without_resume(a, qwh_json_get(accept, "features")))) return -1;
    } else if (qwh_json_set(a, accept, "resume", qwh_accept_resume_build(a, &grant))) {
      return -1;
    }
  }
  *out = result(a, QWH_OK);
  return *out && qwh_json_set(a, *out, "answer", accept) == 0 ? 0 : -1;
}

/* Model "client-accept": the client's check of an accept, given what it offered and the session its hello named. */
static int resume_client_accept(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *offered = qwh_json_get(params, "offered");
  qwh_offer offer = {QWH_VERSION_MAJOR, QWH_RESUME_VERSION_MINOR, NULL, 0};
  offer.features = strings_of(a, qwh_json_get(offered, "features"), &offer.n_features);
  if (!offer.features) return -1;
  const qwh_json *session = qwh_json_get(params, "session");
  qwh_named_session named;
  bool has_named = session && session->type == QWH_JSON_OBJECT;
  if (has_named) {
    if (!b64_param(qwh_json_get(session, "id"), named.id, sizeof named.id)) return -1;
    named.sent = (uint64_t)get_int(session, "sent", 0);
    named.server_reported = (uint64_t)get_int(session, "serverReported", 0);
    named.max_frame_length = (uint32_t)get_int(session, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  }
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_answer ans;
  qwh_code rc = qwh_answer_parse(a, bytes.data, bytes.len, &offer, &ans);
  qwh_buf_free(&bytes);
  qwh_accept_resume grant;
  bool listed = rc == QWH_OK && ans.accepted && qwh_features_has(ans.features, "resume");
  if (listed)
    rc = qwh_accept_resume_check(ans.resume, qwh_features_has(ans.features, "control"), ans.max_frame_length, has_named ? &named : NULL,
                                 &grant);
  *out = result(a, rc);
  if (!*out) return -1;
  if (rc) return 0;
  if (!ans.accepted) return qwh_json_set(a, *out, "answer", reject_answer(a, qwh_code_from_name(ans.code.s, ans.code.len)));
  qwh_json *o = qwh_json_object(a);
  if (!o || qwh_json_set(a, o, "type", qwh_json_cstring(a, "accept")) ||
      qwh_json_set(a, o, "qwh", qwh_json_string(a, ans.qwh.s, ans.qwh.len)) || qwh_json_set(a, o, "features", (qwh_json *)ans.features) ||
      qwh_json_set(a, o, "maxFrameLength", qwh_json_int(a, ans.max_frame_length)) ||
      (ans.tags && qwh_json_set(a, o, "tags", (qwh_json *)ans.tags)) ||
      (ans.version && qwh_json_set(a, o, "version", (qwh_json *)ans.version)) ||
      (listed && qwh_json_set(a, o, "resume", qwh_accept_resume_build(a, &grant))))
    return -1;
  return qwh_json_set(a, *out, "answer", o);
}

static int op_resume(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *model = qwh_json_get(params, "model");
  if (qwh_json_is_string(model, "session")) return resume_session(a, params, input, out);
  if (qwh_json_is_string(model, "server-hello")) return resume_server_hello(a, params, input, out);
  if (qwh_json_is_string(model, "client-accept")) return resume_client_accept(a, params, input, out);
  return -1;
}

/* ---- canonical-json ---- */

static int op_canonical_json(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  (void)params;
  qwh_buf bytes, canon;
  qwh_buf_init(&bytes);
  qwh_buf_init(&canon);
  if (hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_json *v;
  qwh_json_status st = qwh_json_parse(a, bytes.data, bytes.len, &v);
  bool ok = st == QWH_JSON_OK && v->type == QWH_JSON_OBJECT && qwh_jcs_write(v, &canon) == QWH_JSON_OK;
  qwh_buf_free(&bytes);
  *out = result(a, ok ? QWH_OK : QWH_E_INVALID_HANDSHAKE);
  int ret = *out ? 0 : -1;
  if (ret == 0 && ok && qwh_json_set(a, *out, "canonicalHex", qwh_hex_json(a, canon.data, canon.len))) ret = -1;
  qwh_buf_free(&canon);
  return ret;
}

int qwh_codec_run(qwh_arena *a, const char *op, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  static const struct {
    const char *name;
    int (*fn)(qwh_arena *, const qwh_json *, const qwh_json *, qwh_json **);
  } OPS[] = {
      {"frame-decode", op_frame_decode},
      {"frame-encode", op_frame_encode},
      {"hello", op_hello},
      {"accept", op_accept},
      {"negotiate", op_negotiate},
      {"signature", op_signature},
      {"canonical-json", op_canonical_json},
      {"resume", op_resume},
  };
  *out = NULL;
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
    if (strcmp(op, OPS[i].name) == 0) return OPS[i].fn(a, params, input, out);
  return QWH_CODEC_UNSUPPORTED;
}
