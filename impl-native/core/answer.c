#include "answer.h"

#include <string.h>

#include "fields.h"

static bool offered(const qwh_offer *o, const qwh_str *f) {
  for (size_t i = 0; i < o->n_features; i++)
    if (strlen(o->features[i]) == f->len && memcmp(o->features[i], f->s, f->len) == 0) return true;
  return false;
}

qwh_code qwh_answer_parse(qwh_arena *a, const uint8_t *payload, size_t len, const qwh_offer *offer, qwh_answer *out) {
  memset(out, 0, sizeof *out);
  qwh_json *obj;
  qwh_json_status st = qwh_json_parse(a, payload, len, &obj);
  if (st == QWH_JSON_ERR_NOMEM) return QWH_E_INTERNAL;
  if (st != QWH_JSON_OK || obj->type != QWH_JSON_OBJECT || qwh_json_has_nonint(obj)) return QWH_E_INVALID_HANDSHAKE;
  const qwh_json *type = qwh_json_get(obj, "type");
  if (qwh_json_is_string(type, "reject")) {
    const qwh_json *code = qwh_json_get(obj, "code");
    const qwh_json *reason = qwh_json_get(obj, "reason");
    if (!code || code->type != QWH_JSON_STRING || !qwh_error_code_valid(code->u.str.s, code->u.str.len)) return QWH_E_INVALID_HANDSHAKE;
    if (!qwh_check_reason(reason)) return QWH_E_INVALID_HANDSHAKE;
    out->accepted = false;
    out->code = code->u.str;
    out->reason = reason;
    return QWH_OK; /* a "qwh" list in a reject is informative only */
  }
  if (!qwh_json_is_string(type, "accept")) return QWH_E_INVALID_HANDSHAKE;
  int major, minor;
  const qwh_json *qwh = qwh_json_get(obj, "qwh");
  if (!qwh_parse_qwh(qwh, &major, &minor)) return QWH_E_INVALID_HANDSHAKE;
  const qwh_json *features = qwh_json_get(obj, "features");
  const qwh_json *max = qwh_json_get(obj, "maxFrameLength");
  const qwh_json *tags = qwh_json_get(obj, "tags");
  const qwh_json *version = qwh_json_get(obj, "version");
  if (!qwh_check_features(features) || !qwh_check_max_frame_length(max)) return QWH_E_INVALID_HANDSHAKE;
  if (tags && !qwh_check_tags(tags, false)) return QWH_E_INVALID_HANDSHAKE;
  if (version && !qwh_check_app_version(version)) return QWH_E_INVALID_HANDSHAKE;
  if (major != offer->qwh_major || minor > offer->qwh_minor) return QWH_E_UNSUPPORTED_VERSION;
  bool raw_accepted = false;
  for (size_t i = 0; i < features->u.arr.n; i++) {
    const qwh_str *f = &features->u.arr.items[i]->u.str;
    if (!offered(offer, f)) return QWH_E_PROTOCOL_ERROR;
    if (f->len == 3 && memcmp(f->s, "raw", 3) == 0) raw_accepted = true;
  }
  qwh_str raw = {"raw", 3};
  if (offered(offer, &raw) && !raw_accepted) return QWH_E_FRAMING_MISMATCH;
  out->accepted = true;
  out->qwh = qwh->u.str;
  out->features = features;
  out->max_frame_length = (uint32_t)max->u.i;
  out->tags = tags;
  out->version = version;
  out->resume = qwh_json_get(obj, "resume");
  return QWH_OK;
}

qwh_json *qwh_reject_build(qwh_arena *a, const char *code, const char *reason, const char *speaks) {
  qwh_json *r = qwh_json_object(a);
  if (!r || qwh_json_set(a, r, "type", qwh_json_cstring(a, "reject")) || qwh_json_set(a, r, "code", qwh_json_cstring(a, code))) return NULL;
  if (reason && qwh_json_set(a, r, "reason", qwh_json_cstring(a, reason))) return NULL;
  if (speaks) {
    qwh_json *list = qwh_json_array(a);
    if (!list || qwh_json_push(a, list, qwh_json_cstring(a, speaks)) || qwh_json_set(a, r, "qwh", list)) return NULL;
  }
  return r;
}
