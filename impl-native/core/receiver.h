/*
 * The receive side of an open connection: the frame decoder plus the control
 * rules (PING/PONG/CLOSE, ignorable types, nothing but control after CLOSE).
 */
#ifndef QWH_RECEIVER_H
#define QWH_RECEIVER_H

#include "control.h"
#include "frame_decoder.h"

/* Each handler returns QWH_OK or a code that fails the connection. Pointers are valid during the call. */
typedef struct qwh_receiver_handlers {
  qwh_code (*on_message)(void *user, const uint8_t *payload, size_t len);
  qwh_code (*on_ping)(void *user, const uint8_t *body, size_t len);
  qwh_code (*on_pong)(void *user, const uint8_t *body, size_t len);
  qwh_code (*on_close)(void *user, const qwh_close_info *info);
  /* An ACK (type 0x11), only once "resume" is negotiated (qwh_receiver.resume); else it is E_INVALID_CONTROL_FRAME. */
  qwh_code (*on_ack)(void *user, bool request, uint64_t count);
} qwh_receiver_handlers;

typedef struct qwh_receiver {
  qwh_decoder dec;
  qwh_receiver_handlers h;
  void *user;
  bool peer_closed;
  bool resume; /* feature "resume" negotiated: ACK frames are accepted */
} qwh_receiver;

void qwh_receiver_init(qwh_receiver *r, const qwh_receiver_handlers *h, void *user, uint32_t max_frame_length, bool control);
void qwh_receiver_free(qwh_receiver *r);
static inline qwh_code qwh_receiver_push(qwh_receiver *r, const uint8_t *p, size_t n, size_t *consumed) {
  return qwh_decoder_push(&r->dec, p, n, consumed);
}
static inline qwh_code qwh_receiver_end(qwh_receiver *r) { return qwh_decoder_end(&r->dec); }

/* The frame callback, for a decoder whose user is a qwh_receiver (used to switch a handshake decoder). */
qwh_code qwh_receiver_on_frame(void *user, bool control, const uint8_t *payload, size_t len);

#endif
