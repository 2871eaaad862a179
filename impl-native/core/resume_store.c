/*
 * Feature "resume" (spec 10.7), the sessions a server holds (resume.h): the window without a
 * connection, maxSessions, new sessions and resumes with token rotation and take-over, and the
 * refusals E_SESSION_UNKNOWN / E_RESUME_MISMATCH (step 11 of spec 8.1).
 */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "resume.h"

void qwh_resume_store_init(qwh_resume_store *s, const qwh_resume_limits *limits, uint64_t window_ms, uint64_t max_sessions) {
  memset(s, 0, sizeof *s);
  s->limits = *limits;
  s->window_ms = window_ms;
  s->max_sessions = max_sessions;
}

static void entry_free(qwh_resume_entry *e) {
  qwh_resume_free(&e->st);
  OPENSSL_cleanse(e->token, sizeof e->token);
  OPENSSL_cleanse(e->prev_token, sizeof e->prev_token);
  free(e);
}

void qwh_resume_store_free(qwh_resume_store *s) {
  while (s->head) {
    qwh_resume_entry *e = s->head;
    s->head = e->next;
    entry_free(e);
  }
  s->count = 0;
}

static void unlink_entry(qwh_resume_store *s, qwh_resume_entry *e) {
  for (qwh_resume_entry **p = &s->head; *p; p = &(*p)->next)
    if (*p == e) {
      *p = e->next;
      s->count--;
      return;
    }
}

void qwh_resume_store_expire(qwh_resume_store *s, int64_t now) {
  for (qwh_resume_entry **p = &s->head; *p;) {
    qwh_resume_entry *e = *p;
    if (!e->conn && e->expires_ms <= now) {
      *p = e->next;
      s->count--;
      entry_free(e);
    } else {
      p = &e->next;
    }
  }
}

void qwh_resume_store_end(qwh_resume_store *s, qwh_resume_entry *e) {
  if (e->conn && s->take_over) s->take_over(s->user, e);
  e->conn = NULL;
  unlink_entry(s, e);
  entry_free(e);
}

void qwh_resume_store_detach(qwh_resume_store *s, qwh_resume_entry *e, int64_t now) {
  (void)s;
  e->conn = NULL;
  e->expires_ms = now + (int64_t)s->window_ms;
}

