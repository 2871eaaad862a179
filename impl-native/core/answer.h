/* The server's answer (accept or reject) as the client parses and checks it (spec 7.3-7.5). */
#ifndef QWH_ANSWER_H
#define QWH_ANSWER_H

#include "errors.h"
#include "json.h"

/* What the client offered in its hello. */
typedef struct qwh_offer {
  int qwh_major, qwh_minor;
  const char *const *features;
  size_t n_features;
} qwh_offer;

typedef struct qwh_answer {
  bool accepted;
  /* accept */
  qwh_str qwh;
  const qwh_json *features; /* array of strings */
  uint32_t max_frame_length;
  const qwh_json *tags;    /* or NULL */
  const qwh_json *version; /* or NULL */
  const qwh_json *resume;  /* the member "resume" as received, or NULL (checked by qwh_accept_resume_check) */
  /* reject */
  qwh_str code;
  const qwh_json *reason; /* string or NULL */
} qwh_answer;

/*
 * Parses the first frame a v1 client receives. Returns QWH_OK (accept or a
 * valid reject), or E_INVALID_HANDSHAKE, E_UNSUPPORTED_VERSION,
 * E_PROTOCOL_ERROR (a feature not offered), E_FRAMING_MISMATCH (raw offered, not accepted).
 */
qwh_code qwh_answer_parse(qwh_arena *a, const uint8_t *payload, size_t len, const qwh_offer *offer, qwh_answer *out);

/* Server side: builds {"type":"reject","code":..,"reason"?,"qwh"?}; reason/versions may be NULL. */
qwh_json *qwh_reject_build(qwh_arena *a, const char *code, const char *reason, const char *speaks);

#endif
