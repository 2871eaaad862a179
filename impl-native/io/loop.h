/*
 * The event loop of impl-native's I/O layer: descriptor watches and one-shot timers, on epoll
 * (loop_epoll.c) or on a libwebsockets context whose service loop polls every descriptor, adopted
 * as an lws raw file descriptor (loop_lws.c). The code above it (io/conn.c, the CLI) is the same
 * for both. Single-threaded: every function runs on the loop's thread.
 */
#ifndef QWH_IO_LOOP_H
#define QWH_IO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A watched descriptor. `events`: EPOLLIN / EPOLLOUT / EPOLLRDHUP bits (the lws loop maps them). */
typedef struct qwh_watch qwh_watch;
struct qwh_watch {
  int fd;
  void (*on_io)(qwh_watch *w, uint32_t events);
  void *impl;      /* the loop's handle for this watch (lws: the wsi) */
  uint32_t events; /* as last set (lws) */
};

/*
 * A one-shot timer of the loop (monotonic milliseconds). qwh_loop_poll waits at most until the
 * earliest one is due, then fires every due timer. `fire` may free the timer's owner (and cancel
 * any timer).
 */
typedef struct qwh_timer qwh_timer;
struct qwh_timer {
  int64_t due;
  void (*fire)(qwh_timer *t);
  qwh_timer *next, *prev;
  bool armed;
};

typedef enum qwh_loop_kind { QWH_LOOP_EPOLL = 0, QWH_LOOP_LWS = 1 } qwh_loop_kind;

typedef struct qwh_loop {
  qwh_loop_kind kind;
  int epfd;
  void *lws;     /* the lws loop's state */
  uint8_t *rbuf; /* one read buffer shared by every connection of the loop */
  size_t rbuf_size;
  qwh_timer *timers; /* armed timers (unordered list) */
} qwh_loop;

/* An epoll loop. Returns 0 or -1. */
int qwh_loop_init(qwh_loop *l);
/* A libwebsockets loop; -1 when this build has no libwebsockets. */
int qwh_loop_init_lws(qwh_loop *l);
void qwh_loop_free(qwh_loop *l);
/*
 * Adds (`add`, or w->impl == NULL with lws) or modifies the watch. When adding fails, the
 * descriptor is closed (lws may already have closed it) and -1 returned.
 */
int qwh_loop_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add);
void qwh_loop_unwatch(qwh_loop *l, qwh_watch *w);
/* Unwatches and closes w->fd (with lws, the loop closes it); sets w->fd to -1. */
void qwh_loop_close_fd(qwh_loop *l, qwh_watch *w);
/*
 * Waits up to timeout_ms (negative: no limit of its own) or until the earliest timer is due, then
 * dispatches. Returns events handled, 0 on timeout/EINTR, -1 on error.
 */
int qwh_loop_poll(qwh_loop *l, int timeout_ms);

/* Arms (or re-arms) `t` to fire at `due_ms` (monotonic); t->fire must be set. */
void qwh_timer_set(qwh_loop *l, qwh_timer *t, int64_t due_ms);
void qwh_timer_cancel(qwh_loop *l, qwh_timer *t);

int64_t qwh_monotonic_ms(void);
int64_t qwh_wall_ms(void);

#endif
