/*
 * Output waiting for a non-blocking socket: a byte buffer and how much of it has gone out. Shared
 * by the CLI's connections (io/conn.c) and the posix addon, so both write, reset and compact their
 * queue the same way.
 */
#ifndef QWH_IO_SENDQ_H
#define QWH_IO_SENDQ_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <sys/uio.h>

#include "../core/buf.h"

/*
 * Sends b->data[*off .. b->len) as far as the socket takes it now (EINTR retried). When all of it
 * went out the buffer is emptied (and released when its capacity is above `release_above`; 0:
 * never); when more than 1 MiB and half of it went out, the sent part is dropped. *sent: the
 * bytes sent by this call. Returns 0 (all sent, or the socket is full) or the errno of a failed send.
 */
int qwh_send_queued(int fd, qwh_buf *b, size_t *off, size_t release_above, size_t *sent);

/*
 * Appends to b what the n pieces of iov hold past their first `skip` bytes (the part a send
 * did not take). Returns 0, or -1 when memory runs out (b is then unchanged).
 */
int qwh_sendq_append_rest(qwh_buf *b, const struct iovec *iov, int n, size_t skip);

#ifdef __cplusplus
}
#endif

#endif
