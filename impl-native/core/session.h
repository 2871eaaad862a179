/*
 * One QWH/1 connection as a state machine without I/O (client or server, v1
 * profile, legacy 0.3 clients when the server allows them). The backend feeds
 * received bytes in, writes out what accumulates in `out`, and closes the
 * transport once qwh_session_finished() says so. Timers are the backend's.
 */
#ifndef QWH_SESSION_H
#define QWH_SESSION_H

#include "answer.h"
#include "frame_encoder.h"
#include "negotiate.h"
#include "receiver.h"

typedef enum qwh_role { QWH_CLIENT, QWH_SERVER } qwh_role;
typedef enum qwh_state { QWH_ST_HANDSHAKE, QWH_ST_OPEN, QWH_ST_CLOSING, QWH_ST_CLOSED } qwh_state;

typedef struct qwh_session_handlers {
  void (*on_open)(void *user);
  /* A message (in raw mode: a chunk of the byte stream). Return a code to fail the connection. */
  qwh_code (*on_message)(void *user, const uint8_t *payload, size_t len);
  /* The peer's CLOSE (control) or reject (client); `code` may be outside the registry. */
  void (*on_peer_close)(void *user, const char *code, const char *reason);
} qwh_session_handlers;

typedef struct qwh_session_config {
  qwh_role role;
  uint32_t max_frame_length; /* own receive maximum */
  /* client */
  const char *const *features;
  size_t n_features;
  const char *version;
  const qwh_json *tags;
  /* server: the backend keeps policy.now_ms current */
  qwh_server_policy policy;
  /* server, step 10 of spec 8.1 (NULL: accept): QWH_OK, or a refusal code (E_POLICY_REJECTED). */
  qwh_code (*verify)(void *user, const qwh_hello *hello);
} qwh_session_config;

typedef struct qwh_session {
  qwh_session_config cfg;
  qwh_session_handlers h;
  void *user;
  qwh_state state;
  qwh_receiver rx;
  qwh_encoder enc;
  qwh_buf out;        /* bytes to write, in order */
  qwh_arena hs;       /* handshake values; freed when the connection opens */
  bool control, raw, legacy;
  bool close_sent, close_received;
  bool finished;      /* close the transport once `out` is written */
  bool half_close;    /* without control: end our direction (FIN) once `out` is written */
  bool unclean;       /* the peer went away without a CLOSE */
  bool peer_ended;    /* the end came from the peer (its CLOSE, its reject, its end of stream) */
  qwh_code error;     /* why it finished (QWH_OK: clean) */
  char error_name[72]; /* the code's string, also for a peer's code outside the registry */
  qwh_buf accept;     /* client: the accept's JSON payload as received (empty until accepted) */
} qwh_session;

int qwh_session_init(qwh_session *s, const qwh_session_config *cfg, const qwh_session_handlers *h, void *user);
void qwh_session_free(qwh_session *s);
/* Client: queues the hello. */
qwh_code qwh_session_start(qwh_session *s);
/* Received bytes / end of the incoming stream. */
qwh_code qwh_session_feed(qwh_session *s, const uint8_t *p, size_t n);
void qwh_session_feed_end(qwh_session *s);
/* Queues one message (E_CLOSED after close, E_FRAME_TOO_LARGE over the peer's maximum, nothing written then). */
qwh_code qwh_session_send(qwh_session *s, const uint8_t *p, size_t n);
/* Graceful close with a wire code (E_NORMAL_CLOSE, E_GOING_AWAY). */
void qwh_session_close(qwh_session *s, qwh_code code, const char *reason);
/* Fails the connection with `code` (timeouts, backpressure, socket errors). */
void qwh_session_fail(qwh_session *s, qwh_code code);
static inline bool qwh_session_finished(const qwh_session *s) { return s->finished; }

#endif
