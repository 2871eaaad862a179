#include "hello.h"

#include <string.h>

#include "fields.h"
#include "limits.h"

static qwh_code parse_legacy(const qwh_json *obj, bool legacy_allowed, qwh_hello *out, bool *legacy_shape) {
  *legacy_shape = true;
  const qwh_json *version = qwh_json_get(obj, "version");
  const qwh_json *tags = qwh_json_get(obj, "tags");
  if (version && version->type != QWH_JSON_STRING) return QWH_E_INVALID_HANDSHAKE;
  if (tags && !qwh_check_tags(tags, true)) return QWH_E_INVALID_HANDSHAKE;
  if (!legacy_allowed) return QWH_E_LEGACY_NOT_ALLOWED;
  out->profile = QWH_PROFILE_LEGACY;
  out->version = version;
  out->tags = tags;
  return QWH_OK;
}

qwh_code qwh_hello_parse(qwh_arena *a, const uint8_t *payload, size_t len, bool legacy_allowed, qwh_hello *out, bool *legacy_shape) {
  bool shape_dummy;
  if (!legacy_shape) legacy_shape = &shape_dummy;
  *legacy_shape = false;
  memset(out, 0, sizeof *out);
  out->max_frame_length = QWH_DEFAULT_MAX_FRAME_LENGTH;
  qwh_json *obj;
  qwh_json_status st = qwh_json_parse(a, payload, len, &obj);
  if (st == QWH_JSON_ERR_NOMEM) return QWH_E_INTERNAL;
  if (st != QWH_JSON_OK || obj->type != QWH_JSON_OBJECT) return QWH_E_INVALID_HANDSHAKE;
  if (!qwh_json_is_string(qwh_json_get(obj, "type"), "handshake")) return QWH_E_INVALID_HANDSHAKE;
  out->raw = obj;
  if (!qwh_json_get(obj, "features")) return parse_legacy(obj, legacy_allowed, out, legacy_shape);

  if (qwh_json_has_nonint(obj)) return QWH_E_INVALID_HANDSHAKE;
  if (!qwh_parse_qwh(qwh_json_get(obj, "qwh"), &out->qwh_major, &out->qwh_minor)) return QWH_E_INVALID_HANDSHAKE;
  const qwh_json *features = qwh_json_get(obj, "features");
  const qwh_json *version = qwh_json_get(obj, "version");
  const qwh_json *tags = qwh_json_get(obj, "tags");
  const qwh_json *max = qwh_json_get(obj, "maxFrameLength");
  const qwh_json *sig = qwh_json_get(obj, "sig");
  if (!qwh_check_features(features)) return QWH_E_INVALID_HANDSHAKE;
  if (version && !qwh_check_app_version(version)) return QWH_E_INVALID_HANDSHAKE;
  if (tags && !qwh_check_tags(tags, false)) return QWH_E_INVALID_HANDSHAKE;
  if (max && !qwh_check_max_frame_length(max)) return QWH_E_INVALID_HANDSHAKE;
  /* A "sig" that is not an object fails the shape; a malformed object fails later, at step 9b. */
  if (sig && sig->type != QWH_JSON_OBJECT) return QWH_E_INVALID_HANDSHAKE;
  out->profile = QWH_PROFILE_V1;
  out->features = features;
  out->version = version;
  out->tags = tags;
  if (max) {
    out->has_max_frame_length = true;
    out->max_frame_length = (uint32_t)max->u.i;
  }
  if (sig) out->sig_state = qwh_sig_parse(sig, &out->sig) ? QWH_SIG_PRESENT : QWH_SIG_MALFORMED;
  return QWH_OK;
}

qwh_json *qwh_hello_build(qwh_arena *a, const qwh_hello_options *o) {
  qwh_json *h = qwh_json_object(a);
  qwh_json *features = qwh_json_array(a);
  if (!h || !features) return NULL;
  for (size_t i = 0; i < o->n_features; i++)
    if (qwh_json_push(a, features, qwh_json_cstring(a, o->features[i]))) return NULL;
  if (qwh_json_set(a, h, "type", qwh_json_cstring(a, "handshake")) || qwh_json_set(a, h, "qwh", qwh_json_cstring(a, QWH_VERSION_STRING)) ||
      qwh_json_set(a, h, "features", features))
    return NULL;
  if (o->version && qwh_json_set(a, h, "version", qwh_json_cstring(a, o->version))) return NULL;
  if (o->tags && qwh_json_set(a, h, "tags", (qwh_json *)o->tags)) return NULL;
  if (o->announce_max_frame_length && qwh_json_set(a, h, "maxFrameLength", qwh_json_int(a, o->max_frame_length))) return NULL;
  return h;
}
