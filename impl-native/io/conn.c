/* One connection: socket I/O around a qwh_session. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "sendq.h"

#include <stddef.h>

#define OWNER(t, field) ((qwh_pconn *)(void *)((char *)(t)-offsetof(qwh_pconn, field)))

void qwh_pconn_limits_default(qwh_pconn_limits *l) {
  l->handshake_timeout_ms = 10000;
  l->connect_timeout_ms = 0;
  l->drain_timeout_ms = 5000;
  l->high_water = 1u << 20;
  l->max_backpressure = 5u << 20;
  l->heartbeat_interval_ms = 0;
  l->idle_timeout_ms = 0;
}

static void s_open(void *user) {
  qwh_pconn *c = user;
  c->phase = QWH_CONN_OPEN;
  c->opened = true;
  int64_t now = qwh_monotonic_ms();
  qwh_timer_cancel(c->loop, &c->hs_timer);
  /* heartbeats only with "control" (none in bare, 0.3 or raw framing: QWH-CTRL-001, QWH-RAW-004) */
  if (c->lim.heartbeat_interval_ms > 0 && c->s.control) qwh_timer_set(c->loop, &c->hb_timer, now + c->lim.heartbeat_interval_ms);
  if (c->lim.idle_timeout_ms > 0) {
    c->last_activity = now;
    qwh_timer_set(c->loop, &c->idle_timer, now + c->lim.idle_timeout_ms);
  }
  if (c->h.on_open) c->h.on_open(c);
}

static qwh_code s_message(void *user, const uint8_t *p, size_t n) {
  qwh_pconn *c = user;
  if (c->h.on_message) c->h.on_message(c, p, n);
  return QWH_OK;
}

static void s_peer_close(void *user, const char *code, const char *reason) {
  qwh_pconn *c = user;
  if (c->h.on_peer_close) c->h.on_peer_close(c, code, reason);
}

/* The bytes that go to the socket: the session's output, or its ciphertext with TLS. */
static qwh_buf *wire(qwh_pconn *c) { return c->tls ? &c->tls_out : &c->s.out; }
/* Waiting for the socket: the wire's unsent part, with TLS the session's output not yet encrypted,
 * and with "resume" the frames written from the replay ring (qwh_resume_send). */
static size_t pending(qwh_pconn *c) {
  return wire(c)->len - c->out_off + (c->tls && c->tls_open ? c->s.out.len : 0) + (c->s.rs ? c->s.rs->unsent : 0);
}
/* What waits to be sent: the pending bytes and, with "resume", the messages held until the peer
 * acknowledges. Past max_backpressure it fails the connection; reading pauses on pending() alone, since
 * only reading brings the ACKs that release held messages. */
static size_t backlog(qwh_pconn *c) { return pending(c) + (c->s.rs ? c->s.rs->held.len - c->s.rs->held_off : 0); }

static void discard_out(qwh_pconn *c) {
  if (c->s.rs) c->s.rs->unsent = 0; /* kept for a resume, which resends them */
  c->s.out.len = 0;
  c->tls_out.len = 0;
  c->out_off = 0;
}

/* TLS: encrypts what the session queued (once the handshake is done). */
static void encrypt_out(qwh_pconn *c) {
  if (!c->tls || !c->tls_open) return;
  qwh_resume_state *rs = c->s.rs;
  const uint8_t *p[2];
  size_t n[2];
  if (rs && qwh_resume_unsent(rs, &p[0], &n[0], &p[1], &n[1]) > 0) { /* the ring's unsent frames first */
    for (int i = 0; i < 2; i++)
      if (n[i] && qwh_tls_write(c->tls, p[i], n[i], &c->tls_out) != QWH_TLS_OK && !c->s.finished) qwh_session_fail(&c->s, QWH_E_SOCKET);
    qwh_resume_unsent_done(rs, n[0] + n[1]);
  }
  if (c->s.out.len == 0) return;
  if (qwh_tls_write(c->tls, c->s.out.data, c->s.out.len, &c->tls_out) != QWH_TLS_OK && !c->s.finished)
    qwh_session_fail(&c->s, QWH_E_SOCKET);
  c->s.out.len = 0;
}

