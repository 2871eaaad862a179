/*
 * qwh-native connect: one connection after another. The handlers (open: what was queued while
 * down, then the scenario's first messages; message; the peer's CLOSE; closed: whether to
 * reconnect), TLS (pins, ALPN in the tags, the signed hello's channel binding), the reconnect
 * backoff, and with "resume" the session carried across connections and what it left
 * unacknowledged.
 */
#define _GNU_SOURCE
#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connect.h"

void cl_record_error(client *cl, const char *code) {
  if (!cl->error[0] && code) snprintf(cl->error, sizeof cl->error, "%s", code);
}

void cl_send(client *cl, const qwh_buf *m) {
  if (cl->have_conn && cl->conn_open && cl->n_queue == 0) {
    if (qwh_pconn_send(&cl->conn, m->data, m->len) == QWH_OK) cl->sent++;
    return;
  }
  if (!cl->reconnect) return;
  const qwh_buf **q = realloc(cl->queue, (cl->n_queue + 1) * sizeof *q);
  if (!q) return;
  cl->queue = q;
  cl->queue[cl->n_queue++] = m;
  cl->sent++;
}

void cl_send_all(client *cl, const msg_list *l) {
  for (size_t i = 0; i < l->n; i++) cl_send(cl, &l->items[i]);
}

/* Client: pins (config.pins) on the server certificate; the negotiated ALPN goes in the hello's tags. */
static qwh_code cl_tls_open(qwh_pconn *c) {
  client *cl = c->app;
  config *cfg = cl->cfg;
  char fp[130];
  bool have = qwh_tls_peer_fingerprint256(c->tls, fp, sizeof fp);
  if (cfg->pins && cfg->pins->u.arr.n > 0 && (!have || !pins_match(cfg->pins, fp))) return QWH_E_TLS_PIN_MISMATCH;
  char alpn[256];
  if (qwh_tls_alpn(c->tls, alpn, sizeof alpn)) {
    qwh_json *t = c->s.cfg.tags && c->s.cfg.tags->type == QWH_JSON_OBJECT ? qwh_json_without(&cfg->a, c->s.cfg.tags, "tlsAlpn")
                                                                          : qwh_json_object(&cfg->a);
    if (t) {
      qwh_json_set(&cfg->a, t, "tlsAlpn", qwh_json_cstring(&cfg->a, alpn));
      c->s.cfg.tags = t;
    }
  }
  /* a signed hello over TLS is bound to the session (RFC 9266 exporter, QWH-SIG-002) */
  if (c->s.cfg.sign_seed &&
      qwh_tls_export(c->tls, c->tls_exporter, sizeof c->tls_exporter, "EXPORTER-Channel-Binding", 24, NULL, 0, true) == QWH_TLS_OK) {
    c->s.cfg.sign_exporter = c->tls_exporter;
    c->s.cfg.sign_ts = qwh_wall_ms();
  }
  return QWH_OK;
}

static int64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void cl_open(qwh_pconn *c) {
  client *cl = c->app;
  if (!cl->opened) cl->open_ns = monotonic_ns();
  cl->conn_open = true;
  if (!cl->opened && c->s.accept.len) qwh_buf_append(&cl->accept, c->s.accept.data, c->s.accept.len);
  bool first = !cl->opened;
  cl->opened = true;
  cl->attempt = 0;
  cl->readies++;
  if (c->s.resumed) cl->resumes++;
  /* what was queued while down goes first, in order */
  for (size_t i = 0; i < cl->n_queue; i++) qwh_pconn_send(c, cl->queue[i]->data, cl->queue[i]->len);
  cl->n_queue = 0;
  if (cl->kind == CS_RETRY) {
    if (first) cl_send_all(cl, &cl->cfg->messages);
    if (cl->readies == 2) cl_send_all(cl, &cl->cfg->later);
    return;
  }
  if (!first) return;
  if (cl->kind == CS_OVERSIZE) {
    qwh_buf big;
    gen_message(&big, 0, (size_t)cl->cfg->size);
    memset(big.data, 0, big.len);
    qwh_code rc = qwh_pconn_send(c, big.data, big.len);
    snprintf(cl->local_error, sizeof cl->local_error, "%s", rc ? qwh_code_name(rc) : "");
    qwh_buf_free(&big);
    if (cl->cfg->messages.n == 0 && qwh_pconn_send(c, (const uint8_t *)"still-open", 10) == QWH_OK) cl->sent++;
  }
  /* mirror and close queued theirs before the accept: sent now, in order (QWH-STATE-001) */
  if (cl->kind == CS_RECONNECT) {
    if (cl->cfg->messages.n) cl_send(cl, &cl->cfg->messages.items[0]);
  } else if (cl->kind != CS_HEARTBEAT && cl->kind != CS_BROADCAST && cl->kind != CS_SEQUENCE) { /* sequence: cl_seq_fill */
    cl_send_all(cl, &cl->cfg->messages);
  }
  if (cl->kind == CS_CLOSE) {
    cl->closing_ourselves = true;
    qwh_session_close(&c->s, QWH_E_NORMAL_CLOSE, NULL);
  }
}

