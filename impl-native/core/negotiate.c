#include "negotiate.h"

#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "limits.h"

void qwh_server_policy_defaults(qwh_server_policy *p) {
  memset(p, 0, sizeof *p);
  p->qwh_major = QWH_VERSION_MAJOR;
  p->qwh_minor = QWH_VERSION_MINOR;
  p->max_frame_length = QWH_DEFAULT_MAX_FRAME_LENGTH;
  p->signature_window_ms = QWH_DEFAULT_SIGNATURE_WINDOW_MS;
}

/* `resume_ok`: "resume" may be listed (QWH-RESUME-003: enabled, 1.1 or higher agreed, "control" offered and enabled). */
static bool enabled(const qwh_server_policy *p, const qwh_str *f, bool resume_ok) {
  /* Raw framing carries no control frames: "raw" is enabled exactly when framing is "none". */
  if (f->len == 3 && memcmp(f->s, "raw", 3) == 0) return p->framing_none;
  if (p->framing_none) return false;
  if (f->len == 6 && memcmp(f->s, "resume", 6) == 0) return resume_ok;
  for (size_t i = 0; i < p->n_features; i++)
    if (strlen(p->features[i]) == f->len && memcmp(p->features[i], f->s, f->len) == 0) return true;
  return false;
}

static bool versions_compatible(const qwh_server_policy *p, const qwh_json *v) {
  return qwh_app_versions_compatible(p->version, strlen(p->version), v->u.str.s, v->u.str.len);
}

/* Checks of a 0.3 hello; QWH_OK means serve it. */
static qwh_code check_legacy(const qwh_server_policy *p, const qwh_hello *h) {
  if (p->framing_none) return QWH_E_FRAMING_MISMATCH; /* 0.3 raw clients are not served */
  if (p->version && h->version && !versions_compatible(p, h->version)) return QWH_E_VERSION_MISMATCH;
  if (p->require_signature) return QWH_E_SIGNATURE_REQUIRED;
  return QWH_OK;
}

/* Steps 5-9 for a v1 hello. */
static qwh_code check_v1(const qwh_server_policy *p, const qwh_hello *h) {
  if (h->qwh_major != p->qwh_major) return QWH_E_UNSUPPORTED_VERSION;
  if (qwh_features_has(h->features, "raw") != p->framing_none) return QWH_E_FRAMING_MISMATCH;
  if (p->version && (!h->version || !versions_compatible(p, h->version))) return QWH_E_VERSION_MISMATCH;
  if (p->check_tls_tags) {
    qwh_code rc = p->check_tls_tags(p->user, h->tags);
    if (rc) return rc;
  }
  if (h->sig_state == QWH_SIG_NONE) return p->require_signature ? QWH_E_SIGNATURE_REQUIRED : QWH_OK;
  qwh_sig_check chk = {p->now_ms, p->signature_window_ms, p->exporter, p->replay_cache};
  return qwh_verify_hello_signature(h->raw, h->sig_state == QWH_SIG_PRESENT ? &h->sig : NULL, &chk);
}

/* Builds the accept: the enabled features in the client's order. */
static qwh_code build_accept(qwh_arena *a, const qwh_server_policy *p, qwh_decision *d) {
  const qwh_hello *h = &d->hello;
  d->qwh_major = p->qwh_major;
  d->qwh_minor = h->qwh_minor < p->qwh_minor ? h->qwh_minor : p->qwh_minor;
  qwh_json *acc = qwh_json_object(a);
  qwh_json *features = qwh_json_array(a);
  char ver[16];
  int n = snprintf(ver, sizeof ver, "%d.%d", d->qwh_major, d->qwh_minor);
  if (!acc || !features || n < 0 || (size_t)n >= sizeof ver) return QWH_E_INTERNAL;
  static const qwh_str control = {"control", 7};
  bool resume_ok = p->resume && d->qwh_minor >= 1 && qwh_features_has(h->features, "control") && enabled(p, &control, false);
  for (size_t i = 0; i < h->features->u.arr.n; i++) {
    qwh_json *f = h->features->u.arr.items[i];
    if (!enabled(p, &f->u.str, resume_ok)) continue;
    if (qwh_json_push(a, features, f)) return QWH_E_INTERNAL;
    if (qwh_json_is_string(f, "control")) d->control = true;
    if (qwh_json_is_string(f, "raw")) d->raw = true;
    if (qwh_json_is_string(f, "resume")) d->resume = true;
  }
  if (qwh_json_set(a, acc, "type", qwh_json_cstring(a, "accept")) || qwh_json_set(a, acc, "qwh", qwh_json_cstring(a, ver)) ||
      qwh_json_set(a, acc, "features", features) || qwh_json_set(a, acc, "maxFrameLength", qwh_json_int(a, p->max_frame_length)) ||
      (p->tags && qwh_json_set(a, acc, "tags", (qwh_json *)p->tags)) ||
      (p->version && qwh_json_set(a, acc, "version", qwh_json_cstring(a, p->version))))
    return QWH_E_INTERNAL;
  d->accept = acc;
  return QWH_OK;
}

void qwh_decide(qwh_arena *a, const uint8_t *payload, size_t len, const qwh_server_policy *p, qwh_decision *d) {
  memset(d, 0, sizeof *d);
  bool legacy_shape = false;
  qwh_code rc = qwh_hello_parse(a, payload, len, p->legacy_allowed, &d->hello, &legacy_shape);
  if (rc) {
    /* A malformed 0.3 hello on a legacy listener is refused like any 0.3 hello: without a frame. */
    bool silent = legacy_shape && p->legacy_allowed && rc == QWH_E_INVALID_HANDSHAKE;
    d->type = silent ? QWH_DECIDE_CLOSE : QWH_DECIDE_REJECT;
    d->code = rc;
    return;
  }
  d->has_hello = true;
  if (d->hello.profile == QWH_PROFILE_LEGACY) {
    d->code = check_legacy(p, &d->hello);
    d->type = d->code ? QWH_DECIDE_CLOSE : QWH_DECIDE_LEGACY;
    return;
  }
  /* Part of the shape check (step 3): a hello offering "resume" to a server that enables it needs a valid member (QWH-RESUME-004). */
  qwh_hello_resume r;
  if (p->resume && d->hello.qwh_major == 1 && d->hello.qwh_minor >= 1 && qwh_features_has(d->hello.features, "resume") &&
      !qwh_hello_resume_parse(qwh_json_get(d->hello.raw, "resume"), &r)) {
    d->type = QWH_DECIDE_REJECT;
    d->code = QWH_E_INVALID_HANDSHAKE;
    return;
  }
  d->code = check_v1(p, &d->hello);
  if (d->code == QWH_OK) d->code = build_accept(a, p, d);
  d->type = d->code ? QWH_DECIDE_REJECT : QWH_DECIDE_ACCEPT;
}
