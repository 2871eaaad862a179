#include "buf.h"

#include <stdlib.h>
#include <string.h>

void qwh_buf_init(qwh_buf *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void qwh_buf_free(qwh_buf *b) {
  free(b->data);
  qwh_buf_init(b);
}

int qwh_buf_reserve(qwh_buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len) return -1;
  size_t need = b->len + extra;
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  uint8_t *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int qwh_buf_append(qwh_buf *b, const void *bytes, size_t n) {
  if (n == 0) return 0;
  if (qwh_buf_reserve(b, n) != 0) return -1;
  memcpy(b->data + b->len, bytes, n);
  b->len += n;
  return 0;
}

int qwh_buf_putc(qwh_buf *b, uint8_t c) {
  if (qwh_buf_reserve(b, 1) != 0) return -1;
  b->data[b->len++] = c;
  return 0;
}

int qwh_buf_puts(qwh_buf *b, const char *s) { return qwh_buf_append(b, s, strlen(s)); }

void qwh_buf_consume(qwh_buf *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}
