/*
 * qwh-native connect: one client, one result line like the ts adapter's:
 * {ok, scenario, sent, received, receivedSha256, receivedHex, error, closeCode, closedByPeer, accept, ...}.
 * Scenarios: echo, echo-N (N x 64 B), mirror, close, hold, receive, count, await-close, expect-reject,
 * oversize, heartbeat, broadcast, retry and reconnect (automatic reconnect, spec 15: delays from
 * 20 ms doubling with jitter, terminal codes never retried (QWH-ERR-007), messages sent while down
 * queued and sent first after the reconnect (QWH-DELIV-001), the same profile and transport
 * every time (QWH-SEC-004)), sequence (reconnects on its own, with "resume" resuming the session;
 * sends `messages` in order as fast as the replay bounds and the socket take them, waits for
 * expectCount messages, then closes gracefully; the result adds receivedRuns, drops, resumes and
 * sessionLost). count (throughput) is receive without keeping the messages: it counts
 * them and their bytes as the decoder hands them over, and reports the seconds from the open to the
 * expectCount-th message (elapsedNs).
 */
#define _GNU_SOURCE
#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../codec/codec_ops.h"
#include "cli.h"

enum {
  CS_ECHO,
  CS_MIRROR,
  CS_CLOSE,
  CS_HOLD,
  CS_RECEIVE,
  CS_AWAIT_CLOSE,
  CS_EXPECT_REJECT,
  CS_OVERSIZE,
  CS_HEARTBEAT,
  CS_BROADCAST,
  CS_RETRY,
  CS_RECONNECT,
  CS_COUNT,
  CS_SEQUENCE
};
static const char *const scenario_names[] = {"echo",     "mirror",    "close",     "hold",  "receive",   "await-close", "expect-reject",
                                             "oversize", "heartbeat", "broadcast", "retry", "reconnect", "count",       "sequence"};

typedef struct client {
  config *cfg;
  int kind;
  const char *scenario, *host;
  uint16_t port;
  qwh_loop loop;
  qwh_pconn conn;
  bool have_conn; /* conn is started and not yet freed */
  bool conn_open; /* the current connection finished its handshake */
  bool opened;    /* some connection did */
  bool closed;    /* for good: no connection and none to come */
  bool closing_ourselves, closed_by_peer;
  /* reconnect (retry, reconnect) */
  bool reconnect;
  int64_t max_attempts, max_delay_ms, attempt, closes_seen, readies;
  qwh_timer retry_timer;
  const qwh_buf **queue; /* sent while down: go first after the reconnect */
  size_t n_queue;
  size_t sent;
  qwh_buf *received;
  size_t n_received, cap_received, received_bytes;
  uint64_t counted;            /* count: messages received (not kept) */
  int64_t open_ns, counted_ns; /* count: the open, and the expectCount-th message */
  qwh_buf accept;              /* the first accept, as received */
  char error[72], close_code[72], local_error[72];
  /* feature "resume": the session across connections; messages of ended sessions the server never acknowledged */
  qwh_resume_client session;
  uint64_t unacknowledged;
  /* sequence: the next message to send, what arrived, connections lost and resumed */
  size_t next_msg;
  number_runs runs;
  int64_t drops, resumes;
  uint64_t session_lost; /* messages of sessions that ended unacknowledged (QWH-RESUME-025) */
} client;

static void record_error(client *cl, const char *code) {
  if (!cl->error[0] && code) snprintf(cl->error, sizeof cl->error, "%s", code);
}

