/*
 * Send-side framing for one connection. Each call appends one complete frame
 * to `out` or, on error, appends nothing (QWH-FRAME-007, QWH-CTRL-008).
 * Large payloads need not be copied: qwh_encoder_data_header gives the 4-byte
 * header to write before the caller's own payload (writev).
 */
#ifndef QWH_FRAME_ENCODER_H
#define QWH_FRAME_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"

typedef struct qwh_encoder {
  uint32_t peer_max_frame_length;
  bool control;    /* "control" negotiated */
  bool close_sent; /* after our CLOSE only PONG may follow */
} qwh_encoder;

void qwh_encoder_init(qwh_encoder *e, uint32_t peer_max_frame_length, bool control);
/* Checks a data frame of `len` bytes and writes its header; the caller sends the payload. */
qwh_code qwh_encoder_data_header(qwh_encoder *e, size_t len, uint8_t header[4]);
qwh_code qwh_encoder_data(qwh_encoder *e, qwh_buf *out, const uint8_t *payload, size_t len);
qwh_code qwh_encoder_ping(qwh_encoder *e, qwh_buf *out, const uint8_t *body, size_t len);
qwh_code qwh_encoder_pong(qwh_encoder *e, qwh_buf *out, const uint8_t *body, size_t len);
/* `reason` may be NULL. */
qwh_code qwh_encoder_close(qwh_encoder *e, qwh_buf *out, const char *code, size_t code_len, const char *reason, size_t reason_len);
/* A frame of the handshake (hello, accept, reject): at most 16384 bytes, no control flag. */
qwh_code qwh_encode_handshake_frame(qwh_buf *out, const uint8_t *payload, size_t len);

#endif
