/*
 * One connection of impl-native's I/O layer: a non-blocking socket on a qwh_loop moving bytes
 * between the kernel and a qwh_session (the core does all protocol work), optionally through TLS
 * on memory BIOs (core/tls_bio.c); backpressure, and the handshake / connect, drain, heartbeat,
 * idle and linger timers. Single-threaded: every function runs on the loop's thread.
 */
#ifndef QWH_IO_CONN_H
#define QWH_IO_CONN_H

#include <stdint.h>

#include "../core/session.h"
#include "../core/tls_bio.h"
#include "loop.h"
#include "socket.h"

typedef struct qwh_pconn qwh_pconn;

/* Where a connection is in its life; each phase only moves forward. */
typedef enum qwh_conn_phase {
  QWH_CONN_CONNECTING, /* client: connect() in progress */
  QWH_CONN_HANDSHAKE,  /* the socket is up: TLS and the QWH/1 handshake (or a refusal) in progress */
  QWH_CONN_OPEN,       /* the session opened; it may be closing (CLOSE exchange, drain) */
  /* The session is over and our FIN went out: the peer's last bytes are read and dropped until its
   * FIN (bounded), so that closing with unread bytes does not reset the connection. */
  QWH_CONN_LINGER,
  QWH_CONN_CLOSED, /* the transport is closed */
} qwh_conn_phase;

typedef struct qwh_pconn_handlers {
  void (*on_open)(qwh_pconn *c);
  void (*on_message)(qwh_pconn *c, const uint8_t *p, size_t n);
  void (*on_peer_close)(qwh_pconn *c, const char *code, const char *reason);
  /* The transport is closed; c->s.error / error_name / unclean say how. The owner frees c. */
  void (*on_closed)(qwh_pconn *c);
} qwh_pconn_handlers;

typedef struct qwh_pconn_limits {
  int64_t handshake_timeout_ms;  /* 0: none */
  int64_t connect_timeout_ms;    /* client: TCP connect deadline (E_CONNECT_TIMEOUT); 0: the handshake timeout */
  int64_t drain_timeout_ms;      /* 0: none */
  size_t high_water;             /* stop reading above this many unsent bytes */
  size_t max_backpressure;       /* fail with E_BACKPRESSURE above this */
  int64_t heartbeat_interval_ms; /* PING every interval once open with "control" (0: none) */
  int64_t idle_timeout_ms;       /* E_IDLE_TIMEOUT after this long without a byte either way (0: none) */
} qwh_pconn_limits;

struct qwh_pconn {
  qwh_watch w;
  qwh_loop *loop;
  qwh_session s;
  size_t out_off;
  qwh_pconn_handlers h;
  qwh_pconn_limits lim;
  void *app;
  qwh_conn_phase phase;
  bool opened;      /* the session opened (it may have finished since) */
  bool paused;      /* reading stopped: too much unsent (QWH-LIMIT-005) */
  bool wr_shut;     /* our FIN went out */
  bool in_dispatch; /* inside on_io: qwh_pconn_service waits for its end */
  bool drain_armed; /* the drain timer of our CLOSE is set */
  bool peer_eof;    /* the peer's FIN was read */
  bool broken;      /* a socket error: nothing more can be sent */
  uint32_t watched;
  qwh_timer hs_timer, drain_timer, hb_timer, idle_timer, linger_timer;
  int64_t last_activity; /* monotonic ms of the last byte read or written (idle timeout) */
  /* TLS (memory BIOs): ciphertext to send, and what it decrypts to. NULL: plain TCP. */
  qwh_tls *tls;
  qwh_buf tls_out, plain;
  bool tls_open;            /* handshake done and checked */
  uint8_t tls_exporter[32]; /* RFC 9266 channel binding, for signed hellos */
  /* Called once the TLS handshake is done, before any application byte: non-OK fails the connection with that code. */
  qwh_code (*on_tls_open)(qwh_pconn *c);
  qwh_pconn *next, *prev; /* owner's list */
};

void qwh_pconn_limits_default(qwh_pconn_limits *l);
/* Takes ownership of fd (non-blocking; closed when this fails). `connecting`: a client whose connect() is in progress. */
int qwh_pconn_start(qwh_pconn *c, qwh_loop *loop, int fd, bool connecting, const qwh_session_config *cfg, const qwh_pconn_limits *lim,
                    const qwh_pconn_handlers *h, void *app);
qwh_code qwh_pconn_send(qwh_pconn *c, const uint8_t *p, size_t n);
void qwh_pconn_close(qwh_pconn *c, qwh_code code);
/* Refuses before reading (admission): a reject on a v1 listener, then close. */
void qwh_pconn_refuse(qwh_pconn *c, qwh_code code);
/* "resume": another connection took the session over: closes without a frame, discarding what is queued (QWH-RESUME-017). */
void qwh_pconn_abort(qwh_pconn *c);
/* Server: admitted; starts the session (a bare session opens at once). With TLS this happens when TLS is up. */
void qwh_pconn_begin(qwh_pconn *c);
/* Writes what it can, applies backpressure, closes when finished. Call after sends. */
void qwh_pconn_service(qwh_pconn *c);
void qwh_pconn_free(qwh_pconn *c);
/* Before qwh_pconn_start's first event: run TLS over this connection (takes `t`). */
void qwh_pconn_use_tls(qwh_pconn *c, qwh_tls *t);

#endif
