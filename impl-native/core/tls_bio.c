/* TLS over OpenSSL memory BIOs (see tls_bio.h). */
#include "tls_bio.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct qwh_tls_ctx {
  SSL_CTX *ctx;
  bool server;
  bool reject_unauthorized;
  unsigned char *alpn_wire; /* length-prefixed list */
  unsigned alpn_wire_len;
};

struct qwh_tls {
  qwh_tls_ctx *ctx;
  SSL *ssl;
  BIO *rbio; /* network -> SSL */
  BIO *wbio; /* SSL -> network */
  bool done;
  bool peer_closed;
  bool failed;
  char error[256];
};

static void ssl_error_text(char *err, size_t errlen, const char *what) {
  unsigned long e = ERR_peek_last_error();
  char detail[200] = "";
  if (e != 0) ERR_error_string_n(e, detail, sizeof detail);
  ERR_clear_error();
  if (err && errlen) snprintf(err, errlen, "%s%s%s", what, detail[0] ? ": " : "", detail);
}

static int pass_cb(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  const char *p = u;
  if (!p) return 0;
  size_t n = strlen(p);
  if (n > (size_t)size) n = (size_t)size;
  memcpy(buf, p, n);
  return (int)n;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned inlen, void *arg) {
  (void)ssl;
  qwh_tls_ctx *c = arg;
  unsigned char *sel = NULL;
  unsigned char sel_len = 0;
  /* Server preference order, like Node. No overlap: a fatal alert (no_application_protocol). */
  if (SSL_select_next_proto(&sel, &sel_len, c->alpn_wire, c->alpn_wire_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  *outlen = sel_len;
  return SSL_TLSEXT_ERR_OK;
}

static int verify_record_only(int preverify_ok, X509_STORE_CTX *x) {
  (void)preverify_ok;
  (void)x;
  return 1;
}

static int load_cert_chain(SSL_CTX *ctx, const char *pem, char *err, size_t errlen) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  if (!b) return -1;
  X509 *leaf = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
    X509_free(leaf);
    BIO_free(b);
    ssl_error_text(err, errlen, "cannot use the certificate");
    return -1;
  }
  X509_free(leaf);
  X509 *extra;
  while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      BIO_free(b);
      ssl_error_text(err, errlen, "cannot use the certificate chain");
      return -1;
    }
  }
  ERR_clear_error(); /* the end of the PEM stream */
  BIO_free(b);
  return 0;
}

static int load_ca(SSL_CTX *ctx, const char *pem, char *err, size_t errlen) {
  BIO *b = BIO_new_mem_buf(pem, -1);
  if (!b) return -1;
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int n = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
    X509_STORE_add_cert(store, x);
    /* Also offered as acceptable client CAs by a server that requests certificates. */
    SSL_CTX_add_client_CA(ctx, x);
    X509_free(x);
    n++;
  }
  ERR_clear_error();
  BIO_free(b);
  if (n == 0) {
    if (err && errlen) snprintf(err, errlen, "no certificate in the ca option");
    return -1;
  }
  return 0;
}

qwh_tls_ctx *qwh_tls_ctx_new(const qwh_tls_config *cfg, char *err, size_t errlen) {
  qwh_tls_ctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->server = cfg->server;
  c->reject_unauthorized = cfg->reject_unauthorized;
  c->ctx = SSL_CTX_new(cfg->server ? TLS_server_method() : TLS_client_method());
  if (!c->ctx) {
    ssl_error_text(err, errlen, "SSL_CTX_new failed");
    free(c);
    return NULL;
  }
  SSL_CTX *ctx = c->ctx;
  SSL_CTX_set_min_proto_version(ctx, cfg->min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (cfg->passphrase) {
    SSL_CTX_set_default_passwd_cb(ctx, pass_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)(uintptr_t)cfg->passphrase);
  }
  if (cfg->cert && load_cert_chain(ctx, cfg->cert, err, errlen) != 0) goto fail;
  if (cfg->key) {
    BIO *b = BIO_new_mem_buf(cfg->key, -1);
    EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)(uintptr_t)cfg->passphrase) : NULL;
    BIO_free(b);
    if (!pk || SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
      EVP_PKEY_free(pk);
      ssl_error_text(err, errlen, "cannot use the private key");
      goto fail;
    }
    EVP_PKEY_free(pk);
    if (cfg->cert && SSL_CTX_check_private_key(ctx) != 1) {
      ssl_error_text(err, errlen, "the private key does not match the certificate");
      goto fail;
    }
  }
  /* Passphrase callbacks are only for loading. */
  SSL_CTX_set_default_passwd_cb(ctx, NULL);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
  if (cfg->ca) {
    if (load_ca(ctx, cfg->ca, err, errlen) != 0) goto fail;
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  /* Verification always runs when a certificate comes; without reject_unauthorized its result is only recorded. */
  if (!cfg->server) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, cfg->reject_unauthorized ? NULL : verify_record_only);
  } else if (cfg->request_cert) {
    if (cfg->reject_unauthorized)
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    else
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_record_only);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  }
  if (cfg->alpn_count > 0) {
    size_t total = 0;
    for (size_t i = 0; i < cfg->alpn_count; i++) {
      size_t n = strlen(cfg->alpn[i]);
      if (n == 0 || n > 255) {
        if (err && errlen) snprintf(err, errlen, "ALPN protocol names must be 1..255 bytes");
        goto fail;
      }
      total += 1 + n;
    }
    if (total > 65535) goto fail;
    c->alpn_wire = malloc(total);
    if (!c->alpn_wire) goto fail;
    size_t off = 0;
    for (size_t i = 0; i < cfg->alpn_count; i++) {
      size_t n = strlen(cfg->alpn[i]);
      c->alpn_wire[off++] = (unsigned char)n;
      memcpy(c->alpn_wire + off, cfg->alpn[i], n);
      off += n;
    }
    c->alpn_wire_len = (unsigned)total;
    if (cfg->server) {
      SSL_CTX_set_alpn_select_cb(ctx, alpn_select, c);
    } else if (SSL_CTX_set_alpn_protos(ctx, c->alpn_wire, c->alpn_wire_len) != 0) {
      ssl_error_text(err, errlen, "cannot set ALPN");
      goto fail;
    }
  }
  return c;
