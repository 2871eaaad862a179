/*
 * qwh-native connect: one client, one result line like the ts adapter's:
 * {ok, scenario, sent, received, receivedSha256, receivedHex, error, closeCode, closedByPeer, accept, ...}.
 * Scenarios: echo, echo-N (N x 64 B), mirror, close, hold, receive, count, await-close, expect-reject,
 * oversize, heartbeat, broadcast, retry and reconnect (automatic reconnect, spec 15: delays from
 * 20 ms doubling with jitter, terminal codes never retried (QWH-ERR-007), messages sent while down
 * queued and sent first after the reconnect (QWH-DELIV-001), the same profile and transport
 * every time (QWH-SEC-004)), sequence (reconnects on its own, with "resume" resuming the session;
 * sends `messages` in order as fast as the replay bounds and the socket take them, waits for
 * expectCount messages, then closes gracefully; the result adds receivedRuns, drops, resumes and
 * sessionLost). count (throughput) is receive without keeping the messages: it counts
 * them and their bytes as the decoder hands them over, and reports the seconds from the open to the
 * expectCount-th message (elapsedNs).
 * This file: the scenario's set-up, the loop, the graceful end and the result line; the
 * connections are in connect_conn.c, the scenarios' checks in connect_scenarios.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/codec_ops.h"
#include "connect.h"

static const char *const scenario_names[] = {"echo",     "mirror",    "close",     "hold",  "receive",   "await-close", "expect-reject",
                                             "oversize", "heartbeat", "broadcast", "retry", "reconnect", "count",       "sequence"};

/* sha256 over length-prefixed messages (raw: over the byte stream), as the ts adapter computes it. */
static void digest(const qwh_buf *msgs, size_t n, bool raw, char hex[65]) {
  msg_digest d;
  if (digest_init(&d) == 0)
    for (size_t i = 0; i < n; i++) digest_message(&d, msgs[i].data, msgs[i].len, raw);
  digest_finish(&d, hex);
}

static void print_result(client *cl, bool ok) {
  char sha[65];
  digest(cl->received, cl->n_received, cl->cfg->raw, sha);
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *r = qwh_json_object(&a), *hexes = qwh_json_array(&a);
  /* The first messages in hex, up to 64 of them and 64 KiB (the digest covers all), as the ts adapter. */
  size_t budget = 65536;
  for (size_t i = 0; i < cl->n_received && i < 64; i++) {
    if (cl->received[i].len > budget) break;
    budget -= cl->received[i].len;
    qwh_json_push(&a, hexes, qwh_hex_json(&a, cl->received[i].data, cl->received[i].len));
  }
  qwh_json_set(&a, r, "ok", qwh_json_bool(&a, ok));
  qwh_json_set(&a, r, "scenario", qwh_json_cstring(&a, cl->scenario));
  qwh_json_set(&a, r, "sent", qwh_json_int(&a, (int64_t)cl->sent));
  qwh_json_set(&a, r, "received", qwh_json_int(&a, (int64_t)(cl->kind == CS_COUNT ? cl->counted : cl->n_received)));
  qwh_json_set(&a, r, "receivedSha256", qwh_json_cstring(&a, sha));
  qwh_json_set(&a, r, "receivedHex", hexes);
  qwh_json_set(&a, r, "error", cl->error[0] ? qwh_json_cstring(&a, cl->error) : qwh_json_null(&a));
  qwh_json_set(&a, r, "closeCode", cl->close_code[0] ? qwh_json_cstring(&a, cl->close_code) : qwh_json_null(&a));
  qwh_json_set(&a, r, "closedByPeer", qwh_json_bool(&a, cl->closed_by_peer));
  qwh_json *accept = NULL;
  if (cl->accept.len && (qwh_json_parse(&a, cl->accept.data, cl->accept.len, &accept) != QWH_JSON_OK || accept->type != QWH_JSON_OBJECT))
    accept = NULL;
  qwh_json_set(&a, r, "accept", accept ? accept : qwh_json_null(&a));
  if (cl->kind == CS_OVERSIZE)
    qwh_json_set(&a, r, "localError", cl->local_error[0] ? qwh_json_cstring(&a, cl->local_error) : qwh_json_null(&a));
  if (cl->kind == CS_COUNT) {
    qwh_json_set(&a, r, "receivedBytes", qwh_json_int(&a, (int64_t)cl->received_bytes));
    if (cl->counted_ns) qwh_json_set(&a, r, "elapsedNs", qwh_json_int(&a, cl->counted_ns - cl->open_ns));
  }
  if (cl->kind == CS_RETRY && cl->readies > 0) qwh_json_set(&a, r, "reconnects", qwh_json_int(&a, cl->readies - 1));
  if (cl->kind == CS_RECONNECT && ok) qwh_json_set(&a, r, "reconnected", qwh_json_bool(&a, true));
  if (cl->kind == CS_SEQUENCE) {
    qwh_json *runs = runs_json(&a, &cl->runs);
    qwh_json_set(&a, r, "receivedRuns", runs ? runs : qwh_json_null(&a));
    qwh_json_set(&a, r, "drops", qwh_json_int(&a, cl->drops));
    qwh_json_set(&a, r, "resumes", qwh_json_int(&a, cl->resumes));
    qwh_json_set(&a, r, "sessionLost", qwh_json_int(&a, (int64_t)cl->session_lost));
  }
  if (cl->cfg->resume) qwh_json_set(&a, r, "unacknowledged", qwh_json_int(&a, (int64_t)cl->unacknowledged));
  qwh_buf out;
  qwh_buf_init(&out);
  qwh_json_write(r, &out);
  out_line(&out);
  qwh_buf_free(&out);
  qwh_arena_free(&a);
}

