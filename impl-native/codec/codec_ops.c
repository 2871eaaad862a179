/* The codec operations' dispatch (one per vector kind) and the hex helpers of codec_ops.h. */
#include "codec_ops.h"

#include <string.h>

#include "codec_params.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int qwh_hex_decode(const char *hex, size_t len, qwh_buf *out) {
  if (len % 2) return -1;
  if (qwh_buf_reserve(out, len / 2)) return -1;
  for (size_t i = 0; i < len; i += 2) {
    int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out->data[out->len++] = (uint8_t)(hi * 16 + lo);
  }
  return 0;
}

qwh_json *qwh_hex_json(qwh_arena *a, const uint8_t *bytes, size_t len) {
  static const char digits[] = "0123456789abcdef";
  qwh_json *v = qwh_json_string(a, "", 0);
  char *s = v ? qwh_arena_alloc(a, len * 2 + 1) : NULL;
  if (!s) return NULL;
  for (size_t i = 0; i < len; i++) {
    s[2 * i] = digits[bytes[i] >> 4];
    s[2 * i + 1] = digits[bytes[i] & 15];
  }
  v->u.str.s = s;
  v->u.str.len = len * 2;
  return v;
}

int qwh_codec_run(qwh_arena *a, const char *op, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  static const struct {
    const char *name;
    codec_op *fn;
  } OPS[] = {
      {"frame-decode", codec_frame_decode},
      {"frame-encode", codec_frame_encode},
      {"hello", codec_hello},
      {"accept", codec_accept},
      {"negotiate", codec_negotiate},
      {"signature", codec_signature},
      {"canonical-json", codec_canonical_json},
      {"resume", codec_resume},
  };
  *out = NULL;
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
    if (strcmp(op, OPS[i].name) == 0) return OPS[i].fn(a, params, input, out);
  return QWH_CODEC_UNSUPPORTED;
}
