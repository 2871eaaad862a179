/*
 * Codec operations of the handshake: "hello" (parse and classify), "accept" (the client's check
 * of an answer), "negotiate" (the server's decision, spec 8.1), "signature" (spec 11.4) and
 * "canonical-json" (RFC 8785).
 */
#include <string.h>

#include "codec_params.h"

int codec_hello(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (codec_hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_hello h;
  qwh_code rc = qwh_hello_parse(a, bytes.data, bytes.len, codec_get_bool(params, "legacyAllowed", false), &h, NULL);
  qwh_buf_free(&bytes);
  *out = codec_result(a, rc);
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

int codec_accept(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *offered = qwh_json_get(params, "offered");
  qwh_offer offer;
  if (!qwh_parse_qwh(qwh_json_get(offered, "qwh"), &offer.qwh_major, &offer.qwh_minor)) return -1;
  offer.features = codec_strings_of(a, qwh_json_get(offered, "features"), &offer.n_features);
  if (!offer.features) return -1;
  qwh_answer ans;
  qwh_code rc;
  if (codec_parse_answer(a, input, &offer, &ans, &rc)) return -1;
  *out = codec_result(a, rc);
  if (!*out) return -1;
  if (rc) return 0;
  qwh_json *o = qwh_json_object(a);
  if (!o) return -1;
  bool failed;
  if (ans.accepted)
    failed = qwh_json_set(a, *out, "outcome", qwh_json_cstring(a, "accept")) || qwh_json_set(a, *out, "accept", o) ||
             codec_accept_members(a, o, &ans);
  else
    failed = qwh_json_set(a, *out, "outcome", qwh_json_cstring(a, "reject")) || qwh_json_set(a, *out, "reject", o) ||
             qwh_json_set(a, o, "code", qwh_json_string(a, ans.code.s, ans.code.len)) ||
             (ans.reason && qwh_json_set(a, o, "reason", (qwh_json *)ans.reason));
  return failed ? -1 : 0;
}

int codec_negotiate(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *s = qwh_json_get(params, "server");
  qwh_server_policy p;
  uint8_t exporter[32];
  qwh_decision d;
  if (!s || !codec_server_policy(a, s, &p, exporter) || codec_decide(a, input, qwh_json_get(input, "replayCache"), &p, &d)) return -1;
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
  *out = codec_result(a, code);
  return *out && qwh_json_set(a, *out, "answer", answer) == 0 ? 0 : -1;
}

int codec_signature(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_buf bytes;
  qwh_buf_init(&bytes);
  if (codec_hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_hello h;
  qwh_code rc = qwh_hello_parse(a, bytes.data, bytes.len, false, &h, NULL);
  qwh_buf_free(&bytes);
  if (rc) return (*out = codec_result(a, rc)) ? 0 : -1;
  if (h.profile != QWH_PROFILE_V1 || h.sig_state == QWH_SIG_NONE) return (*out = codec_result(a, QWH_E_SIGNATURE_REQUIRED)) ? 0 : -1;
  uint8_t exporter[32];
  const uint8_t *exp = codec_exporter_of(qwh_json_get(params, "tls"), exporter) ? exporter : NULL;
  int64_t now = codec_get_int(params, "now", 0), window = codec_get_int(params, "windowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  qwh_buf signed_bytes;
  qwh_buf_init(&signed_bytes);
  const qwh_json *cb = qwh_json_get(qwh_json_get(h.raw, "sig"), "cb");
  /* With "cb":"tls-exporter" and no TLS there is no exporter, so no signed bytes to show. */
  bool show = !(qwh_json_is_string(cb, "tls-exporter") && !exp) && qwh_hello_signed_bytes(h.raw, exp, &signed_bytes) == QWH_OK;
  qwh_replay_cache cache;
  if (codec_fill_replay_cache(&cache, qwh_json_get(input, "replayCache"), now, window)) return qwh_buf_free(&signed_bytes), -1;
  qwh_sig_check chk = {now, window, exp, &cache};
  rc = qwh_verify_hello_signature(h.raw, h.sig_state == QWH_SIG_PRESENT ? &h.sig : NULL, &chk);
  qwh_replay_cache_free(&cache);
  *out = codec_result(a, rc);
  int ret = *out ? 0 : -1;
  if (ret == 0 && show && qwh_json_set(a, *out, "signedHex", qwh_hex_json(a, signed_bytes.data, signed_bytes.len))) ret = -1;
  qwh_buf_free(&signed_bytes);
  return ret;
}

int codec_canonical_json(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  (void)params;
  qwh_buf bytes, canon;
  qwh_buf_init(&bytes);
  qwh_buf_init(&canon);
  if (codec_hex_input(input, "hex", &bytes)) return qwh_buf_free(&bytes), -1;
  qwh_json *v;
  qwh_json_status st = qwh_json_parse(a, bytes.data, bytes.len, &v);
  bool ok = st == QWH_JSON_OK && v->type == QWH_JSON_OBJECT && qwh_jcs_write(v, &canon) == QWH_JSON_OK;
  qwh_buf_free(&bytes);
  *out = codec_result(a, ok ? QWH_OK : QWH_E_INVALID_HANDSHAKE);
  int ret = *out ? 0 : -1;
  if (ret == 0 && ok && qwh_json_set(a, *out, "canonicalHex", qwh_hex_json(a, canon.data, canon.len))) ret = -1;
  qwh_buf_free(&canon);
  return ret;
}