/* Sends now when open, else queues (QWH-DELIV-001); counts like the ts adapter's sendAll. */
static void cl_send(client *cl, const qwh_buf *m) {
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

static void cl_send_all(client *cl, const msg_list *l) {
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
  } else if (cl->kind != CS_HEARTBEAT && cl->kind != CS_BROADCAST && cl->kind != CS_SEQUENCE) { /* sequence: seq_fill */
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
    if (strcmp(code, "E_NORMAL_CLOSE") != 0 && strcmp(code, "E_GOING_AWAY") != 0 && cl->kind != CS_RETRY) record_error(cl, code);
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

static void start_attempt(client *cl);
static void retry_due(qwh_timer *t) {
  client *cl = (client *)(void *)((char *)t - offsetof(client, retry_timer));
  if (!cl->closed && !cl->have_conn) start_attempt(cl);
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
  if (s->error && !keeps_session && !(was_open && cl->kind == CS_RETRY && cl->closed_by_peer)) record_error(cl, s->error_name);
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
  record_error(cl, qwh_code_name(code));
  bool again = cl->reconnect && cl->attempt < cl->max_attempts && !g_cli.stop;
  if (again)
    qwh_timer_set(&cl->loop, &cl->retry_timer, qwh_monotonic_ms() + backoff(cl));
  else
    cl->closed = true;
}

/* One TCP (+TLS) connection with the configured profile; the same every time (QWH-SEC-004). */
static void start_attempt(client *cl) {
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

/* sha256 over length-prefixed messages (raw: over the byte stream), as the ts adapter computes it. */
static void digest(const qwh_buf *msgs, size_t n, bool raw, char hex[65]) {
  msg_digest d;
  if (digest_init(&d) == 0)
    for (size_t i = 0; i < n; i++) digest_message(&d, msgs[i].data, msgs[i].len, raw);
  digest_finish(&d, hex);
}

static size_t total_bytes(const qwh_buf *m, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; i++) t += m[i].len;
  return t;
}

/* The echo check: same messages (raw: same byte stream). */
static bool echo_matches(const client *cl) {
  const msg_list *m = &cl->cfg->messages;
  if (cl->cfg->raw) {
    if (cl->received_bytes != total_bytes(m->items, m->n)) return false;
    size_t mi = 0, mo = 0;
    for (size_t i = 0; i < cl->n_received; i++)
      for (size_t j = 0; j < cl->received[i].len; j++) {
        while (mi < m->n && mo == m->items[mi].len) mi++, mo = 0;
        if (mi >= m->n || m->items[mi].data[mo++] != cl->received[i].data[j]) return false;
      }
    return true;
  }
  if (cl->n_received != m->n) return false;
  for (size_t i = 0; i < m->n; i++)
    if (m->items[i].len != cl->received[i].len || (m->items[i].len && memcmp(m->items[i].data, cl->received[i].data, m->items[i].len) != 0))
      return false;
  return true;
}

/* sequence: the next messages to the open connection (seq_send); nothing is sent between
 * connections. True when the socket took everything and more could go at once. */
static bool seq_fill(client *cl) {
  const msg_list *m = &cl->cfg->messages;
  for (int round = 0; round < 8; round++) {
    if (!cl->have_conn || !cl->conn_open || cl->closing_ourselves || cl->next_msg >= m->n) return false;
    qwh_pconn *c = &cl->conn;
    if (c->s.finished || c->s.close_sent) return false;
    bool full;
    size_t before = cl->next_msg;
    qwh_code rc = seq_send(c, m, &cl->next_msg, &full);
    cl->sent += cl->next_msg - before;
    if (rc != QWH_OK) { /* not a connection loss: this message cannot be sent at all */
      record_error(cl, qwh_code_name(rc));
      cl->next_msg = m->n;
    }
    if (cl->next_msg == before) return false;
    qwh_pconn_service(c); /* may end the connection (cl_closed frees it) */
    if (!full || !cl->have_conn || queued_bytes(&cl->conn) > 0) return false;
  }
  return true;
}

typedef struct progress {
  int phase;
  int64_t mark; /* ms: when the phase began */
  size_t base;  /* received count at the phase start */
} progress;

/* One look at the scenario; true when it is over (*ok set). */
static bool scenario_step(client *cl, progress *pr, int64_t now, int64_t start, bool *ok) {
  const config *cfg = cl->cfg;
  size_t want = cfg->messages.n;
  int64_t hold = cfg->hold_ms >= 0 ? cfg->hold_ms : (cl->kind == CS_MIRROR ? 10000 : cl->kind == CS_HEARTBEAT ? 500 : 1000);
  switch (cl->kind) {
    case CS_EXPECT_REJECT:
      if (cl->opened) return *ok = false, true;
      if (cl->closed) return *ok = cfg->expect_error && strcmp(cl->error, cfg->expect_error) == 0, true;
      return false;
    case CS_ECHO:
      if (cl->opened && (cfg->raw ? cl->received_bytes >= total_bytes(cfg->messages.items, want) : cl->n_received >= want))
        return *ok = echo_matches(cl), true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_MIRROR:
    case CS_HOLD:
      if (cl->closed || now - start >= hold) return *ok = true, true;
      return false;
    case CS_CLOSE:
      if (cl->closed) return *ok = true, true;
      return false;
    case CS_RECEIVE:
      if ((int64_t)cl->n_received >= cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_COUNT:
      if (cl->counted >= (uint64_t)cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_AWAIT_CLOSE:
      if (cl->closed) return *ok = cl->closed_by_peer, true;
      return false;
    case CS_OVERSIZE: {
      size_t need = want ? want : 1;
      if (cl->n_received >= need) return *ok = !cl->closed && strcmp(cl->local_error, "E_FRAME_TOO_LARGE") == 0, true;
      if (cl->closed) return *ok = false, true;
      return false;
    }
    case CS_HEARTBEAT: /* idle for holdMs (heartbeats keep it open), then a round trip */
      if (cl->closed) return *ok = false, true;
      if (!cl->opened) return false;
      if (pr->phase == 0) pr->phase = 1, pr->mark = now;
      if (pr->phase == 1 && now - pr->mark >= hold) {
        static const qwh_buf after = {(uint8_t *)"after-idle", 10, 10};
        if (want)
          cl_send_all(cl, &cl->cfg->messages);
        else
          cl_send(cl, &after);
        pr->phase = 2;
      }
      if (pr->phase == 2 && cl->n_received >= (want ? want : 1)) return *ok = true, true;
      return false;
    case CS_BROADCAST: /* the server's "go" (dropped from the result), then the messages */
      if (pr->phase == 0 && cl->n_received >= 1) {
        qwh_buf_free(&cl->received[0]);
        memmove(cl->received, cl->received + 1, (cl->n_received - 1) * sizeof *cl->received);
        cl->n_received--;
        cl_send_all(cl, &cl->cfg->messages);
        pr->phase = 1;
      }
      if (pr->phase == 1 && (int64_t)cl->n_received >= cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_RETRY:
      if (cl->closed || cl->closes_seen >= cfg->closes) return *ok = cl->opened, true;
      return false;
    case CS_RECONNECT: /* first echo, checkpoint (the runner restarts the server), reconnect, the rest */
      if (cl->closed) return *ok = false, true;
      if (pr->phase == 0 && cl->n_received >= 1) {
        fputs("{\"event\":\"checkpoint\"}\n", stdout);
        fflush(stdout);
        pr->phase = 1;
        pr->base = (size_t)cl->readies;
      }
      if (pr->phase == 1 && (size_t)cl->readies > pr->base && cl->conn_open) {
        for (size_t i = 1; i < want; i++) cl_send(cl, &cl->cfg->messages.items[i]);
        pr->phase = 2;
      }
      if (pr->phase == 2 && cl->n_received >= want) return *ok = true, true;
      return false;
    case CS_SEQUENCE:
      if ((int64_t)cl->n_received >= cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
  }
  return *ok = false, true;
}

static void print_result(client *cl, bool ok) {
  char sha[65];
  digest(cl->received, cl->n_received, cl->cfg->raw, sha);
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *r = qwh_json_object(&a), *hexes = qwh_json_array(&a);
  /* The first messages in hex, up to 64 of them and 64 KiB (the digest covers all), as the ts adapter. */
  size_t budget = 65536;
  for (size_t i = 0; i < cl->n_received && i < 64; i++) {
    if (cl->received[i].len > budget) break;
    budget -= cl->received[i].len;
    qwh_json_push(&a, hexes, qwh_hex_json(&a, cl->received[i].data, cl->received[i].len));
  }
  qwh_json_set(&a, r, "ok", qwh_json_bool(&a, ok));
  qwh_json_set(&a, r, "scenario", qwh_json_cstring(&a, cl->scenario));
  qwh_json_set(&a, r, "sent", qwh_json_int(&a, (int64_t)cl->sent));
  qwh_json_set(&a, r, "received", qwh_json_int(&a, (int64_t)(cl->kind == CS_COUNT ? cl->counted : cl->n_received)));
  qwh_json_set(&a, r, "receivedSha256", qwh_json_cstring(&a, sha));
  qwh_json_set(&a, r, "receivedHex", hexes);
  qwh_json_set(&a, r, "error", cl->error[0] ? qwh_json_cstring(&a, cl->error) : qwh_json_null(&a));
  qwh_json_set(&a, r, "closeCode", cl->close_code[0] ? qwh_json_cstring(&a, cl->close_code) : qwh_json_null(&a));
  qwh_json_set(&a, r, "closedByPeer", qwh_json_bool(&a, cl->closed_by_peer));
  qwh_json *accept = NULL;
  if (cl->accept.len && (qwh_json_parse(&a, cl->accept.data, cl->accept.len, &accept) != QWH_JSON_OK || accept->type != QWH_JSON_OBJECT))
    accept = NULL;
  qwh_json_set(&a, r, "accept", accept ? accept : qwh_json_null(&a));
  if (cl->kind == CS_OVERSIZE)
    qwh_json_set(&a, r, "localError", cl->local_error[0] ? qwh_json_cstring(&a, cl->local_error) : qwh_json_null(&a));
  if (cl->kind == CS_COUNT) {
    qwh_json_set(&a, r, "receivedBytes", qwh_json_int(&a, (int64_t)cl->received_bytes));
    if (cl->counted_ns) qwh_json_set(&a, r, "elapsedNs", qwh_json_int(&a, cl->counted_ns - cl->open_ns));
  }
  if (cl->kind == CS_RETRY && cl->readies > 0) qwh_json_set(&a, r, "reconnects", qwh_json_int(&a, cl->readies - 1));
  if (cl->kind == CS_RECONNECT && ok) qwh_json_set(&a, r, "reconnected", qwh_json_bool(&a, true));
  if (cl->kind == CS_SEQUENCE) {
    qwh_json *runs = runs_json(&a, &cl->runs);
    qwh_json_set(&a, r, "receivedRuns", runs ? runs : qwh_json_null(&a));
    qwh_json_set(&a, r, "drops", qwh_json_int(&a, cl->drops));
    qwh_json_set(&a, r, "resumes", qwh_json_int(&a, cl->resumes));
    qwh_json_set(&a, r, "sessionLost", qwh_json_int(&a, (int64_t)cl->session_lost));
  }
  if (cl->cfg->resume) qwh_json_set(&a, r, "unacknowledged", qwh_json_int(&a, (int64_t)cl->unacknowledged));
  qwh_buf out;
  qwh_buf_init(&out);
  qwh_json_write(r, &out);
  out_line(&out);
  qwh_buf_free(&out);
  qwh_arena_free(&a);
}

int run_connect(config *cfg, const char *host, uint16_t port, const char *scenario) {
  client cl;
  memset(&cl, 0, sizeof cl);
  cl.cfg = cfg;
  cl.kind = -1;
  cl.scenario = scenario;
  cl.host = host;
  cl.port = port;
  for (int i = 0; i < (int)(sizeof scenario_names / sizeof *scenario_names); i++)
    if (strcmp(scenario, scenario_names[i]) == 0) cl.kind = i;
  if (strncmp(scenario, "echo-", 5) == 0) { /* echo-N: N generated 64-byte messages */
    char *end = NULL;
    long n = strtol(scenario + 5, &end, 10);
    if (n < 0 || n > 100000000 || !end || *end) n = -1;
    msg_list_free(&cfg->messages);
    cfg->messages.items = calloc(n > 0 ? (size_t)n : 1, sizeof(qwh_buf));
    if (n < 0 || !cfg->messages.items) return 2;
    for (long i = 0; i < n; i++, cfg->messages.n++) gen_message(&cfg->messages.items[i], (size_t)i, 64);
    cl.kind = CS_ECHO;
  }
  if (cl.kind < 0) {
    fprintf(stderr, "qwh-native: unsupported client scenario %s\n", scenario);
    return UNSUPPORTED;
  }
  cl.reconnect = cl.kind == CS_RETRY || cl.kind == CS_RECONNECT || cl.kind == CS_SEQUENCE || cfg->resume;
  cl.session.limits = cfg->resume_limits;
  /* sequence: through the runner's cutting proxy, more attempts in a row than it cuts connections */
  cl.max_attempts = cl.kind == CS_RECONNECT ? 100 : cl.kind == CS_SEQUENCE ? cfg_int(cfg->root, "maxAttempts", 100) : cfg->max_attempts;
  cl.max_delay_ms = cl.kind == CS_RECONNECT ? 200 : 100;
  cl.retry_timer.fire = retry_due;
  qwh_buf_init(&cl.accept);
  if (cli_loop_init(&cl.loop)) return 2;
  /* A client paces itself: it never stops reading (that could deadlock an echo) and never gives up on its own queue. */
  cfg->lim.high_water = cfg->lim.max_backpressure = SIZE_MAX;
  start_attempt(&cl);
  int64_t start = qwh_monotonic_ms(), deadline = start + cfg->timeout_ms;
  bool ok = false, done = false;
  progress pr = {0, 0, 0};
  while (!done && !g_cli.stop) {
    int64_t now = qwh_monotonic_ms();
    const qwh_resume_state *rs = cl.have_conn ? cl.conn.s.rs : NULL;
    if (rs && qwh_resume_ack_pending(rs) && rs->unreported_since >= 0 && now - rs->unreported_since >= cfg->ack_delay_ms)
      qwh_session_ack(&cl.conn.s); /* QWH-ACK-006 */
    if (cl.have_conn) qwh_pconn_service(&cl.conn);
    bool busy = cl.kind == CS_SEQUENCE && seq_fill(&cl);
    done = scenario_step(&cl, &pr, now, start, &ok);
    if (!done && now >= deadline) done = true, ok = false;
    if (!done && qwh_loop_poll(&cl.loop, busy ? 0 : 20) < 0) done = true;
  }
  /* sequence: connection losses are what it is about; a client that gave up keeps its error */
  if (cl.kind == CS_SEQUENCE && !cl.closed) cl.error[0] = 0;
  /* No more attempts; close gracefully if still open, for at most 2 s. */
  qwh_timer_cancel(&cl.loop, &cl.retry_timer);
  if (cl.have_conn && !cl.conn_open) {
    qwh_pconn_free(&cl.conn);
    cl.have_conn = false;
  }
  if (cl.have_conn) {
    cl.closing_ourselves = true;
    qwh_pconn_close(&cl.conn, QWH_E_NORMAL_CLOSE);
    int64_t end = qwh_monotonic_ms() + 2000;
    while (cl.have_conn && qwh_monotonic_ms() < end) {
      qwh_pconn_service(&cl.conn);
      if (cl.have_conn) qwh_loop_poll(&cl.loop, 20);
    }
    if (cl.have_conn) qwh_pconn_free(&cl.conn);
    cl.have_conn = false;
  }
  bool lenient = cl.kind == CS_EXPECT_REJECT || cl.kind == CS_AWAIT_CLOSE || cl.kind == CS_HOLD || cl.kind == CS_MIRROR ||
                 cl.kind == CS_CLOSE || cl.kind == CS_RETRY;
  if (cl.kind == CS_RECONNECT) cl.error[0] = 0; /* the drop itself is expected */
  cl.session_lost = cl.unacknowledged;
  if (cl.session.active) /* given up with a session unfinished: what the server did not acknowledge (QWH-RESUME-025) */
    cl.unacknowledged += qwh_resume_unacked(&cl.session.st) + cl.session.st.held_count;
  ok = ok && (lenient || !cl.error[0]);
  /* A connection that never opened (TCP, TLS or pin failure) is not ok, whatever the scenario. */
  if (!cl.opened && cl.error[0] && cl.kind != CS_EXPECT_REJECT) ok = false;
  print_result(&cl, ok);
  for (size_t i = 0; i < cl.n_received; i++) qwh_buf_free(&cl.received[i]);
  free(cl.received);
  runs_free(&cl.runs);
  free(cl.queue);
  qwh_buf_free(&cl.accept);
  if (cl.session.active) qwh_resume_free(&cl.session.st);
  qwh_loop_free(&cl.loop);
  return 0;
}