static void cl_message(qwh_pconn *c, const uint8_t *p, size_t n) {
  client *cl = c->app;
  if (cl->kind == CS_COUNT) {
    cl->received_bytes += n;
    if (++cl->counted == (uint64_t)cl->cfg->expect_count) cl->counted_ns = monotonic_ns();
    return;
  }
  if (cl->n_received == cl->cap_received) {
    size_t cap = cl->cap_received ? cl->cap_received * 2 : 64;
    qwh_buf *r = realloc(cl->received, cap * sizeof *r);
    if (!r) return;
    cl->received = r;
    cl->cap_received = cap;
  }
  qwh_buf *b = &cl->received[cl->n_received++];
  qwh_buf_init(b);
  qwh_buf_append(b, p, n);
  cl->received_bytes += n;
  if (cl->kind == CS_SEQUENCE) runs_take(&cl->runs, p, n);
  if (cl->kind == CS_MIRROR && qwh_pconn_send(c, p, n) == QWH_OK) cl->sent++;
}

static void cl_peer_close(qwh_pconn *c, const char *code, const char *reason) {
  (void)reason;
  client *cl = c->app;
  if (!cl->closing_ourselves && cl->kind != CS_RECONNECT) {
    cl->closed_by_peer = true;
    snprintf(cl->close_code, sizeof cl->close_code, "%s", code);
    if (strcmp(code, "E_NORMAL_CLOSE") != 0 && strcmp(code, "E_GOING_AWAY") != 0 && cl->kind != CS_RETRY) cl_record_error(cl, code);
  }
}

/* Capped exponential with half jitter, from the attempt number (the ts client's backoffDelay). */
static int64_t backoff(const client *cl) {
  int64_t n = cl->attempt < 1 ? 1 : cl->attempt, d = 20;
  for (int64_t i = 1; i < n && d < cl->max_delay_ms; i++) d *= 2;
  if (d > cl->max_delay_ms) d = cl->max_delay_ms;
  uint8_t r = 0;
  RAND_bytes(&r, 1);
  return d / 2 + (d / 2) * r / 255;
}

void cl_retry_due(qwh_timer *t) {
  client *cl = (client *)(void *)((char *)t - offsetof(client, retry_timer));
  if (!cl->closed && !cl->have_conn) cl_start_attempt(cl);
}

/* "resume": the session is over after a CLOSE or a refused resume (QWH-RESUME-013); what the server did
 * not acknowledge is counted as unacknowledged and never sent again by itself (QWH-RESUME-025). */
static bool session_over(client *cl, const qwh_session *s) {
  qwh_resume_client *r = &cl->session;
  bool over = r->ended || (s->rs && qwh_session_resume_over(s));
  /* after a graceful CLOSE exchange everything sent before it was delivered (spec 10.5); held messages never were */
  if (over && r->active) cl->unacknowledged += (r->ended || s->error != QWH_OK ? qwh_resume_unacked(&r->st) : 0) + r->st.held_count;
  if (over && r->active) {
    qwh_resume_free(&r->st);
    r->active = false;
  }
  r->ended = false;
  return over;
}