void qwh_pconn_use_tls(qwh_pconn *c, qwh_tls *t) {
  c->tls = t;
  qwh_buf_init(&c->tls_out);
  qwh_buf_init(&c->plain);
}

static void set_watch(qwh_pconn *c) {
  if (c->phase == QWH_CONN_CLOSED) return;
  bool connecting = c->phase == QWH_CONN_CONNECTING;
  uint32_t ev = 0;
  if (connecting || pending(c) > 0) ev |= EPOLLOUT;
  if (!connecting && ((!c->paused && !c->s.finished) || c->phase == QWH_CONN_LINGER)) ev |= EPOLLIN | EPOLLRDHUP;
  if (ev != c->watched) {
    qwh_loop_watch(c->loop, &c->w, ev, 0);
    c->watched = ev;
  }
}

/* Writes queued bytes. Returns -1 on a socket error. */
static int flush_out(qwh_pconn *c) {
  encrypt_out(c);
  size_t sent = 0;
  int err;
  qwh_resume_state *rs = c->s.rs;
  struct iovec v[3];
  const uint8_t *p[2];
  size_t n[2];
  if (!c->tls && rs && qwh_resume_unsent(rs, &p[0], &n[0], &p[1], &n[1]) > 0) { /* the ring's unsent frames, then `out` */
    v[0] = (struct iovec){(void *)(uintptr_t)p[0], n[0]};
    v[1] = (struct iovec){(void *)(uintptr_t)p[1], n[1]};
    v[2] = (struct iovec){c->s.out.len > c->out_off ? c->s.out.data + c->out_off : NULL, c->s.out.len - c->out_off};
    err = qwh_socket_sendv(c->w.fd, v, 3, &sent);
    size_t from_ring = sent < rs->unsent ? sent : rs->unsent;
    qwh_resume_unsent_done(rs, from_ring);
    c->out_off += sent - from_ring;
    if (c->out_off == c->s.out.len) c->s.out.len = c->out_off = 0;
  } else {
    err = qwh_send_queued(c->w.fd, wire(c), &c->out_off, 0, &sent);
  }
  if (sent > 0 && c->lim.idle_timeout_ms > 0) c->last_activity = qwh_monotonic_ms();
  return err ? -1 : 0;
}

static void cancel_timers(qwh_pconn *c) {
  qwh_timer_cancel(c->loop, &c->hs_timer);
  qwh_timer_cancel(c->loop, &c->drain_timer);
  qwh_timer_cancel(c->loop, &c->hb_timer);
  qwh_timer_cancel(c->loop, &c->idle_timer);
  qwh_timer_cancel(c->loop, &c->linger_timer);
}

static void close_transport(qwh_pconn *c) {
  if (c->phase == QWH_CONN_CLOSED) return;
  c->phase = QWH_CONN_CLOSED;
  cancel_timers(c);
  shutdown(c->w.fd, SHUT_WR);
  qwh_loop_close_fd(c->loop, &c->w);
  if (c->h.on_closed) c->h.on_closed(c); /* may free c */
}

/* How long a closed session waits for the peer's FIN before closing anyway. */
#define LINGER_MS 1000

/* A graceful end: close_notify (TLS) and FIN are sent, and the socket stays open for reading until
 * the peer's FIN. Closing at once with the peer's last bytes (its CLOSE reply, its close_notify)
 * unread would make the kernel answer them with a reset, and a reset can destroy data the peer has
 * received but not yet read: our CLOSE frame. Returns false when there is nothing to wait for. */
