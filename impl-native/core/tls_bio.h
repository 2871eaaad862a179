/*
 * TLS over OpenSSL memory BIOs, with no I/O: the caller moves ciphertext
 * between the network and this module. One module serves the
 * POSIX backend (client and server) and the lws backend (whose raw TLS client
 * does not work in libwebsockets 4.1.6: see ../../libwebsockets/README.md).
 *
 *   ctx = qwh_tls_ctx_new(&cfg, err)      CA / cert / key / passphrase / ALPN / verify
 *   t   = qwh_tls_new(ctx, sni, host)     one connection (client: SNI + host verification)
 *   qwh_tls_start(t, out)                 client: the ClientHello into `out`
 *   qwh_tls_feed(t, bytes, plain, out)    received ciphertext -> plaintext + bytes to send
 *   qwh_tls_write(t, plain, out)          plaintext -> ciphertext to send
 *   qwh_tls_close_notify(t, out)
 *
 * Facts (protocol, cipher, ALPN, verification, SHA-256 fingerprints) and the
 * RFC 5705 / RFC 9266 exporters are available once the handshake is done.
 */
#ifndef QWH_TLS_BIO_H
#define QWH_TLS_BIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct qwh_tls_ctx qwh_tls_ctx;
typedef struct qwh_tls qwh_tls;

typedef struct qwh_tls_config {
  bool server;
  /* PEM, NUL-terminated; NULL when absent. `ca` may hold several certificates. */
  const char *ca;
  const char *cert; /* leaf first, then any chain */
  const char *key;
  const char *passphrase;
  /* ALPN protocols, in preference order. */
  const char *const *alpn;
  size_t alpn_count;
  bool request_cert;        /* server: ask for a client certificate */
  bool reject_unauthorized; /* verify the peer and fail the handshake when it does not verify */
  int min_version;          /* 12 or 13 */
} qwh_tls_config;

enum {
  QWH_TLS_OK = 0,     /* progress (or nothing to do) */
  QWH_TLS_ERROR = -1, /* fatal: see qwh_tls_error() */
};

/* NULL on error, with a message in `err`. */
qwh_tls_ctx *qwh_tls_ctx_new(const qwh_tls_config *cfg, char *err, size_t errlen);
void qwh_tls_ctx_free(qwh_tls_ctx *ctx);

/* `sni`: server name to send (client, may be NULL); `verify_host`: name or IP literal to verify (client, may be NULL). */
qwh_tls *qwh_tls_new(qwh_tls_ctx *ctx, const char *sni, const char *verify_host, char *err, size_t errlen);
void qwh_tls_free(qwh_tls *t);

int qwh_tls_start(qwh_tls *t, qwh_buf *out);
/* Feeds received ciphertext; appends decrypted bytes to `plain` and bytes to send to `out`. */
int qwh_tls_feed(qwh_tls *t, const uint8_t *data, size_t len, qwh_buf *plain, qwh_buf *out);
/* Encrypts `len` bytes (only after the handshake) into `out`. */
int qwh_tls_write(qwh_tls *t, const uint8_t *data, size_t len, qwh_buf *out);
int qwh_tls_close_notify(qwh_tls *t, qwh_buf *out);

bool qwh_tls_handshake_done(const qwh_tls *t);
/* The peer sent close_notify. */
bool qwh_tls_peer_closed(const qwh_tls *t);
const char *qwh_tls_error(const qwh_tls *t);

/* Facts: strings stay valid until qwh_tls_free; NULL when unknown. */
const char *qwh_tls_protocol(const qwh_tls *t);
const char *qwh_tls_cipher(const qwh_tls *t);
/* ALPN into buf (NUL-terminated); returns false when none was negotiated. */
bool qwh_tls_alpn(const qwh_tls *t, char *buf, size_t buflen);
bool qwh_tls_authorized(const qwh_tls *t);
/* "AB:CD:..." (95 chars + NUL) into buf (>= 96 bytes); false when there is no certificate. */
bool qwh_tls_peer_fingerprint256(const qwh_tls *t, char *buf, size_t buflen);
bool qwh_tls_local_fingerprint256(const qwh_tls *t, char *buf, size_t buflen);
/* RFC 5705 exporter; `context` is used when use_context (RFC 9266: empty context, label "EXPORTER-Channel-Binding"). */
int qwh_tls_export(const qwh_tls *t, uint8_t *out, size_t len, const char *label, size_t label_len, const uint8_t *context,
                   size_t context_len, bool use_context);

#endif
