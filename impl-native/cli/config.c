/* The --config object (conformance/CASE-FORMAT.md "Adapter config names"), and TLS set-up. */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/codec_ops.h"
#include "cli.h"

int64_t cfg_int(const qwh_json *o, const char *k, int64_t d) {
  const qwh_json *v = qwh_json_get(o, k);
  return v && v->type == QWH_JSON_INT ? v->u.i : d;
}

static const char *cfg_str(const qwh_json *o, const char *k, const char *d) {
  const qwh_json *v = qwh_json_get(o, k);
  return v && v->type == QWH_JSON_STRING ? v->u.str.s : d;
}

static bool cfg_bool(const qwh_json *o, const char *k, bool d) {
  const qwh_json *v = qwh_json_get(o, k);
  return v && v->type == QWH_JSON_BOOL ? v->u.b : d;
}

void gen_message(qwh_buf *b, size_t i, size_t size) {
  qwh_buf_init(b);
  qwh_buf_reserve(b, size ? size : 1);
  for (size_t j = 0; j < size; j++) b->data[j] = (uint8_t)((i + j) & 0xff);
  b->len = size;
}

void msg_list_free(msg_list *m) {
  for (size_t i = 0; i < m->n; i++) qwh_buf_free(&m->items[i]);
  free(m->items);
  m->items = NULL;
  m->n = 0;
}

#define MAX_GENERATED (1u << 24) /* messages per list */
#define MAX_GENERATED_SIZE (1u << 30)

/* A `messages` list: hex strings, or {size, count, numbered?} generated. */
static int expand_messages(msg_list *out, const qwh_json *list) {
  size_t total = 0;
  if (list && list->type != QWH_JSON_ARRAY) return -1;
  for (size_t i = 0; list && i < list->u.arr.n; i++) {
    const qwh_json *it = list->u.arr.items[i];
    if (it->type == QWH_JSON_STRING) {
      total++;
      continue;
    }
    int64_t count = cfg_int(it, "count", 1), size = cfg_int(it, "size", 0);
    if (it->type != QWH_JSON_OBJECT || count < 0 || size < 0 || (uint64_t)size > MAX_GENERATED_SIZE ||
        (uint64_t)count > MAX_GENERATED - total || (cfg_bool(it, "numbered", false) && size < 4))
      return -1;
    total += (size_t)count;
  }
  out->items = calloc(total ? total : 1, sizeof(qwh_buf));
  if (!out->items) return -1;
  for (size_t i = 0; list && i < list->u.arr.n; i++) {
    const qwh_json *it = list->u.arr.items[i];
    if (it->type == QWH_JSON_STRING) {
      qwh_buf *b = &out->items[out->n++];
      qwh_buf_init(b);
      if (qwh_hex_decode(it->u.str.s, it->u.str.len, b)) return -1;
      continue;
    }
    int64_t count = cfg_int(it, "count", 1), size = cfg_int(it, "size", 0);
    void (*gen)(qwh_buf *, size_t, size_t) = cfg_bool(it, "numbered", false) ? gen_numbered : gen_message;
    for (int64_t k = 0; k < count; k++, out->n++) gen(&out->items[out->n], out->n, (size_t)size);
  }
  return 0;
}

void config_free(config *c) {
  if (c->tls) qwh_tls_ctx_free(c->tls);
  msg_list_free(&c->messages);
  msg_list_free(&c->while_down);
  msg_list_free(&c->later);
  OPENSSL_cleanse(c->sign_seed, sizeof c->sign_seed);
  qwh_arena_free(&c->a);
}

/* Every name of the adapter contract this build honours, per role (the other role's names are ignored, as the ts adapter does). */
static const char *const common_names[] = {"scenario",
                                           "profile",
                                           "framing",
                                           "features",
                                           "maxFrameLength",
                                           "protocolVersion",
                                           "tags",
                                           "handshakeTimeoutMs",
                                           "heartbeatIntervalMs",
                                           "heartbeatMissedLimit",
                                           "idleTimeoutMs",
                                           "drainTimeoutMs",
                                           "highWaterMarkBytes",
                                           "messages",
                                           "pins",
                                           "alpn",
                                           "resume"};
static const char *const server_names[] = {"allowLegacy",
                                           "requireSignature",
                                           "maxClients",
                                           "maxPendingHandshakes",
                                           "maxPendingHandshakesPerAddress",
                                           "maxBackpressureBytes",
                                           "signatureWindowMs",
                                           "allowConnection",
                                           "trustedKeys",
                                           "policy",
                                           "verifyDelayMs",
                                           "replayCacheMaxEntries",
                                           "closeAfter",
                                           "closeCode",
                                           "pushCount",
                                           "pushSize",
                                           "groupSize",
                                           "requestClientCert"};
