/*
 * Feature "resume" (spec 10.7) without I/O (resume.h): the ACK frame, the hello and accept members
 * "resume" and the client's check of an accept, the token compare, and one side's counts with its
 * replay ring. The sessions a server holds are in resume_store.c.
 */
#include "resume.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "signature.h"

/* ---- ACK ---- */

qwh_code qwh_ack_parse(const uint8_t *body, size_t len, bool *request, uint64_t *count) {
  if (len != QWH_ACK_BODY_LENGTH) return QWH_E_INVALID_CONTROL_FRAME;
  uint64_t c = ((uint64_t)qwh_get_u32be(body + 1) << 32) | qwh_get_u32be(body + 5);
  if (c > (uint64_t)QWH_MAX_SAFE_INTEGER) return QWH_E_INVALID_CONTROL_FRAME;
  *request = (body[0] & QWH_ACK_REQUEST_BIT) != 0; /* bits 1-7 ignored (QWH-ACK-002) */
  *count = c;
  return QWH_OK;
}

qwh_code qwh_encode_ack(qwh_buf *out, bool request, uint64_t count) {
  uint8_t f[QWH_ACK_FRAME_LENGTH];
  qwh_put_u32be(f, QWH_CONTROL_BIT | (1u + QWH_ACK_BODY_LENGTH));
  f[4] = QWH_CTRL_ACK;
  f[5] = request ? QWH_ACK_REQUEST_BIT : 0;
  qwh_put_u32be(f + 6, (uint32_t)(count >> 32));
  qwh_put_u32be(f + 10, (uint32_t)count);
  return qwh_buf_append(out, f, sizeof f) ? QWH_E_INTERNAL : QWH_OK;
}

/* ---- members ---- */

static bool int_in(const qwh_json *v, int64_t min, int64_t max, uint64_t *out) {
  if (!v || v->type != QWH_JSON_INT || v->u.i < min || v->u.i > max) return false;
  *out = (uint64_t)v->u.i;
  return true;
}

static bool b64_exact(const qwh_json *v, uint8_t *out, size_t n) {
  uint8_t tmp[QWH_SESSION_TOKEN_BYTES];
  size_t got = 0;
  if (!v || v->type != QWH_JSON_STRING || n > sizeof tmp) return false;
  if (!qwh_b64url_decode(v->u.str.s, v->u.str.len, tmp, sizeof tmp, &got) || got != n) return false;
  memcpy(out, tmp, n);
  return true;
}

static bool limits_of(const qwh_json *v, qwh_resume_limits *l) {
  return int_in(qwh_json_get(v, "maxUnackedMessages"), 1, QWH_MAX_UNACKED_MESSAGES_LIMIT, &l->max_messages) &&
         int_in(qwh_json_get(v, "maxUnackedBytes"), 1, QWH_MAX_SAFE_INTEGER, &l->max_bytes);
}

bool qwh_hello_resume_parse(const qwh_json *v, qwh_hello_resume *out) {
  memset(out, 0, sizeof *out);
  if (!v || v->type != QWH_JSON_OBJECT || !limits_of(v, &out->limits)) return false;
  const qwh_json *id = qwh_json_get(v, "id"), *token = qwh_json_get(v, "token"), *received = qwh_json_get(v, "received");
  int named = (id != NULL) + (token != NULL) + (received != NULL);
  if (named == 0) return true;
  if (named != 3) return false;
  if (!b64_exact(id, out->id, QWH_SESSION_ID_BYTES) || !b64_exact(token, out->token, QWH_SESSION_TOKEN_BYTES) ||
      !int_in(received, 0, QWH_MAX_SAFE_INTEGER, &out->received))
    return false;
  out->named = true;
  return true;
}

bool qwh_accept_resume_parse(const qwh_json *v, qwh_accept_resume *out) {
  memset(out, 0, sizeof *out);
  if (!v || v->type != QWH_JSON_OBJECT || !limits_of(v, &out->limits)) return false;
  const qwh_json *resumed = qwh_json_get(v, "resumed");
  if (!b64_exact(qwh_json_get(v, "id"), out->id, QWH_SESSION_ID_BYTES) ||
      !b64_exact(qwh_json_get(v, "token"), out->token, QWH_SESSION_TOKEN_BYTES) ||
      !int_in(qwh_json_get(v, "windowMs"), 0, QWH_MAX_SAFE_INTEGER, &out->window_ms) ||
      !int_in(qwh_json_get(v, "received"), 0, QWH_MAX_SAFE_INTEGER, &out->received) || !resumed || resumed->type != QWH_JSON_BOOL)
    return false;
  out->resumed = resumed->u.b;
  return true;
}

