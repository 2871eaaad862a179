/* The server's decision on a first frame, in the order of spec 8.1 (steps 2-9; step 10 is the caller's policy). */
#ifndef QWH_NEGOTIATE_H
#define QWH_NEGOTIATE_H

#include "errors.h"
#include "hello.h"
#include "json.h"
#include "resume.h"
#include "signature.h"

typedef struct qwh_server_policy {
  int qwh_major, qwh_minor;    /* the version the server speaks (1.0) */
  const char *const *features; /* enabled features, e.g. {"control"} */
  size_t n_features;
  uint32_t max_frame_length; /* sent in the accept */
  const char *version;       /* application version, or NULL */
  const qwh_json *tags;      /* server tags for the accept, or NULL */
  bool framing_none;         /* raw mode */
  bool legacy_allowed;
  /* Session resumption enabled (feature "resume", spec 10.7): the hello member "resume" is checked at
   * step 3 (QWH-RESUME-004) and "resume" is listed where QWH-RESUME-003 allows; whether a session can
   * be held (step 11) is the caller's. The server speaks 1.1 then (qwh_minor). */
  bool resume;
  bool require_signature;
  int64_t signature_window_ms;
  const uint8_t *exporter;        /* 32 TLS exporter bytes, or NULL without TLS */
  qwh_replay_cache *replay_cache; /* may be NULL */
  int64_t now_ms;
  /* Step 8: checks "tls"-prefixed tags against the TLS session; returns QWH_OK or E_TLS_PIN_MISMATCH. NULL: no TLS facts. */
  qwh_code (*check_tls_tags)(void *user, const qwh_json *tags);
  void *user;
} qwh_server_policy;

void qwh_server_policy_defaults(qwh_server_policy *p);

typedef enum qwh_decision_type {
  QWH_DECIDE_ACCEPT, /* send decision.accept */
  QWH_DECIDE_LEGACY, /* serve a 0.3 client, send nothing */
  QWH_DECIDE_REJECT, /* send a reject with decision.code */
  QWH_DECIDE_CLOSE   /* refuse a 0.3 hello: close without any frame */
} qwh_decision_type;

typedef struct qwh_decision {
  qwh_decision_type type;
  qwh_code code;
  bool has_hello;
  qwh_hello hello;
  qwh_json *accept;         /* QWH_DECIDE_ACCEPT: the accept object (arena-owned) */
  int qwh_major, qwh_minor; /* negotiated */
  bool control, raw;        /* negotiated features */
  bool resume;              /* "resume" listed in the accept: the caller decides on the session (step 11) */
} qwh_decision;

/* Never fails on peer input; arena owns everything the decision points to. */
void qwh_decide(qwh_arena *a, const uint8_t *payload, size_t len, const qwh_server_policy *p, qwh_decision *d);

#endif
