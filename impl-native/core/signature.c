#include "signature.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool qwh_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  if (len % 4 == 1) return false;
  size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
  if (n > cap) return false;
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64_value(s[i]);
    if (v < 0) return false;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1u;
    }
  }
  if (acc != 0) return false; /* unused trailing bits must be zero: one canonical text per byte string */
  *out_len = o;
  return true;
}

int qwh_b64url_encode(const uint8_t *bytes, size_t len, qwh_buf *out) {
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < len; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      if (qwh_buf_putc(out, (uint8_t)B64URL[(acc >> bits) & 63u])) return -1;
    }
    acc &= (1u << bits) - 1u;
  }
  if (bits > 0 && qwh_buf_putc(out, (uint8_t)B64URL[(acc << (6 - bits)) & 63u])) return -1;
  return 0;
}

static bool b64_field(const qwh_json *v, size_t min, size_t max, uint8_t *out, size_t *n) {
  if (!v || v->type != QWH_JSON_STRING) return false;
  uint8_t tmp[64];
  size_t got;
  if (!qwh_b64url_decode(v->u.str.s, v->u.str.len, tmp, sizeof tmp, &got)) return false;
  if (got < min || got > max) return false;
  if (out) memcpy(out, tmp, got);
  if (n) *n = got;
  return true;
}

bool qwh_sig_parse(const qwh_json *sig, qwh_sig *out) {
  memset(out, 0, sizeof *out);
  if (!sig || sig->type != QWH_JSON_OBJECT) return false;
  const qwh_json *alg = qwh_json_get(sig, "alg"), *key = qwh_json_get(sig, "key"), *nonce = qwh_json_get(sig, "nonce");
  const qwh_json *ts = qwh_json_get(sig, "ts"), *value = qwh_json_get(sig, "value"), *cb = qwh_json_get(sig, "cb");
  if (!alg || alg->type != QWH_JSON_STRING) return false;
  if (!ts || ts->type != QWH_JSON_INT || ts->u.i < 0) return false;
  if (!b64_field(key, 32, 32, out->key_bytes, NULL)) return false;
  if (!b64_field(nonce, 16, 32, NULL, NULL)) return false;
  if (!b64_field(value, 64, 64, out->value_bytes, NULL)) return false;
  if (cb && cb->type != QWH_JSON_STRING) return false;
  out->alg = alg->u.str;
  out->key = key->u.str;
  out->nonce = nonce->u.str;
  out->value = value->u.str;
  out->ts = ts->u.i;
  out->has_cb = cb != NULL;
  if (cb) out->cb = cb->u.str;
  return true;
}

qwh_code qwh_hello_signed_bytes(const qwh_json *hello, const uint8_t *exporter, qwh_buf *out) {
  const qwh_json *sig = qwh_json_get(hello, "sig");
  if (!sig || sig->type != QWH_JSON_OBJECT) return QWH_E_INVALID_HANDSHAKE_SIGNATURE;
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_code rc = QWH_OK;
  qwh_json *unsigned_sig = qwh_json_without(&a, sig, "value");
  qwh_json *copy = unsigned_sig ? qwh_json_without(&a, hello, NULL) : NULL; /* shallow copy */
  if (!copy || qwh_json_set(&a, copy, "sig", unsigned_sig) != 0) rc = QWH_E_INTERNAL;
  size_t start = out->len;
  if (rc == QWH_OK && qwh_buf_puts(out, QWH_SIGNATURE_CONTEXT) != 0) rc = QWH_E_INTERNAL;
  if (rc == QWH_OK) {
    qwh_json_status st = qwh_jcs_write(copy, out);
    if (st == QWH_JSON_ERR_NONINT || st == QWH_JSON_ERR_DEPTH)
      rc = QWH_E_INVALID_HANDSHAKE;
    else if (st)
      rc = QWH_E_INTERNAL;
  }
  if (rc == QWH_OK && exporter && qwh_json_is_string(qwh_json_get(sig, "cb"), "tls-exporter") &&
      qwh_buf_append(out, exporter, QWH_EXPORTER_LENGTH) != 0)
    rc = QWH_E_INTERNAL;
  if (rc) out->len = start;
  qwh_arena_free(&a);
  return rc;
}