static qwh_json *b64_json(qwh_arena *a, const uint8_t *bytes, size_t n) {
  qwh_buf b;
  qwh_buf_init(&b);
  qwh_json *v = qwh_b64url_encode(bytes, n, &b) == 0 ? qwh_json_string(a, (const char *)b.data, b.len) : NULL;
  qwh_buf_free(&b);
  return v;
}

static int set_limits(qwh_arena *a, qwh_json *o, const qwh_resume_limits *l) {
  return qwh_json_set(a, o, "maxUnackedMessages", qwh_json_int(a, (int64_t)l->max_messages)) ||
         qwh_json_set(a, o, "maxUnackedBytes", qwh_json_int(a, (int64_t)l->max_bytes));
}

qwh_json *qwh_hello_resume_build(qwh_arena *a, const qwh_hello_resume *r) {
  qwh_json *o = qwh_json_object(a);
  if (!o || set_limits(a, o, &r->limits)) return NULL;
  if (r->named &&
      (qwh_json_set(a, o, "id", b64_json(a, r->id, sizeof r->id)) || qwh_json_set(a, o, "token", b64_json(a, r->token, sizeof r->token)) ||
       qwh_json_set(a, o, "received", qwh_json_int(a, (int64_t)r->received))))
    return NULL;
  return o;
}

qwh_json *qwh_accept_resume_build(qwh_arena *a, const qwh_accept_resume *r) {
  qwh_json *o = qwh_json_object(a);
  if (!o || qwh_json_set(a, o, "id", b64_json(a, r->id, sizeof r->id)) ||
      qwh_json_set(a, o, "token", b64_json(a, r->token, sizeof r->token)) ||
      qwh_json_set(a, o, "windowMs", qwh_json_int(a, (int64_t)r->window_ms)) || set_limits(a, o, &r->limits) ||
      qwh_json_set(a, o, "received", qwh_json_int(a, (int64_t)r->received)) || qwh_json_set(a, o, "resumed", qwh_json_bool(a, r->resumed)))
    return NULL;
  return o;
}

qwh_code qwh_accept_resume_check(const qwh_json *member, bool control, uint32_t max_frame_length, const qwh_named_session *named,
                                 qwh_accept_resume *out) {
  if (!qwh_accept_resume_parse(member, out)) return QWH_E_INVALID_HANDSHAKE;
  if (!control) return QWH_E_PROTOCOL_ERROR;
  if (out->resumed != (named != NULL)) return QWH_E_PROTOCOL_ERROR;
  if (!named) return QWH_OK;
  if (memcmp(out->id, named->id, sizeof out->id) != 0) return QWH_E_PROTOCOL_ERROR;
  if (out->received < named->server_reported || out->received > named->sent) return QWH_E_RESUME_MISMATCH;
  if (max_frame_length < named->max_frame_length) return QWH_E_RESUME_MISMATCH;
  return QWH_OK;
}

qwh_json *qwh_features_without_resume(qwh_arena *a, const qwh_json *features) {
  qwh_json *f = qwh_json_array(a);
  for (size_t i = 0; f && features && i < features->u.arr.n; i++)
    if (!qwh_json_is_string(features->u.arr.items[i], "resume") && qwh_json_push(a, f, features->u.arr.items[i])) return NULL;
  return f;
}

bool qwh_token_equal(const uint8_t a[QWH_SESSION_TOKEN_BYTES], const uint8_t b[QWH_SESSION_TOKEN_BYTES]) {
  return CRYPTO_memcmp(a, b, QWH_SESSION_TOKEN_BYTES) == 0;
}

/* ---- one side ---- */

void qwh_resume_init(qwh_resume_state *st, const qwh_resume_limits *own, const qwh_resume_limits *peer) {
  memset(st, 0, sizeof *st);
  st->own = *own;
  st->peer = *peer;
  st->unreported_since = -1;
  qwh_buf_init(&st->held);
}

void qwh_resume_free(qwh_resume_state *st) {
  free(st->replay);
  st->replay = NULL;
  st->replay_cap = st->replay_head = st->replay_len = 0;
  qwh_buf_free(&st->held);
  free(st->lens);
  st->lens = NULL;
  st->ring_cap = 0;
}

bool qwh_resume_can_send(const qwh_resume_state *st, size_t payload_len) {
  uint64_t n = st->sent - st->peer_received;
  if (n == 0) return true;
  return n < st->own.max_messages && qwh_resume_replay_bytes(st) + QWH_FRAME_HEADER + (uint64_t)payload_len <= st->own.max_bytes;
}

/* Copies the kept bytes [from, from + n) of the byte ring to dst (two pieces across its end). */
static void replay_copy(const qwh_resume_state *st, size_t from, size_t n, uint8_t *dst) {
  size_t at = (st->replay_head + from) & (st->replay_cap - 1), first = st->replay_cap - at < n ? st->replay_cap - at : n;
  memcpy(dst, st->replay + at, first);
  memcpy(dst + first, st->replay, n - first);
}

