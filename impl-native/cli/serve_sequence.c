/*
 * qwh-native serve, scenario sequence: one numbered stream per session, across the connections
 * that resume it: `messages` in order as the replay bounds and the socket take them, then, once
 * expectCount messages arrived, the numbered end mark; one closed line per session, with
 * receivedRuns, receivedSha256 and resumes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static seq_session *seq_find(const server *srv, const uint8_t id[QWH_SESSION_ID_BYTES]) {
  for (seq_session *q = srv->seqs; q; q = q->next)
    if (q->keyed && memcmp(q->id, id, QWH_SESSION_ID_BYTES) == 0) return q;
  return NULL;
}

/* The opened connection carries its session's stream: a resumed session's goes on, a new one starts. */
void seq_attach(server *srv, srv_conn *sc) {
  const qwh_resume_entry *e = sc->c.s.resume_entry;
  seq_session *q = e && sc->c.s.resumed ? seq_find(srv, e->id) : NULL;
  if (q) {
    q->resumes++;
  } else {
    q = calloc(1, sizeof *q);
    if (!q) return; /* out of memory: this connection sends nothing */
    if (digest_init(&q->hash) != 0) {
      free(q);
      return;
    }
    if (e) {
      q->keyed = true;
      memcpy(q->id, e->id, sizeof q->id);
    }
    q->next = srv->seqs;
    srv->seqs = q;
  }
  q->conn = sc;
  sc->seq = q;
}

/* The client's end mark: one more numbered message (index messages.n, the size of the last), once
 * every message went to the session and expectCount messages arrived. */
void seq_end_mark(server *srv, seq_session *q) {
  const msg_list *m = &srv->cfg->messages;
  qwh_pconn *c = q->conn ? &q->conn->c : NULL;
  if (q->end_sent || q->failed || q->next_msg < m->n || (int64_t)q->messages < srv->expect_count || !c || c->phase != QWH_CONN_OPEN ||
      c->s.finished || c->s.close_sent)
    return;
  qwh_buf b;
  gen_numbered(&b, m->n, m->n ? m->items[m->n - 1].len : 4);
  q->end_sent = true;
  serve_send_or_report(c, b.data, b.len);
  qwh_buf_free(&b);
}

/* The session's next messages to its open connection (seq_send), then the end mark when it is due.
 * True when it stopped only for the socket (more could go once that queue drains). */
static bool seq_fill(server *srv, srv_conn *sc) {
  seq_session *q = sc->seq;
  qwh_pconn *c = &sc->c;
  if (!q || q->failed || c->phase != QWH_CONN_OPEN || c->s.finished || c->s.close_sent || c->s.half_close) return false;
  const msg_list *m = &srv->cfg->messages;
  bool full;
  qwh_code rc = seq_send(c, m, &q->next_msg, &full);
  if (rc != QWH_OK) { /* this message cannot be sent at all: the stream stops */
    printf("{\"event\":\"send-error\",\"code\":\"%s\"}\n", qwh_code_name(rc));
    fflush(stdout);
    q->failed = true;
    return false;
  }
  seq_end_mark(srv, q);
  return full;
}

void seq_service(server *srv, srv_conn *sc) {
  for (int i = 0; i < STREAM_ROUNDS; i++) {
    bool full = seq_fill(srv, sc);
    size_t closes = srv->closes;
    qwh_pconn_service(&sc->c); /* may close and free sc */
    if (srv->closes != closes || !full || queued_bytes(&sc->c) > 0) return;
  }
  srv->busy = true;
}

/* The session's closed line (one per session, like the ts adapter's): what it received of the
 * client's numbered stream, and the connections that resumed it. */
static void seq_closed(server *srv, seq_session *q) {
  for (seq_session **p = &srv->seqs; *p; p = &(*p)->next)
    if (*p == q) {
      *p = q->next;
      break;
    }
  char sha[65];
  digest_finish(&q->hash, sha);
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *o = qwh_json_object(&a), *runs = runs_json(&a, &q->runs);
  qwh_json_set(&a, o, "event", qwh_json_cstring(&a, "closed"));
  qwh_json_set(&a, o, "messages", qwh_json_int(&a, (int64_t)q->messages));
  qwh_json_set(&a, o, "bytes", qwh_json_int(&a, (int64_t)q->bytes));
  qwh_json_set(&a, o, "error", q->last_error[0] ? qwh_json_cstring(&a, q->last_error) : qwh_json_null(&a));
  qwh_json_set(&a, o, "receivedRuns", runs ? runs : qwh_json_null(&a));
  qwh_json_set(&a, o, "receivedSha256", qwh_json_cstring(&a, sha));
  qwh_json_set(&a, o, "resumes", qwh_json_int(&a, (int64_t)q->resumes));
  qwh_buf out;
  qwh_buf_init(&out);
  if (qwh_json_write(o, &out) == QWH_JSON_OK) out_line(&out);
  qwh_buf_free(&out);
  qwh_arena_free(&a);
  runs_free(&q->runs);
  free(q);
}

static bool stored(const server *srv, const uint8_t id[QWH_SESSION_ID_BYTES]) {
  for (const qwh_resume_entry *e = srv->sessions.head; e; e = e->next)
    if (memcmp(e->id, id, QWH_SESSION_ID_BYTES) == 0) return true;
  return false;
}

/* Sessions without a connection that are over (a CLOSE, a refusal that ended them, the window
 * passed, or no "resume"): their closed line. */
void seq_reap(server *srv) {
  for (seq_session *q = srv->seqs, *next; q; q = next) {
    next = q->next;
    if (!q->conn && (!q->keyed || !stored(srv, q->id))) seq_closed(srv, q);
  }
}

void seq_free_all(server *srv) {
  while (srv->seqs) {
    seq_session *q = srv->seqs;
    srv->seqs = q->next;
    char sha[65];
    digest_finish(&q->hash, sha);
    runs_free(&q->runs);
    free(q);
  }
}