fail:
  qwh_tls_ctx_free(c);
  return NULL;
}

void qwh_tls_ctx_free(qwh_tls_ctx *c) {
  if (!c) return;
  SSL_CTX_free(c->ctx);
  free(c->alpn_wire);
  free(c);
}

static int is_ip_literal(const char *s) {
  /* Enough to tell names from addresses: ':' means IPv6, all digits and dots IPv4. */
  if (strchr(s, ':')) return 1;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || *p == '.')) return 0;
  return 1;
}

qwh_tls *qwh_tls_new(qwh_tls_ctx *ctx, const char *sni, const char *verify_host, char *err, size_t errlen) {
  qwh_tls *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->ctx = ctx;
  t->ssl = SSL_new(ctx->ctx);
  t->rbio = BIO_new(BIO_s_mem());
  t->wbio = BIO_new(BIO_s_mem());
  if (!t->ssl || !t->rbio || !t->wbio) {
    ssl_error_text(err, errlen, "SSL_new failed");
    BIO_free(t->rbio);
    BIO_free(t->wbio);
    SSL_free(t->ssl);
    free(t);
    return NULL;
  }
  BIO_set_mem_eof_return(t->rbio, -1);
  BIO_set_mem_eof_return(t->wbio, -1);
  SSL_set_bio(t->ssl, t->rbio, t->wbio);
  if (ctx->server) {
    SSL_set_accept_state(t->ssl);
  } else {
    SSL_set_connect_state(t->ssl);
    if (sni && *sni) SSL_set_tlsext_host_name(t->ssl, sni);
    if (verify_host && *verify_host && ctx->reject_unauthorized) {
      int ok = is_ip_literal(verify_host) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), verify_host)
                                          : SSL_set1_host(t->ssl, verify_host);
      if (ok != 1) {
        ssl_error_text(err, errlen, "cannot set the host name to verify");
        qwh_tls_free(t);
        return NULL;
      }
    }
  }
  return t;
}

void qwh_tls_free(qwh_tls *t) {
  if (!t) return;
  SSL_free(t->ssl); /* frees both BIOs */
  free(t);
}

static int drain_wbio(qwh_tls *t, qwh_buf *out) {
  size_t pending;
  while ((pending = BIO_ctrl_pending(t->wbio)) > 0) {
    if (qwh_buf_reserve(out, pending) != 0) return -1;
    int n = BIO_read(t->wbio, out->data + out->len, (int)(pending > INT_MAX ? INT_MAX : pending));
    if (n <= 0) break;
    out->len += (size_t)n;
  }
  return 0;
}

static int fail(qwh_tls *t, int ssl_err, const char *what) {
  t->failed = true;
  long vr = SSL_get_verify_result(t->ssl);
  unsigned long e = ERR_peek_last_error();
  char detail[200] = "";
  if (e != 0) ERR_error_string_n(e, detail, sizeof detail);
  ERR_clear_error();
  if (vr != X509_V_OK && !t->done) {
    snprintf(t->error, sizeof t->error, "%s: certificate verification failed: %s", what, X509_verify_cert_error_string(vr));
  } else if (detail[0]) {
    snprintf(t->error, sizeof t->error, "%s: %s", what, detail);
  } else {
    snprintf(t->error, sizeof t->error, "%s (SSL error %d)", what, ssl_err);
  }
  return QWH_TLS_ERROR;
}

