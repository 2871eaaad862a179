/*
 * qwh-native serve: prints {"ready":true,"port":P}, then {"event":"rejected","code"} and
 * {"event":"closed","messages","bytes","error"} lines; stops on SIGTERM/SIGINT or the end of stdin.
 * Scenarios: echo, sink, close-after, push-on-connect, broadcast, hello-info, stream (throughput:
 * pushCount copies of one pushSize-byte message, written from one prebuilt block of frames as fast
 * as the socket drains; received bytes are dropped), and sequence (per session, across its resumed
 * connections: `messages` in order as the replay bounds and the socket take them, then, once
 * expectCount messages arrived, the numbered end mark; one closed line per session, with
 * receivedRuns, receivedSha256 and resumes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admission.h"
#include "cli.h"

enum { SC_ECHO, SC_SINK, SC_CLOSE_AFTER, SC_PUSH, SC_BROADCAST, SC_HELLO_INFO, SC_STREAM, SC_SEQUENCE };
static const char *const scenario_names[] = {"echo",      "sink",       "close-after", "push-on-connect",
                                             "broadcast", "hello-info", "stream",      "sequence"};

/* stream: the bytes queued per refill, at least one frame. */
#define STREAM_BLOCK (256u * 1024u)
/* stream: refills per connection and loop turn (the rest waits for the socket to drain). */
#define STREAM_ROUNDS 8

typedef struct srv_conn srv_conn;

/* sequence: one session's stream, across the connections that resume it (one object, like the ts
 * server's connection). Without "resume" a session is one connection. */
typedef struct seq_session {
  struct seq_session *next;
  bool keyed; /* id names the stored session ("resume" negotiated) */
  uint8_t id[QWH_SESSION_ID_BYTES];
  srv_conn *conn;  /* the connection carrying it now, or NULL between connections */
  size_t next_msg; /* config.messages[next_msg] is the next to send */
  bool end_sent, failed;
  uint64_t messages, bytes, resumes;
  number_runs runs;
  msg_digest hash;
  char last_error[72]; /* the code the last connection ended with */
} seq_session;

typedef struct server {
  config *cfg;
  qwh_loop loop;
  qwh_watch listen;
  bool listen_paused; /* out of descriptors with none in reserve: accepting resumes at the next close */
  qwh_pconn *conns;
  size_t count;
  /* Connections served at most: the open-file limit less the descriptors in use at start and a margin. */
  size_t capacity;
  int reserve_fd; /* /dev/null, given up to accept-and-close a connection when descriptors run out */
  admission adm;
  int kind;
  qwh_replay_cache replay;
  size_t closes;             /* connections closed so far: tells whether a call freed its connection */
  bool busy;                 /* a stream could write more at once: poll without waiting */
  qwh_resume_store sessions; /* feature "resume" (cfg->resume) */
  seq_session *seqs;         /* sequence: the sessions whose closed line is still to come */
  int64_t expect_count;      /* sequence: config.expectCount (default 0) */
} server;

/* A connection of the server: the transport first (a qwh_pconn * is a srv_conn *). */
struct srv_conn {
  qwh_pconn c;
  uint64_t messages, bytes;
  qwh_timer verify_timer; /* verifyDelayMs: when the policy's decision is due */
  qwh_code verdict;
  qwh_addr_key peer;
  bool pending; /* counted by the admission as a handshake in progress */
  /* stream: `block` holds `block_frames` copies of the message's frame (as the session encoded it) */
  qwh_buf block;
  size_t block_frames, frame_len;
  uint64_t stream_left; /* frames still to queue */
  seq_session *seq;     /* sequence: the session it carries (set at the open) */
};

/* Descriptors kept free beyond the capacity (lws' own, a TLS library's, stdio). */
#define FD_MARGIN 16

static void handshake_over(server *srv, srv_conn *sc) {
  if (!sc->pending) return;
  sc->pending = false;
  admission_end(&srv->adm, &sc->peer);
}

