/*
 * qwh-native serve: prints {"ready":true,"port":P}, then {"event":"rejected","code"} and
 * {"event":"closed","messages","bytes","error"} lines; stops on SIGTERM/SIGINT or the end of stdin.
 * This file: the listener and admission (capacity, pending handshakes, descriptors running out),
 * the loop and its turn over the connections, a connection's end (its closed line, its resumable
 * session) and the shutdown. The scenarios are in serve_scenarios.c and serve_sequence.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve.h"

static const char *const scenario_names[] = {"echo",      "sink",       "close-after", "push-on-connect",
                                             "broadcast", "hello-info", "stream",      "sequence"};

/* Descriptors kept free beyond the capacity (lws' own, a TLS library's, stdio). */
#define FD_MARGIN 16

void serve_handshake_over(server *srv, srv_conn *sc) {
  if (!sc->pending) return;
  sc->pending = false;
  admission_end(&srv->adm, &sc->peer);
}

static void srv_conn_free(server *srv, srv_conn *sc) {
  serve_handshake_over(srv, sc);
  qwh_timer_cancel(&srv->loop, &sc->verify_timer);
  qwh_pconn_free(&sc->c);
  qwh_buf_free(&sc->block);
  free(sc);
}

/* "resume": a connection without CLOSE keeps its session for the window (QWH-RESUME-011); a CLOSE,
 * sent or received, ends it (QWH-RESUME-013). */
static void release_session(server *srv, qwh_pconn *c) {
  qwh_resume_entry *e = c->s.resume_entry;
  if (!e) return;
  c->s.resume_entry = NULL;
  c->s.rs = NULL;
  if (e->conn != &c->s) return;                                          /* taken over by another connection */
  if (qwh_session_resume_over(&c->s) || (!c->opened && !c->s.resumed)) { /* a new session whose connection never opened ends too */
    e->conn = NULL;
    qwh_resume_store_end(&srv->sessions, e);
  } else {
    qwh_resume_store_detach(&srv->sessions, e, qwh_monotonic_ms());
  }
}

/* Another connection resumes the session of `e`: its connection closes without CLOSE (QWH-RESUME-017). */
static void srv_take_over(void *user, qwh_resume_entry *e) {
  (void)user;
  qwh_pconn *old = (qwh_pconn *)(void *)((char *)e->conn - offsetof(qwh_pconn, s));
  e->conn = NULL;
  qwh_pconn_abort(old);
}

/* ACKs for frames delivered ackDelayMs ago and not yet covered by a count (QWH-ACK-006). */
static void ack_due(server *srv, qwh_pconn *c, int64_t now) {
  const qwh_resume_state *rs = c->s.rs;
  if (rs && qwh_resume_ack_pending(rs) && rs->unreported_since >= 0 && now - rs->unreported_since >= srv->cfg->ack_delay_ms)
    qwh_session_ack(&c->s);
}

static void srv_closed(qwh_pconn *c) {
  server *srv = c->app;
  srv_conn *st = (srv_conn *)c;
  release_session(srv, c);
  char line[256];
  const char *err = c->s.error ? c->s.error_name : NULL;
  bool rejected = !c->opened && c->s.error && c->s.error != QWH_E_SOCKET;
  if (rejected) printf("{\"event\":\"rejected\",\"code\":\"%s\"}\n", c->s.error_name);
  seq_session *q = st->seq;
  if (q && q->conn == st) { /* not already taken over by the connection that resumed the session */
    q->conn = NULL;
    snprintf(q->last_error, sizeof q->last_error, "%s", err ? err : "");
  }
  if (srv->kind != SC_SEQUENCE || (!q && rejected)) { /* sequence: one closed line per session (below), a refusal's own */
    snprintf(line, sizeof line, "{\"event\":\"closed\",\"messages\":%llu,\"bytes\":%llu,\"error\":%s%s%s}",
             (unsigned long long)st->messages, (unsigned long long)st->bytes, err ? "\"" : "", err ? err : "null", err ? "\"" : "");
    puts(line);
  }
  fflush(stdout);
  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->count--;
  srv->closes++;
  srv_conn_free(srv, st);
  if (q) seq_reap(srv);
  if (srv->listen_paused && qwh_loop_watch(&srv->loop, &srv->listen, EPOLLIN, 0) == 0) srv->listen_paused = false;
}

/* Out of descriptors (EMFILE/ENFILE): the pending connection is taken with the reserve descriptor
 * and closed at once (else the listener stays readable and the loop spins). Returns false when
 * accepting must stop for now. */
