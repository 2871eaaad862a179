#include "sendq.h"

#include "socket.h"

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
