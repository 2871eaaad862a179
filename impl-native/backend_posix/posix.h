/*
 * Backend "posix": non-blocking POSIX sockets on an epoll loop, moving bytes
 * between the kernel and a qwh_session (the core does all protocol work).
 * Addresses are literal IPv4/IPv6 (names are resolved by the caller).
 * Single-threaded: every function runs on the loop's thread.
 */
#ifndef QWH_POSIX_H
#define QWH_POSIX_H

#include <stdint.h>

#include "../core/session.h"
#include "../core/tls_bio.h"

typedef struct qwh_watch qwh_watch;
struct qwh_watch {
  int fd;
  void (*on_io)(qwh_watch *w, uint32_t events);
  void *impl;      /* the loop's handle for this watch (lws: the wsi) */
  uint32_t events; /* as last set (lws) */
};

/*
 * A one-shot timer of the loop (monotonic milliseconds). Both backends serve
 * them: qwh_loop_poll waits at most until the earliest one is due, then fires
 * every due timer. `fire` may free the timer's owner (and cancel any timer).
 */
typedef struct qwh_timer qwh_timer;
struct qwh_timer {
  int64_t due;
  void (*fire)(qwh_timer *t);
  qwh_timer *next, *prev;
  bool armed;
};

typedef enum qwh_loop_kind { QWH_LOOP_EPOLL = 0, QWH_LOOP_LWS = 1 } qwh_loop_kind;

/*
 * The event loop: epoll (backend "posix") or a libwebsockets context whose
 * service loop polls every socket, adopted as an lws raw file descriptor
 * (backend "lws", ../backend_lws/loop_lws.c). The connection code above is
 * the same for both.
 */
typedef struct qwh_loop {
  qwh_loop_kind kind;
  int epfd;
  void *lws; /* backend "lws": its state */
  uint8_t *rbuf; /* one read buffer shared by every connection of the loop */
  size_t rbuf_size;
  qwh_timer *timers; /* armed timers (unordered list) */
} qwh_loop;

int qwh_loop_init(qwh_loop *l);
/* Backend "lws"; -1 when this build has no libwebsockets. */
int qwh_loop_init_lws(qwh_loop *l);
void qwh_loop_free(qwh_loop *l);
/* Adds (w->impl == NULL, `add`) or modifies the watch (EPOLLIN / EPOLLOUT bits). */
int qwh_loop_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add);
void qwh_loop_unwatch(qwh_loop *l, qwh_watch *w);
/* Unwatches and closes w->fd (with lws, the loop closes it); sets w->fd to -1. */
void qwh_loop_close_fd(qwh_loop *l, qwh_watch *w);
/* Waits up to timeout_ms and dispatches. Returns events handled, 0 on timeout/EINTR, -1 on error. */
int qwh_loop_poll(qwh_loop *l, int timeout_ms);
int64_t qwh_monotonic_ms(void);
/* Arms (or re-arms) `t` to fire at `due_ms` (monotonic); t->fire must be set. */
void qwh_timer_set(qwh_loop *l, qwh_timer *t, int64_t due_ms);
void qwh_timer_cancel(qwh_loop *l, qwh_timer *t);
int64_t qwh_wall_ms(void);

typedef struct qwh_pconn qwh_pconn;

typedef struct qwh_pconn_handlers {
  void (*on_open)(qwh_pconn *c);
  void (*on_message)(qwh_pconn *c, const uint8_t *p, size_t n);
  void (*on_peer_close)(qwh_pconn *c, const char *code, const char *reason);
  /* The transport is closed; c->s.error / error_name / unclean say how. The owner frees c. */
  void (*on_closed)(qwh_pconn *c);
} qwh_pconn_handlers;

typedef struct qwh_pconn_limits {
  int64_t handshake_timeout_ms; /* 0: none */
  int64_t connect_timeout_ms;   /* client: TCP connect deadline (E_CONNECT_TIMEOUT); 0: the handshake timeout */
  int64_t drain_timeout_ms;     /* 0: none */
  size_t high_water;            /* stop reading above this many unsent bytes */
  size_t max_backpressure;      /* fail with E_BACKPRESSURE above this */
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
  bool connecting, open, paused, wr_shut, closed, in_dispatch;
  uint32_t watched;
  qwh_timer hs_timer, drain_timer, hb_timer, idle_timer, linger_timer;
  bool drain_armed;
  /* The session is over and our FIN went out: the peer's last bytes are read and dropped until
   * its FIN (bounded), so that closing with unread bytes does not reset the connection. */
  bool lingering, peer_eof, broken;
  int64_t last_activity; /* monotonic ms of the last byte read or written (idle timeout) */
  /* TLS (memory BIOs): ciphertext to send, and what it decrypts to. NULL: plain TCP. */
  qwh_tls *tls;
  qwh_buf tls_out, plain;
  bool tls_open; /* handshake done and checked */
  uint8_t tls_exporter[32]; /* RFC 9266 channel binding, for signed hellos */
  /* Called once the TLS handshake is done, before any application byte: non-OK fails the connection with that code. */
  qwh_code (*on_tls_open)(qwh_pconn *c);
  qwh_pconn *next, *prev; /* owner's list */
};

void qwh_pconn_limits_default(qwh_pconn_limits *l);
/* Takes ownership of fd (non-blocking). `connecting`: a client whose connect() is in progress. */
int qwh_pconn_start(qwh_pconn *c, qwh_loop *loop, int fd, bool connecting, const qwh_session_config *cfg, const qwh_pconn_limits *lim,
                    const qwh_pconn_handlers *h, void *app);
qwh_code qwh_pconn_send(qwh_pconn *c, const uint8_t *p, size_t n);
void qwh_pconn_close(qwh_pconn *c, qwh_code code);
/* Refuses before reading (admission): a reject on a v1 listener, then close. */
void qwh_pconn_refuse(qwh_pconn *c, qwh_code code);
/* Server: admitted; starts the session (a bare session opens at once). With TLS this happens when TLS is up. */
void qwh_pconn_begin(qwh_pconn *c);
/* Writes what it can, applies backpressure, closes when finished. Call after sends. */
void qwh_pconn_service(qwh_pconn *c);
void qwh_pconn_free(qwh_pconn *c);
/* Before qwh_pconn_start's first event: run TLS over this connection (takes `t`). */
void qwh_pconn_use_tls(qwh_pconn *c, qwh_tls *t);

/* Sockets: literal address only. Return fd or -1 (errno set). */
int qwh_listen_tcp(const char *host, uint16_t port, uint16_t *bound_port);
int qwh_connect_tcp(const char *host, uint16_t port);

#endif