static bool shed_one(server *srv) {
  if (srv->reserve_fd < 0) {
    /* no reserve: stop watching the listener until a connection closes */
    if (qwh_loop_watch(&srv->loop, &srv->listen, 0, 0) == 0) srv->listen_paused = true;
    return false;
  }
  close(srv->reserve_fd);
  int fd = accept4(srv->listen.fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    printf("{\"event\":\"rejected\",\"code\":\"E_MAX_CLIENTS\"}\n");
    fflush(stdout);
  }
  srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd >= 0;
}

static void srv_accept(qwh_watch *w, uint32_t events) {
  (void)events;
  server *srv = (server *)(void *)((char *)w - offsetof(server, listen));
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if ((errno == EMFILE || errno == ENFILE) && shed_one(srv)) continue;
      return;
    }
    srv_conn *sc = calloc(1, sizeof *sc);
    if (!sc) {
      close(fd);
      continue;
    }
    qwh_pconn *c = &sc->c;
    sc->peer = addr_key_of(&ss);
    qwh_session_config cfg = srv->cfg->sc;
    cfg.policy.now_ms = qwh_wall_ms();
    cfg.policy.replay_cache = &srv->replay;
    bool hook = srv->cfg->policy || srv->cfg->trusted_keys;
    if (srv->cfg->verify_delay_ms > 0) {
      cfg.verify = serve_verify_later;
      cfg.verify_async = true;
    } else if (hook) {
      cfg.verify = serve_verify_now;
    }
    cfg.policy.check_tls_tags = serve_check_tls_tags; /* spec 8.1 step 8, with or without TLS */
    if (srv->cfg->resume) {
      cfg.resume_store = &srv->sessions;
      cfg.clock_ms = qwh_monotonic_ms;
    }
    cfg.policy.user = c;
    qwh_pconn_handlers h = {serve_on_open, serve_on_message, NULL, srv_closed};
    if (qwh_pconn_start(c, &srv->loop, fd, false, &cfg, &srv->cfg->lim, &h, srv) != 0) { /* fd closed */
      free(sc);
      continue;
    }
    c->on_tls_open = serve_tls_open;
    if (tls_attach(srv->cfg, c, true) != 0) {
      srv_conn_free(srv, sc);
      continue;
    }
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->count++;
    /* Admission before reading a byte (spec 13.1): capacity, pending handshakes in all and from
     * this address (so one address cannot hold every slot), then the policy. */
    const config *k = srv->cfg;
    if ((k->max_clients >= 0 && (int64_t)srv->count > k->max_clients) || srv->count > srv->capacity)
      qwh_pconn_refuse(c, QWH_E_MAX_CLIENTS);
    else if (k->max_pending >= 0 && (int64_t)srv->adm.pending + 1 > k->max_pending)
      qwh_pconn_refuse(c, QWH_E_MAX_PENDING_HANDSHAKES);
    else if ((int64_t)admission_pending_from(&srv->adm, &sc->peer) >= k->max_pending_per_address)
      qwh_pconn_refuse(c, QWH_E_MAX_PENDING_HANDSHAKES);
    else if (!k->allow_connection)
      qwh_pconn_refuse(c, QWH_E_POLICY_REJECTED);
    else if (admission_begin(&srv->adm, &sc->peer) != 0)
      qwh_pconn_refuse(c, QWH_E_MAX_CLIENTS);
    else {
      sc->pending = true;
      qwh_pconn_begin(c); /* a bare session opens now (with TLS: once TLS is up) */
    }
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

static void service_all(server *srv) {
  srv->busy = false;
  int64_t now = srv->cfg->resume ? qwh_monotonic_ms() : 0;
  if (srv->cfg->resume) qwh_resume_store_expire(&srv->sessions, now); /* QWH-RESUME-022 */
  if (srv->seqs) seq_reap(srv);
  for (qwh_pconn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    if (srv->cfg->resume) ack_due(srv, c, now);
    if (c->s.finished) serve_handshake_over(srv, (srv_conn *)c); /* failed or refused: no longer pending */
    if (srv->kind == SC_STREAM)
      serve_stream_service(srv, (srv_conn *)c);
    else if (srv->kind == SC_SEQUENCE)
      seq_service(srv, (srv_conn *)c);
    else
      qwh_pconn_service(c);
  }
}

/* How long the loop may sleep: 0 while a stream could write more; with "resume", until the first
 * ACK falls due (ackDelayMs after a delivery no count covers, QWH-ACK-006) or the first window of
 * a session without connection ends (QWH-RESUME-022); else -1, until an event (a descriptor, a
 * signal: cli_loop_init). The loop's own timers (handshake, heartbeat, idle, drain, policy delay)
 * shorten it further. */
