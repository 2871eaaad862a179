/* The epoll loop (the CLI's backend "posix", level-triggered). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop_impl.h"

int qwh_loop_init(qwh_loop *l) {
  l->kind = QWH_LOOP_EPOLL;
  l->lws = NULL;
  l->timers = NULL;
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  l->rbuf = malloc(QWH_LOOP_READ_BUFFER);
  l->rbuf_size = QWH_LOOP_READ_BUFFER;
  if (l->epfd < 0 || !l->rbuf) {
    qwh_loop_free(l);
    return -1;
  }
  return 0;
}

int qwh_epoll_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add) {
  struct epoll_event ev = {.events = events, .data.ptr = w};
  if (epoll_ctl(l->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, w->fd, &ev) == 0) return 0;
  if (add) {
    int e = errno;
    close(w->fd);
    w->fd = -1;
    errno = e;
  }
  return -1;
}

void qwh_epoll_unwatch(qwh_loop *l, qwh_watch *w) { epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL); }

void qwh_epoll_close_fd(qwh_loop *l, qwh_watch *w) {
  epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
  close(w->fd);
}

int qwh_epoll_poll(qwh_loop *l, int timeout_ms) {
  struct epoll_event evs[64];
  int n = epoll_wait(l->epfd, evs, 64, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  for (int i = 0; i < n; i++) {
    qwh_watch *w = evs[i].data.ptr;
    w->on_io(w, evs[i].events);
  }
  return n;
}