/* Step 10 of spec 8.1: config.policy, then trustedKeys (only hellos signed by one of them, QWH-SIG-014). */
static qwh_code policy_decision(const config *cfg, const qwh_hello *h) {
  if (cfg->policy && (strcmp(cfg->policy, "reject") == 0 || strcmp(cfg->policy, "throw") == 0)) return QWH_E_POLICY_REJECTED;
  if (cfg->trusted_keys) {
    if (h->profile != QWH_PROFILE_V1 || h->sig_state != QWH_SIG_PRESENT) return QWH_E_POLICY_REJECTED; /* verified when present */
    for (size_t i = 0; i < cfg->trusted_keys->u.arr.n; i++) {
      const qwh_json *k = cfg->trusted_keys->u.arr.items[i];
      if (k->type == QWH_JSON_STRING && k->u.str.len == h->sig.key.len && memcmp(k->u.str.s, h->sig.key.s, k->u.str.len) == 0)
        return QWH_OK;
    }
    return QWH_E_POLICY_REJECTED;
  }
  return QWH_OK;
}

static qwh_code verify_now(void *user, const qwh_hello *h) {
  qwh_pconn *c = user; /* the session's user is its connection */
  server *srv = c->app;
  return policy_decision(srv->cfg, h);
}

static void verify_due(qwh_timer *t) {
  srv_conn *sc = (srv_conn *)(void *)((char *)t - offsetof(srv_conn, verify_timer));
  qwh_session_verdict(&sc->c.s, sc->verdict);
  qwh_pconn_service(&sc->c);
}

/* verifyDelayMs: the decision is known now but given after the delay (the session waits in VERIFYING). */
static qwh_code verify_later(void *user, const qwh_hello *h) {
  srv_conn *sc = user;
  server *srv = sc->c.app;
  sc->verdict = policy_decision(srv->cfg, h);
  sc->verify_timer.fire = verify_due;
  qwh_timer_set(&srv->loop, &sc->verify_timer, qwh_monotonic_ms() + srv->cfg->verify_delay_ms);
  return QWH_OK;
}

/* Server: a hello's "tls" tags must match the TLS session (spec 8.1 step 8). */
static qwh_code srv_check_tls_tags(void *user, const qwh_json *tags) {
  qwh_pconn *c = user;
  if (!tags || tags->type != QWH_JSON_OBJECT) return QWH_OK;
  const qwh_json *fp = qwh_json_get(tags, "tlsFingerprint256"), *alpn = qwh_json_get(tags, "tlsAlpn");
  if ((fp || alpn) && !c->tls) return QWH_E_TLS_PIN_MISMATCH; /* a TLS claim over plain TCP */
  if (fp) {
    char peer[130];
    if (fp->type != QWH_JSON_STRING || !qwh_tls_peer_fingerprint256(c->tls, peer, sizeof peer) || !fp_equal(fp->u.str.s, peer))
      return QWH_E_TLS_PIN_MISMATCH;
  }
  if (alpn) {
    char got[256];
    if (alpn->type != QWH_JSON_STRING || !qwh_tls_alpn(c->tls, got, sizeof got) || strcmp(got, alpn->u.str.s) != 0)
      return QWH_E_TLS_PIN_MISMATCH;
  }
  return QWH_OK;
}

static qwh_code srv_tls_open(qwh_pconn *c) {
  server *srv = c->app;
  c->s.cfg.transport_tls = true; /* a session begun here resumes only over TLS (QWH-RESUME-015) */
  char fp[130];
  bool have = qwh_tls_peer_fingerprint256(c->tls, fp, sizeof fp);
  if (srv->cfg->pins && srv->cfg->pins->u.arr.n > 0 && (!have || !pins_match(srv->cfg->pins, fp))) return QWH_E_TLS_PIN_MISMATCH;
  if (qwh_tls_export(c->tls, c->tls_exporter, sizeof c->tls_exporter, "EXPORTER-Channel-Binding", 24, NULL, 0, true) == QWH_TLS_OK)
    c->s.cfg.policy.exporter = c->tls_exporter;
  c->s.cfg.policy.check_tls_tags = srv_check_tls_tags;
  c->s.cfg.policy.user = c;
  return QWH_OK;
}

