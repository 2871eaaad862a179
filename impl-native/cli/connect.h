/*
 * Shared by the files of qwh-native connect: connect.c (the scenario's set-up, the loop, the
 * result line), connect_conn.c (one connection after another: its handlers, TLS, the reconnects
 * and the session that "resume" carries across them) and connect_scenarios.c (when each scenario
 * is over and whether it passed; the sender of scenario sequence).
 */
#ifndef QWH_CLI_CONNECT_H
#define QWH_CLI_CONNECT_H

#include "cli.h"

/* The scenarios, in the order of their names in connect.c. */
enum {
  CS_ECHO,
  CS_MIRROR,
  CS_CLOSE,
  CS_HOLD,
  CS_RECEIVE,
  CS_AWAIT_CLOSE,
  CS_EXPECT_REJECT,
  CS_OVERSIZE,
  CS_HEARTBEAT,
  CS_BROADCAST,
  CS_RETRY,
  CS_RECONNECT,
  CS_COUNT,
  CS_SEQUENCE
};

typedef struct client {
  config *cfg;
  int kind;
  const char *scenario, *host;
  uint16_t port;
  qwh_loop loop;
  qwh_pconn conn;
  bool have_conn; /* conn is started and not yet freed */
  bool conn_open; /* the current connection finished its handshake */
  bool opened;    /* some connection did */
  bool closed;    /* for good: no connection and none to come */
  bool closing_ourselves, closed_by_peer;
  /* reconnect (retry, reconnect) */
  bool reconnect;
  int64_t max_attempts, max_delay_ms, attempt, closes_seen, readies;
  qwh_timer retry_timer;
  const qwh_buf **queue; /* sent while down: go first after the reconnect */
  size_t n_queue;
  size_t sent;
  qwh_buf *received;
  size_t n_received, cap_received, received_bytes;
  uint64_t counted;            /* count: messages received (not kept) */
  int64_t open_ns, counted_ns; /* count: the open, and the expectCount-th message */
  qwh_buf accept;              /* the first accept, as received */
  char error[72], close_code[72], local_error[72];
  /* feature "resume": the session across connections; messages of ended sessions the server never acknowledged */
  qwh_resume_client session;
  uint64_t unacknowledged;
  /* sequence: the next message to send, what arrived, connections lost and resumed */
  size_t next_msg;
  number_runs runs;
  int64_t drops, resumes;
  uint64_t session_lost; /* messages of sessions that ended unacknowledged (QWH-RESUME-025) */
} client;

typedef struct progress {
  int phase;
  int64_t mark; /* ms: when the phase began */
  size_t base;  /* received count at the phase start */
} progress;

/* connect_conn.c */
/* The first error of the run (the result's `error`); later ones do not replace it. */
void cl_record_error(client *cl, const char *code);
/* Sends now when open, else queues (QWH-DELIV-001); counts like the ts adapter's sendAll. */
void cl_send(client *cl, const qwh_buf *m);
void cl_send_all(client *cl, const msg_list *l);
/* One TCP (+TLS) connection with the configured profile; the same every time (QWH-SEC-004). */
void cl_start_attempt(client *cl);
/* The reconnect timer's callback (client.retry_timer). */
void cl_retry_due(qwh_timer *t);

/* connect_scenarios.c */
/* One look at the scenario; true when it is over (*ok set). */
bool cl_scenario_step(client *cl, progress *pr, int64_t now, int64_t start, bool *ok);
/* When the scenario must be looked at again for the time alone (a hold ends), INT64_MAX if never. */
int64_t cl_scenario_due(const client *cl, const progress *pr, int64_t start);
/* sequence: the next messages to the open connection (seq_send); nothing is sent between
 * connections. True when the socket took everything and more could go at once. */
bool cl_seq_fill(client *cl);

#endif
