/*
 * qwh-native: the standalone C implementation of QWH/1 (backend "posix"),
 * speaking the conformance adapter contract (spec/qwh-1.md Appendix D, as
 * conformance/adapters/ts/adapter.mjs implements it):
 *
 *   qwh-native codec                                  JSON lines on stdin -> {id, ok, output}
 *   qwh-native serve   --port P [--host H] [--config JSON]
 *   qwh-native connect --port P [--host H] [--scenario S] [--config JSON]
 *
 * Exit 127 for a mode, scenario or configuration this build does not support.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../backend_posix/posix.h"
#include "../core/tls_bio.h"
#include "../codec/codec_ops.h"

#define UNSUPPORTED 127

static volatile sig_atomic_t g_stop; /* set by SIGTERM/SIGINT only */

/* Chosen once in main (the process runs one server or one client). */
static bool g_lws;                 /* --backend lws: the loop is a libwebsockets context */
static char *g_tls_cert, *g_tls_key, *g_tls_ca; /* PEM text of --tls-cert/--tls-key/--tls-ca */
static bool g_tls;

static int loop_init(qwh_loop *l) { return g_lws ? qwh_loop_init_lws(l) : qwh_loop_init(l); }

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  qwh_buf b;
  qwh_buf_init(&b);
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) qwh_buf_append(&b, tmp, n);
  fclose(f);
  qwh_buf_putc(&b, 0);
  return (char *)b.data;
}
static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static void out_line(qwh_buf *b) {
  fwrite(b->data, 1, b->len, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

/* ---- codec mode ---- */

static int run_codec(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  qwh_buf out;
  qwh_buf_init(&out);
  while ((n = getline(&line, &cap, stdin)) > 0) {
    qwh_arena a;
    qwh_arena_init(&a);
    qwh_json *req, *resp = qwh_json_object(&a);
    size_t len = (size_t)n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    if (len == 0) {
      qwh_arena_free(&a);
      continue;
    }
    if (qwh_json_parse(&a, (const uint8_t *)line, len, &req) != QWH_JSON_OK || req->type != QWH_JSON_OBJECT) {
      qwh_json *err = qwh_json_object(&a);
      qwh_json_set(&a, err, "code", qwh_json_cstring(&a, "bad-request"));
      qwh_json_set(&a, err, "message", qwh_json_cstring(&a, "not a JSON object"));
      qwh_json_set(&a, resp, "id", qwh_json_int(&a, 0));
      qwh_json_set(&a, resp, "ok", qwh_json_bool(&a, false));
      qwh_json_set(&a, resp, "error", err);
    } else {
      qwh_json *id = qwh_json_get(req, "id");
      const qwh_json *op = qwh_json_get(req, "op");
      qwh_json *params = qwh_json_get(req, "params"), *input = qwh_json_get(req, "input"), *chunks = qwh_json_get(req, "chunks");
      if (!params) params = qwh_json_object(&a);
      if (!input) input = qwh_json_object(&a);
      if (chunks) {
        input = qwh_json_without(&a, input, NULL);
        qwh_json_set(&a, input, "chunks", chunks);
      }
      qwh_json *output = NULL;
      int rc = op && op->type == QWH_JSON_STRING ? qwh_codec_run(&a, op->u.str.s, params, input, &output) : UNSUPPORTED;
      qwh_json_set(&a, resp, "id", id ? id : qwh_json_null(&a));
      qwh_json_set(&a, resp, "ok", qwh_json_bool(&a, rc == 0));
      if (rc == 0) {
        qwh_json_set(&a, resp, "output", output);
      } else {
        qwh_json *err = qwh_json_object(&a);
        qwh_json_set(&a, err, "code", qwh_json_cstring(&a, rc == UNSUPPORTED ? "unsupported" : "internal"));
        qwh_json_set(&a, err, "message", qwh_json_cstring(&a, rc == UNSUPPORTED ? "op is not supported" : "malformed parameters"));
        qwh_json_set(&a, resp, "error", err);
      }
    }
    out.len = 0;
    qwh_json_write(resp, &out);
    out_line(&out);
    qwh_arena_free(&a);
  }
  free(line);
  qwh_buf_free(&out);
  return 0;
}

/* ---- configuration (--config) ---- */

typedef struct msg_list {
  qwh_buf *items;
  size_t n;
} msg_list;

typedef struct config {
  qwh_arena a;
  const qwh_json *root;
  qwh_session_config sc;
  qwh_pconn_limits lim;
  const char **features;
  size_t n_features;
  msg_list messages;
  bool raw;
  int64_t max_clients, max_pending;
  bool allow_connection;
  const char *policy; /* NULL, "reject", "throw" */
  const char *scenario;
  int64_t close_after, hold_ms, timeout_ms, expect_count, size;
  const char *close_code, *expect_error;
  /* TLS (with --tls-*): config.alpn, config.pins, requestClientCert, clientCert */
  const char **alpn;
  size_t n_alpn;
  const qwh_json *pins;
  bool request_client_cert, client_cert;
  qwh_tls_ctx *tls;
} config;

static int64_t cfg_int(const qwh_json *o, const char *k, int64_t d) {
  const qwh_json *v = qwh_json_get(o, k);
  return v && v->type == QWH_JSON_INT ? v->u.i : d;
}

static const char *cfg_str(const qwh_json *o, const char *k, const char *d) {
  const qwh_json *v = qwh_json_get(o, k);
  return v && v->type == QWH_JSON_STRING ? v->u.str.s : d;
}

static void gen_message(qwh_buf *b, size_t i, size_t size) {
  qwh_buf_init(b);
  qwh_buf_reserve(b, size ? size : 1);
  for (size_t j = 0; j < size; j++) b->data[j] = (uint8_t)((i + j) & 0xff);
  b->len = size;
}

static int expand_messages(config *c, const qwh_json *list) {
  size_t total = 0;
  for (size_t i = 0; list && list->type == QWH_JSON_ARRAY && i < list->u.arr.n; i++) {
    const qwh_json *it = list->u.arr.items[i];
    total += it->type == QWH_JSON_STRING ? 1 : (size_t)cfg_int(it, "count", 1);
  }
  c->messages.items = calloc(total ? total : 1, sizeof(qwh_buf));
  if (!c->messages.items) return -1;
  for (size_t i = 0; list && list->type == QWH_JSON_ARRAY && i < list->u.arr.n; i++) {
    const qwh_json *it = list->u.arr.items[i];
    if (it->type == QWH_JSON_STRING) {
      qwh_buf *b = &c->messages.items[c->messages.n++];
      qwh_buf_init(b);
      if (qwh_hex_decode(it->u.str.s, it->u.str.len, b)) return -1;
      continue;
    }
    int64_t count = cfg_int(it, "count", 1), size = cfg_int(it, "size", 0);
    for (int64_t k = 0; k < count; k++, c->messages.n++) gen_message(&c->messages.items[c->messages.n], c->messages.n, (size_t)size);
  }
  return 0;
}

static void config_free(config *c) {
  if (c->tls) qwh_tls_ctx_free(c->tls);
  for (size_t i = 0; i < c->messages.n; i++) qwh_buf_free(&c->messages.items[i]);
  free(c->messages.items);
  qwh_arena_free(&c->a);
}

/* Returns 0, UNSUPPORTED, or 2 for a malformed config. */
static int config_load(config *c, const char *text, qwh_role role) {
  memset(c, 0, sizeof *c);
  qwh_arena_init(&c->a);
  qwh_json *root;
  if (qwh_json_parse(&c->a, (const uint8_t *)text, strlen(text), &root) != QWH_JSON_OK || root->type != QWH_JSON_OBJECT) return 2;
  c->root = root;
  static const char *const unsupported[] = {"verifyDelayMs", "heartbeatIntervalMs", "idleTimeoutMs", "sign"};
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (qwh_json_get(root, unsupported[i])) return UNSUPPORTED;
  const char *profile = cfg_str(root, "profile", "v1");
  if (strcmp(profile, "v1") != 0 && !(strcmp(profile, "legacy") == 0 && role == QWH_SERVER)) return UNSUPPORTED;
  c->raw = strcmp(cfg_str(root, "framing", "length-prefixed"), "none") == 0;
  const qwh_json *features = qwh_json_get(root, "features");
  size_t nf = features && features->type == QWH_JSON_ARRAY ? features->u.arr.n : 1;
  c->features = qwh_arena_alloc(&c->a, (nf + 2) * sizeof(char *));
  if (!c->features) return 2;
  if (features && features->type == QWH_JSON_ARRAY) {
    for (size_t i = 0; i < nf; i++)
      if (features->u.arr.items[i]->type == QWH_JSON_STRING && strcmp(features->u.arr.items[i]->u.str.s, "raw") != 0)
        c->features[c->n_features++] = features->u.arr.items[i]->u.str.s;
  } else if (!c->raw) {
    c->features[c->n_features++] = "control";
  }
  if (c->raw && role == QWH_CLIENT) c->features[c->n_features++] = "raw";
  qwh_session_config *sc = &c->sc;
  sc->role = role;
  sc->max_frame_length = (uint32_t)cfg_int(root, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  sc->features = c->features;
  sc->n_features = c->n_features;
  sc->version = cfg_str(root, "protocolVersion", NULL);
  const qwh_json *tags = qwh_json_get(root, "tags");
  sc->tags = tags && tags->type == QWH_JSON_OBJECT ? tags : NULL;
  qwh_server_policy_defaults(&sc->policy);
  sc->policy.features = c->features;
  sc->policy.n_features = c->n_features;
  sc->policy.max_frame_length = sc->max_frame_length;
  sc->policy.version = sc->version;
  sc->policy.tags = sc->tags; /* a server's tags go in its accept */
  sc->policy.framing_none = c->raw;
  sc->policy.legacy_allowed = strcmp(profile, "legacy") == 0 || (qwh_json_get(root, "allowLegacy") && qwh_json_get(root, "allowLegacy")->u.b);
  const qwh_json *rs = qwh_json_get(root, "requireSignature");
  sc->policy.require_signature = rs && rs->type == QWH_JSON_BOOL && rs->u.b;
  sc->policy.signature_window_ms = cfg_int(root, "signatureWindowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  qwh_pconn_limits_default(&c->lim);
  c->lim.handshake_timeout_ms = cfg_int(root, "handshakeTimeoutMs", 10000);
  c->lim.drain_timeout_ms = cfg_int(root, "drainTimeoutMs", 5000);
  c->lim.max_backpressure = (size_t)cfg_int(root, "maxBackpressureBytes", 5 << 20);
  c->lim.high_water = (size_t)cfg_int(root, "highWaterMarkBytes", (int64_t)c->lim.high_water);
  if (c->lim.high_water > c->lim.max_backpressure) c->lim.high_water = c->lim.max_backpressure;
  c->max_clients = cfg_int(root, "maxClients", -1);
  c->max_pending = cfg_int(root, "maxPendingHandshakes", -1);
  const qwh_json *ac = qwh_json_get(root, "allowConnection");
  c->allow_connection = !(ac && ac->type == QWH_JSON_BOOL && !ac->u.b);
  c->policy = cfg_str(root, "policy", NULL);
  c->scenario = cfg_str(root, "scenario", NULL);
  c->close_after = cfg_int(root, "closeAfter", 1);
  c->close_code = cfg_str(root, "closeCode", "E_NORMAL_CLOSE");
  c->hold_ms = cfg_int(root, "holdMs", -1);
  c->timeout_ms = cfg_int(root, "timeoutMs", 10000);
  c->expect_count = cfg_int(root, "expectCount", 1);
  c->expect_error = cfg_str(root, "expectError", NULL);
  c->size = cfg_int(root, "size", 1);
  const qwh_json *alpn = qwh_json_get(root, "alpn");
  if (alpn && alpn->type == QWH_JSON_ARRAY) {
    c->alpn = qwh_arena_alloc(&c->a, (alpn->u.arr.n + 1) * sizeof(char *));
    if (!c->alpn) return 2;
    for (size_t i = 0; i < alpn->u.arr.n; i++)
      if (alpn->u.arr.items[i]->type == QWH_JSON_STRING) c->alpn[c->n_alpn++] = alpn->u.arr.items[i]->u.str.s;
  }
  const qwh_json *pins = qwh_json_get(root, "pins");
  c->pins = pins && pins->type == QWH_JSON_ARRAY ? pins : NULL;
  const qwh_json *rcc = qwh_json_get(root, "requestClientCert"), *cc = qwh_json_get(root, "clientCert");
  c->request_client_cert = !(rcc && rcc->type == QWH_JSON_BOOL && !rcc->u.b);
  c->client_cert = !(cc && cc->type == QWH_JSON_BOOL && !cc->u.b);
  return expand_messages(c, qwh_json_get(root, "messages")) ? 2 : 0;
}

/* ---- TLS (memory BIOs, core/tls_bio.c) ---- */

static void fp_norm(const char *in, char *out, size_t outlen) {
  size_t j = 0;
  for (; *in && j + 1 < outlen; in++) {
    char ch = *in;
    if (ch >= 'a' && ch <= 'f') ch = (char)(ch - 'a' + 'A');
    if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')) out[j++] = ch;
  }
  out[j] = 0;
}

static bool fp_equal(const char *a, const char *b) {
  char x[130], y[130];
  fp_norm(a, x, sizeof x);
  fp_norm(b, y, sizeof y);
  return x[0] && strcmp(x, y) == 0;
}

static bool pins_match(const qwh_json *pins, const char *fp) {
  for (size_t i = 0; i < pins->u.arr.n; i++)
    if (pins->u.arr.items[i]->type == QWH_JSON_STRING && fp_equal(pins->u.arr.items[i]->u.str.s, fp)) return true;
  return false;
}

/* Like the ts adapter: a server asks for (and verifies) a client certificate when it has a CA
 * (unless requestClientCert is false), or checks it against config.pins only; a client verifies
 * the server ("localhost") against the CA and presents its certificate unless clientCert is false. */
static int tls_setup(config *cfg, bool server) {
  if (!g_tls) return 0;
  qwh_tls_config tc;
  memset(&tc, 0, sizeof tc);
  tc.server = server;
  tc.ca = g_tls_ca;
  tc.alpn = cfg->alpn;
  tc.alpn_count = cfg->n_alpn;
  tc.min_version = 12;
  if (server) {
    tc.cert = g_tls_cert;
    tc.key = g_tls_key;
    if (cfg->pins) {
      tc.request_cert = true;
      tc.reject_unauthorized = false;
    } else {
      tc.request_cert = tc.reject_unauthorized = g_tls_ca && cfg->request_client_cert;
    }
  } else {
    if (cfg->client_cert) {
      tc.cert = g_tls_cert;
      tc.key = g_tls_key;
    }
    tc.reject_unauthorized = g_tls_ca != NULL;
  }
  char err[256] = "";
  cfg->tls = qwh_tls_ctx_new(&tc, err, sizeof err);
  if (!cfg->tls) {
    fprintf(stderr, "qwh-native: TLS set-up failed: %s\n", err);
    return 2;
  }
  return 0;
}

static int tls_attach(config *cfg, qwh_pconn *c, bool server) {
  if (!cfg->tls) return 0;
  char err[256] = "";
  qwh_tls *t = qwh_tls_new(cfg->tls, server ? NULL : "localhost", !server && g_tls_ca ? "localhost" : NULL, err, sizeof err);
  if (!t) return -1;
  qwh_pconn_use_tls(c, t);
  return 0;
}

/* Server: a hello's "tls" tags must match the TLS session (spec 8.1 step 8). */
static qwh_code srv_check_tls_tags(void *user, const qwh_json *tags) {
  qwh_pconn *c = user;
  if (!tags || tags->type != QWH_JSON_OBJECT) return QWH_OK;
  const qwh_json *fp = qwh_json_get(tags, "tlsFingerprint256"), *alpn = qwh_json_get(tags, "tlsAlpn");
  if ((fp || alpn) && !c->tls) return QWH_E_TLS_PIN_MISMATCH; /* a TLS claim over plain TCP */
  if (fp) {
    char peer[130];
    if (fp->type != QWH_JSON_STRING || !qwh_tls_peer_fingerprint256(c->tls, peer, sizeof peer) || !fp_equal(fp->u.str.s, peer)) return QWH_E_TLS_PIN_MISMATCH;
  }
  if (alpn) {
    char got[256];
    if (alpn->type != QWH_JSON_STRING || !qwh_tls_alpn(c->tls, got, sizeof got) || strcmp(got, alpn->u.str.s) != 0) return QWH_E_TLS_PIN_MISMATCH;
  }
  return QWH_OK;
}

/* ---- serve mode ---- */

typedef struct server {
  config *cfg;
  qwh_loop loop;
  qwh_watch listen;
  qwh_pconn *conns;
  size_t count;
  int kind; /* scenario */
  qwh_replay_cache replay;
} server;

enum { SC_ECHO, SC_SINK, SC_CLOSE_AFTER, SC_PUSH, SC_BROADCAST };

typedef struct conn_stats {
  uint64_t messages, bytes;
} conn_stats;

static qwh_code verify_policy(void *user, const qwh_hello *h) {
  (void)h;
  qwh_pconn *c = user; /* the session's user is its connection */
  server *srv = c->app;
  return srv->cfg->policy && (strcmp(srv->cfg->policy, "reject") == 0 || strcmp(srv->cfg->policy, "throw") == 0) ? QWH_E_POLICY_REJECTED : QWH_OK;
}

static qwh_code srv_tls_open(qwh_pconn *c) {
  server *srv = c->app;
  char fp[130];
  bool have = qwh_tls_peer_fingerprint256(c->tls, fp, sizeof fp);
  if (srv->cfg->pins && srv->cfg->pins->u.arr.n > 0 && (!have || !pins_match(srv->cfg->pins, fp))) return QWH_E_TLS_PIN_MISMATCH;
  if (qwh_tls_export(c->tls, c->tls_exporter, sizeof c->tls_exporter, "EXPORTER-Channel-Binding", 24, NULL, 0, true) == QWH_TLS_OK)
    c->s.cfg.policy.exporter = c->tls_exporter;
  c->s.cfg.policy.check_tls_tags = srv_check_tls_tags;
  c->s.cfg.policy.user = c;
  return QWH_OK;
}

static void srv_open(qwh_pconn *c) {
  server *srv = c->app;
  for (size_t i = 0; i < srv->cfg->messages.n; i++) qwh_pconn_send(c, srv->cfg->messages.items[i].data, srv->cfg->messages.items[i].len);
  if (srv->kind == SC_PUSH) {
    int64_t count = cfg_int(srv->cfg->root, "pushCount", 1), size = cfg_int(srv->cfg->root, "pushSize", 16);
    for (int64_t i = 0; i < count; i++) {
      qwh_buf m;
      gen_message(&m, (size_t)i, (size_t)size);
      qwh_pconn_send(c, m.data, m.len);
      qwh_buf_free(&m);
    }
  }
  if (srv->kind == SC_CLOSE_AFTER && srv->cfg->close_after == 0) {
    qwh_code code = qwh_code_from_name(srv->cfg->close_code, strlen(srv->cfg->close_code));
    qwh_session_close(&c->s, code ? code : QWH_E_NORMAL_CLOSE, NULL);
  }
  if (srv->kind == SC_BROADCAST) {
    size_t open = 0;
    for (qwh_pconn *o = srv->conns; o; o = o->next) open += o->open && !o->s.finished;
    if ((int64_t)open == cfg_int(srv->cfg->root, "groupSize", 2))
      for (qwh_pconn *o = srv->conns; o; o = o->next) qwh_pconn_send(o, (const uint8_t *)"go", 2);
  }
}

static void srv_message(qwh_pconn *c, const uint8_t *p, size_t n) {
  server *srv = c->app;
  conn_stats *st = (conn_stats *)(c + 1);
  st->messages++;
  st->bytes += n;
  switch (srv->kind) {
    case SC_ECHO:
    case SC_PUSH: qwh_pconn_send(c, p, n); break;
    case SC_BROADCAST:
      for (qwh_pconn *o = srv->conns; o; o = o->next) qwh_pconn_send(o, p, n);
      break;
    case SC_CLOSE_AFTER:
      qwh_pconn_send(c, p, n);
      if ((int64_t)st->messages == srv->cfg->close_after) {
        qwh_code code = qwh_code_from_name(srv->cfg->close_code, strlen(srv->cfg->close_code));
        qwh_session_close(&c->s, code ? code : QWH_E_NORMAL_CLOSE, NULL);
      }
      break;
    default: break;
  }
}

static void srv_closed(qwh_pconn *c) {
  server *srv = c->app;
  conn_stats *st = (conn_stats *)(c + 1);
  char line[256];
  const char *err = c->s.error ? c->s.error_name : NULL;
  if (!c->open && c->s.error && c->s.error != QWH_E_SOCKET)
    printf("{\"event\":\"rejected\",\"code\":\"%s\"}\n", c->s.error_name);
  snprintf(line, sizeof line, "{\"event\":\"closed\",\"messages\":%llu,\"bytes\":%llu,\"error\":%s%s%s}", (unsigned long long)st->messages,
           (unsigned long long)st->bytes, err ? "\"" : "", err ? err : "null", err ? "\"" : "");
  puts(line);
  fflush(stdout);
  if (c->prev) c->prev->next = c->next;
  else srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->count--;
  qwh_pconn_free(c);
  free(c);
}

static void srv_accept(qwh_watch *w, uint32_t events) {
  (void)events;
  server *srv = (server *)((char *)w - offsetof(server, listen));
  for (;;) {
    int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    qwh_pconn *c = calloc(1, sizeof *c + sizeof(conn_stats));
    if (!c) {
      close(fd);
      continue;
    }
    size_t pending = 0;
    for (qwh_pconn *o = srv->conns; o; o = o->next) pending += !o->open && !o->s.finished;
    qwh_session_config sc = srv->cfg->sc;
    sc.policy.now_ms = qwh_wall_ms();
    sc.policy.replay_cache = &srv->replay;
    if (srv->cfg->policy) sc.verify = verify_policy;
    sc.policy.check_tls_tags = srv_check_tls_tags; /* spec 8.1 step 8, with or without TLS */
    sc.policy.user = c;
    qwh_pconn_handlers h = {srv_open, srv_message, NULL, srv_closed};
    if (qwh_pconn_start(c, &srv->loop, fd, false, &sc, &srv->cfg->lim, &h, srv) != 0) {
      if (!g_lws) close(fd); /* lws closes a descriptor it failed to adopt */
      free(c);
      continue;
    }
    c->on_tls_open = srv_tls_open;
    if (tls_attach(srv->cfg, c, true) != 0) {
      qwh_pconn_free(c);
      free(c);
      continue;
    }
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->count++;
    /* Admission before reading a byte (spec 13.1). */
    if (srv->cfg->max_clients >= 0 && (int64_t)srv->count > srv->cfg->max_clients) qwh_pconn_refuse(c, QWH_E_MAX_CLIENTS);
    else if (srv->cfg->max_pending >= 0 && (int64_t)pending + 1 > srv->cfg->max_pending) qwh_pconn_refuse(c, QWH_E_MAX_PENDING_HANDSHAKES);
    else if (!srv->cfg->allow_connection) qwh_pconn_refuse(c, QWH_E_POLICY_REJECTED);
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

static int run_serve(config *cfg, const char *host, uint16_t port) {
  static const char *const names[] = {"echo", "sink", "close-after", "push-on-connect", "broadcast"};
  server srv;
  memset(&srv, 0, sizeof srv);
  srv.cfg = cfg;
  srv.kind = -1;
  const char *scenario = cfg->scenario ? cfg->scenario : "echo";
  for (int i = 0; i < 5; i++)
    if (strcmp(scenario, names[i]) == 0) srv.kind = i;
  if (srv.kind < 0) {
    fprintf(stderr, "qwh-native: unsupported server scenario %s\n", scenario);
    return UNSUPPORTED;
  }
  if (loop_init(&srv.loop) || qwh_replay_cache_init(&srv.replay, cfg->sc.policy.signature_window_ms, 100000)) return 2;
  uint16_t bound = 0;
  srv.listen.fd = qwh_listen_tcp(host, port, &bound);
  srv.listen.on_io = srv_accept;
  if (srv.listen.fd < 0 || qwh_loop_watch(&srv.loop, &srv.listen, EPOLLIN, 1) != 0) {
    fprintf(stderr, "qwh-native: cannot listen on %s:%u: %s\n", host, port, strerror(errno));
    qwh_loop_free(&srv.loop);
    qwh_replay_cache_free(&srv.replay);
    return 2;
  }
  stdin_watch in = {{0, on_stdin, NULL, 0}, false};
  bool watch_stdin = qwh_loop_watch(&srv.loop, &in.w, EPOLLIN, 1) == 0; /* stdin's end stops the server, as for the ts adapter */
  printf("{\"ready\":true,\"port\":%u}\n", bound);
  fflush(stdout);
  while (!g_stop && !in.eof) {
    int64_t now = qwh_monotonic_ms();
    for (qwh_pconn *c = srv.conns, *next; c; c = next) {
      next = c->next;
      qwh_pconn_tick(c, now);
    }
    if (qwh_loop_poll(&srv.loop, 50) < 0) break;
    for (qwh_pconn *c = srv.conns, *next; c; c = next) {
      next = c->next;
      qwh_pconn_service(c);
    }
  }
  /* Shutdown: a graceful close for a moment, then everything is freed. */
  for (qwh_pconn *c = srv.conns; c; c = c->next) qwh_session_close(&c->s, QWH_E_GOING_AWAY, NULL);
  int64_t end = qwh_monotonic_ms() + 500;
  while (srv.conns && qwh_monotonic_ms() < end) {
    for (qwh_pconn *c = srv.conns, *next; c; c = next) {
      next = c->next;
      qwh_pconn_service(c);
    }
    if (srv.conns) qwh_loop_poll(&srv.loop, 20);
  }
  while (srv.conns) {
    qwh_pconn *c = srv.conns;
    srv.conns = c->next;
    qwh_pconn_free(c);
    free(c);
  }
  if (watch_stdin) qwh_loop_close_fd(&srv.loop, &in.w);
  qwh_loop_close_fd(&srv.loop, &srv.listen);
  qwh_loop_free(&srv.loop);
  qwh_replay_cache_free(&srv.replay);
  return 0;
}

/* ---- connect mode ---- */

enum { CS_ECHO, CS_MIRROR, CS_CLOSE, CS_HOLD, CS_RECEIVE, CS_AWAIT_CLOSE, CS_EXPECT_REJECT, CS_OVERSIZE };

typedef struct client {
  config *cfg;
  int kind;
  qwh_loop loop;
  qwh_pconn conn;
  bool closed, closing_ourselves, closed_by_peer, opened;
  size_t sent, next_to_send;
  qwh_buf *received;
  size_t n_received, cap_received, received_bytes;
  char error[72], close_code[72], local_error[72];
} client;

static void record_error(client *cl, const char *code) {
  if (!cl->error[0] && code) snprintf(cl->error, sizeof cl->error, "%s", code);
}

static void cl_send(client *cl, const qwh_buf *m) {
  qwh_code rc = qwh_pconn_send(&cl->conn, m->data, m->len);
  if (rc == QWH_OK) cl->sent++;
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
    qwh_json *t = c->s.cfg.tags && c->s.cfg.tags->type == QWH_JSON_OBJECT ? qwh_json_without(&cfg->a, c->s.cfg.tags, "tlsAlpn") : qwh_json_object(&cfg->a);
    if (t) {
      qwh_json_set(&cfg->a, t, "tlsAlpn", qwh_json_cstring(&cfg->a, alpn));
      c->s.cfg.tags = t;
    }
  }
  return QWH_OK;
}

static void cl_open(qwh_pconn *c) {
  client *cl = c->app;
  cl->opened = true;
  /* mirror and close queued their messages before the accept: sent now, in order (QWH-STATE-001). */
  if (cl->kind == CS_OVERSIZE) {
    qwh_buf big;
    gen_message(&big, 0, (size_t)cl->cfg->size);
    memset(big.data, 0, big.len);
    qwh_code rc = qwh_pconn_send(c, big.data, big.len);
    snprintf(cl->local_error, sizeof cl->local_error, "%s", rc ? qwh_code_name(rc) : "");
    qwh_buf_free(&big);
    if (cl->cfg->messages.n == 0) {
      if (qwh_pconn_send(c, (const uint8_t *)"still-open", 10) == QWH_OK) cl->sent++;
    }
  }
  for (size_t i = 0; i < cl->cfg->messages.n; i++) cl_send(cl, &cl->cfg->messages.items[i]);
  if (cl->kind == CS_CLOSE) {
    cl->closing_ourselves = true;
    qwh_session_close(&c->s, QWH_E_NORMAL_CLOSE, NULL);
  }
}

static void cl_message(qwh_pconn *c, const uint8_t *p, size_t n) {
  client *cl = c->app;
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
  if (cl->kind == CS_MIRROR && qwh_pconn_send(c, p, n) == QWH_OK) cl->sent++;
}

static void cl_peer_close(qwh_pconn *c, const char *code, const char *reason) {
  (void)reason;
  client *cl = c->app;
  if (!cl->closing_ourselves) {
    cl->closed_by_peer = true;
    snprintf(cl->close_code, sizeof cl->close_code, "%s", code);
    if (strcmp(code, "E_NORMAL_CLOSE") != 0 && strcmp(code, "E_GOING_AWAY") != 0) record_error(cl, code);
  }
}

static void cl_closed(qwh_pconn *c) {
  client *cl = c->app;
  cl->closed = true;
  if (c->s.error) record_error(cl, c->s.error_name);
  if (!cl->closing_ourselves && !cl->closed_by_peer && c->s.peer_ended) {
    cl->closed_by_peer = true;
    snprintf(cl->close_code, sizeof cl->close_code, "%s", c->s.error ? c->s.error_name : "E_NORMAL_CLOSE");
  }
}

/* sha256 over length-prefixed messages (raw: over the byte stream), as the ts adapter computes it. */
static void digest(const qwh_buf *msgs, size_t n, bool raw, char hex[65]) {
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  for (size_t i = 0; i < n; i++) {
    if (!raw) {
      uint8_t h[4];
      qwh_put_u32be(h, (uint32_t)msgs[i].len);
      EVP_DigestUpdate(ctx, h, 4);
    }
    if (msgs[i].len) EVP_DigestUpdate(ctx, msgs[i].data, msgs[i].len);
  }
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static size_t total_bytes(const qwh_buf *m, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; i++) t += m[i].len;
  return t;
}

/* The echo check: same messages (raw: same byte stream). */
static bool echo_matches(client *cl) {
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

static int run_connect(config *cfg, const char *host, uint16_t port, const char *scenario) {
  static const char *const names[] = {"echo", "mirror", "close", "hold", "receive", "await-close", "expect-reject", "oversize"};
  client cl;
  memset(&cl, 0, sizeof cl);
  cl.cfg = cfg;
  cl.kind = -1;
  for (int i = 0; i < 8; i++)
    if (strcmp(scenario, names[i]) == 0) cl.kind = i;
  if (strncmp(scenario, "echo-", 5) == 0) { /* echo-N: N generated 64-byte messages */
    long n = strtol(scenario + 5, NULL, 10);
    for (size_t i = 0; i < cfg->messages.n; i++) qwh_buf_free(&cfg->messages.items[i]);
    free(cfg->messages.items);
    cfg->messages.items = calloc(n > 0 ? (size_t)n : 1, sizeof(qwh_buf));
    cfg->messages.n = 0;
    for (long i = 0; i < n; i++, cfg->messages.n++) gen_message(&cfg->messages.items[i], (size_t)i, 64);
    cl.kind = CS_ECHO;
  }
  if (cl.kind < 0) {
    fprintf(stderr, "qwh-native: unsupported client scenario %s\n", scenario);
    return UNSUPPORTED;
  }
  if (loop_init(&cl.loop)) return 2;
  /* A client paces itself: it never stops reading (that could deadlock an echo) and never gives up on its own queue. */
  cfg->lim.high_water = cfg->lim.max_backpressure = SIZE_MAX;
  int fd = qwh_connect_tcp(host, port);
  qwh_pconn_handlers h = {cl_open, cl_message, cl_peer_close, cl_closed};
  if (fd < 0) {
    record_error(&cl, "E_SOCKET");
    cl.closed = true;
  } else if (qwh_pconn_start(&cl.conn, &cl.loop, fd, true, &cfg->sc, &cfg->lim, &h, &cl) != 0) {
    if (!g_lws) close(fd);
    fd = -1;
    record_error(&cl, "E_SOCKET");
    cl.closed = true;
  } else {
    cl.conn.on_tls_open = cl_tls_open;
    if (tls_attach(cfg, &cl.conn, false) != 0) {
      qwh_pconn_free(&cl.conn);
      fd = -1;
      record_error(&cl, "E_TLS_HANDSHAKE");
      cl.closed = true;
    }
  }
  int64_t start = qwh_monotonic_ms(), deadline = start + cfg->timeout_ms;
  int64_t hold = cfg->hold_ms >= 0 ? cfg->hold_ms : (cl.kind == CS_MIRROR ? 10000 : 1000);
  bool ok = false, done = false;
  while (!done && !g_stop) {
    int64_t now = qwh_monotonic_ms();
    if (!cl.closed) qwh_pconn_tick(&cl.conn, now);
    if (!cl.closed) qwh_pconn_service(&cl.conn);
    size_t want = cfg->messages.n;
    switch (cl.kind) {
      case CS_EXPECT_REJECT:
        if (cl.opened) done = true, ok = false;
        else if (cl.closed) done = true, ok = cfg->expect_error && strcmp(cl.error, cfg->expect_error) == 0;
        break;
      case CS_ECHO:
        if (cl.opened && (cfg->raw ? cl.received_bytes >= total_bytes(cfg->messages.items, want) : cl.n_received >= want)) done = true, ok = echo_matches(&cl);
        else if (cl.closed) done = true, ok = false;
        break;
      case CS_MIRROR:
      case CS_HOLD:
        if (cl.closed || now - start >= hold) done = true, ok = true;
        break;
      case CS_CLOSE:
        if (cl.closed) done = true, ok = true;
        break;
      case CS_RECEIVE:
        if ((int64_t)cl.n_received >= cfg->expect_count) done = true, ok = true;
        else if (cl.closed) done = true, ok = false;
        break;
      case CS_AWAIT_CLOSE:
        if (cl.closed) done = true, ok = cl.closed_by_peer;
        break;
      case CS_OVERSIZE: {
        size_t need = cfg->messages.n ? cfg->messages.n : 1;
        if (cl.n_received >= need) done = true, ok = !cl.closed && strcmp(cl.local_error, "E_FRAME_TOO_LARGE") == 0;
        else if (cl.closed) done = true, ok = false;
        break;
      }
    }
    if (!done && now >= deadline) done = true, ok = false;
    if (!done && qwh_loop_poll(&cl.loop, 20) < 0) done = true;
  }
  /* Close gracefully if still open, for at most 2 s. */
  if (!cl.closed && fd >= 0) {
    cl.closing_ourselves = true;
    qwh_pconn_close(&cl.conn, QWH_E_NORMAL_CLOSE);
    int64_t end = qwh_monotonic_ms() + 2000;
    while (!cl.closed && qwh_monotonic_ms() < end) {
      qwh_pconn_tick(&cl.conn, qwh_monotonic_ms());
      qwh_pconn_service(&cl.conn);
      if (!cl.closed) qwh_loop_poll(&cl.loop, 20);
    }
  }
  bool lenient = cl.kind == CS_EXPECT_REJECT || cl.kind == CS_AWAIT_CLOSE || cl.kind == CS_HOLD || cl.kind == CS_MIRROR || cl.kind == CS_CLOSE;
  ok = ok && (lenient || !cl.error[0]);
  /* A connection that never opened (TCP, TLS or pin failure) is not ok, whatever the scenario. */
  if (!cl.opened && cl.error[0] && cl.kind != CS_EXPECT_REJECT) ok = false;
  char sha[65];
  digest(cl.received, cl.n_received, cfg->raw, sha);
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *r = qwh_json_object(&a), *hexes = qwh_json_array(&a);
  /* The first messages in hex, up to 64 of them and 64 KiB (the digest covers all), as the ts adapter. */
  size_t budget = 65536;
  for (size_t i = 0; i < cl.n_received && i < 64; i++) {
    if (cl.received[i].len > budget) break;
    budget -= cl.received[i].len;
    qwh_json_push(&a, hexes, qwh_hex_json(&a, cl.received[i].data, cl.received[i].len));
  }
  qwh_json_set(&a, r, "ok", qwh_json_bool(&a, ok));
  qwh_json_set(&a, r, "scenario", qwh_json_cstring(&a, scenario));
  qwh_json_set(&a, r, "sent", qwh_json_int(&a, (int64_t)cl.sent));
  qwh_json_set(&a, r, "received", qwh_json_int(&a, (int64_t)cl.n_received));
  qwh_json_set(&a, r, "receivedSha256", qwh_json_cstring(&a, sha));
  qwh_json_set(&a, r, "receivedHex", hexes);
  qwh_json_set(&a, r, "error", cl.error[0] ? qwh_json_cstring(&a, cl.error) : qwh_json_null(&a));
  qwh_json_set(&a, r, "closeCode", cl.close_code[0] ? qwh_json_cstring(&a, cl.close_code) : qwh_json_null(&a));
  qwh_json_set(&a, r, "closedByPeer", qwh_json_bool(&a, cl.closed_by_peer));
  qwh_json *accept = NULL;
  if (fd >= 0 && cl.conn.s.accept.len &&
      (qwh_json_parse(&a, cl.conn.s.accept.data, cl.conn.s.accept.len, &accept) != QWH_JSON_OK || accept->type != QWH_JSON_OBJECT))
    accept = NULL;
  qwh_json_set(&a, r, "accept", accept ? accept : qwh_json_null(&a));
  if (cl.kind == CS_OVERSIZE) qwh_json_set(&a, r, "localError", cl.local_error[0] ? qwh_json_cstring(&a, cl.local_error) : qwh_json_null(&a));
  qwh_buf out;
  qwh_buf_init(&out);
  qwh_json_write(r, &out);
  out_line(&out);
  qwh_buf_free(&out);
  qwh_arena_free(&a);
  /* Give the reader of our stdout a moment before the exit: a runner that looks for the result
   * line as soon as the process exits could otherwise miss it (see REQUESTS-TO-LEAD.md). */
  struct timespec pause_ts = {0, 30 * 1000 * 1000};
  nanosleep(&pause_ts, NULL);
  if (fd >= 0) qwh_pconn_free(&cl.conn);
  for (size_t i = 0; i < cl.n_received; i++) qwh_buf_free(&cl.received[i]);
  free(cl.received);
  qwh_loop_free(&cl.loop);
  return 0;
}

/* ---- main ---- */

static void usage(void) {
  fprintf(stderr,
          "usage: qwh-native [--backend posix|libsocket] MODE ...\n"
          "       qwh-native codec\n"
          "       qwh-native serve --port P [--host H] [--config JSON]\n"
          "       qwh-native connect --port P [--host H] [--scenario S] [--config JSON]\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage();
    return UNSUPPORTED;
  }
  /* Optional leading "--backend posix|libsocket|lws" (the conformance agents' form). */
  if (argc >= 3 && strcmp(argv[1], "--backend") == 0) {
    const char *b = argv[2];
    if (strcmp(b, "lws") == 0) {
      g_lws = true;
      qwh_loop probe;
      if (qwh_loop_init_lws(&probe) != 0) {
        fprintf(stderr, "qwh-native: this build has no libwebsockets (backend lws)\n");
        return UNSUPPORTED;
      }
      qwh_loop_free(&probe);
    } else if (strcmp(b, "posix") != 0 && strcmp(b, "libsocket") != 0) {
      usage();
      return 2;
    }
    argv += 2;
    argc -= 2;
    if (argc < 2) {
      usage();
      return UNSUPPORTED;
    }
  }
  const char *mode = argv[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(mode, "codec") == 0) return run_codec();
  bool serve = strcmp(mode, "serve") == 0;
  if (!serve && strcmp(mode, "connect") != 0) {
    fprintf(stderr, "qwh-native: unsupported mode %s\n", mode);
    return UNSUPPORTED;
  }
  const char *host = "127.0.0.1", *config_text = "{}", *scenario = "echo";
  long port = 0;
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!val) {
      usage();
      return 2;
    }
    if (strcmp(arg, "--port") == 0) port = strtol(val, NULL, 10);
    else if (strcmp(arg, "--host") == 0) host = val;
    else if (strcmp(arg, "--config") == 0) config_text = val;
    else if (strcmp(arg, "--scenario") == 0) scenario = val;
    else if (strcmp(arg, "--tls-cert") == 0 || strcmp(arg, "--tls-key") == 0 || strcmp(arg, "--tls-ca") == 0) {
      char *pem = read_file(val);
      if (!pem) {
        fprintf(stderr, "qwh-native: cannot read %s\n", val);
        return 2;
      }
      char **slot = arg[6] == 'c' && arg[7] == 'e' ? &g_tls_cert : arg[6] == 'k' ? &g_tls_key : &g_tls_ca;
      free(*slot);
      *slot = pem;
      g_tls = true;
    } else {
      usage();
      return 2;
    }
    i++;
  }
  if (port < 0 || port > 65535) {
    usage();
    return 2;
  }
  config cfg;
  int rc = config_load(&cfg, config_text, serve ? QWH_SERVER : QWH_CLIENT);
  if (rc == 0) rc = tls_setup(&cfg, serve);
  if (rc == 0) rc = serve ? run_serve(&cfg, host, (uint16_t)port) : run_connect(&cfg, host, (uint16_t)port, scenario);
  else fprintf(stderr, "qwh-native: %s --config\n", rc == UNSUPPORTED ? "unsupported" : "malformed");
  config_free(&cfg);
  free(g_tls_cert);
  free(g_tls_key);
  free(g_tls_ca);
  return rc;
}