int run_connect(config *cfg, const char *host, uint16_t port, const char *scenario) {
  client cl;
  memset(&cl, 0, sizeof cl);
  cl.cfg = cfg;
  cl.kind = -1;
  cl.scenario = scenario;
  cl.host = host;
  cl.port = port;
  for (int i = 0; i < (int)(sizeof scenario_names / sizeof *scenario_names); i++)
    if (strcmp(scenario, scenario_names[i]) == 0) cl.kind = i;
  if (strncmp(scenario, "echo-", 5) == 0) { /* echo-N: N generated 64-byte messages */
    char *end = NULL;
    long n = strtol(scenario + 5, &end, 10);
    if (n < 0 || n > 100000000 || !end || *end) n = -1;
    msg_list_free(&cfg->messages);
    cfg->messages.items = calloc(n > 0 ? (size_t)n : 1, sizeof(qwh_buf));
    if (n < 0 || !cfg->messages.items) return 2;
    for (long i = 0; i < n; i++, cfg->messages.n++) gen_message(&cfg->messages.items[i], (size_t)i, 64);
    cl.kind = CS_ECHO;
  }
  if (cl.kind < 0) {
    fprintf(stderr, "qwh-native: unsupported client scenario %s\n", scenario);
    return UNSUPPORTED;
  }
  cl.reconnect = cl.kind == CS_RETRY || cl.kind == CS_RECONNECT || cl.kind == CS_SEQUENCE || cfg->resume;
  cl.session.limits = cfg->resume_limits;
  /* sequence: through the runner's cutting proxy, more attempts in a row than it cuts connections */
  cl.max_attempts = cl.kind == CS_RECONNECT ? 100 : cl.kind == CS_SEQUENCE ? cfg_int(cfg->root, "maxAttempts", 100) : cfg->max_attempts;
  cl.max_delay_ms = cl.kind == CS_RECONNECT ? 200 : 100;
  cl.retry_timer.fire = cl_retry_due;
  qwh_buf_init(&cl.accept);
  if (cli_loop_init(&cl.loop)) return 2;
  /* A client paces itself: it never stops reading (that could deadlock an echo) and never gives up on its own queue. */
  cfg->lim.high_water = cfg->lim.max_backpressure = SIZE_MAX;
  cl_start_attempt(&cl);
  int64_t start = qwh_monotonic_ms(), deadline = start + cfg->timeout_ms;
  bool ok = false, done = false;
  progress pr = {0, 0, 0};
  while (!done && !g_cli.stop) {
    int64_t now = qwh_monotonic_ms();
    const qwh_resume_state *rs = cl.have_conn ? cl.conn.s.rs : NULL;
    if (rs && qwh_resume_ack_pending(rs) && rs->unreported_since >= 0 && now - rs->unreported_since >= cfg->ack_delay_ms)
      qwh_session_ack(&cl.conn.s); /* QWH-ACK-006 */
    if (cl.have_conn) qwh_pconn_service(&cl.conn);
    bool busy = cl.kind == CS_SEQUENCE && cl_seq_fill(&cl);
    size_t sent = cl.sent;
    done = cl_scenario_step(&cl, &pr, now, start, &ok);
    if (!done && now >= deadline) done = true, ok = false;
    if (done) break;
    /* Sleep until an event (a descriptor, a loop timer, a signal) or what falls due here: the
     * deadline, the scenario's hold, an ACK (QWH-ACK-006); not at all when the step just sent
     * (the next turn's service writes it) or a sequence could send more. */
    int64_t due = deadline, hold = cl_scenario_due(&cl, &pr, start);
    if (hold < due) due = hold;
    rs = cl.have_conn ? cl.conn.s.rs : NULL;
    if (rs && qwh_resume_ack_pending(rs) && rs->unreported_since >= 0 && rs->unreported_since + cfg->ack_delay_ms < due)
      due = rs->unreported_since + cfg->ack_delay_ms;
    if (qwh_loop_poll(&cl.loop, busy || cl.sent != sent ? 0 : cli_wait_ms(due)) < 0) done = true;
  }
  /* sequence: connection losses are what it is about; a client that gave up keeps its error */
  if (cl.kind == CS_SEQUENCE && !cl.closed) cl.error[0] = 0;
  /* No more attempts; close gracefully if still open, for at most 2 s. */
  qwh_timer_cancel(&cl.loop, &cl.retry_timer);
  if (cl.have_conn && !cl.conn_open) {
    qwh_pconn_free(&cl.conn);
    cl.have_conn = false;
  }
  if (cl.have_conn) {
    cl.closing_ourselves = true;
    qwh_pconn_close(&cl.conn, QWH_E_NORMAL_CLOSE);
    int64_t end = qwh_monotonic_ms() + 2000;
    while (cl.have_conn && qwh_monotonic_ms() < end) {
      qwh_pconn_service(&cl.conn);
      if (cl.have_conn) qwh_loop_poll(&cl.loop, cli_wait_ms(end));
    }
    if (cl.have_conn) qwh_pconn_free(&cl.conn);
    cl.have_conn = false;
  }
  bool lenient = cl.kind == CS_EXPECT_REJECT || cl.kind == CS_AWAIT_CLOSE || cl.kind == CS_HOLD || cl.kind == CS_MIRROR ||
                 cl.kind == CS_CLOSE || cl.kind == CS_RETRY;
  if (cl.kind == CS_RECONNECT) cl.error[0] = 0; /* the drop itself is expected */
  cl.session_lost = cl.unacknowledged;
  if (cl.session.active) /* given up with a session unfinished: what the server did not acknowledge (QWH-RESUME-025) */
    cl.unacknowledged += qwh_resume_unacked(&cl.session.st) + cl.session.st.held_count;
  ok = ok && (lenient || !cl.error[0]);
  /* A connection that never opened (TCP, TLS or pin failure) is not ok, whatever the scenario. */
  if (!cl.opened && cl.error[0] && cl.kind != CS_EXPECT_REJECT) ok = false;
  print_result(&cl, ok);
  for (size_t i = 0; i < cl.n_received; i++) qwh_buf_free(&cl.received[i]);
  free(cl.received);
  runs_free(&cl.runs);
  free(cl.queue);
  qwh_buf_free(&cl.accept);
  if (cl.session.active) qwh_resume_free(&cl.session.st);
  cli_loop_free(&cl.loop);
  return 0;
}
