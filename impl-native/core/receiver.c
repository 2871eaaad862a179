#include "receiver.h"

#include "limits.h"
#include "resume.h"

qwh_code qwh_receiver_on_frame(void *user, bool control, const uint8_t *payload, size_t len) {
  qwh_receiver *r = user;
  if (!control) return r->h.on_message ? r->h.on_message(r->user, payload, len) : QWH_OK;
  if (r->resume && len >= 1 && payload[0] == QWH_CTRL_ACK) {
    bool request;
    uint64_t count;
    qwh_code rc = qwh_ack_parse(payload + 1, len - 1, &request, &count); /* QWH-ACK-001 */
    if (rc) return rc;
    return r->h.on_ack ? r->h.on_ack(r->user, request, count) : QWH_OK;
  }
  qwh_control_kind kind;
  qwh_code rc = qwh_control_kind_of(payload, len, &kind);
  if (rc) return rc;
  switch (kind) {
    case QWH_CONTROL_IGNORED:
      return QWH_OK;
    case QWH_CONTROL_PING:
      return r->h.on_ping ? r->h.on_ping(r->user, payload + 1, len - 1) : QWH_OK;
    case QWH_CONTROL_PONG:
      return r->h.on_pong ? r->h.on_pong(r->user, payload + 1, len - 1) : QWH_OK;
    case QWH_CONTROL_CLOSE: {
      if (r->peer_closed) return QWH_E_PROTOCOL_ERROR;
      qwh_arena a;
      qwh_arena_init(&a);
      qwh_close_info info;
      rc = qwh_close_body_parse(&a, payload + 1, len - 1, &info);
      if (rc == QWH_OK) {
        r->peer_closed = true;
        /* After the peer's CLOSE a data frame is a violation, caught on its header. */
        qwh_decoder_refuse_data(&r->dec);
        if (r->h.on_close) rc = r->h.on_close(r->user, &info);
      }
      qwh_arena_free(&a);
      return rc;
    }
  }
  return QWH_E_INTERNAL;
}

void qwh_receiver_init(qwh_receiver *r, const qwh_receiver_handlers *h, void *user, uint32_t max_frame_length, bool control) {
  qwh_decoder_init(&r->dec, qwh_receiver_on_frame, r);
  qwh_decoder_set_limits(&r->dec, max_frame_length, control, QWH_E_FRAME_TOO_LARGE);
  r->h = *h;
  r->user = user;
  r->peer_closed = false;
  r->resume = false;
}

void qwh_receiver_free(qwh_receiver *r) { qwh_decoder_free(&r->dec); }
