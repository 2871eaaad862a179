/* The client hello: parse, validate, classify v1 / 0.3 legacy (spec 6.3, 7.1, 7.2); build (client). */
#ifndef QWH_HELLO_H
#define QWH_HELLO_H

#include "errors.h"
#include "json.h"
#include "signature.h"

typedef enum qwh_profile { QWH_PROFILE_V1, QWH_PROFILE_LEGACY } qwh_profile;
typedef enum qwh_sig_state { QWH_SIG_NONE, QWH_SIG_PRESENT, QWH_SIG_MALFORMED } qwh_sig_state;

/* A validated hello. Every pointer is into the arena given to qwh_hello_parse. */
typedef struct qwh_hello {
  qwh_profile profile;
  const qwh_json *raw;       /* the object as received: for the signature and policy hooks */
  int qwh_major, qwh_minor;  /* v1 */
  const qwh_json *features;  /* v1: array of strings, offered order */
  const qwh_json *version;   /* string or NULL */
  const qwh_json *tags;      /* object or NULL */
  bool has_max_frame_length; /* v1 */
  uint32_t max_frame_length; /* v1: announced, else 4194304 */
  qwh_sig_state sig_state;   /* v1 */
  qwh_sig sig;               /* when QWH_SIG_PRESENT */
} qwh_hello;

/*
 * Parses the payload of a server's first frame (steps 2-4 of spec 8.1).
 * Returns QWH_OK, E_INVALID_HANDSHAKE or E_LEGACY_NOT_ALLOWED. `legacy_shape`
 * (may be NULL) is set when the failing text was a 0.3-shaped hello.
 */
qwh_code qwh_hello_parse(qwh_arena *a, const uint8_t *payload, size_t len, bool legacy_allowed, qwh_hello *out, bool *legacy_shape);

/* Client side: a v1 hello object {"type","qwh","features",...}; version/tags may be NULL; max 0 = omit. */
typedef struct qwh_hello_options {
  const char *const *features;
  size_t n_features;
  const char *version;
  const qwh_json *tags;
  bool announce_max_frame_length;
  uint32_t max_frame_length;
} qwh_hello_options;

qwh_json *qwh_hello_build(qwh_arena *a, const qwh_hello_options *o);

#endif
