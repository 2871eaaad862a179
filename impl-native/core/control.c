#include "control.h"

#include "fields.h"
#include "limits.h"

qwh_code qwh_control_kind_of(const uint8_t *payload, size_t len, qwh_control_kind *kind) {
  if (len < 1) return QWH_E_INVALID_CONTROL_FRAME;
  switch (payload[0]) {
    case QWH_CTRL_PING:
      *kind = QWH_CONTROL_PING;
      return QWH_OK;
    case QWH_CTRL_PONG:
      *kind = QWH_CONTROL_PONG;
      return QWH_OK;
    case QWH_CTRL_CLOSE:
      *kind = QWH_CONTROL_CLOSE;
      return QWH_OK;
    default:
      /* 0x10/0x11 (resume) are never negotiated in 1.0, so they fall here too. */
      if (payload[0] >= QWH_CTRL_FIRST_IGNORABLE) {
        *kind = QWH_CONTROL_IGNORED;
        return QWH_OK;
      }
      return QWH_E_INVALID_CONTROL_FRAME;
  }
}

qwh_code qwh_close_body_parse(qwh_arena *a, const uint8_t *body, size_t len, qwh_close_info *out) {
  qwh_json *v;
  qwh_json_status st = qwh_json_parse(a, body, len, &v);
  if (st == QWH_JSON_ERR_NOMEM) return QWH_E_INTERNAL;
  if (st != QWH_JSON_OK || v->type != QWH_JSON_OBJECT || qwh_json_has_nonint(v)) return QWH_E_INVALID_CONTROL_FRAME;
  const qwh_json *code = qwh_json_get(v, "code");
  if (!code || code->type != QWH_JSON_STRING || !qwh_error_code_valid(code->u.str.s, code->u.str.len)) return QWH_E_INVALID_CONTROL_FRAME;
  const qwh_json *reason = qwh_json_get(v, "reason");
  if (!qwh_check_reason(reason)) return QWH_E_INVALID_CONTROL_FRAME;
  out->code = code->u.str;
  out->has_reason = reason != NULL;
  if (reason) out->reason = reason->u.str;
  return QWH_OK;
}

static int close_body(const char *code, size_t code_len, const char *reason, size_t reason_len, qwh_buf *out) {
  if (qwh_buf_puts(out, "{\"code\":") || qwh_json_write_string(code, code_len, out)) return -1;
  if (reason && (qwh_buf_puts(out, ",\"reason\":") || qwh_json_write_string(reason, reason_len, out))) return -1;
  return qwh_buf_putc(out, '}');
}

qwh_code qwh_close_body_encode(const char *code, size_t code_len, const char *reason, size_t reason_len, qwh_buf *out) {
  if (!qwh_error_code_valid(code, code_len)) return QWH_E_INVALID_CONTROL_FRAME;
  if (reason && !qwh_utf8_valid((const uint8_t *)reason, reason_len)) return QWH_E_INVALID_CONTROL_FRAME;
  size_t keep = reason_len;
  if (reason) {
    /* At most 256 code points. */
    size_t cps = 0;
    for (size_t i = 0; i < reason_len; i++) {
      if (((uint8_t)reason[i] & 0xc0) != 0x80) {
        if (cps == QWH_MAX_REASON_CODEPOINTS) {
          keep = i;
          break;
        }
        cps++;
      }
    }
  }
  size_t start = out->len;
  for (;;) {
    out->len = start;
    if (close_body(code, code_len, reason, keep, out) != 0) {
      out->len = start;
      return QWH_E_INTERNAL;
    }
    if (out->len - start < QWH_MAX_CONTROL_LENGTH) return QWH_OK;
    /* Drop the last code point and try again. */
    do keep--;
    while (keep > 0 && ((uint8_t)reason[keep] & 0xc0) == 0x80);
  }
}
