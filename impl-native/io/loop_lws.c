/*
 * The lws loop (the CLI's backend "lws"): the qwh_loop interface (loop.h) on a
 * libwebsockets context. Every descriptor (listening, accepted, connecting,
 * and stdin) is adopted as an lws raw file descriptor (LWS_ADOPT_RAW_FILE_DESC):
 * lws polls it and runs its service loop, timers and writability; the
 * connection code (conn.c) and its owner do the recv/send/accept.
 *
 * Why not the raw-skt role: in libwebsockets 4.1.6 it closes the connection
 * as soon as a read returns 0 (the peer's FIN), so a QWH/1 peer could never
 * half-close (finish sending after the other side's FIN, spec 12); and its raw
 * TLS client does not connect (upstream issue 2916). The raw-file role hands
 * the reads to us. The Node addon's lws backend (../addon/lws_service.cc) does
 * the same. Single-threaded: everything runs inside lws_service().
 */
#define _GNU_SOURCE
#include <libwebsockets.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop_impl.h"
#include "lws_context.h"

typedef struct lws_loop {
  struct lws_context *ctx;
  struct lws_vhost *vh;
  lws_sorted_usec_list_t sul;
  /* Watches still wanting EPOLLOUT after their writable callback: re-armed once lws_service()
   * returns (lws drops a request made inside the writable callback itself). */
  qwh_watch **rearm;
  size_t n_rearm, cap_rearm;
} lws_loop;

static void rearm_add(lws_loop *s, qwh_watch *w) {
  for (size_t i = 0; i < s->n_rearm; i++)
    if (s->rearm[i] == w) return;
  if (s->n_rearm == s->cap_rearm) {
    size_t cap = s->cap_rearm ? s->cap_rearm * 2 : 16;
    qwh_watch **r = realloc(s->rearm, cap * sizeof *r);
    if (!r) return;
    s->rearm = r;
    s->cap_rearm = cap;
  }
  s->rearm[s->n_rearm++] = w;
}

static void rearm_remove(lws_loop *s, qwh_watch *w) {
  for (size_t i = 0; i < s->n_rearm; i++)
    if (s->rearm[i] == w) {
      s->rearm[i] = s->rearm[--s->n_rearm];
      return;
    }
}

static char gone; /* w->impl once lws is closing the descriptor itself */

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  (void)user;
  (void)in;
  (void)len;
  qwh_watch *w = lws_get_opaque_user_data(wsi);
  switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
      if (w && (w->events & EPOLLIN)) w->on_io(w, EPOLLIN);
      return 0;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
      if (!w) return 0;
      if (w->events & EPOLLOUT) w->on_io(w, EPOLLOUT);
      /* epoll's EPOLLOUT is level-triggered, lws's writable request is one-shot: re-arm while wanted,
       * after this callback (a request made here is lost and the writer would stall) */
      if (lws_get_opaque_user_data(wsi) == w && (w->events & EPOLLOUT)) rearm_add(lws_context_user(lws_get_context(wsi)), w);
      return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
      /* lws closes on a hang-up it saw first: the descriptor is still open during this call */
      if (!w) return 0;
      lws_set_opaque_user_data(wsi, NULL);
      rearm_remove(lws_context_user(lws_get_context(wsi)), w);
      w->impl = &gone;
      w->on_io(w, EPOLLIN | EPOLLHUP);
      return 0;
    default:
      return 0;
  }
}