static bool begin_linger(qwh_pconn *c) {
  if (c->phase == QWH_CONN_LINGER) return !c->broken;
  if (c->peer_eof || c->broken || c->phase == QWH_CONN_CONNECTING) return false;
  c->phase = QWH_CONN_LINGER;
  if (c->tls && c->tls_open && qwh_tls_close_notify(c->tls, &c->tls_out) == QWH_TLS_OK && flush_out(c) != 0) return false;
  if (!c->wr_shut) {
    shutdown(c->w.fd, SHUT_WR);
    c->wr_shut = true;
  }
  qwh_timer_set(c->loop, &c->linger_timer, qwh_monotonic_ms() + LINGER_MS);
  return true;
}

/* Lingering: drops what the peer still sends; its FIN (or an error) ends the wait.
 * Returns true when the connection was closed (c may be freed). */
static bool drain_lingering(qwh_pconn *c) {
  qwh_loop *l = c->loop;
  for (;;) {
    ssize_t n = recv(c->w.fd, l->rbuf, l->rbuf_size, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    close_transport(c);
    return true;
  }
}

static void linger_fire(qwh_timer *t) {
  qwh_pconn *c = OWNER(t, linger_timer);
  if (c->phase != QWH_CONN_CLOSED) close_transport(c);
}

void qwh_pconn_service(qwh_pconn *c) {
  if (c->phase == QWH_CONN_CLOSED || c->in_dispatch) return;
  if (c->phase != QWH_CONN_CONNECTING) {
    if (flush_out(c) != 0) {
      c->broken = true;
      if (!c->s.finished) {
        qwh_session_fail(&c->s, QWH_E_SOCKET);
      }
      discard_out(c);
    }
    size_t queued = backlog(c);
    if (!c->s.finished && queued > c->lim.max_backpressure) {
      discard_out(c); /* QWH-LIMIT-006: discard, do not wait for the drain */
      qwh_session_fail(&c->s, QWH_E_BACKPRESSURE);
      flush_out(c);
    }
    c->paused = pending(c) > c->lim.high_water; /* QWH-LIMIT-005 */
    if (c->s.finished && pending(c) == 0) {
      if (!begin_linger(c)) {
        close_transport(c);
        return;
      }
    }
    if (c->s.half_close && !c->wr_shut && pending(c) == 0) {
      shutdown(c->w.fd, SHUT_WR);
      c->wr_shut = true;
    }
    if ((c->s.close_sent || c->s.close_owed) && !c->drain_armed && c->lim.drain_timeout_ms) { /* owed: held messages go first */
      c->drain_armed = true;
      qwh_timer_set(c->loop, &c->drain_timer, qwh_monotonic_ms() + c->lim.drain_timeout_ms);
    }
  }
  set_watch(c);
}

/* TLS: received ciphertext -> the handshake, then plaintext for the session. */
static void tls_received(qwh_pconn *c, const uint8_t *p, size_t n) {
  c->plain.len = 0;
  int rc = qwh_tls_feed(c->tls, p, n, &c->plain, &c->tls_out);
  if (rc != QWH_TLS_OK) {
    if (!c->s.finished) qwh_session_fail(&c->s, QWH_E_TLS_HANDSHAKE);
    c->s.out.len = 0; /* nothing more in the clear or encrypted: only the alert (tls_out) goes */
    if (c->s.rs) c->s.rs->unsent = 0;
    return;
  }
  if (!c->tls_open && qwh_tls_handshake_done(c->tls)) {
    c->tls_open = true;
    qwh_code code = c->on_tls_open ? c->on_tls_open(c) : QWH_OK;
    if (code != QWH_OK) {
      if (!c->s.finished) qwh_session_fail(&c->s, code); /* a server's reject still goes, encrypted */
      return;
    }
    if (c->s.cfg.role == QWH_CLIENT && c->lim.handshake_timeout_ms)
      qwh_timer_set(c->loop, &c->hs_timer, qwh_monotonic_ms() + c->lim.handshake_timeout_ms);
    qwh_session_start(&c->s); /* client: the hello; server: a bare session opens */
  }
  if (c->plain.len && !c->s.finished) qwh_session_feed(&c->s, c->plain.data, c->plain.len);
  if (qwh_tls_peer_closed(c->tls) && !c->s.finished) qwh_session_feed_end(&c->s);
}

static void on_readable(qwh_pconn *c) {
  qwh_loop *l = c->loop;
  for (int i = 0; i < 16 && !c->s.finished && !c->paused; i++) {
    ssize_t n = recv(c->w.fd, l->rbuf, l->rbuf_size, 0);
    if (n > 0) {
      if (c->lim.idle_timeout_ms > 0) c->last_activity = qwh_monotonic_ms();
      if (c->tls)
        tls_received(c, l->rbuf, (size_t)n);
      else
        qwh_session_feed(&c->s, l->rbuf, (size_t)n);
      if (pending(c) > c->lim.high_water) break; /* stop reading past the high-water mark (QWH-LIMIT-005) */
      if ((size_t)n < l->rbuf_size) break;
      continue;
    }
    if (n == 0) {
      c->peer_eof = true;
      qwh_session_feed_end(&c->s);
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    c->broken = true;
    if (!c->s.finished) qwh_session_fail(&c->s, QWH_E_SOCKET);
    discard_out(c); /* the peer is gone: nothing more can be sent */
    break;
  }
}

static void on_io(qwh_watch *w, uint32_t events) {
  qwh_pconn *c = (qwh_pconn *)w;
  if (c->phase == QWH_CONN_LINGER) {
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && drain_lingering(c)) return;
    qwh_pconn_service(c); /* the rest of a close_notify */
    return;
  }
  c->in_dispatch = true;
  if (c->phase == QWH_CONN_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    c->phase = QWH_CONN_HANDSHAKE;
    if (err) {
      qwh_session_fail(&c->s, QWH_E_SOCKET);
    } else {
      if (c->lim.handshake_timeout_ms)
        qwh_timer_set(c->loop, &c->hs_timer, qwh_monotonic_ms() + c->lim.handshake_timeout_ms);
      else
        qwh_timer_cancel(c->loop, &c->hs_timer);
      if (c->tls)
        qwh_tls_start(c->tls, &c->tls_out);
      else
        qwh_session_start(&c->s);
    }
  } else if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    on_readable(c);
  }
  c->in_dispatch = false;
  qwh_pconn_service(c);
}

