/*
 * qwh-native serve: what each scenario does when a connection opens and when a message arrives
 * (echo, sink, close-after, push-on-connect, broadcast, hello-info, stream; sequence hands over to
 * serve_sequence.c), and the stream scenario's refills from its prebuilt block of frames.
 */
#include <stdio.h>
#include <string.h>

#include "serve.h"

/* stream: the bytes queued per refill, at least one frame. */
#define STREAM_BLOCK (256u * 1024u)

void serve_send_or_report(qwh_pconn *c, const uint8_t *p, size_t n) {
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
  if (qwh_json_write(o, &out) == QWH_JSON_OK) serve_send_or_report(c, out.data, out.len);
  qwh_buf_free(&out);
  qwh_arena_free(&a);
}

static void close_with(server *srv, qwh_pconn *c) {
  qwh_code code = qwh_code_from_name(srv->cfg->close_code, strlen(srv->cfg->close_code));
  qwh_session_close(&c->s, code ? code : QWH_E_NORMAL_CLOSE, NULL);
}

/* stream: the first message goes through the session (checks its size against the peer's limit);
 * its frame, encoded alike, fills the block that every refill queues. */
static void stream_start(server *srv, srv_conn *sc) {
  qwh_pconn *c = &sc->c;
  int64_t count = cfg_int(srv->cfg->root, "pushCount", 1), size = cfg_int(srv->cfg->root, "pushSize", 16);
  if (count <= 0 || size < 0) return;
  qwh_buf m, frame;
  gen_message(&m, 0, (size_t)size);
  qwh_buf_init(&frame);
  qwh_code rc = qwh_pconn_send(c, m.data, m.len);
  if (rc == QWH_OK) rc = qwh_encoder_data(&c->s.enc, &frame, m.data, m.len);
  qwh_buf_free(&m);
  if (rc != QWH_OK || frame.len == 0) {
    if (rc == QWH_E_FRAME_TOO_LARGE) {
      printf("{\"event\":\"send-error\",\"code\":\"%s\"}\n", qwh_code_name(rc));
      fflush(stdout);
    }
    qwh_buf_free(&frame);
    return;
  }
  sc->frame_len = frame.len;
  uint64_t left = (uint64_t)count - 1;
  size_t k = STREAM_BLOCK / sc->frame_len;
  if (k == 0) k = 1;
  if (left < k) k = (size_t)left;
  sc->block_frames = k;
  sc->stream_left = left;
  qwh_buf_init(&sc->block);
  if (k && qwh_buf_reserve(&sc->block, k * sc->frame_len) != 0) sc->stream_left = 0;
  for (size_t i = 0; sc->stream_left && i < k; i++) qwh_buf_append(&sc->block, frame.data, sc->frame_len);
  qwh_buf_free(&frame);
}

/* Bytes waiting for the socket (a queue that went out entirely is emptied, io/sendq.h). */
static bool stream_queued(const qwh_pconn *c) { return queued_bytes(c) > 0; }

/* stream: queues the next block when everything queued went out. False when there is nothing to do. */
static bool stream_fill(srv_conn *sc) {
  qwh_pconn *c = &sc->c;
  if (sc->stream_left == 0 || c->phase != QWH_CONN_OPEN || c->s.finished || c->s.close_sent || c->s.half_close) return false;
  if (stream_queued(c)) return false; /* the socket has not taken the last one yet */
  size_t k = sc->stream_left < sc->block_frames ? (size_t)sc->stream_left : sc->block_frames;
  if (c->s.rs) { /* "resume": the frames are numbered and kept (one copy of the block, written from there), within the replay bounds */
    uint64_t room = qwh_resume_room(c->s.rs, sc->frame_len);
    if (room < k) k = (size_t)room;
    if (k == 0 || qwh_resume_send_many(c->s.rs, &c->s.out, sc->block.data, sc->frame_len, k) != QWH_OK) return false;
  } else if (qwh_buf_append(&c->s.out, sc->block.data, k * sc->frame_len) != 0) {
    return false;
  }
  sc->stream_left -= k;
  return true;
}

void serve_on_open(qwh_pconn *c) {
  server *srv = c->app;
  serve_handshake_over(srv, (srv_conn *)c);
  if (srv->kind == SC_SEQUENCE) {
    seq_attach(srv, (srv_conn *)c);
    return;
  }
  if (c->s.resumed) return; /* a resumed session continues: what the scenario does on a new one was done */
  for (size_t i = 0; i < srv->cfg->messages.n; i++)
    serve_send_or_report(c, srv->cfg->messages.items[i].data, srv->cfg->messages.items[i].len);
  if (srv->kind == SC_CLOSE_AFTER && srv->cfg->close_after == 0) close_with(srv, c);
  if (srv->kind == SC_PUSH) {
    int64_t count = cfg_int(srv->cfg->root, "pushCount", 1), size = cfg_int(srv->cfg->root, "pushSize", 16);
    for (int64_t i = 0; i < count && size >= 0; i++) {
      qwh_buf m;
      gen_message(&m, (size_t)i, (size_t)size);
      serve_send_or_report(c, m.data, m.len);
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

void serve_on_message(qwh_pconn *c, const uint8_t *p, size_t n) {
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

/* stream: refills and writes while the socket takes everything; the socket full, the connection
 * waits for writability (its queue is not empty). Still empty after the last round: busy. */
void serve_stream_service(server *srv, srv_conn *sc) {
  for (int i = 0; i < STREAM_ROUNDS; i++) {
    bool filled = stream_fill(sc);
    size_t closes = srv->closes;
    qwh_pconn_service(&sc->c); /* may close and free sc */
    if (srv->closes != closes || !filled || stream_queued(&sc->c)) return;
  }
  if (sc->stream_left > 0) srv->busy = true;
}
