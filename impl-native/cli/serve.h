/*
 * Shared by the files of qwh-native serve: serve.c (the listener, admission, the loop and the
 * connections' ends), serve_policy.c (the hello's policy and the TLS checks),
 * serve_scenarios.c (what each scenario does on an open and a message, the stream scenario's
 * refills) and serve_sequence.c (the numbered streams of scenario sequence, one per session).
 */
#ifndef QWH_CLI_SERVE_H
#define QWH_CLI_SERVE_H

#include "admission.h"
#include "cli.h"

/* The scenarios (config.scenario), in the order of their names in serve.c. */
enum { SC_ECHO, SC_SINK, SC_CLOSE_AFTER, SC_PUSH, SC_BROADCAST, SC_HELLO_INFO, SC_STREAM, SC_SEQUENCE };

/* stream and sequence: refills per connection and loop turn (the rest waits for the socket to drain). */
#define STREAM_ROUNDS 8

typedef struct srv_conn srv_conn;

/* sequence: one session's stream, across the connections that resume it (one object, like the ts
 * server's connection). Without "resume" a session is one connection. */
typedef struct seq_session {
  struct seq_session *next;
  bool keyed; /* id names the stored session ("resume" negotiated) */
  uint8_t id[QWH_SESSION_ID_BYTES];
  srv_conn *conn;  /* the connection carrying it now, or NULL between connections */
  size_t next_msg; /* config.messages[next_msg] is the next to send */
  bool end_sent, failed;
  uint64_t messages, bytes, resumes;
  number_runs runs;
  msg_digest hash;
  char last_error[72]; /* the code the last connection ended with */
} seq_session;

typedef struct server {
  config *cfg;
  qwh_loop loop;
  qwh_watch listen;
  bool listen_paused; /* out of descriptors with none in reserve: accepting resumes at the next close */
  qwh_pconn *conns;
  size_t count;
  /* Connections served at most: the open-file limit less the descriptors in use at start and a margin. */
  size_t capacity;
  int reserve_fd; /* /dev/null, given up to accept-and-close a connection when descriptors run out */
  admission adm;
  int kind;
  qwh_replay_cache replay;
  size_t closes;             /* connections closed so far: tells whether a call freed its connection */
  bool busy;                 /* a stream could write more at once: poll without waiting */
  qwh_resume_store sessions; /* feature "resume" (cfg->resume) */
  seq_session *seqs;         /* sequence: the sessions whose closed line is still to come */
  int64_t expect_count;      /* sequence: config.expectCount (default 0) */
} server;

/* A connection of the server: the transport first (a qwh_pconn * is a srv_conn *). */
struct srv_conn {
  qwh_pconn c;
  uint64_t messages, bytes;
  qwh_timer verify_timer; /* verifyDelayMs: when the policy's decision is due */
  qwh_code verdict;
  qwh_addr_key peer;
  bool pending; /* counted by the admission as a handshake in progress */
  /* stream: `block` holds `block_frames` copies of the message's frame (as the session encoded it) */
  qwh_buf block;
  size_t block_frames, frame_len;
  uint64_t stream_left; /* frames still to queue */
  seq_session *seq;     /* sequence: the session it carries (set at the open) */
};

/* Descriptors kept free beyond the capacity (lws' own, a TLS library's, stdio). */

/* serve.c: the connection no longer counts as a handshake in progress. */
void serve_handshake_over(server *srv, srv_conn *sc);

/* serve_policy.c: step 10 of spec 8.1 now or after verifyDelayMs, the hello's "tls" tags (step 8),
 * pins and the channel binding once TLS is up. */
qwh_code serve_verify_now(void *user, const qwh_hello *h);
qwh_code serve_verify_later(void *user, const qwh_hello *h);
qwh_code serve_check_tls_tags(void *user, const qwh_json *tags);
qwh_code serve_tls_open(qwh_pconn *c);

/* serve_scenarios.c: the connection handlers of the scenarios, and the stream scenario's turn. */
void serve_on_open(qwh_pconn *c);
void serve_on_message(qwh_pconn *c, const uint8_t *p, size_t n);
void serve_stream_service(server *srv, srv_conn *sc);
/* Sends, reporting a message over the peer's maximum (the others still go out, QWH-FRAME-007). */
void serve_send_or_report(qwh_pconn *c, const uint8_t *p, size_t n);

/* serve_sequence.c */
void seq_attach(server *srv, srv_conn *sc);
void seq_end_mark(server *srv, seq_session *q);
void seq_service(server *srv, srv_conn *sc);
/* The closed line of each session that is over and has no connection. */
void seq_reap(server *srv);
/* At shutdown: the sessions still open or resumable, without a line. */
void seq_free_all(server *srv);

#endif
