#include "frame_encoder.h"

#include "control.h"
#include "limits.h"

void qwh_encoder_init(qwh_encoder *e, uint32_t peer_max_frame_length, bool control) {
  e->peer_max_frame_length = peer_max_frame_length;
  e->control = control;
  e->close_sent = false;
}

qwh_code qwh_encoder_data_header(qwh_encoder *e, size_t len, uint8_t header[4]) {
  if (e->close_sent) return QWH_E_CLOSED;
  if (len > e->peer_max_frame_length) return QWH_E_FRAME_TOO_LARGE;
  qwh_put_u32be(header, (uint32_t)len);
  return QWH_OK;
}

qwh_code qwh_encoder_data(qwh_encoder *e, qwh_buf *out, const uint8_t *payload, size_t len) {
  uint8_t h[4];
  qwh_code rc = qwh_encoder_data_header(e, len, h);
  if (rc) return rc;
  if (qwh_buf_reserve(out, QWH_FRAME_HEADER + len) != 0) return QWH_E_INTERNAL;
  qwh_buf_append(out, h, 4);
  qwh_buf_append(out, payload, len);
  return QWH_OK;
}

static qwh_code control_frame(qwh_buf *out, uint8_t type, const uint8_t *body, size_t len) {
  if (len > QWH_MAX_CONTROL_LENGTH - 1) return QWH_E_INVALID_CONTROL_FRAME;
  if (qwh_buf_reserve(out, QWH_FRAME_HEADER + 1 + len) != 0) return QWH_E_INTERNAL;
  uint8_t h[5];
  qwh_put_u32be(h, QWH_CONTROL_BIT | (uint32_t)(len + 1));
  h[4] = type;
  qwh_buf_append(out, h, 5);
  qwh_buf_append(out, body, len);
  return QWH_OK;
}

qwh_code qwh_encoder_ping(qwh_encoder *e, qwh_buf *out, const uint8_t *body, size_t len) {
  if (!e->control) return QWH_E_INVALID_CONTROL_FRAME;
  if (e->close_sent) return QWH_E_CLOSED;
  return control_frame(out, QWH_CTRL_PING, body, len);
}

qwh_code qwh_encoder_pong(qwh_encoder *e, qwh_buf *out, const uint8_t *body, size_t len) {
  if (!e->control) return QWH_E_INVALID_CONTROL_FRAME;
  return control_frame(out, QWH_CTRL_PONG, body, len);
}

qwh_code qwh_encoder_close(qwh_encoder *e, qwh_buf *out, const char *code, size_t code_len, const char *reason, size_t reason_len) {
  if (!e->control) return QWH_E_INVALID_CONTROL_FRAME;
  if (e->close_sent) return QWH_E_CLOSED;
  qwh_buf body;
  qwh_buf_init(&body);
  qwh_code rc = qwh_close_body_encode(code, code_len, reason, reason_len, &body);
  if (rc == QWH_OK) rc = control_frame(out, QWH_CTRL_CLOSE, body.data, body.len);
  qwh_buf_free(&body);
  if (rc == QWH_OK) e->close_sent = true;
  return rc;
}

qwh_code qwh_encode_handshake_frame(qwh_buf *out, const uint8_t *payload, size_t len) {
  if (len > QWH_MAX_HANDSHAKE_LENGTH) return QWH_E_HANDSHAKE_TOO_LARGE;
  if (qwh_buf_reserve(out, QWH_FRAME_HEADER + len) != 0) return QWH_E_INTERNAL;
  uint8_t h[4];
  qwh_put_u32be(h, (uint32_t)len);
  qwh_buf_append(out, h, 4);
  qwh_buf_append(out, payload, len);
  return QWH_OK;
}
