/*
 * The libwebsockets context both lws users of impl-native run on (the CLI's lws loop, loop_lws.c,
 * and the lws Node addon's service thread): one explicit vhost that never listens, for sockets
 * adopted as raw file descriptors; lws logs errors only; its descriptor tables are sized for every
 * descriptor the process can open (RLIMIT_NOFILE, capped), since lws refuses a descriptor beyond them.
 */
#ifndef QWH_IO_LWS_CONTEXT_H
#define QWH_IO_LWS_CONTEXT_H

#include <libwebsockets.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most descriptors the lws tables are sized for (8 + 8 bytes each). */
#define QWH_LWS_MAX_FDS 1048576

/*
 * Makes the context and its vhost `vhost_name` with `protocols` (and the context's `user`;
 * `serv_buf_size`: lws' per-thread service buffer, 0 for its default). Returns 0, or -1 with
 * nothing left allocated and *err naming what failed.
 */
int qwh_lws_context_new(const struct lws_protocols *protocols, const char *vhost_name, void *user, size_t serv_buf_size,
                        struct lws_context **ctx, struct lws_vhost **vh, const char **err);

#ifdef __cplusplus
}
#endif

#endif