static void send_or_report(qwh_pconn *c, const uint8_t *p, size_t n) {
  qwh_code rc = qwh_pconn_send(c, p, n);
  if (rc == QWH_E_FRAME_TOO_LARGE) { /* this message only (QWH-FRAME-007): the others still go out */
    printf("{\"event\":\"send-error\",\"code\":\"%s\"}\n", qwh_code_name(rc));
    fflush(stdout);
  }
}

/* hello-info: what the application was given about the hello; "tls" tags only when they are checked facts (QWH-TLS-008). */
static void send_hello_info(qwh_pconn *c) {
  const qwh_session *s = &c->s;
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *o = qwh_json_object(&a), *tags = qwh_json_object(&a), *features = qwh_json_array(&a);
  bool bare = s->cfg.profile == QWH_HS_BARE, v1 = !bare && !s->legacy && s->has_hello;
  const qwh_json *ht = s->has_hello ? s->hello.tags : NULL;
  for (size_t i = 0; ht && ht->type == QWH_JSON_OBJECT && i < ht->u.obj.n; i++) {
    const char *k = ht->u.obj.m[i].name.s;
    bool tls = strncmp(k, "tls", 3) == 0;
    if (tls && (!v1 || (strcmp(k, "tlsFingerprint256") != 0 && strcmp(k, "tlsAlpn") != 0))) continue;
    qwh_json_set(&a, tags, k, ht->u.obj.m[i].value);
  }
  for (size_t i = 0; v1 && s->negotiated && i < s->negotiated->u.arr.n; i++) qwh_json_push(&a, features, s->negotiated->u.arr.items[i]);
  const qwh_json *ver = s->has_hello ? s->hello.version : NULL;
  qwh_json_set(&a, o, "profile", qwh_json_cstring(&a, bare ? "bare" : s->legacy ? "legacy" : "v1"));
  qwh_json_set(&a, o, "version", ver ? (qwh_json *)ver : qwh_json_null(&a));
  qwh_json_set(&a, o, "tags", tags);
  qwh_json_set(&a, o, "features", features);
  qwh_json_set(&a, o, "maxFrameLength", qwh_json_int(&a, v1 ? s->hello.max_frame_length : QWH_DEFAULT_MAX_FRAME_LENGTH));
  qwh_json_set(&a, o, "signed", qwh_json_bool(&a, v1 && s->hello.sig_state == QWH_SIG_PRESENT));
  qwh_buf out;
  qwh_buf_init(&out);
  if (qwh_json_write(o, &out) == QWH_JSON_OK) send_or_report(c, out.data, out.len);
  qwh_buf_free(&out);
  qwh_arena_free(&a);
}

static void close_with(server *srv, qwh_pconn *c) {
  qwh_code code = qwh_code_from_name(srv->cfg->close_code, strlen(srv->cfg->close_code));
  qwh_session_close(&c->s, code ? code : QWH_E_NORMAL_CLOSE, NULL);
}

/* stream: the first message goes through the session (checks its size against the peer's limit);
 * the bytes it appended are its frame, copied into the block that every refill queues. */
