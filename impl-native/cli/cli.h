/*
 * qwh-native, the standalone C implementation of QWH/1 speaking the
 * conformance adapter contract (spec/qwh-1.md Appendix D, as
 * conformance/adapters/ts/adapter.mjs implements it). Shared by the files of
 * cli/: main.c (arguments, dispatch), config.c (--config names, TLS set-up),
 * codec_mode.c, serve*.c (serve.h), connect*.c (connect.h, incl. the retry scenario).
 */
#ifndef QWH_CLI_H
#define QWH_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../io/conn.h"
#include "../core/limits.h"
#include "../core/tls_bio.h"

#define UNSUPPORTED 127
/* maxPendingHandshakesPerAddress when not configured (the TS server's default). */
#define QWH_DEFAULT_MAX_PENDING_PER_ADDRESS 64

/* The process' settings, chosen once in main (the process runs one server or one client): the one
 * global state of qwh-native. */
typedef struct cli_globals {
  volatile sig_atomic_t stop;        /* set by SIGTERM/SIGINT only */
  bool lws;                          /* --backend lws */
  bool tls;                          /* a --tls-* option was given */
  char *tls_cert, *tls_key, *tls_ca; /* PEM text of --tls-cert/--tls-key/--tls-ca */
} cli_globals;
extern cli_globals g_cli;

/* The process' loop (backend per --backend), which also wakes on SIGTERM/SIGINT; freed by cli_loop_free. */
int cli_loop_init(qwh_loop *l);
void cli_loop_free(qwh_loop *l);
/* A poll timeout for a deadline (monotonic ms): 0 once due, -1 (no limit) for INT64_MAX. */
int cli_wait_ms(int64_t due);
void out_line(const qwh_buf *b);
/* Message i of `size` bytes, byte j = (i + j) mod 256 (the adapters' generated messages). */
void gen_message(qwh_buf *b, size_t i, size_t size);
/* Numbered message i (size >= 4): gen_message's bytes with bytes 0-3 the index i, big-endian. */
void gen_numbered(qwh_buf *b, size_t i, size_t size);

/* The indexes of received numbered messages as runs [first, last] of consecutive ascending
 * indexes, in arrival order (the result member receivedRuns); a message under 4 bytes is -1. */
typedef struct number_runs {
  int64_t (*r)[2];
  size_t n, cap;
} number_runs;
void runs_take(number_runs *r, const uint8_t *p, size_t n);
qwh_json *runs_json(qwh_arena *a, const number_runs *r);
void runs_free(number_runs *r);

/* SHA-256 over messages each preceded by its 4-byte big-endian length, fed as they arrive (receivedSha256). */
typedef struct msg_digest {
  struct evp_md_ctx_st *ctx;
} msg_digest;
int digest_init(msg_digest *d);
void digest_message(msg_digest *d, const uint8_t *p, size_t n, bool raw);
/* The hex digest so far; releases the context. */
void digest_finish(msg_digest *d, char hex[65]);

typedef struct msg_list {
  qwh_buf *items;
  size_t n;
} msg_list;

/* Bytes queued for the socket, before and after TLS, and those written from the replay ring. */
size_t queued_bytes(const qwh_pconn *c);
/*
 * A numbered stream's sender (scenario sequence): hands m->items[*next ...] to the open connection
 * `c`, in order, while the replay bounds of "resume" take them without holding any (else it waits
 * for the peer's ACKs) and less than 64 KiB waits for the socket. *full: it stopped for the socket
 * only. Returns QWH_OK, or the code of a message that cannot be sent at all (*next stays on it).
 */
qwh_code seq_send(qwh_pconn *c, const msg_list *m, size_t *next, bool *full);

/* A --config object, validated against what this build honours. */
typedef struct config {
  qwh_arena a;
  const qwh_json *root;
  qwh_session_config sc;
  qwh_pconn_limits lim;
  const char **features;
  size_t n_features;
  msg_list messages, while_down, later; /* messages; retry: whileDownMessages, laterMessages */
  bool raw;
  int64_t max_clients, max_pending, max_pending_per_address;
  bool allow_connection;
  const char *policy; /* NULL, "reject", "throw" */
  const char *scenario;
  int64_t close_after, hold_ms, timeout_ms, expect_count, size;
  const char *close_code, *expect_error;
  /* server: the policy hook (spec 8.1 step 10) */
  int64_t verify_delay_ms;      /* > 0: the decision takes this long (the session waits in VERIFYING) */
  const qwh_json *trusted_keys; /* array of base64url keys, or NULL */
  int64_t replay_cache_max_entries;
  /* client */
  uint8_t sign_seed[32];
  bool sign;
  int64_t max_attempts, closes, connect_timeout_ms;
  /* TLS (with --tls-*): config.alpn, config.pins, requestClientCert, clientCert */
  const char **alpn;
  size_t n_alpn;
  const qwh_json *pins;
  bool request_client_cert, client_cert;
  qwh_tls_ctx *tls;
  /* feature "resume" (config.resume: true or {maxUnackedMessages, maxUnackedBytes, windowMs, ackDelayMs, maxSessions}) */
  bool resume;
  qwh_resume_limits resume_limits;
  int64_t resume_window_ms, ack_delay_ms, max_sessions;
} config;

int64_t cfg_int(const qwh_json *o, const char *k, int64_t d);
/* Returns 0, UNSUPPORTED (a name or value this build cannot honour), or 2 for a malformed config. */
int config_load(config *c, const char *text, qwh_role role);
void config_free(config *c);
void msg_list_free(msg_list *m);

/* TLS (memory BIOs, core/tls_bio.c), like the ts adapter's options. */
int tls_setup(config *cfg, bool server);
int tls_attach(config *cfg, qwh_pconn *c, bool server);
bool pins_match(const qwh_json *pins, const char *fp);
bool fp_equal(const char *a, const char *b);

int run_codec(void);
int run_serve(config *cfg, const char *host, uint16_t port);
int run_connect(config *cfg, const char *host, uint16_t port, const char *scenario);

#endif
