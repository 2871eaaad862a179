/* Reading a codec vector's parameters and inputs, and the shape of its outputs (codec_params.h). */
#include "codec_params.h"

#include <string.h>

int codec_hex_input(const qwh_json *input, const char *name, qwh_buf *out) {
  const qwh_json *h = qwh_json_get(input, name);
  if (!h || h->type != QWH_JSON_STRING) return -1;
  return qwh_hex_decode(h->u.str.s, h->u.str.len, out);
}

bool codec_get_bool(const qwh_json *o, const char *name, bool dflt) {
  const qwh_json *v = qwh_json_get(o, name);
  return v && v->type == QWH_JSON_BOOL ? v->u.b : dflt;
}

int64_t codec_get_int(const qwh_json *o, const char *name, int64_t dflt) {
  const qwh_json *v = qwh_json_get(o, name);
  return v && v->type == QWH_JSON_INT ? v->u.i : dflt;
}

static qwh_json *error_json(qwh_arena *a, qwh_code code) {
  if (code == QWH_OK) return qwh_json_null(a);
  return qwh_json_cstring(a, qwh_code_name(code));
}

qwh_json *codec_result(qwh_arena *a, qwh_code code) {
  qwh_json *o = qwh_json_object(a);
  if (!o || qwh_json_set(a, o, "error", error_json(a, code))) return NULL;
  return o;
}

qwh_json *codec_reject_answer(qwh_arena *a, qwh_code code) {
  qwh_json *r = qwh_json_object(a);
  if (!r || qwh_json_set(a, r, "type", qwh_json_cstring(a, "reject")) ||
      qwh_json_set(a, r, "code", qwh_json_cstring(a, qwh_code_name(code))))
    return NULL;
  return r;
}

const char **codec_strings_of(qwh_arena *a, const qwh_json *arr, size_t *n) {
  *n = 0;
  if (!arr || arr->type != QWH_JSON_ARRAY) return qwh_arena_alloc(a, sizeof(char *));
  const char **out = qwh_arena_alloc(a, (arr->u.arr.n + 1) * sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < arr->u.arr.n; i++)
    if (arr->u.arr.items[i]->type == QWH_JSON_STRING) out[(*n)++] = arr->u.arr.items[i]->u.str.s;
  return out;
}

bool codec_b64_param(const qwh_json *v, uint8_t *out, size_t n) {
  size_t got = 0;
  return v && v->type == QWH_JSON_STRING && qwh_b64url_decode(v->u.str.s, v->u.str.len, out, n, &got) && got == n;
}

bool codec_exporter_of(const qwh_json *tls, uint8_t exporter[32]) {
  if (!tls || tls->type != QWH_JSON_OBJECT) return false;
  qwh_buf b;
  qwh_buf_init(&b);
  bool ok = codec_hex_input(tls, "exporterHex", &b) == 0 && b.len == 32;
  if (ok) memcpy(exporter, b.data, 32);
  qwh_buf_free(&b);
  return ok;
}

int codec_fill_replay_cache(qwh_replay_cache *c, const qwh_json *entries, int64_t now, int64_t window) {
  if (qwh_replay_cache_init(c, window, 100000)) return -1;
  if (!entries || entries->type != QWH_JSON_ARRAY) return 0;
  for (size_t i = 0; i < entries->u.arr.n; i++) {
    const qwh_json *k = qwh_json_get(entries->u.arr.items[i], "key"), *n = qwh_json_get(entries->u.arr.items[i], "nonce");
    if (!k || !n || k->type != QWH_JSON_STRING || n->type != QWH_JSON_STRING) continue;
    qwh_replay_cache_add(c, k->u.str.s, k->u.str.len, n->u.str.s, n->u.str.len, now, now);
  }
  return 0;
}

bool codec_server_policy(qwh_arena *a, const qwh_json *s, qwh_server_policy *p, uint8_t exporter[32]) {
  qwh_server_policy_defaults(p);
  const qwh_json *qwh = qwh_json_get(s, "qwh");
  if (qwh && !qwh_parse_qwh(qwh, &p->qwh_major, &p->qwh_minor)) return false;
  p->features = codec_strings_of(a, qwh_json_get(s, "features"), &p->n_features);
  if (!p->features) return false;
  p->max_frame_length = (uint32_t)codec_get_int(s, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  const qwh_json *version = qwh_json_get(s, "version");
  p->version = version && version->type == QWH_JSON_STRING ? version->u.str.s : NULL;
  const qwh_json *tags = qwh_json_get(s, "tags");
  p->tags = tags && tags->type == QWH_JSON_OBJECT ? tags : NULL;
  p->framing_none = qwh_json_is_string(qwh_json_get(s, "framing"), "none");
  p->legacy_allowed = codec_get_bool(s, "legacyAllowed", false);
  p->require_signature = codec_get_bool(s, "requireSignature", false);
  p->signature_window_ms = codec_get_int(s, "signatureWindowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  p->now_ms = codec_get_int(s, "now", 0);
  p->exporter = codec_exporter_of(qwh_json_get(s, "tls"), exporter) ? exporter : NULL;
  return true;
}

int codec_decide(qwh_arena *a, const qwh_json *input, const qwh_json *replay_entries, const qwh_server_policy *p, qwh_decision *d) {
  qwh_server_policy with_cache = *p;
  qwh_replay_cache cache;
  if (codec_fill_replay_cache(&cache, replay_entries, p->now_ms, p->signature_window_ms)) return -1;
  with_cache.replay_cache = &cache;
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  int ret = codec_hex_input(input, "hex", &bytes);
  if (ret == 0) qwh_decide(a, bytes.data, bytes.len, &with_cache, d);
  qwh_buf_free(&bytes);
  qwh_replay_cache_free(&cache);
  return ret;
}

int codec_parse_answer(qwh_arena *a, const qwh_json *input, const qwh_offer *offer, qwh_answer *ans, qwh_code *rc) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  int ret = codec_hex_input(input, "hex", &bytes);
  if (ret == 0) *rc = qwh_answer_parse(a, bytes.data, bytes.len, offer, ans);
  qwh_buf_free(&bytes);
  return ret;
}

int codec_accept_members(qwh_arena *a, qwh_json *o, const qwh_answer *ans) {
  if (qwh_json_set(a, o, "qwh", qwh_json_string(a, ans->qwh.s, ans->qwh.len)) ||
      qwh_json_set(a, o, "features", (qwh_json *)ans->features) ||
      qwh_json_set(a, o, "maxFrameLength", qwh_json_int(a, ans->max_frame_length)) ||
      (ans->tags && qwh_json_set(a, o, "tags", (qwh_json *)ans->tags)) ||
      (ans->version && qwh_json_set(a, o, "version", (qwh_json *)ans->version)))
    return -1;
  return 0;
}
