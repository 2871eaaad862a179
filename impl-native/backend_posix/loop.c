#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "posix.h"

#define READ_BUFFER (256u * 1024u)

int qwh_loop_init(qwh_loop *l) {
  l->kind = QWH_LOOP_EPOLL;
  l->lws = NULL;
  l->timers = NULL;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  l->rbuf = malloc(READ_BUFFER);
  l->rbuf_size = READ_BUFFER;
  if (l->epfd < 0 || !l->rbuf) {
    qwh_loop_free(l);
    return -1;
  }
  return 0;
}

/* backend "lws" (../backend_lws/loop_lws.c, or the stub when built without libwebsockets) */
int qwh_lws_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add);
void qwh_lws_unwatch(qwh_loop *l, qwh_watch *w);
void qwh_lws_close_fd(qwh_loop *l, qwh_watch *w);
int qwh_lws_poll(qwh_loop *l, int timeout_ms);
void qwh_lws_free(qwh_loop *l);

void qwh_loop_free(qwh_loop *l) {
  if (l->kind == QWH_LOOP_LWS) qwh_lws_free(l);
  if (l->epfd >= 0) close(l->epfd);
  l->epfd = -1;
  free(l->rbuf);
  l->rbuf = NULL;
}

int qwh_loop_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add) {
  if (l->kind == QWH_LOOP_LWS) return qwh_lws_watch(l, w, events, add);
  struct epoll_event ev = {.events = events, .data.ptr = w};
  return epoll_ctl(l->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, w->fd, &ev);
}

void qwh_loop_unwatch(qwh_loop *l, qwh_watch *w) {
  if (l->kind == QWH_LOOP_LWS) qwh_lws_unwatch(l, w);
  else epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void qwh_loop_close_fd(qwh_loop *l, qwh_watch *w) {
  if (w->fd < 0) return;
  if (l->kind == QWH_LOOP_LWS) {
    qwh_lws_close_fd(l, w);
  } else {
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    close(w->fd);
  }
  w->fd = -1;
}

void qwh_timer_set(qwh_loop *l, qwh_timer *t, int64_t due_ms) {
  if (!t->armed) {
    t->prev = NULL;
    t->next = l->timers;
    if (l->timers) l->timers->prev = t;
    l->timers = t;
    t->armed = true;
  }
  t->due = due_ms;
}

void qwh_timer_cancel(qwh_loop *l, qwh_timer *t) {
  if (!t->armed) return;
  if (t->prev) t->prev->next = t->next;
  else l->timers = t->next;
  if (t->next) t->next->prev = t->prev;
  t->next = t->prev = NULL;
  t->armed = false;
}

static qwh_timer *earliest(const qwh_loop *l) {
  qwh_timer *best = NULL;
  for (qwh_timer *t = l->timers; t; t = t->next)
    if (!best || t->due < best->due) best = t;
  return best;
}

/* Fires every timer due by now, earliest first. */
static void fire_due(qwh_loop *l) {
  int64_t now = qwh_monotonic_ms();
  for (int guard = 0; guard < 100000; guard++) {
    qwh_timer *t = earliest(l);
    if (!t || t->due > now) return;
    qwh_timer_cancel(l, t);
    t->fire(t); /* may free its owner and cancel other timers */
  }
}

static int epoll_poll(qwh_loop *l, int timeout_ms) {
  struct epoll_event evs[64];
  int n = epoll_wait(l->epfd, evs, 64, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; i++) {
    qwh_watch *w = evs[i].data.ptr;
    w->on_io(w, evs[i].events);
  }
  return n;
}

int qwh_loop_poll(qwh_loop *l, int timeout_ms) {
  const qwh_timer *t = earliest(l);
  if (t) {
    int64_t left = t->due - qwh_monotonic_ms();
    if (left < 0) left = 0;
    if (left < timeout_ms) timeout_ms = (int)left;
  }
  int n = l->kind == QWH_LOOP_LWS ? qwh_lws_poll(l, timeout_ms) : epoll_poll(l, timeout_ms);
  fire_due(l);
  return n;
}

int64_t qwh_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t qwh_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
