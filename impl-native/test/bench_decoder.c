/*
 * Decoder throughput: a stream of data frames fed in fixed-size chunks (as
 * reads from a socket would be), counting delivered messages.
 * usage: bench_decoder [payload_bytes=64] [chunk_bytes=65536] [frames=2000000]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../core/qwh_core.h"

typedef struct {
  size_t messages, bytes;
} counter;

static qwh_code on_frame(void *user, bool control, const uint8_t *p, size_t n) {
  (void)control;
  (void)p;
  counter *c = user;
  c->messages++;
  c->bytes += n;
  return QWH_OK;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  size_t payload = argc > 1 ? (size_t)atol(argv[1]) : 64;
  size_t chunk = argc > 2 ? (size_t)atol(argv[2]) : 65536;
  size_t frames = argc > 3 ? (size_t)atol(argv[3]) : 2000000;
  if (chunk == 0) chunk = 1;
  qwh_buf stream;
  qwh_buf_init(&stream);
  qwh_encoder enc;
  qwh_encoder_init(&enc, QWH_MAX_FRAME_LENGTH_LIMIT, false);
  uint8_t *msg = calloc(payload ? payload : 1, 1);
  for (size_t i = 0; i < frames; i++)
    if (qwh_encoder_data(&enc, &stream, msg, payload)) return 1;
  counter c = {0, 0};
  qwh_decoder d;
  qwh_decoder_init(&d, on_frame, &c);
  qwh_decoder_set_limits(&d, QWH_MAX_FRAME_LENGTH_LIMIT, false, QWH_E_FRAME_TOO_LARGE);
  double t0 = now_s();
  for (size_t off = 0; off < stream.len; off += chunk) {
    size_t n = stream.len - off < chunk ? stream.len - off : chunk;
    if (qwh_decoder_push(&d, stream.data + off, n, NULL)) return 1;
  }
  double dt = now_s() - t0;
  qwh_decoder_free(&d);
  printf("{\"payload\":%zu,\"chunk\":%zu,\"messages\":%zu,\"seconds\":%.4f,\"msgPerSec\":%.0f,\"MBPerSec\":%.1f}\n", payload, chunk,
         c.messages, dt, (double)c.messages / dt, (double)stream.len / dt / 1e6);
  qwh_buf_free(&stream);
  free(msg);
  return c.messages == frames ? 0 : 1;
}
