/* What io/loop.c dispatches to: the epoll loop (loop_epoll.c) and the lws loop (loop_lws.c, or
 * loop_lws_none.c in a build without libwebsockets). Private to io/. */
#ifndef QWH_IO_LOOP_IMPL_H
#define QWH_IO_LOOP_IMPL_H

#include "loop.h"

#define QWH_LOOP_READ_BUFFER (256u * 1024u)

int qwh_epoll_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add);
void qwh_epoll_unwatch(qwh_loop *l, qwh_watch *w);
void qwh_epoll_close_fd(qwh_loop *l, qwh_watch *w);
int qwh_epoll_poll(qwh_loop *l, int timeout_ms);

int qwh_lws_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add);
void qwh_lws_unwatch(qwh_loop *l, qwh_watch *w);
void qwh_lws_close_fd(qwh_loop *l, qwh_watch *w);
int qwh_lws_poll(qwh_loop *l, int timeout_ms);
void qwh_lws_free(qwh_loop *l);

#endif