/* Timers: the handshake (or connect) deadline, the drain of our CLOSE, heartbeats, idleness. */
static void hs_fire(qwh_timer *t) {
  qwh_pconn *c = OWNER(t, hs_timer);
  if (c->phase == QWH_CONN_CLOSED || c->s.finished || (c->s.state != QWH_ST_HANDSHAKE && c->s.state != QWH_ST_VERIFYING)) return;
  /* A server's TLS handshake not done by then fails as a TLS handshake (as on the TS and addon servers). */
  bool tls_pending = c->tls && !c->tls_open && c->s.cfg.role == QWH_SERVER;
  qwh_code code = c->phase == QWH_CONN_CONNECTING ? QWH_E_CONNECT_TIMEOUT : tls_pending ? QWH_E_TLS_HANDSHAKE : QWH_E_HANDSHAKE_TIMEOUT;
  qwh_session_fail(&c->s, code);
  qwh_pconn_service(c);
}

static void drain_fire(qwh_timer *t) {
  qwh_pconn *c = OWNER(t, drain_timer);
  if (c->phase == QWH_CONN_CLOSED || c->s.finished) return;
  discard_out(c);
  qwh_session_fail(&c->s, QWH_E_DRAIN_TIMEOUT);
  qwh_pconn_service(c);
}

static void hb_fire(qwh_timer *t) {
  qwh_pconn *c = OWNER(t, hb_timer);
  if (c->phase == QWH_CONN_CLOSED || c->s.finished) return;
  qwh_session_heartbeat(&c->s);
  if (!c->s.finished && c->s.state == QWH_ST_OPEN) qwh_timer_set(c->loop, t, qwh_monotonic_ms() + c->lim.heartbeat_interval_ms);
  qwh_pconn_service(c);
}