static void stream_start(server *srv, srv_conn *sc) {
  qwh_pconn *c = &sc->c;
  int64_t count = cfg_int(srv->cfg->root, "pushCount", 1), size = cfg_int(srv->cfg->root, "pushSize", 16);
  if (count <= 0 || size < 0) return;
  qwh_buf m;
  gen_message(&m, 0, (size_t)size);
  size_t before = c->s.out.len;
  qwh_code rc = qwh_pconn_send(c, m.data, m.len);
  qwh_buf_free(&m);
  if (rc != QWH_OK || c->s.out.len <= before) {
    if (rc == QWH_E_FRAME_TOO_LARGE) {
      printf("{\"event\":\"send-error\",\"code\":\"%s\"}\n", qwh_code_name(rc));
      fflush(stdout);
    }
    return;
  }
  sc->frame_len = c->s.out.len - before;
  uint64_t left = (uint64_t)count - 1;
  size_t k = STREAM_BLOCK / sc->frame_len;
  if (k == 0) k = 1;
  if (left < k) k = (size_t)left;
  sc->block_frames = k;
  sc->stream_left = left;
  qwh_buf_init(&sc->block);
  if (k && qwh_buf_reserve(&sc->block, k * sc->frame_len) != 0) {
    sc->stream_left = 0;
    return;
  }
  for (size_t i = 0; i < k; i++) qwh_buf_append(&sc->block, c->s.out.data + before, sc->frame_len);
}

/* Bytes waiting for the socket (a queue that went out entirely is emptied, io/sendq.h). */
static bool stream_queued(const qwh_pconn *c) { return c->s.out.len > 0 || (c->tls && c->tls_out.len > 0); }

/* stream: queues the next block when everything queued went out. False when there is nothing to do. */
static bool stream_fill(srv_conn *sc) {
  qwh_pconn *c = &sc->c;
  if (sc->stream_left == 0 || c->phase != QWH_CONN_OPEN || c->s.finished || c->s.close_sent || c->s.half_close) return false;
  if (stream_queued(c)) return false; /* the socket has not taken the last one yet */
  size_t k = sc->stream_left < sc->block_frames ? (size_t)sc->stream_left : sc->block_frames;
  if (c->s.rs) { /* "resume": the frames are numbered and kept (one copy of the block), within the replay bounds */
    uint64_t room = qwh_resume_room(c->s.rs, sc->frame_len);
    if (room < k) k = (size_t)room;
    if (k == 0 || qwh_resume_record_many(c->s.rs, sc->block.data, sc->frame_len, k) != QWH_OK) return false;
  }
  if (qwh_buf_append(&c->s.out, sc->block.data, k * sc->frame_len) != 0) return false;
  sc->stream_left -= k;
  return true;
}

/* ---- sequence ---- */

static seq_session *seq_find(const server *srv, const uint8_t id[QWH_SESSION_ID_BYTES]) {
  for (seq_session *q = srv->seqs; q; q = q->next)
    if (q->keyed && memcmp(q->id, id, QWH_SESSION_ID_BYTES) == 0) return q;
  return NULL;
}

