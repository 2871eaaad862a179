/*
 * Shared by core/session.c (the open phase, sending, closing, failing: the session's life after
 * the handshake) and core/session_handshake.c (the hello and its answer on either side, the
 * server's VERIFYING state and step 11 of spec 8.1 for "resume"). Not part of the public API.
 */
#ifndef QWH_SESSION_INTERNAL_H
#define QWH_SESSION_INTERNAL_H

#include "session.h"

void qwh_sess_set_error(qwh_session *s, qwh_code code, const char *name);
void qwh_sess_finish(qwh_session *s);
/* Appends the canonical JSON of `obj` to `out` as a handshake frame. */
qwh_code qwh_sess_json_frame(qwh_buf *out, const qwh_json *obj);
/* Queues the canonical JSON of `obj` as a handshake frame. */
static inline qwh_code qwh_sess_queue_json_frame(qwh_session *s, const qwh_json *obj) { return qwh_sess_json_frame(&s->out, obj); }
static inline int64_t qwh_sess_now_ms(const qwh_session *s) { return s->cfg.clock_ms ? s->cfg.clock_ms() : s->cfg.policy.now_ms; }
/* The handshake is over: frames are data and control from here, with the peer's maximum. */
void qwh_sess_open_phase(qwh_session *s, uint32_t peer_max, bool control, bool raw);
/* A message of the open phase (counted for "resume", handed to the application). */
qwh_code qwh_sess_rx_message(void *user, const uint8_t *p, size_t n);
/* The decoder's callback during the handshake: the first frame each side receives. */
qwh_code qwh_sess_handshake_frame(void *user, bool control, const uint8_t *p, size_t n);

#endif