static void cl_closed(qwh_pconn *c) {
  client *cl = c->app;
  qwh_session *s = &c->s;
  bool was_open = cl->conn_open;
  bool keeps_session = cl->cfg->resume && !session_over(cl, s) && cl->session.active;
  /* the peer's CLOSE code, else the failure: decides whether a reconnect may help */
  qwh_code code = s->error;
  if (was_open && cl->close_code[0] && !code) code = qwh_code_from_name(cl->close_code, strlen(cl->close_code));
  /* a connection that ends while its session is kept is no failure: the session resumes */
  if (s->error && !keeps_session && !(was_open && cl->kind == CS_RETRY && cl->closed_by_peer)) cl_record_error(cl, s->error_name);
  /* The peer ended the connection without a CLOSE: no close code (an unclean end with "control",
   * QWH-CLOSE-013; the only way to close without it). */
  if (was_open && !cl->closing_ourselves && !cl->closed_by_peer && s->peer_ended && cl->kind != CS_RECONNECT && !keeps_session)
    cl->closed_by_peer = true;
  bool terminal = code && qwh_code_is_terminal(code);
  bool again = cl->reconnect && !cl->closing_ourselves && !terminal && cl->attempt < cl->max_attempts && !g_cli.stop;
  /* with "resume" a client reconnects to resume its session, or to start one after a refusal, not after a CLOSE */
  if (cl->cfg->resume && cl->kind != CS_RETRY && cl->kind != CS_RECONNECT && was_open && !keeps_session) again = false;
  if (!was_open && cl->reconnect && !again && !cl->opened && s->error) /* gave up before any open: the last failure is the error */
    snprintf(cl->error, sizeof cl->error, "%s", s->error_name);
  cl->conn_open = false;
  cl->have_conn = false;
  qwh_pconn_free(c);
  if (was_open) {
    cl->closes_seen++;
    if (again && cl->closes_seen == 1) cl_send_all(cl, &cl->cfg->while_down); /* queued while down */
  }
  if (again && was_open) cl->drops++;
  if (again)
    qwh_timer_set(&cl->loop, &cl->retry_timer, qwh_monotonic_ms() + backoff(cl));
  else
    cl->closed = true;
}

/* An attempt that failed before it had a connection (socket, TLS set-up). */
static void attempt_failed(client *cl, qwh_code code) {
  cl_record_error(cl, qwh_code_name(code));
  bool again = cl->reconnect && cl->attempt < cl->max_attempts && !g_cli.stop;
  if (again)
    qwh_timer_set(&cl->loop, &cl->retry_timer, qwh_monotonic_ms() + backoff(cl));
  else
    cl->closed = true;
}

void cl_start_attempt(client *cl) {
  config *cfg = cl->cfg;
  cl->attempt++;
  qwh_session_config sc = cfg->sc;
  if (cfg->sign) {
    sc.sign_seed = cfg->sign_seed;
    sc.sign_ts = qwh_wall_ms();
    if (RAND_bytes(sc.sign_nonce, sizeof sc.sign_nonce) != 1) sc.sign_seed = NULL;
  }
  if (cfg->resume) {
    sc.resume_client = &cl->session;
    sc.clock_ms = qwh_monotonic_ms;
  }
  qwh_pconn_handlers h = {cl_open, cl_message, cl_peer_close, cl_closed};
  int fd = qwh_connect_tcp(cl->host, cl->port);
  if (fd < 0) {
    attempt_failed(cl, QWH_E_SOCKET);
    return;
  }
  if (qwh_pconn_start(&cl->conn, &cl->loop, fd, true, &sc, &cfg->lim, &h, cl) != 0) { /* fd closed */
    attempt_failed(cl, QWH_E_SOCKET);
    return;
  }
  cl->have_conn = true;
  cl->conn.on_tls_open = cl_tls_open;
  if (tls_attach(cfg, &cl->conn, false) != 0) {
    qwh_pconn_free(&cl->conn);
    cl->have_conn = false;
    attempt_failed(cl, QWH_E_TLS_HANDSHAKE);
  }
}