/* Appends n bytes to the byte ring, growing it (a power of 2, the kept bytes moved to its start) when full. */
static int replay_append(qwh_resume_state *st, const uint8_t *p, size_t n) {
  if (n == 0) return 0;
  if (st->replay_cap - st->replay_len < n) {
    size_t cap = st->replay_cap ? st->replay_cap : 4096;
    while (cap - st->replay_len < n) {
      if (cap > SIZE_MAX / 2) return -1;
      cap *= 2;
    }
    uint8_t *b = malloc(cap);
    if (!b) return -1;
    if (st->replay_len) replay_copy(st, 0, st->replay_len, b);
    free(st->replay);
    st->replay = b;
    st->replay_cap = cap;
    st->replay_head = 0;
  }
  size_t at = (st->replay_head + st->replay_len) & (st->replay_cap - 1), first = st->replay_cap - at < n ? st->replay_cap - at : n;
  memcpy(st->replay + at, p, first);
  memcpy(st->replay, p + first, n - first);
  st->replay_len += n;
  return 0;
}

static int ring_grow(qwh_resume_state *st) {
  size_t cap = st->ring_cap ? st->ring_cap * 2 : 16;
  uint32_t *lens = malloc(cap * sizeof *lens);
  if (!lens) return -1;
  size_t n = (size_t)(st->sent - st->peer_received);
  for (size_t i = 0; i < n; i++) lens[i] = st->lens[(st->ring_head + i) & (st->ring_cap - 1)];
  free(st->lens);
  st->lens = lens;
  st->ring_cap = cap;
  st->ring_head = 0;
  return 0;
}

qwh_code qwh_resume_record(qwh_resume_state *st, const uint8_t *frame, size_t len) {
  size_t n = (size_t)(st->sent - st->peer_received);
  if (len > UINT32_MAX || (n == st->ring_cap && ring_grow(st) != 0)) return QWH_E_INTERNAL;
  if (replay_append(st, frame, len) != 0) return QWH_E_INTERNAL;
  st->lens[(st->ring_head + n) & (st->ring_cap - 1)] = (uint32_t)len;
  st->sent++;
  return QWH_OK;
}

uint64_t qwh_resume_room(const qwh_resume_state *st, size_t frame_len) {
  if (st->held_count > 0) return 0;
  uint64_t n = st->sent - st->peer_received, bytes = qwh_resume_replay_bytes(st);
  if (n == 0 && (frame_len == 0 || frame_len > st->own.max_bytes)) return 1; /* one frame alone may exceed the bound */
  if (n >= st->own.max_messages || bytes >= st->own.max_bytes) return 0;
  uint64_t by_bytes = frame_len ? (st->own.max_bytes - bytes) / frame_len : UINT64_MAX;
  uint64_t by_count = st->own.max_messages - n;
  return by_bytes < by_count ? by_bytes : by_count;
}

qwh_code qwh_resume_record_many(qwh_resume_state *st, const uint8_t *frames, size_t frame_len, size_t n) {
  if (frame_len > UINT32_MAX) return QWH_E_INTERNAL;
  while ((size_t)(st->sent - st->peer_received) + n > st->ring_cap)
    if (ring_grow(st) != 0) return QWH_E_INTERNAL;
  if (n && replay_append(st, frames, frame_len * n) != 0) return QWH_E_INTERNAL;
  for (size_t i = 0; i < n; i++) {
    st->lens[(st->ring_head + (size_t)(st->sent - st->peer_received)) & (st->ring_cap - 1)] = (uint32_t)frame_len;
    st->sent++;
  }
  return QWH_OK;
}

/* The last `len` kept bytes were just recorded: written from the ring when nothing waits in `out`
 * or unsent ring bytes wait already (they go first), else after what `out` holds. */
static qwh_code queue_recorded(qwh_resume_state *st, qwh_buf *out, size_t len) {
  if (st->unsent > 0 || out->len == 0) {
    st->unsent += len;
    return QWH_OK;
  }
  if (qwh_buf_reserve(out, len) != 0) return QWH_E_INTERNAL;
  replay_copy(st, st->replay_len - len, len, out->data + out->len);
  out->len += len;
  return QWH_OK;
}

/* Records one encoded data frame and queues it. */
static qwh_code emit(qwh_resume_state *st, qwh_buf *out, const uint8_t *frame, size_t len) {
  qwh_code rc = qwh_resume_record(st, frame, len);
  return rc ? rc : queue_recorded(st, out, len);
}