static int do_handshake(qwh_tls *t, qwh_buf *out) {
  if (t->done) return QWH_TLS_OK;
  int r = SSL_do_handshake(t->ssl);
  int drained = drain_wbio(t, out); /* alerts included */
  if (r == 1) {
    t->done = true;
    return drained == 0 ? QWH_TLS_OK : QWH_TLS_ERROR;
  }
  int e = SSL_get_error(t->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return drained == 0 ? QWH_TLS_OK : QWH_TLS_ERROR;
  return fail(t, e, "TLS handshake failed");
}

int qwh_tls_start(qwh_tls *t, qwh_buf *out) { return do_handshake(t, out); }

int qwh_tls_feed(qwh_tls *t, const uint8_t *data, size_t len, qwh_buf *plain, qwh_buf *out) {
  if (t->failed) return QWH_TLS_ERROR;
  while (len > 0) {
    int chunk = len > INT_MAX ? INT_MAX : (int)len;
    int w = BIO_write(t->rbio, data, chunk);
    if (w <= 0) return fail(t, 0, "BIO_write failed");
    data += w;
    len -= (size_t)w;
  }
  if (!t->done) {
    if (do_handshake(t, out) != QWH_TLS_OK) return QWH_TLS_ERROR;
    if (!t->done) return QWH_TLS_OK;
  }
  for (;;) {
    if (qwh_buf_reserve(plain, 65536) != 0) return fail(t, 0, "out of memory");
    size_t room = plain->cap - plain->len;
    int r = SSL_read(t->ssl, plain->data + plain->len, room > INT_MAX ? INT_MAX : (int)room);
    if (r > 0) {
      plain->len += (size_t)r;
      continue;
    }
    int e = SSL_get_error(t->ssl, r);
    if (drain_wbio(t, out) != 0) return QWH_TLS_ERROR; /* key updates, session tickets */
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return QWH_TLS_OK;
    if (e == SSL_ERROR_ZERO_RETURN) {
      t->peer_closed = true;
      return QWH_TLS_OK;
    }
    return fail(t, e, "TLS read failed");
  }
}

int qwh_tls_write(qwh_tls *t, const uint8_t *data, size_t len, qwh_buf *out) {
  if (t->failed || !t->done) return QWH_TLS_ERROR;
  while (len > 0) {
    /* Records of at most 16 KiB; write 256 KiB at a time. */
    int chunk = len > 262144 ? 262144 : (int)len;
    int r = SSL_write(t->ssl, data, chunk);
    if (r <= 0) return fail(t, SSL_get_error(t->ssl, r), "TLS write failed");
    data += r;
    len -= (size_t)r;
    if (drain_wbio(t, out) != 0) return QWH_TLS_ERROR;
  }
  return QWH_TLS_OK;
}

int qwh_tls_close_notify(qwh_tls *t, qwh_buf *out) {
  if (t->failed || !t->done) return QWH_TLS_OK;
  (void)SSL_shutdown(t->ssl);
  ERR_clear_error();
  return drain_wbio(t, out) == 0 ? QWH_TLS_OK : QWH_TLS_ERROR;
}

bool qwh_tls_handshake_done(const qwh_tls *t) { return t->done; }
bool qwh_tls_peer_closed(const qwh_tls *t) { return t->peer_closed; }
const char *qwh_tls_error(const qwh_tls *t) { return t->error[0] ? t->error : "TLS error"; }

const char *qwh_tls_protocol(const qwh_tls *t) { return t->done ? SSL_get_version(t->ssl) : NULL; }
const char *qwh_tls_cipher(const qwh_tls *t) { return t->done ? SSL_get_cipher_name(t->ssl) : NULL; }

bool qwh_tls_alpn(const qwh_tls *t, char *buf, size_t buflen) {
  const unsigned char *p = NULL;
  unsigned n = 0;
  SSL_get0_alpn_selected(t->ssl, &p, &n);
  if (!p || n == 0 || n + 1 > buflen) return false;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return true;
}

bool qwh_tls_authorized(const qwh_tls *t) {
  X509 *peer = SSL_get0_peer_certificate(t->ssl);
  return peer != NULL && SSL_get_verify_result(t->ssl) == X509_V_OK;
}

static bool fingerprint(const X509 *x, char *buf, size_t buflen) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!x || buflen < 96 || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) return false;
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (unsigned i = 0; i < n; i++) {
    if (i) buf[o++] = ':';
    buf[o++] = hex[md[i] >> 4];
    buf[o++] = hex[md[i] & 15];
  }
  buf[o] = '\0';
  return true;
}

bool qwh_tls_peer_fingerprint256(const qwh_tls *t, char *buf, size_t buflen) {
  return fingerprint(SSL_get0_peer_certificate(t->ssl), buf, buflen);
}
bool qwh_tls_local_fingerprint256(const qwh_tls *t, char *buf, size_t buflen) {
  return fingerprint(SSL_get_certificate(t->ssl), buf, buflen);
}

int qwh_tls_export(const qwh_tls *t, uint8_t *out, size_t len, const char *label, size_t label_len, const uint8_t *context,
                   size_t context_len, bool use_context) {
  if (!t->done) return QWH_TLS_ERROR;
  static const uint8_t empty[1] = {0};
  int r = SSL_export_keying_material(t->ssl, out, len, label, label_len, context ? context : empty, context_len, use_context ? 1 : 0);
  return r == 1 ? QWH_TLS_OK : QWH_TLS_ERROR;
}
