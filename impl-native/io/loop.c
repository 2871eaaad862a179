/* The loop interface: dispatch to the epoll or lws loop, the timers both serve, the clocks. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "loop_impl.h"

void qwh_loop_free(qwh_loop *l) {
  if (l->kind == QWH_LOOP_LWS) qwh_lws_free(l);
  if (l->epfd >= 0) close(l->epfd);
  l->epfd = -1;
  free(l->rbuf);
  l->rbuf = NULL;
}

int qwh_loop_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add) {
  return l->kind == QWH_LOOP_LWS ? qwh_lws_watch(l, w, events, add) : qwh_epoll_watch(l, w, events, add);
}

void qwh_loop_unwatch(qwh_loop *l, qwh_watch *w) {
  if (l->kind == QWH_LOOP_LWS)
    qwh_lws_unwatch(l, w);
  else
    qwh_epoll_unwatch(l, w);
}

void qwh_loop_close_fd(qwh_loop *l, qwh_watch *w) {
  if (w->fd < 0) return;
  if (l->kind == QWH_LOOP_LWS)
    qwh_lws_close_fd(l, w);
  else
    qwh_epoll_close_fd(l, w);
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
  if (t->prev)
    t->prev->next = t->next;
  else
    l->timers = t->next;
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

int qwh_loop_poll(qwh_loop *l, int timeout_ms) {
  const qwh_timer *t = earliest(l);
  if (t) {
    int64_t left = t->due - qwh_monotonic_ms();
    if (left < 0) left = 0;
    if (left > INT_MAX) left = INT_MAX;
    if (timeout_ms < 0 || left < timeout_ms) timeout_ms = (int)left;
  }
  int n = l->kind == QWH_LOOP_LWS ? qwh_lws_poll(l, timeout_ms) : qwh_epoll_poll(l, timeout_ms);
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
