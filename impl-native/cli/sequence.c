/* What the adapter contract's numbered streams need (conformance/CASE-FORMAT.md): numbered
 * messages, the runs of received indexes (receivedRuns) and the digest of received messages. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "cli.h"

void gen_numbered(qwh_buf *b, size_t i, size_t size) {
  gen_message(b, i, size);
  if (size >= 4) qwh_put_u32be(b->data, (uint32_t)i);
}

size_t queued_bytes(const qwh_pconn *c) { return c->s.out.len + (c->tls ? c->tls_out.len : 0) + (c->s.rs ? c->s.rs->unsent : 0); }

/* Bytes queued for the socket at which a stream waits for it. */
#define SEQ_QUEUE_MARK (64u * 1024u)

qwh_code seq_send(qwh_pconn *c, const msg_list *m, size_t *next, bool *full) {
  *full = false;
  while (*next < m->n) {
    if (queued_bytes(c) >= SEQ_QUEUE_MARK) {
      *full = true;
      return QWH_OK;
    }
    const qwh_buf *b = &m->items[*next];
    const qwh_resume_state *rs = c->s.rs;
    if (rs && (rs->held_count > 0 || !qwh_resume_can_send(rs, b->len))) return QWH_OK;
    qwh_code rc = qwh_pconn_send(c, b->data, b->len);
    if (rc != QWH_OK) return rc;
    ++*next;
  }
  return QWH_OK;
}

void runs_take(number_runs *r, const uint8_t *p, size_t n) {
  int64_t k = n >= 4 ? (int64_t)qwh_get_u32be(p) : -1;
  if (r->n && k >= 0 && r->r[r->n - 1][1] >= 0 && k == r->r[r->n - 1][1] + 1) {
    r->r[r->n - 1][1] = k;
    return;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    int64_t(*g)[2] = realloc(r->r, cap * sizeof *g);
    if (!g) return;
    r->r = g;
    r->cap = cap;
  }
  r->r[r->n][0] = r->r[r->n][1] = k;
  r->n++;
}

qwh_json *runs_json(qwh_arena *a, const number_runs *r) {
  qwh_json *arr = qwh_json_array(a);
  for (size_t i = 0; arr && i < r->n; i++) {
    qwh_json *run = qwh_json_array(a);
    if (!run || qwh_json_push(a, run, qwh_json_int(a, r->r[i][0])) || qwh_json_push(a, run, qwh_json_int(a, r->r[i][1])) ||
        qwh_json_push(a, arr, run))
      return NULL;
  }
  return arr;
}

void runs_free(number_runs *r) {
  free(r->r);
  r->r = NULL;
  r->n = r->cap = 0;
}

int digest_init(msg_digest *d) {
  d->ctx = EVP_MD_CTX_new();
  if (!d->ctx || EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(d->ctx);
    d->ctx = NULL;
    return -1;
  }
  return 0;
}

void digest_message(msg_digest *d, const uint8_t *p, size_t n, bool raw) {
  if (!raw) {
    uint8_t h[4];
    qwh_put_u32be(h, (uint32_t)n);
    EVP_DigestUpdate(d->ctx, h, 4);
  }
  if (n) EVP_DigestUpdate(d->ctx, p, n);
}

void digest_finish(msg_digest *d, char hex[65]) {
  unsigned char md[32] = {0};
  unsigned int mdlen = 0;
  if (d->ctx) EVP_DigestFinal_ex(d->ctx, md, &mdlen);
  EVP_MD_CTX_free(d->ctx);
  d->ctx = NULL;
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < 32; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[64] = 0;
}