static int draw(qwh_resume_store *s, uint8_t *out, size_t n) {
  if (s->random) return s->random(s->user, out, n);
  return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

static qwh_resume_entry *find(qwh_resume_store *s, const uint8_t id[QWH_SESSION_ID_BYTES]) {
  for (qwh_resume_entry *e = s->head; e; e = e->next)
    if (memcmp(e->id, id, QWH_SESSION_ID_BYTES) == 0) return e;
  return NULL;
}

static qwh_resume_entry *entry_new(qwh_resume_store *s, const qwh_resume_limits *peer) {
  qwh_resume_entry *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  qwh_resume_init(&e->st, &s->limits, peer);
  e->next = s->head;
  s->head = e;
  s->count++;
  return e;
}

static void grant_of(const qwh_resume_store *s, qwh_resume_entry *e, bool resumed, qwh_accept_resume *g) {
  memcpy(g->id, e->id, sizeof g->id);
  memcpy(g->token, e->token, sizeof g->token);
  g->window_ms = s->window_ms;
  g->limits = s->limits;
  g->received = qwh_resume_report(&e->st);
  g->resumed = resumed;
}

qwh_resume_outcome qwh_resume_store_decide(qwh_resume_store *s, const qwh_hello_resume *r, const uint8_t *key, bool tls,
                                           uint32_t max_frame_length, int64_t now, qwh_resume_entry **entry, qwh_accept_resume *grant,
                                           qwh_code *refusal) {
  qwh_resume_store_expire(s, now);
  *entry = NULL;
  *refusal = QWH_OK;
  if (!r->named) {
    if (s->count >= s->max_sessions) return QWH_RESUME_NONE;
    uint8_t id[QWH_SESSION_ID_BYTES];
    do
      if (draw(s, id, sizeof id) != 0) return QWH_RESUME_NONE;
    while (find(s, id));
    qwh_resume_entry *e = entry_new(s, &r->limits);
    if (!e) return QWH_RESUME_NONE;
    memcpy(e->id, id, sizeof id);
    if (draw(s, e->token, sizeof e->token) != 0) {
      qwh_resume_store_end(s, e);
      return QWH_RESUME_NONE;
    }
    e->has_key = key != NULL;
    if (key) memcpy(e->key, key, 32);
    e->tls = tls;
    e->max_frame_length = max_frame_length;
    grant_of(s, e, false, grant);
    *entry = e;
    return QWH_RESUME_NEW;
  }
  qwh_resume_entry *e = find(s, r->id);
  *refusal = QWH_E_SESSION_UNKNOWN; /* QWH-RESUME-015: never issued, expired or ended; the session is left as it is */
  if (!e) return QWH_RESUME_REFUSED;
  bool latest = qwh_token_equal(r->token, e->token); /* both compared, whatever the first gives */
  bool previous = qwh_token_equal(r->token, e->prev_token) && e->has_prev;
  if (!latest && !previous) return QWH_RESUME_REFUSED;
  if ((key != NULL) != e->has_key || (key && memcmp(key, e->key, 32) != 0)) return QWH_RESUME_REFUSED;
  if (e->tls && !tls) return QWH_RESUME_REFUSED;
  if (r->received < e->st.peer_received || r->received > e->st.sent || max_frame_length < e->max_frame_length) {
    *refusal = QWH_E_RESUME_MISMATCH; /* QWH-RESUME-016: the session ends */
    qwh_resume_store_end(s, e);
    return QWH_RESUME_REFUSED;
  }
  *refusal = QWH_OK;
  if (e->conn && s->take_over) s->take_over(s->user, e); /* before the count is taken (QWH-RESUME-017) */
  e->conn = NULL;
  qwh_resume_acknowledge(&e->st, r->received, QWH_E_RESUME_MISMATCH);
  e->st.peer = r->limits;
  memcpy(e->prev_token, r->token, sizeof e->prev_token);
  e->has_prev = true;
  if (draw(s, e->token, sizeof e->token) != 0) {
    *refusal = QWH_E_INTERNAL;
    return QWH_RESUME_REFUSED;
  }
  grant_of(s, e, true, grant);
  *entry = e;
  return QWH_RESUME_RESUMED;
}

qwh_resume_entry *qwh_resume_store_load(qwh_resume_store *s, const uint8_t id[QWH_SESSION_ID_BYTES],
                                        const uint8_t token[QWH_SESSION_TOKEN_BYTES], const uint8_t *prev_token, const uint8_t *key,
                                        bool tls, uint32_t max_frame_length, uint64_t sent, uint64_t client_reported, uint64_t received,
                                        int64_t now) {
  qwh_resume_entry *e = entry_new(s, &s->limits);
  if (!e) return NULL;
  memcpy(e->id, id, QWH_SESSION_ID_BYTES);
  memcpy(e->token, token, QWH_SESSION_TOKEN_BYTES);
  if (prev_token) {
    memcpy(e->prev_token, prev_token, QWH_SESSION_TOKEN_BYTES);
    e->has_prev = true;
  }
  e->has_key = key != NULL;
  if (key) memcpy(e->key, key, 32);
  e->tls = tls;
  e->max_frame_length = max_frame_length;
  e->st.sent = e->st.peer_received = client_reported;
  static const uint8_t empty[4] = {0, 0, 0, 0};
  for (uint64_t i = client_reported; i < sent; i++)
    if (qwh_resume_record(&e->st, empty, sizeof empty) != QWH_OK) return NULL;
  e->st.received = e->st.reported = received;
  e->expires_ms = now + (int64_t)s->window_ms;
  return e;
}