/* ---- replay cache: open addressing, rebuilt when pruned ---- */

static size_t make_id(char id[96], const char *key, size_t klen, const char *nonce, size_t nlen) {
  if (klen + nlen + 1 >= 96) return 0;
  memcpy(id, key, klen);
  id[klen] = '.';
  memcpy(id + klen + 1, nonce, nlen);
  id[klen + 1 + nlen] = '\0';
  return klen + 1 + nlen;
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

int qwh_replay_cache_init(qwh_replay_cache *c, int64_t window_ms, size_t max_entries) {
  memset(c, 0, sizeof *c);
  size_t cap = 16;
  while (cap < max_entries * 2 && cap < ((size_t)1 << 40)) cap *= 2;
  c->slots = calloc(cap, sizeof *c->slots);
  if (!c->slots) return -1;
  c->cap = cap;
  c->max_entries = max_entries;
  c->window_ms = window_ms;
  return 0;
}

void qwh_replay_cache_free(qwh_replay_cache *c) {
  free(c->slots);
  memset(c, 0, sizeof *c);
}

static qwh_replay_entry *lookup(const qwh_replay_cache *c, const char *id) {
  size_t i = (size_t)fnv1a(id) & (c->cap - 1);
  for (;;) {
    qwh_replay_entry *e = &c->slots[i];
    if (!e->used || strcmp(e->id, id) == 0) return e;
    i = (i + 1) & (c->cap - 1);
  }
}

bool qwh_replay_cache_has(const qwh_replay_cache *c, const char *key, size_t klen, const char *nonce, size_t nlen, int64_t now) {
  char id[96];
  if (!c->slots || !make_id(id, key, klen, nonce, nlen)) return false;
  const qwh_replay_entry *e = lookup(c, id);
  return e->used && e->expiry >= now;
}

static void prune(qwh_replay_cache *c, int64_t now) {
  qwh_replay_entry *old = c->slots;
  qwh_replay_entry *fresh = calloc(c->cap, sizeof *fresh);
  if (!fresh) return;
  c->slots = fresh;
  c->count = 0;
  for (size_t i = 0; i < c->cap; i++) {
    if (!old[i].used || old[i].expiry < now) continue;
    *lookup(c, old[i].id) = old[i];
    c->count++;
  }
  free(old);
}

bool qwh_replay_cache_add(qwh_replay_cache *c, const char *key, size_t klen, const char *nonce, size_t nlen, int64_t ts, int64_t now) {
  char id[96];
  if (!c->slots || !make_id(id, key, klen, nonce, nlen)) return false;
  qwh_replay_entry *e = lookup(c, id);
  if (!e->used) {
    if (c->count >= c->max_entries) {
      prune(c, now);
      if (c->count >= c->max_entries) return false;
      e = lookup(c, id);
    }
    c->count++;
    e->used = true;
    memcpy(e->id, id, sizeof e->id);
  }
  e->expiry = ts + c->window_ms;
  return true;
}

/* ---- Ed25519 via OpenSSL ---- */

bool qwh_ed25519_verify(const uint8_t key[32], const uint8_t sig[64], const uint8_t *msg, size_t len) {
  EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, 32);
  if (!pk) return false;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  bool ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 && EVP_DigestVerify(md, sig, 64, msg, len) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return ok;
}

bool qwh_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t sig[64], uint8_t pub[32]) {
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
  if (!pk) return false;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t siglen = 64, publen = 32;
  bool ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 && EVP_DigestSign(md, sig, &siglen, msg, len) == 1 && siglen == 64;
  if (ok && pub) ok = EVP_PKEY_get_raw_public_key(pk, pub, &publen) == 1 && publen == 32;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return ok;
}

