/*
 * The codec operations of the conformance adapter contract (one per golden
 * vector kind), on the C core: each takes the vector's group parameters and
 * inputs and returns its outputs as JSON. Used by the vector runner and by
 * `qwh-native codec`, so both test the same code.
 */
#ifndef QWH_CODEC_OPS_H
#define QWH_CODEC_OPS_H

#include "../core/qwh_core.h"

#define QWH_CODEC_UNSUPPORTED 127

/*
 * Runs operation `op` ("frame-decode", "frame-encode", "hello", "accept",
 * "negotiate", "signature", "canonical-json"). On success returns 0 and sets
 * *out to an object in arena `a`. Returns QWH_CODEC_UNSUPPORTED for an unknown
 * op, -1 when the parameters are malformed or memory runs out.
 */
int qwh_codec_run(qwh_arena *a, const char *op, const qwh_json *params, const qwh_json *input, qwh_json **out);

/* Hex helpers (lowercase). */
int qwh_hex_decode(const char *hex, size_t len, qwh_buf *out);
qwh_json *qwh_hex_json(qwh_arena *a, const uint8_t *bytes, size_t len);

#endif