/* The opened connection carries its session's stream: a resumed session's goes on, a new one starts. */
static void seq_attach(server *srv, srv_conn *sc) {
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
static void seq_end_mark(server *srv, seq_session *q) {
  const msg_list *m = &srv->cfg->messages;
  qwh_pconn *c = q->conn ? &q->conn->c : NULL;
  if (q->end_sent || q->failed || q->next_msg < m->n || (int64_t)q->messages < srv->expect_count || !c || c->phase != QWH_CONN_OPEN ||
      c->s.finished || c->s.close_sent)
    return;
  qwh_buf b;
  gen_numbered(&b, m->n, m->n ? m->items[m->n - 1].len : 4);
  q->end_sent = true;
  send_or_report(c, b.data, b.len);
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

static void seq_service(server *srv, srv_conn *sc) {
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
static void seq_reap(server *srv) {
  for (seq_session *q = srv->seqs, *next; q; q = next) {
    next = q->next;
    if (!q->conn && (!q->keyed || !stored(srv, q->id))) seq_closed(srv, q);
  }
}

static void srv_open(qwh_pconn *c) {
  server *srv = c->app;
  handshake_over(srv, (srv_conn *)c);
  if (srv->kind == SC_SEQUENCE) {
    seq_attach(srv, (srv_conn *)c);
    return;
  }
  if (c->s.resumed) return; /* a resumed session continues: what the scenario does on a new one was done */
  for (size_t i = 0; i < srv->cfg->messages.n; i++) send_or_report(c, srv->cfg->messages.items[i].data, srv->cfg->messages.items[i].len);
  if (srv->kind == SC_CLOSE_AFTER && srv->cfg->close_after == 0) close_with(srv, c);
  if (srv->kind == SC_PUSH) {
    int64_t count = cfg_int(srv->cfg->root, "pushCount", 1), size = cfg_int(srv->cfg->root, "pushSize", 16);
    for (int64_t i = 0; i < count && size >= 0; i++) {
      qwh_buf m;
      gen_message(&m, (size_t)i, (size_t)size);
      send_or_report(c, m.data, m.len);
      qwh_buf_free(&m);
    }
  } else if (srv->kind == SC_STREAM) {
    stream_start(srv, (srv_conn *)c);
  } else if (srv->kind == SC_HELLO_INFO) {
    send_hello_info(c);
  } else if (srv->kind == SC_BROADCAST) {
    size_t open = 0;
    for (qwh_pconn *o = srv->conns; o; o = o->next) open += o->phase == QWH_CONN_OPEN && !o->s.finished;
    if ((int64_t)open == cfg_int(srv->cfg->root, "groupSize", 2))
      for (qwh_pconn *o = srv->conns; o; o = o->next) qwh_pconn_send(o, (const uint8_t *)"go", 2);
  }
}

static void srv_message(qwh_pconn *c, const uint8_t *p, size_t n) {
  server *srv = c->app;
  srv_conn *st = (srv_conn *)c;
  st->messages++;
  st->bytes += n;
  switch (srv->kind) {
    case SC_ECHO:
    case SC_PUSH:
    case SC_HELLO_INFO:
      qwh_pconn_send(c, p, n);
      break;
    case SC_BROADCAST:
      for (qwh_pconn *o = srv->conns; o; o = o->next) qwh_pconn_send(o, p, n);
      break;
    case SC_CLOSE_AFTER:
      qwh_pconn_send(c, p, n);
      if ((int64_t)st->messages == srv->cfg->close_after) close_with(srv, c);
      break;
    case SC_SEQUENCE:
      if (st->seq) {
        seq_session *q = st->seq;
        q->messages++;
        q->bytes += n;
        runs_take(&q->runs, p, n);
        digest_message(&q->hash, p, n, srv->cfg->raw);
        seq_end_mark(srv, q);
      }
      break;
    default:
      break;
  }
}

static void srv_conn_free(server *srv, srv_conn *sc) {
  handshake_over(srv, sc);
  qwh_timer_cancel(&srv->loop, &sc->verify_timer);
  qwh_pconn_free(&sc->c);
  qwh_buf_free(&sc->block);
  free(sc);
}

/* "resume": a connection without CLOSE keeps its session for the window (QWH-RESUME-011); a CLOSE,
 * sent or received, ends it (QWH-RESUME-013). */
static void release_session(server *srv, qwh_pconn *c) {
  qwh_resume_entry *e = c->s.resume_entry;
  if (!e) return;
  c->s.resume_entry = NULL;
  c->s.rs = NULL;
  if (e->conn != &c->s) return;                                          /* taken over by another connection */
  if (qwh_session_resume_over(&c->s) || (!c->opened && !c->s.resumed)) { /* a new session whose connection never opened ends too */
    e->conn = NULL;
    qwh_resume_store_end(&srv->sessions, e);
  } else {
    qwh_resume_store_detach(&srv->sessions, e, qwh_monotonic_ms());
  }
}

/* Another connection resumes the session of `e`: its connection closes without CLOSE (QWH-RESUME-017). */
static void srv_take_over(void *user, qwh_resume_entry *e) {
  (void)user;
  qwh_pconn *old = (qwh_pconn *)(void *)((char *)e->conn - offsetof(qwh_pconn, s));
  e->conn = NULL;
  qwh_pconn_abort(old);
}

/* ACKs for frames delivered ackDelayMs ago and not yet covered by a count (QWH-ACK-006). */
static void ack_due(server *srv, qwh_pconn *c, int64_t now) {
  const qwh_resume_state *rs = c->s.rs;
  if (rs && qwh_resume_ack_pending(rs) && rs->unreported_since >= 0 && now - rs->unreported_since >= srv->cfg->ack_delay_ms)
    qwh_session_ack(&c->s);
}

static void srv_closed(qwh_pconn *c) {
  server *srv = c->app;
  srv_conn *st = (srv_conn *)c;
  release_session(srv, c);
  char line[256];
  const char *err = c->s.error ? c->s.error_name : NULL;
  bool rejected = !c->opened && c->s.error && c->s.error != QWH_E_SOCKET;
  if (rejected) printf("{\"event\":\"rejected\",\"code\":\"%s\"}\n", c->s.error_name);
  seq_session *q = st->seq;
  if (q && q->conn == st) { /* not already taken over by the connection that resumed the session */
    q->conn = NULL;
    snprintf(q->last_error, sizeof q->last_error, "%s", err ? err : "");
  }
  if (srv->kind != SC_SEQUENCE || (!q && rejected)) { /* sequence: one closed line per session (below), a refusal's own */
    snprintf(line, sizeof line, "{\"event\":\"closed\",\"messages\":%llu,\"bytes\":%llu,\"error\":%s%s%s}",
             (unsigned long long)st->messages, (unsigned long long)st->bytes, err ? "\"" : "", err ? err : "null", err ? "\"" : "");
    puts(line);
  }
  fflush(stdout);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->count--;
  srv->closes++;
  srv_conn_free(srv, st);
  if (q) seq_reap(srv);
  if (srv->listen_paused && qwh_loop_watch(&srv->loop, &srv->listen, EPOLLIN, 0) == 0) srv->listen_paused = false;
}

/* Out of descriptors (EMFILE/ENFILE): the pending connection is taken with the reserve descriptor
 * and closed at once (else the listener stays readable and the loop spins). Returns false when
 * accepting must stop for now. */
static bool shed_one(server *srv) {
  if (srv->reserve_fd < 0) {
    /* no reserve: stop watching the listener until a connection closes */
    if (qwh_loop_watch(&srv->loop, &srv->listen, 0, 0) == 0) srv->listen_paused = true;
    return false;
  }
  close(srv->reserve_fd);
  int fd = accept4(srv->listen.fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    printf("{\"event\":\"rejected\",\"code\":\"E_MAX_CLIENTS\"}\n");
    fflush(stdout);
  }
  srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

static void srv_accept(qwh_watch *w, uint32_t events) {
  (void)events;
  server *srv = (server *)(void *)((char *)w - offsetof(server, listen));
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if ((errno == EMFILE || errno == ENFILE) && shed_one(srv)) continue;
      return;
    }
    srv_conn *sc = calloc(1, sizeof *sc);
    if (!sc) {
      close(fd);
      continue;
    }
    qwh_pconn *c = &sc->c;
    sc->peer = addr_key_of(&ss);
    qwh_session_config cfg = srv->cfg->sc;
    cfg.policy.now_ms = qwh_wall_ms();
    cfg.policy.replay_cache = &srv->replay;
    bool hook = srv->cfg->policy || srv->cfg->trusted_keys;
    if (srv->cfg->verify_delay_ms > 0) {
      cfg.verify = verify_later;
      cfg.verify_async = true;
    } else if (hook) {
      cfg.verify = verify_now;
    }
    cfg.policy.check_tls_tags = srv_check_tls_tags; /* spec 8.1 step 8, with or without TLS */
    if (srv->cfg->resume) {
      cfg.resume_store = &srv->sessions;
      cfg.clock_ms = qwh_monotonic_ms;
    }
    cfg.policy.user = c;
    qwh_pconn_handlers h = {srv_open, srv_message, NULL, srv_closed};
    if (qwh_pconn_start(c, &srv->loop, fd, false, &cfg, &srv->cfg->lim, &h, srv) != 0) { /* fd closed */
      free(sc);
      continue;
    }
    c->on_tls_open = srv_tls_open;
    if (tls_attach(srv->cfg, c, true) != 0) {
      srv_conn_free(srv, sc);
      continue;
    }
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->count++;
    /* Admission before reading a byte (spec 13.1): capacity, pending handshakes in all and from
     * this address (so one address cannot hold every slot), then the policy. */
    const config *k = srv->cfg;
    if ((k->max_clients >= 0 && (int64_t)srv->count > k->max_clients) || srv->count > srv->capacity)
      qwh_pconn_refuse(c, QWH_E_MAX_CLIENTS);
    else if (k->max_pending >= 0 && (int64_t)srv->adm.pending + 1 > k->max_pending)
      qwh_pconn_refuse(c, QWH_E_MAX_PENDING_HANDSHAKES);
    else if ((int64_t)admission_pending_from(&srv->adm, &sc->peer) >= k->max_pending_per_address)
      qwh_pconn_refuse(c, QWH_E_MAX_PENDING_HANDSHAKES);
    else if (!k->allow_connection)
      qwh_pconn_refuse(c, QWH_E_POLICY_REJECTED);
    else if (admission_begin(&srv->adm, &sc->peer) != 0)
      qwh_pconn_refuse(c, QWH_E_MAX_CLIENTS);
    else {
      sc->pending = true;
      qwh_pconn_begin(c); /* a bare session opens now (with TLS: once TLS is up) */
    }
  }
}

typedef struct stdin_watch {
  qwh_watch w;
  bool eof;
} stdin_watch;

static void on_stdin(qwh_watch *w, uint32_t events) {
  (void)events;
  stdin_watch *s = (stdin_watch *)w;
  char b[512];
  ssize_t r = read(w->fd, b, sizeof b);
  if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) s->eof = true;
}

/* stream: refills and writes while the socket takes everything; the socket full, the connection
 * waits for writability (its queue is not empty). Still empty after the last round: busy. */
static void stream_service(server *srv, srv_conn *sc) {
  for (int i = 0; i < STREAM_ROUNDS; i++) {
    bool filled = stream_fill(sc);
    size_t closes = srv->closes;
    qwh_pconn_service(&sc->c); /* may close and free sc */
    if (srv->closes != closes || !filled || stream_queued(&sc->c)) return;
  }
  if (sc->stream_left > 0) srv->busy = true;
}

static void service_all(server *srv) {
  srv->busy = false;
  int64_t now = srv->cfg->resume ? qwh_monotonic_ms() : 0;
  if (srv->cfg->resume) qwh_resume_store_expire(&srv->sessions, now); /* QWH-RESUME-022 */
  if (srv->seqs) seq_reap(srv);
  for (qwh_pconn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    if (srv->cfg->resume) ack_due(srv, c, now);
    if (c->s.finished) handshake_over(srv, (srv_conn *)c); /* failed or refused: no longer pending */
    if (srv->kind == SC_STREAM)
      stream_service(srv, (srv_conn *)c);
    else if (srv->kind == SC_SEQUENCE)
      seq_service(srv, (srv_conn *)c);
    else
      qwh_pconn_service(c);
  }
}

int run_serve(config *cfg, const char *host, uint16_t port) {
  server srv;
  memset(&srv, 0, sizeof srv);
  srv.cfg = cfg;
  srv.kind = -1;
  const char *scenario = cfg->scenario ? cfg->scenario : "echo";
  for (int i = 0; i < (int)(sizeof scenario_names / sizeof *scenario_names); i++)
    if (strcmp(scenario, scenario_names[i]) == 0) srv.kind = i;
  if (srv.kind < 0) {
    fprintf(stderr, "qwh-native: unsupported server scenario %s\n", scenario);
    return UNSUPPORTED;
  }
  srv.expect_count = cfg_int(cfg->root, "expectCount", 0);
  if (cli_loop_init(&srv.loop)) return 2;
  qwh_resume_store_init(&srv.sessions, &cfg->resume_limits, (uint64_t)cfg->resume_window_ms, (uint64_t)cfg->max_sessions);
  srv.sessions.take_over = srv_take_over;
  srv.sessions.user = &srv;
  if (admission_init(&srv.adm) != 0) {
    qwh_loop_free(&srv.loop);
    return 2;
  }
  if (qwh_replay_cache_init(&srv.replay, cfg->sc.policy.signature_window_ms, (size_t)cfg->replay_cache_max_entries)) {
    admission_free(&srv.adm);
    qwh_loop_free(&srv.loop);
    return 2;
  }
  uint16_t bound = 0;
  srv.listen.fd = qwh_listen_tcp(host, port, &bound);
  srv.listen.on_io = srv_accept;
  if (srv.listen.fd < 0 || qwh_loop_watch(&srv.loop, &srv.listen, EPOLLIN, 1) != 0) {
    fprintf(stderr, "qwh-native: cannot listen on %s:%u: %s\n", host, port, strerror(errno));
    qwh_loop_free(&srv.loop);
    qwh_replay_cache_free(&srv.replay);
    admission_free(&srv.adm);
    return 2;
  }
  /* The reserve descriptor's number tells how many are in use now (the lowest free one is taken). */
  srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct rlimit rl;
  size_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (size_t)rl.rlim_cur : (size_t)1 << 20;
  size_t in_use = (size_t)(srv.reserve_fd >= 0 ? srv.reserve_fd + 1 : 16) + 1; /* + stdin's watch under lws */
  srv.capacity = limit > in_use + FD_MARGIN ? limit - in_use - FD_MARGIN : 1;
  stdin_watch in = {{0, on_stdin, NULL, 0}, false};
  bool watch_stdin = qwh_loop_watch(&srv.loop, &in.w, EPOLLIN, 1) == 0; /* stdin's end stops the server, as for the ts adapter */
  printf("{\"ready\":true,\"port\":%u}\n", bound);
  fflush(stdout);
  while (!g_cli.stop && !in.eof) {
    if (qwh_loop_poll(&srv.loop, srv.busy ? 0 : cfg->resume ? 20 : 200) < 0) break;
    service_all(&srv);
  }
  /* Shutdown: a graceful close for a moment, then everything is freed. */
  for (qwh_pconn *c = srv.conns; c; c = c->next) qwh_session_close(&c->s, QWH_E_GOING_AWAY, NULL);
  int64_t end = qwh_monotonic_ms() + 500;
  while (srv.conns && qwh_monotonic_ms() < end) {
    service_all(&srv);
    if (srv.conns) qwh_loop_poll(&srv.loop, 20);
  }
  while (srv.conns) {
    qwh_pconn *c = srv.conns;
    srv.conns = c->next;
    srv_conn_free(&srv, (srv_conn *)c);
  }
  while (srv.seqs) { /* sessions still open or resumable at the end: no line */
    seq_session *q = srv.seqs;
    srv.seqs = q->next;
    char sha[65];
    digest_finish(&q->hash, sha);
    runs_free(&q->runs);
    free(q);
  }
  if (watch_stdin) qwh_loop_close_fd(&srv.loop, &in.w);
  qwh_loop_close_fd(&srv.loop, &srv.listen);
  qwh_loop_free(&srv.loop);
  qwh_replay_cache_free(&srv.replay);
  admission_free(&srv.adm);
  qwh_resume_store_free(&srv.sessions);
  if (srv.reserve_fd >= 0) close(srv.reserve_fd);
  return 0;
}
