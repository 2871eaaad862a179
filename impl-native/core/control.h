/* Control frames (feature "control", spec 10): type rules and the CLOSE body. */
#ifndef QWH_CONTROL_H
#define QWH_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "json.h"

typedef enum qwh_control_kind { QWH_CONTROL_IGNORED, QWH_CONTROL_PING, QWH_CONTROL_PONG, QWH_CONTROL_CLOSE } qwh_control_kind;

/* A CLOSE body. Strings point into the arena passed to qwh_close_body_parse. */
typedef struct qwh_close_info {
  qwh_str code;
  bool has_reason;
  qwh_str reason;
} qwh_close_info;

/* Classifies a control payload (type byte + body): E_INVALID_CONTROL_FRAME for critical unknown types. */
qwh_code qwh_control_kind_of(const uint8_t *payload, size_t len, qwh_control_kind *kind);
/* Parses and validates a CLOSE body (QWH-CLOSE-001). */
qwh_code qwh_close_body_parse(qwh_arena *a, const uint8_t *body, size_t len, qwh_close_info *out);
/*
 * Appends the canonical CLOSE body {"code":..,"reason":..} (QWH-CLOSE-006/007):
 * the reason is cut to 256 code points and then shortened at code-point
 * boundaries until the body fits 1023 bytes. `reason` may be NULL.
 */
qwh_code qwh_close_body_encode(const char *code, size_t code_len, const char *reason, size_t reason_len, qwh_buf *out);

#endif