static int poll_timeout(const server *srv) {
  if (srv->busy) return 0;
  if (!srv->cfg->resume) return -1;
  int64_t due = INT64_MAX;
  for (const qwh_pconn *c = srv->conns; c; c = c->next) {
    const qwh_resume_state *rs = c->s.rs;
    if (rs && c->s.state == QWH_ST_OPEN && !c->s.finished && qwh_resume_ack_pending(rs) && rs->unreported_since >= 0 &&
        rs->unreported_since + srv->cfg->ack_delay_ms < due)
      due = rs->unreported_since + srv->cfg->ack_delay_ms;
  }
  for (const qwh_resume_entry *e = srv->sessions.head; e; e = e->next)
    if (!e->conn && e->expires_ms < due) due = e->expires_ms;
  return cli_wait_ms(due);
}

int run_serve(config *cfg, const char *host, uint16_t port) {
  server srv;
  memset(&srv, 0, sizeof srv);
  srv.cfg = cfg;
  srv.kind = -1;
  const char *scenario = cfg->scenario ? cfg->scenario : "echo";
  for (int i = 0; i < (int)(sizeof scenario_names / sizeof *scenario_names); i++)
    if (strcmp(scenario, scenario_names[i]) == 0) srv.kind = i;
  if (srv.kind < 0) {
    fprintf(stderr, "qwh-native: unsupported server scenario %s\n", scenario);
    return UNSUPPORTED;
  }
  srv.expect_count = cfg_int(cfg->root, "expectCount", 0);
  if (cli_loop_init(&srv.loop)) return 2;
  qwh_resume_store_init(&srv.sessions, &cfg->resume_limits, (uint64_t)cfg->resume_window_ms, (uint64_t)cfg->max_sessions);
  srv.sessions.take_over = srv_take_over;
  srv.sessions.user = &srv;
  if (admission_init(&srv.adm) != 0) {
    cli_loop_free(&srv.loop);
    return 2;
  }
  if (qwh_replay_cache_init(&srv.replay, cfg->sc.policy.signature_window_ms, (size_t)cfg->replay_cache_max_entries)) {
    admission_free(&srv.adm);
    cli_loop_free(&srv.loop);
    return 2;
  }
  uint16_t bound = 0;
  srv.listen.fd = qwh_listen_tcp(host, port, &bound);
  srv.listen.on_io = srv_accept;
  if (srv.listen.fd < 0 || qwh_loop_watch(&srv.loop, &srv.listen, EPOLLIN, 1) != 0) {
    fprintf(stderr, "qwh-native: cannot listen on %s:%u: %s\n", host, port, strerror(errno));
    cli_loop_free(&srv.loop);
    qwh_replay_cache_free(&srv.replay);
    admission_free(&srv.adm);
    return 2;
  }
  /* The reserve descriptor's number tells how many are in use now (the lowest free one is taken). */
  srv.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct rlimit rl;
  size_t limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (size_t)rl.rlim_cur : (size_t)1 << 20;
  size_t in_use = (size_t)(srv.reserve_fd >= 0 ? srv.reserve_fd + 1 : 16) + 1; /* + stdin's watch under lws */
  srv.capacity = limit > in_use + FD_MARGIN ? limit - in_use - FD_MARGIN : 1;
  stdin_watch in = {{0, on_stdin, NULL, 0}, false};
  bool watch_stdin = qwh_loop_watch(&srv.loop, &in.w, EPOLLIN, 1) == 0; /* stdin's end stops the server, as for the ts adapter */
  printf("{\"ready\":true,\"port\":%u}\n", bound);
  fflush(stdout);
  while (!g_cli.stop && !in.eof) {
    if (qwh_loop_poll(&srv.loop, poll_timeout(&srv)) < 0) break;
    service_all(&srv);
  }
  /* Shutdown: a graceful close for a moment, then everything is freed. */
  for (qwh_pconn *c = srv.conns; c; c = c->next) qwh_session_close(&c->s, QWH_E_GOING_AWAY, NULL);
  int64_t end = qwh_monotonic_ms() + 500;
  while (srv.conns && qwh_monotonic_ms() < end) {
    service_all(&srv);
    if (srv.conns) qwh_loop_poll(&srv.loop, cli_wait_ms(end));
  }
  while (srv.conns) {
    qwh_pconn *c = srv.conns;
    srv.conns = c->next;
    srv_conn_free(&srv, (srv_conn *)c);
  }
  seq_free_all(&srv);
  if (watch_stdin) qwh_loop_close_fd(&srv.loop, &in.w);
  qwh_loop_close_fd(&srv.loop, &srv.listen);
  cli_loop_free(&srv.loop);
  qwh_replay_cache_free(&srv.replay);
  admission_free(&srv.adm);
  qwh_resume_store_free(&srv.sessions);
  if (srv.reserve_fd >= 0) close(srv.reserve_fd);
  return 0;
}