static void idle_fire(qwh_timer *t) {
  qwh_pconn *c = OWNER(t, idle_timer);
  if (c->phase == QWH_CONN_CLOSED || c->s.finished) return;
  int64_t now = qwh_monotonic_ms();
  if (now - c->last_activity < c->lim.idle_timeout_ms) {
    qwh_timer_set(c->loop, t, c->last_activity + c->lim.idle_timeout_ms);
    return;
  }
  qwh_session_fail(&c->s, QWH_E_IDLE_TIMEOUT); /* with "control": CLOSE with the code (QWH-ERR-003) */
  qwh_pconn_service(c);
}

int qwh_pconn_start(qwh_pconn *c, qwh_loop *loop, int fd, bool connecting, const qwh_session_config *cfg, const qwh_pconn_limits *lim,
                    const qwh_pconn_handlers *h, void *app) {
  memset(c, 0, sizeof *c);
  c->w.fd = fd;
  c->w.on_io = on_io;
  c->loop = loop;
  c->h = *h;
  c->app = app;
  if (lim)
    c->lim = *lim;
  else
    qwh_pconn_limits_default(&c->lim);
  c->phase = connecting ? QWH_CONN_CONNECTING : QWH_CONN_HANDSHAKE;
  c->hs_timer.fire = hs_fire;
  c->drain_timer.fire = drain_fire;
  c->hb_timer.fire = hb_fire;
  c->idle_timer.fire = idle_fire;
  c->linger_timer.fire = linger_fire;
  qwh_session_handlers sh = {s_open, s_message, s_peer_close};
  qwh_session_init(&c->s, cfg, &sh, c);
  int64_t first = connecting && c->lim.connect_timeout_ms ? c->lim.connect_timeout_ms : c->lim.handshake_timeout_ms;
  if (first) qwh_timer_set(loop, &c->hs_timer, qwh_monotonic_ms() + first);
  c->watched = connecting ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
  if (qwh_loop_watch(loop, &c->w, c->watched, 1) != 0) {
    cancel_timers(c);
    qwh_session_free(&c->s);
    return -1;
  }
  return 0;
}

qwh_code qwh_pconn_send(qwh_pconn *c, const uint8_t *p, size_t n) {
  return c->phase == QWH_CONN_CLOSED ? QWH_E_CLOSED : qwh_session_send(&c->s, p, n);
}

void qwh_pconn_close(qwh_pconn *c, qwh_code code) {
  if (c->phase == QWH_CONN_CLOSED) return;
  qwh_session_close(&c->s, code, NULL);
  qwh_pconn_service(c);
}

void qwh_pconn_refuse(qwh_pconn *c, qwh_code code) {
  qwh_session_fail(&c->s, code);
  qwh_pconn_service(c);
}

void qwh_pconn_abort(qwh_pconn *c) {
  if (c->phase == QWH_CONN_CLOSED) return;
  qwh_session_abort(&c->s);
  discard_out(c); /* the next service closes it */
}

void qwh_pconn_begin(qwh_pconn *c) {
  if (c->phase == QWH_CONN_CLOSED || c->tls) return; /* with TLS: once the TLS handshake is done */
  qwh_session_start(&c->s);
  qwh_pconn_service(c);
}

void qwh_pconn_free(qwh_pconn *c) {
  cancel_timers(c);
  if (c->phase != QWH_CONN_CLOSED && c->w.fd >= 0) {
    qwh_loop_close_fd(c->loop, &c->w);
    c->phase = QWH_CONN_CLOSED;
  }
  qwh_session_free(&c->s);
  if (c->tls) {
    qwh_tls_free(c->tls);
    c->tls = NULL;
    qwh_buf_free(&c->tls_out);
    qwh_buf_free(&c->plain);
  }
}