static const struct lws_protocols protocols[] = {{"qwh-cli", cb, 0, 0, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

int qwh_loop_init_lws(qwh_loop *l) {
  memset(l, 0, sizeof *l);
  l->kind = QWH_LOOP_LWS;
  l->epfd = -1;
  lws_loop *s = calloc(1, sizeof *s);
  l->rbuf_size = QWH_LOOP_READ_BUFFER;
  l->rbuf = malloc(l->rbuf_size);
  if (!s || !l->rbuf) {
    free(s);
    free(l->rbuf);
    l->rbuf = NULL;
    return -1;
  }
  const char *err = NULL;
  if (qwh_lws_context_new(protocols, "qwh-cli", s, 0, &s->ctx, &s->vh, &err) != 0) {
    free(s);
    free(l->rbuf);
    l->rbuf = NULL;
    return -1;
  }
  l->lws = s;
  return 0;
}

void qwh_lws_free(qwh_loop *l) {
  lws_loop *s = l->lws;
  if (!s) return;
  lws_sul_schedule(s->ctx, 0, &s->sul, NULL, LWS_SET_TIMER_USEC_CANCEL);
  lws_context_destroy(s->ctx);
  free(s->rearm);
  free(s);
  l->lws = NULL;
}

static void apply(struct lws *wsi, uint32_t old, uint32_t events) {
  if ((old ^ events) & EPOLLIN) lws_rx_flow_control(wsi, (events & EPOLLIN) ? 1 : 0);
  if (events & EPOLLOUT) lws_callback_on_writable(wsi);
}

int qwh_lws_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add) {
  lws_loop *s = l->lws;
  if (add || !w->impl) {
    lws_adopt_desc_t d;
    memset(&d, 0, sizeof d);
    d.vh = s->vh;
    d.type = LWS_ADOPT_RAW_FILE_DESC;
    d.fd.filefd = w->fd;
    d.vh_prot_name = "qwh-cli";
    d.opaque = w;
    int fd = w->fd;
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&d);
    if (!wsi) {
      /* Adoption failed: lws 4.1 closes the descriptor on some paths and not on others (a raw file
       * descriptor it had no room for stays open). The caller never closes it, so close it here if
       * it is still open (single-threaded: the number cannot have been reused in between). */
      if (fcntl(fd, F_GETFD) != -1) close(fd);
      w->impl = &gone;
      errno = EMFILE;
      return -1;
    }
    w->impl = wsi;
    w->events = EPOLLIN; /* adoption polls for input */
    apply(wsi, w->events, events);
    w->events = events;
    return 0;
  }
  if (w->impl == &gone) return -1;
  apply(w->impl, w->events, events);
  w->events = events;
  return 0;
}

void qwh_lws_unwatch(qwh_loop *l, qwh_watch *w) {
  rearm_remove(l->lws, w);
  if (!w->impl || w->impl == &gone) return;
  struct lws *wsi = w->impl;
  lws_set_opaque_user_data(wsi, NULL);
  if (w->events & EPOLLIN) lws_rx_flow_control(wsi, 0);
  w->events = 0;
}

void qwh_lws_close_fd(qwh_loop *l, qwh_watch *w) {
  rearm_remove(l->lws, w);
  if (!w->impl) {
    close(w->fd); /* never adopted */
  } else if (w->impl != &gone) {
    struct lws *wsi = w->impl;
    lws_set_opaque_user_data(wsi, NULL);
    /* lws closes the descriptor: never from inside this wsi's own callback, so asynchronously */
    lws_set_timeout(wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
  }
  w->impl = NULL;
  w->events = 0;
}

static void wake(lws_sorted_usec_list_t *sul) { (void)sul; }

int qwh_lws_poll(qwh_loop *l, int timeout_ms) {
  lws_loop *s = l->lws;
  /* lws_service() ignores a timeout >= 0 in 4.x (it waits until its next scheduled event, or
   * LWS_POLL_WAIT_LIMIT, 23 days, without one): a scheduled no-op bounds the wait. A no-op due now
   * would run (and be gone) before the wait is computed: no wait is asked for with a negative
   * timeout. Without a limit (timeout_ms < 0), the no-op of an earlier call is cancelled and lws
   * waits for an event. */
  int rc;
  if (timeout_ms == 0) {
    rc = lws_service(s->ctx, -1);
  } else if (timeout_ms < 0) {
    lws_sul_schedule(s->ctx, 0, &s->sul, NULL, LWS_SET_TIMER_USEC_CANCEL);
    rc = lws_service(s->ctx, 0);
  } else {
    lws_sul_schedule(s->ctx, 0, &s->sul, wake, (lws_usec_t)timeout_ms * 1000);
    rc = lws_service(s->ctx, 0);
  }
  for (size_t i = 0; i < s->n_rearm; i++) {
    qwh_watch *w = s->rearm[i];
    if (w->impl && w->impl != &gone && (w->events & EPOLLOUT)) lws_callback_on_writable(w->impl);
  }
  s->n_rearm = 0;
  return rc < 0 ? -1 : 1;
}
