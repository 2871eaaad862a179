#include "sendq.h"

#include "socket.h"

int qwh_sendq_append_rest(qwh_buf *b, const struct iovec *iov, int n, size_t skip) {
  size_t total = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  if (skip >= total) return 0;
  if (qwh_buf_reserve(b, total - skip) != 0) return -1;
  for (int i = 0; i < n; i++) {
    size_t len = iov[i].iov_len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    qwh_buf_append(b, (const uint8_t *)iov[i].iov_base + skip, len - skip);
    skip = 0;
  }
  return 0;
}

int qwh_send_queued(int fd, qwh_buf *b, size_t *off, size_t release_above, size_t *sent) {
  *sent = 0;
  int err = 0;
  if (b->len > *off) err = qwh_socket_send(fd, b->data + *off, b->len - *off, sent);
  *off += *sent;
  if (*off == b->len) {
    b->len = 0;
    *off = 0;
    if (release_above && b->cap > release_above) qwh_buf_free(b);
  } else if (*off > (1u << 20) && *off * 2 > b->len) {
    qwh_buf_consume(b, *off);
    *off = 0;
  }
  return err;
}
