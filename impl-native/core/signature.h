/*
 * Signed hellos (spec 11): strict base64url, the "sig" member, the signed
 * bytes, Ed25519 via OpenSSL, the replay cache and the check order of 11.4.
 */
#ifndef QWH_SIGNATURE_H
#define QWH_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "json.h"

/* Strict unpadded base64url: alphabet A-Z a-z 0-9 - _, no '=', unused trailing bits zero. */
bool qwh_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* Appends the unpadded base64url of bytes. */
int qwh_b64url_encode(const uint8_t *bytes, size_t len, qwh_buf *out);

/* A well-formed "sig" member (QWH-SIG-001). Strings point into the hello's arena. */
typedef struct qwh_sig {
  qwh_str alg, key, nonce, value;
  bool has_cb;
  qwh_str cb;
  int64_t ts;
  uint8_t key_bytes[32];
  uint8_t value_bytes[64];
} qwh_sig;

/* Checks the shape of a "sig" object; false when malformed (a step-9b failure). */
bool qwh_sig_parse(const qwh_json *sig, qwh_sig *out);

/*
 * Appends "QWH/1 hello\n" || JCS(hello with sig.value removed) [|| exporter]
 * (QWH-SIG-002); the exporter (32 bytes) is appended only when sig.cb is
 * "tls-exporter" and `exporter` is not NULL.
 */
qwh_code qwh_hello_signed_bytes(const qwh_json *hello, const uint8_t *exporter, qwh_buf *out);

/* (key, nonce) pairs of verified hellos, kept until ts + window. Bounded: full means E_RATE_LIMITED. */
typedef struct qwh_replay_entry {
  char id[96]; /* key "." nonce, as base64url text (unique per byte pair) */
  int64_t expiry;
  bool used;
} qwh_replay_entry;

typedef struct qwh_replay_cache {
  qwh_replay_entry *slots;
  size_t cap, count, max_entries;
  int64_t window_ms;
} qwh_replay_cache;

int qwh_replay_cache_init(qwh_replay_cache *c, int64_t window_ms, size_t max_entries);
void qwh_replay_cache_free(qwh_replay_cache *c);
bool qwh_replay_cache_has(const qwh_replay_cache *c, const char *key, size_t klen, const char *nonce, size_t nlen, int64_t now);
/* False when full (after dropping expired pairs). */
bool qwh_replay_cache_add(qwh_replay_cache *c, const char *key, size_t klen, const char *nonce, size_t nlen, int64_t ts, int64_t now);

typedef struct qwh_sig_check {
  int64_t now_ms;
  int64_t window_ms;
  const uint8_t *exporter;        /* 32 bytes, or NULL without TLS */
  qwh_replay_cache *replay_cache; /* may be NULL */
} qwh_sig_check;

/*
 * Verifies the signature of a v1 hello in the order of spec 11.4 (9b-9h).
 * `sig` is NULL when the present "sig" member was malformed. Returns QWH_OK or the code.
 */
qwh_code qwh_verify_hello_signature(const qwh_json *hello, const qwh_sig *sig, const qwh_sig_check *check);

/* Raw Ed25519 verification of msg (pure Ed25519, RFC 8032 5.1.7). */
bool qwh_ed25519_verify(const uint8_t key[32], const uint8_t sig[64], const uint8_t *msg, size_t len);
/* Signs msg with the 32-byte seed; writes the public key too when pub != NULL. */
bool qwh_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t sig[64], uint8_t pub[32]);

/*
 * Client side: adds a "sig" member to the hello object (arena-owned) signed
 * with `seed`, with the given nonce and ts; with `exporter` it binds to TLS.
 */
qwh_code qwh_sign_hello(qwh_arena *a, qwh_json *hello, const uint8_t seed[32], const uint8_t *nonce, size_t nonce_len, int64_t ts,
                        const uint8_t *exporter);

#endif