static const char *const client_names[] = {"sign",        "connectTimeoutMs",  "timeoutMs",     "holdMs",
                                           "expectCount", "expectError",       "size",          "maxAttempts",
                                           "closes",      "whileDownMessages", "laterMessages", "clientCert"};

static bool in(const char *name, const char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(name, list[i]) == 0) return true;
  return false;
}
#define IN(name, list) in(name, list, sizeof list / sizeof *list)

/* A name no role of this build knows: refuse (exit 127) rather than ignore it. */
static const char *unknown_name(const qwh_json *root) {
  for (size_t i = 0; i < root->u.obj.n; i++) {
    const char *k = root->u.obj.m[i].name.s;
    if (!IN(k, common_names) && !IN(k, server_names) && !IN(k, client_names)) return k;
  }
  return NULL;
}

static int string_list(config *c, const qwh_json *v, const char ***out, size_t *n) {
  if (!v) return 0;
  if (v->type != QWH_JSON_ARRAY) return 2;
  *out = qwh_arena_alloc(&c->a, (v->u.arr.n + 1) * sizeof(char *));
  if (!*out) return 2;
  for (size_t i = 0; i < v->u.arr.n; i++) {
    if (v->u.arr.items[i]->type != QWH_JSON_STRING) return 2;
    (*out)[(*n)++] = v->u.arr.items[i]->u.str.s;
  }
  return 0;
}

/* config.resume: true, or an object with the TS options' names and defaults (validated once, as there). */
static int resume_option(config *c, const qwh_json *v, bool server) {
  if (!v || (v->type == QWH_JSON_BOOL && !v->u.b)) return 0;
  if (v->type != QWH_JSON_BOOL && v->type != QWH_JSON_OBJECT) return 2;
  const qwh_json *o = v->type == QWH_JSON_OBJECT ? v : NULL;
  int64_t msgs = cfg_int(o, "maxUnackedMessages", 4096), bytes = cfg_int(o, "maxUnackedBytes", 4 << 20);
  c->resume_window_ms = cfg_int(o, "windowMs", 30000);
  c->ack_delay_ms = cfg_int(o, "ackDelayMs", 100);
  c->max_sessions = cfg_int(o, "maxSessions", 1024);
  if (msgs < 1 || msgs > QWH_MAX_UNACKED_MESSAGES_LIMIT || bytes < 1 || bytes > QWH_MAX_SAFE_INTEGER || c->resume_window_ms < 0 ||
      c->ack_delay_ms < 0 || c->ack_delay_ms > 60000 || c->max_sessions < 0)
    return 2;
  bool control = false;
  for (size_t i = 0; i < c->n_features; i++) control = control || strcmp(c->features[i], "control") == 0;
  if (c->raw || !control || c->sc.profile != QWH_HS_V1) return 2; /* ACKs are control frames of a v1 connection */
  c->resume = true;
  c->resume_limits.max_messages = (uint64_t)msgs;
  c->resume_limits.max_bytes = (uint64_t)bytes;
  if (server) {
    c->sc.policy.resume = true;
    c->sc.policy.qwh_minor = QWH_RESUME_VERSION_MINOR;
  } else {
    c->features[c->n_features++] = "resume";
    c->sc.n_features = c->n_features;
  }
  return 0;
}

