/* A growable byte buffer. The owner initialises it, appends, and frees it. */
#ifndef QWH_BUF_H
#define QWH_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct qwh_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} qwh_buf;

void qwh_buf_init(qwh_buf *b);
void qwh_buf_free(qwh_buf *b);
/* Makes room for `extra` more bytes. Returns 0, or -1 on overflow / out of memory. */
int qwh_buf_reserve(qwh_buf *b, size_t extra);
int qwh_buf_append(qwh_buf *b, const void *bytes, size_t n);
int qwh_buf_putc(qwh_buf *b, uint8_t c);
int qwh_buf_puts(qwh_buf *b, const char *s);
/* Drops the first n bytes (n <= len). */
void qwh_buf_consume(qwh_buf *b, size_t n);

/* Writes the 4-byte big-endian value v at p. */
static inline void qwh_put_u32be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static inline uint32_t qwh_get_u32be(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

#endif