qwh_code qwh_resume_send_many(qwh_resume_state *st, qwh_buf *out, const uint8_t *frames, size_t frame_len, size_t n) {
  qwh_code rc = qwh_resume_record_many(st, frames, frame_len, n);
  return rc ? rc : queue_recorded(st, out, frame_len * n);
}

size_t qwh_resume_unsent(const qwh_resume_state *st, const uint8_t **p1, size_t *n1, const uint8_t **p2, size_t *n2) {
  *p1 = *p2 = st->replay;
  *n1 = *n2 = 0;
  if (st->unsent == 0) return 0;
  size_t at = (st->replay_head + st->replay_len - st->unsent) & (st->replay_cap - 1);
  *p1 = st->replay + at;
  *n1 = st->replay_cap - at < st->unsent ? st->replay_cap - at : st->unsent;
  *n2 = st->unsent - *n1;
  return st->unsent;
}

qwh_code qwh_resume_send(qwh_resume_state *st, qwh_buf *out, const uint8_t *payload, size_t len, bool *held) {
  uint8_t h[4];
  if (len > QWH_MAX_FRAME_LENGTH_LIMIT) return QWH_E_FRAME_TOO_LARGE;
  qwh_put_u32be(h, (uint32_t)len);
  bool hold = st->held_count > 0 || !qwh_resume_can_send(st, len);
  if (held) *held = hold;
  if (hold) {
    if (qwh_buf_append(&st->held, h, 4) || qwh_buf_append(&st->held, payload, len)) return QWH_E_INTERNAL;
    st->held_count++;
    return QWH_OK;
  }
  size_t n = (size_t)(st->sent - st->peer_received);
  if (n == st->ring_cap && ring_grow(st) != 0) return QWH_E_INTERNAL;
  if (replay_append(st, h, 4) != 0) return QWH_E_INTERNAL;
  if (replay_append(st, payload, len) != 0) {
    st->replay_len -= 4; /* recorded whole or not at all */
    return QWH_E_INTERNAL;
  }
  st->lens[(st->ring_head + n) & (st->ring_cap - 1)] = (uint32_t)(4 + len);
  st->sent++;
  return queue_recorded(st, out, 4 + len);
}

size_t qwh_resume_release(qwh_resume_state *st, qwh_buf *out) {
  size_t n = 0;
  while (st->held_count > 0) {
    const uint8_t *f = st->held.data + st->held_off;
    size_t plen = qwh_get_u32be(f);
    if (!qwh_resume_can_send(st, plen) || emit(st, out, f, 4 + plen) != QWH_OK) break;
    st->held_off += 4 + plen;
    st->held_count--;
    n++;
  }
  if (st->held_count == 0) {
    st->held.len = 0;
    st->held_off = 0;
  } else if (st->held_off > st->held.len / 2) {
    qwh_buf_consume(&st->held, st->held_off);
    st->held_off = 0;
  }
  return n;
}

qwh_code qwh_resume_acknowledge(qwh_resume_state *st, uint64_t count, qwh_code code) {
  if (count < st->peer_received || count > st->sent) return code;
  uint64_t drop = count - st->peer_received;
  size_t bytes = 0;
  for (uint64_t i = 0; i < drop; i++) {
    bytes += st->lens[st->ring_head];
    st->ring_head = (st->ring_head + 1) & (st->ring_cap - 1);
  }
  st->peer_received = count;
  st->replay_len -= bytes;
  if (st->unsent > st->replay_len) st->unsent = st->replay_len; /* a count covering frames not yet written */
  st->replay_head = st->replay_len ? (st->replay_head + bytes) & (st->replay_cap - 1) : 0;
  return QWH_OK;
}

static uint64_t half_up(uint64_t n) { return n / 2 + (n & 1); }

bool qwh_resume_delivered(qwh_resume_state *st, size_t payload_len, int64_t now) {
  st->received++;
  st->unreported_bytes += QWH_FRAME_HEADER + (uint64_t)payload_len;
  if (st->unreported_since < 0) st->unreported_since = now;
  return st->received - st->reported >= half_up(st->peer.max_messages) || st->unreported_bytes >= half_up(st->peer.max_bytes);
}

uint64_t qwh_resume_report(qwh_resume_state *st) {
  st->reported = st->received;
  st->unreported_bytes = 0;
  st->unreported_since = -1;
  return st->received;
}

qwh_code qwh_resume_resend(const qwh_resume_state *st, qwh_buf *out) {
  if (st->replay_len == 0) return QWH_OK;
  if (qwh_buf_reserve(out, st->replay_len) != 0) return QWH_E_INTERNAL;
  replay_copy(st, 0, st->replay_len, out->data + out->len);
  out->len += st->replay_len;
  return QWH_OK;
}