int config_load(config *c, const char *text, qwh_role role) {
  memset(c, 0, sizeof *c);
  qwh_arena_init(&c->a);
  qwh_json *root;
  if (qwh_json_parse(&c->a, (const uint8_t *)text, strlen(text), &root) != QWH_JSON_OK || root->type != QWH_JSON_OBJECT) return 2;
  c->root = root;
  const char *bad = unknown_name(root);
  if (bad) {
    fprintf(stderr, "qwh-native: config name %s is not supported\n", bad);
    return UNSUPPORTED;
  }
  bool server = role == QWH_SERVER;
  qwh_session_config *sc = &c->sc;
  sc->role = role;
  const char *profile = cfg_str(root, "profile", "v1");
  if (strcmp(profile, "bare") == 0)
    sc->profile = QWH_HS_BARE;
  else if (strcmp(profile, "legacy") == 0)
    sc->profile = server ? QWH_HS_V1 : QWH_HS_LEGACY;
  else if (strcmp(profile, "v1") != 0)
    return UNSUPPORTED;
  const char *framing = cfg_str(root, "framing", "length-prefixed");
  c->raw = strcmp(framing, "none") == 0;
  if (!c->raw && strcmp(framing, "length-prefixed") != 0) return UNSUPPORTED;
  const qwh_json *features = qwh_json_get(root, "features");
  if (features && features->type != QWH_JSON_ARRAY) return 2;
  size_t nf = features ? features->u.arr.n : 1;
  c->features = qwh_arena_alloc(&c->a, (nf + 2) * sizeof(char *));
  if (!c->features) return 2;
  if (features) {
    for (size_t i = 0; i < nf; i++)
      if (features->u.arr.items[i]->type == QWH_JSON_STRING && strcmp(features->u.arr.items[i]->u.str.s, "raw") != 0)
        c->features[c->n_features++] = features->u.arr.items[i]->u.str.s;
  } else if (!c->raw) {
    c->features[c->n_features++] = "control";
  }
  if (c->raw && !server) c->features[c->n_features++] = "raw";
  int64_t max = cfg_int(root, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  if (max < 0 || max > (int64_t)QWH_MAX_FRAME_LENGTH_LIMIT) return 2;
  sc->max_frame_length = (uint32_t)max;
  sc->features = c->features;
  sc->n_features = c->n_features;
  sc->version = cfg_str(root, "protocolVersion", NULL);
  const qwh_json *tags = qwh_json_get(root, "tags");
  sc->tags = tags && tags->type == QWH_JSON_OBJECT ? tags : NULL;
  int64_t missed = cfg_int(root, "heartbeatMissedLimit", 2);
  if (missed < 1 || missed > 1000000) return 2;
  sc->heartbeat_missed_limit = (uint32_t)missed;
  qwh_server_policy_defaults(&sc->policy);
  sc->policy.features = c->features;
  sc->policy.n_features = c->n_features;
  sc->policy.max_frame_length = sc->max_frame_length;
  sc->policy.version = sc->version;
  sc->policy.tags = sc->tags; /* a server's tags go in its accept */
  sc->policy.framing_none = c->raw;
  sc->policy.legacy_allowed = strcmp(profile, "legacy") == 0 || cfg_bool(root, "allowLegacy", false);
  sc->policy.require_signature = cfg_bool(root, "requireSignature", false);
  sc->policy.signature_window_ms = cfg_int(root, "signatureWindowMs", QWH_DEFAULT_SIGNATURE_WINDOW_MS);
  qwh_pconn_limits_default(&c->lim);
  c->lim.handshake_timeout_ms = cfg_int(root, "handshakeTimeoutMs", QWH_DEFAULT_HANDSHAKE_TIMEOUT_MS);
  c->lim.drain_timeout_ms = cfg_int(root, "drainTimeoutMs", 5000);
  c->lim.heartbeat_interval_ms = cfg_int(root, "heartbeatIntervalMs", 0);
  c->lim.idle_timeout_ms = cfg_int(root, "idleTimeoutMs", 0);
  if (c->lim.handshake_timeout_ms < 0 || c->lim.drain_timeout_ms < 0 || c->lim.heartbeat_interval_ms < 0 || c->lim.idle_timeout_ms < 0)
    return 2;
  int64_t mb = cfg_int(root, "maxBackpressureBytes", 5 << 20), hw = cfg_int(root, "highWaterMarkBytes", (int64_t)c->lim.high_water);
  if (mb < 0 || hw < 0) return 2;
  c->lim.max_backpressure = (size_t)mb;
  c->lim.high_water = (size_t)hw;
  if (c->lim.high_water > c->lim.max_backpressure) c->lim.high_water = c->lim.max_backpressure;
  c->max_clients = cfg_int(root, "maxClients", -1);
  c->max_pending = cfg_int(root, "maxPendingHandshakes", -1);
  c->max_pending_per_address = cfg_int(root, "maxPendingHandshakesPerAddress", QWH_DEFAULT_MAX_PENDING_PER_ADDRESS);
  if (c->max_pending_per_address < 1) return 2;
  c->allow_connection = cfg_bool(root, "allowConnection", true);
  c->policy = cfg_str(root, "policy", NULL);
  c->scenario = cfg_str(root, "scenario", NULL);
  c->close_after = cfg_int(root, "closeAfter", 1);
  c->close_code = cfg_str(root, "closeCode", "E_NORMAL_CLOSE");
  c->hold_ms = cfg_int(root, "holdMs", -1);
  c->timeout_ms = cfg_int(root, "timeoutMs", 10000);
  c->expect_count = cfg_int(root, "expectCount", 1);
  c->expect_error = cfg_str(root, "expectError", NULL);
  c->size = cfg_int(root, "size", 1);
  if (c->size < 0 || c->size > (int64_t)MAX_GENERATED_SIZE) return 2;
  c->verify_delay_ms = server ? cfg_int(root, "verifyDelayMs", 0) : 0;
  c->trusted_keys = server ? qwh_json_get(root, "trustedKeys") : NULL;
  if (c->trusted_keys && c->trusted_keys->type != QWH_JSON_ARRAY) return 2;
  c->replay_cache_max_entries = cfg_int(root, "replayCacheMaxEntries", 100000);
  if (server && c->replay_cache_max_entries < 0) return 2;
  if (server && c->replay_cache_max_entries > 1000000) return UNSUPPORTED; /* the cache is allocated up front */
  c->max_attempts = cfg_int(root, "maxAttempts", 5);
  c->closes = cfg_int(root, "closes", 1);
  c->connect_timeout_ms = cfg_int(root, "connectTimeoutMs", 5000);
  if (c->connect_timeout_ms < 0) return 2;
  c->lim.connect_timeout_ms = c->connect_timeout_ms;
  c->sign = !server && cfg_bool(root, "sign", false);
  if (c->sign && RAND_bytes(c->sign_seed, sizeof c->sign_seed) != 1) return 2; /* a fresh key, as the ts adapter */
  if (string_list(c, qwh_json_get(root, "alpn"), &c->alpn, &c->n_alpn)) return 2;
  const qwh_json *pins = qwh_json_get(root, "pins");
  c->pins = pins && pins->type == QWH_JSON_ARRAY ? pins : NULL;
  c->request_client_cert = cfg_bool(root, "requestClientCert", true);
  c->client_cert = cfg_bool(root, "clientCert", true);
  int rrc = resume_option(c, qwh_json_get(root, "resume"), server);
  if (rrc) return rrc;
  if (expand_messages(&c->messages, qwh_json_get(root, "messages")) ||
      expand_messages(&c->while_down, qwh_json_get(root, "whileDownMessages")) ||
      expand_messages(&c->later, qwh_json_get(root, "laterMessages")))
    return 2;
  return 0;
}

/* ---- TLS ---- */

static void fp_norm(const char *in, char *out, size_t outlen) {
  size_t j = 0;
  for (; *in && j + 1 < outlen; in++) {
    char ch = *in;
    if (ch >= 'a' && ch <= 'f') ch = (char)(ch - 'a' + 'A');
    if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')) out[j++] = ch;
  }
  out[j] = 0;
}

bool fp_equal(const char *a, const char *b) {
  char x[130], y[130];
  fp_norm(a, x, sizeof x);
  fp_norm(b, y, sizeof y);
  return x[0] && strcmp(x, y) == 0;
}

bool pins_match(const qwh_json *pins, const char *fp) {
  for (size_t i = 0; i < pins->u.arr.n; i++)
    if (pins->u.arr.items[i]->type == QWH_JSON_STRING && fp_equal(pins->u.arr.items[i]->u.str.s, fp)) return true;
  return false;
}

/* Like the ts adapter: a server asks for (and verifies) a client certificate when it has a CA
 * (unless requestClientCert is false), or checks it against config.pins only; a client verifies
 * the server ("localhost") against the CA and presents its certificate unless clientCert is false. */
int tls_setup(config *cfg, bool server) {
  if (!g_cli.tls) return 0;
  qwh_tls_config tc;
  memset(&tc, 0, sizeof tc);
  tc.server = server;
  tc.ca = g_cli.tls_ca;
  tc.alpn = cfg->alpn;
  tc.alpn_count = cfg->n_alpn;
  tc.min_version = 12;
  if (server) {
    tc.cert = g_cli.tls_cert;
    tc.key = g_cli.tls_key;
    if (cfg->pins) {
      tc.request_cert = true;
      tc.reject_unauthorized = false;
    } else {
      tc.request_cert = tc.reject_unauthorized = g_cli.tls_ca && cfg->request_client_cert;
    }
  } else {
    if (cfg->client_cert) {
      tc.cert = g_cli.tls_cert;
      tc.key = g_cli.tls_key;
    }
    tc.reject_unauthorized = g_cli.tls_ca != NULL;
  }
  char err[256] = "";
  cfg->tls = qwh_tls_ctx_new(&tc, err, sizeof err);
  if (!cfg->tls) {
    fprintf(stderr, "qwh-native: TLS set-up failed: %s\n", err);
    return 2;
  }
  return 0;
}

int tls_attach(config *cfg, qwh_pconn *c, bool server) {
  if (!cfg->tls) return 0;
  char err[256] = "";
  qwh_tls *t = qwh_tls_new(cfg->tls, server ? NULL : "localhost", !server && g_cli.tls_ca ? "localhost" : NULL, err, sizeof err);
  if (!t) return -1;
  qwh_pconn_use_tls(c, t);
  return 0;
}