static int64_t abs_diff(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

qwh_code qwh_verify_hello_signature(const qwh_json *hello, const qwh_sig *sig, const qwh_sig_check *check) {
  if (!sig) return QWH_E_INVALID_HANDSHAKE_SIGNATURE;                                                          /* 9b */
  if (!(sig->alg.len == 7 && memcmp(sig->alg.s, "ed25519", 7) == 0)) return QWH_E_INVALID_HANDSHAKE_SIGNATURE; /* 9c */
  if (sig->has_cb && !(sig->cb.len == 12 && memcmp(sig->cb.s, "tls-exporter", 12) == 0 && check->exporter))
    return QWH_E_INVALID_HANDSHAKE_SIGNATURE;                                              /* 9d */
  if (abs_diff(check->now_ms, sig->ts) > check->window_ms) return QWH_E_HANDSHAKE_EXPIRED; /* 9e */
  qwh_buf signed_bytes;
  qwh_buf_init(&signed_bytes);
  qwh_code rc = qwh_hello_signed_bytes(hello, check->exporter, &signed_bytes);
  if (rc == QWH_OK && !qwh_ed25519_verify(sig->key_bytes, sig->value_bytes, signed_bytes.data, signed_bytes.len))
    rc = QWH_E_INVALID_HANDSHAKE_SIGNATURE; /* 9f */
  qwh_buf_free(&signed_bytes);
  if (rc) return rc;
  if (check->replay_cache) {
    if (qwh_replay_cache_has(check->replay_cache, sig->key.s, sig->key.len, sig->nonce.s, sig->nonce.len, check->now_ms))
      return QWH_E_HANDSHAKE_REPLAY; /* 9g */
    if (!qwh_replay_cache_add(check->replay_cache, sig->key.s, sig->key.len, sig->nonce.s, sig->nonce.len, sig->ts, check->now_ms))
      return QWH_E_RATE_LIMITED; /* 9h */
  }
  return QWH_OK;
}

qwh_code qwh_sign_hello(qwh_arena *a, qwh_json *hello, const uint8_t seed[32], const uint8_t *nonce, size_t nonce_len, int64_t ts,
                        const uint8_t *exporter) {
  uint8_t pub[32], sigbytes[64];
  qwh_buf text;
  qwh_buf_init(&text);
  qwh_code rc = QWH_E_INTERNAL;
  /* Public key first: sign an empty message only to derive it. */
  if (!qwh_ed25519_sign(seed, (const uint8_t *)"", 0, sigbytes, pub)) goto out;
  qwh_json *sig = qwh_json_object(a);
  if (!sig || qwh_json_set(a, sig, "alg", qwh_json_cstring(a, "ed25519"))) goto out;
  if (qwh_b64url_encode(pub, 32, &text) || qwh_json_set(a, sig, "key", qwh_json_string(a, (char *)text.data, text.len))) goto out;
  text.len = 0;
  if (qwh_b64url_encode(nonce, nonce_len, &text) || qwh_json_set(a, sig, "nonce", qwh_json_string(a, (char *)text.data, text.len)))
    goto out;
  if (qwh_json_set(a, sig, "ts", qwh_json_int(a, ts))) goto out;
  if (exporter && qwh_json_set(a, sig, "cb", qwh_json_cstring(a, "tls-exporter"))) goto out;
  if (qwh_json_set(a, hello, "sig", sig)) goto out;
  text.len = 0;
  rc = qwh_hello_signed_bytes(hello, exporter, &text);
  if (rc) goto out;
  rc = QWH_E_INTERNAL;
  if (!qwh_ed25519_sign(seed, text.data, text.len, sigbytes, NULL)) goto out;
  text.len = 0;
  if (qwh_b64url_encode(sigbytes, 64, &text) || qwh_json_set(a, sig, "value", qwh_json_string(a, (char *)text.data, text.len))) goto out;
  rc = QWH_OK;
out:
  qwh_buf_free(&text);
  return rc;
}
