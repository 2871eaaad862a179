// qwormhole_posix.node ("native-libsocket"): non-blocking POSIX sockets driven
// by uv_poll on Node's own loop (no thread). Framing and TLS are the engine's.
// Needs nothing but libc and OpenSSL.
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../io/sendq.h"
#include "engine.h"

namespace qwh {

static constexpr size_t READ_SIZE = 256 * 1024;
static constexpr int READS_PER_EVENT = 8;

// A connection's uv_poll and socket; deleting it closes the socket and frees the queue.
struct PConn {
  PConn() = default;
  PConn(const PConn &) = delete;
  PConn &operator=(const PConn &) = delete;
  ~PConn() {
    if (fd >= 0) close(fd);
    qwh_buf_free(&out);
  }
  uv_poll_t poll;
  int fd = -1;
  Conn *c = nullptr;
  qwh_buf out{};
  size_t out_off = 0;
  bool reading = false;
  bool connecting = false;
  bool shut_req = false;
  bool shut_done = false;
  bool closing = false;
  int pending_error = 0;
  int events = -1;
  // The last read was at least ENGINE_COPY_BELOW bytes: the next one asks the kernel how much it
  // holds and reads it into a chunk of its own; small reads go straight into the shared buffer
  // (one system call fewer per round trip).
  bool large_reads = false;
};

// A listener's uv_poll, deadline timer and socket; deleting it closes the socket.
struct PListener {
  PListener() = default;
  PListener(const PListener &) = delete;
  PListener &operator=(const PListener &) = delete;
  ~PListener() {
    if (fd >= 0) close(fd);
  }
  uv_poll_t poll;
  uv_timer_t timer;  // TLS handshake deadlines
  int fd = -1;
  Listener *l = nullptr;
  int pending_closes = 0;
};

struct PState {
  uint8_t *rbuf = nullptr;
};

static PState *state_of(Addon *a) { return static_cast<PState *>(a->backend_state); }

static void on_poll(uv_poll_t *h, int status, int events);

static void update_poll(PConn *p) {
  if (p->closing) return;
  int ev = 0;
  if (p->reading) ev |= UV_READABLE;
  if (p->connecting || p->out.len > p->out_off || p->pending_error) ev |= UV_WRITABLE;
  if (ev == p->events) return;
  p->events = ev;
  if (ev == 0)
    uv_poll_stop(&p->poll);
  else
    uv_poll_start(&p->poll, ev, on_poll);
}

static void on_conn_closed(uv_handle_t *h) {
  PConn *p = static_cast<PConn *>(h->data);
  Addon *a = p->c->addon;
  Conn *c = p->c;
  c->io = nullptr;
  delete p;
  engine_closed(c);
  engine_handle_released(a);
}

static void p_close(Conn *c) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->closing) return;
  p->closing = true;
  uv_close(reinterpret_cast<uv_handle_t *>(&p->poll), on_conn_closed);
}

static void maybe_finish(PConn *p) {
  // Both directions done: the connection is over.
  if (p->shut_done && p->c->read_end == ReadEnd::Delivered && !p->c->closing()) {
    p->c->phase = Phase::Closing;
    p_close(p->c);
  }
}

static void do_shutdown(PConn *p) {
  if (p->shut_done) return;
  p->shut_done = true;
  shutdown(p->fd, SHUT_WR);
  maybe_finish(p);
}

// Writes queued output; returns false on a fatal error (reported).
static bool flush_out(PConn *p) {
  size_t sent = 0;
  int err = qwh_send_queued(p->fd, &p->out, &p->out_off, 4u << 20, &sent);
  if (err) {
    engine_socket_error(p->c, strerror(err));
    return false;
  }
  return true;
}

static size_t p_send(Conn *c, const uint8_t *data, size_t n) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->closing) return 0;
  if (p->out.len == p->out_off && !p->connecting && !p->pending_error) {
    size_t sent = 0;
    int err = send_some(p->fd, data, n, &sent);
    if (err) {
      // Reported from the loop, not from inside the JS call that wrote.
      p->pending_error = err;
      update_poll(p);
      return 0;
    }
    data += sent;
    n -= sent;
  }
  if (n > 0) {
    if (qwh_buf_append(&p->out, data, n) != 0) {
      p->pending_error = ENOMEM;
    }
    update_poll(p);
  }
  return p->out.len - p->out_off;
}

static void p_shutdown_write(Conn *c) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->closing) return;
  p->shut_req = true;
  if (p->out.len == p->out_off && !p->connecting) do_shutdown(p);
}

static void p_set_reading(Conn *c, bool on) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->closing) return;
  p->reading = on;
  update_poll(p);
}

static constexpr size_t OWNED_MAX = 4u << 20;

// Plain connections after a large read: one read of everything the kernel holds (FIONREAD) into
// a chunk of its own, decoded in place and handed to JS as the batch Buffer itself (no copy of
// the payloads). Returns false when the generic path must run (TLS, paused, less than
// ENGINE_COPY_BELOW announced, EOF or error).
static bool read_owned(PConn *p) {
  Conn *c = p->c;
  if (c->tls || c->pend.len || c->js_paused) return false;
  int avail = 0;
  if (ioctl(p->fd, FIONREAD, &avail) != 0 || avail < static_cast<int>(ENGINE_COPY_BELOW)) {
    p->large_reads = false;
    return false;
  }
  size_t want = static_cast<size_t>(avail) < OWNED_MAX ? static_cast<size_t>(avail) : OWNED_MAX;
  size_t cap = want + want / 4 + 64;  // room for the frame table of frames of 48+ bytes
  auto *buf = static_cast<uint8_t *>(malloc(cap));
  if (!buf) return false;
  ssize_t n;
  do n = recv(p->fd, buf, want, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    free(buf);
    if (n == 0) return false;  // the generic path sees the EOF
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    engine_socket_error(c, strerror(errno));
    return true;
  }
  engine_received_owned(c, buf, static_cast<size_t>(n), cap);
  return true;
}

// While a large frame is missing at least 16 KiB, its bytes are received straight into the
// decoder's buffer for it, which then becomes the batch Buffer: a large message is not copied.
// Returns false when the other paths must run (no such frame, EOF).
static bool read_in_place(PConn *p) {
  Conn *c = p->c;
  uint8_t *at = nullptr;
  size_t room = engine_in_place_room(c, &at);
  if (room == 0) return false;
  ssize_t n;
  do n = recv(p->fd, at, room, 0);
  while (n < 0 && errno == EINTR);
  if (n == 0) return false;  // the generic path sees the EOF
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) engine_socket_error(c, strerror(errno));
    return true;
  }
  engine_received_in_place(c, static_cast<size_t>(n));
  return true;
}

static void read_ready(PConn *p) {
  Conn *c = p->c;
  if (read_in_place(p) || (p->large_reads && read_owned(p))) return;
  uint8_t *buf = state_of(c->addon)->rbuf;
  for (int i = 0; i < READS_PER_EVENT && p->reading && !c->closing(); i++) {
    ssize_t n = recv(p->fd, buf, READ_SIZE, 0);
    if (n > 0) {
      p->large_reads = static_cast<size_t>(n) >= ENGINE_COPY_BELOW;
      engine_received(c, buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < READ_SIZE) break;
      continue;
    }
    if (n == 0) {
      engine_eof(c);
      if (!c->closing()) maybe_finish(p);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    engine_socket_error(c, strerror(errno));
    return;
  }
  if (!c->closing()) engine_flush_batch(c);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  PConn *p = static_cast<PConn *>(h->data);
  Conn *c = p->c;
  if (p->closing || c->closing()) return;
  if (p->pending_error) {
    int e = p->pending_error;
    p->pending_error = 0;
    engine_socket_error(c, strerror(e));
    return;
  }
  if (status < 0 && !(events & UV_READABLE)) {
    // libuv reports POLLERR as UV_EBADF; the socket's own error says what happened (ECONNREFUSED, ...).
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err != 0)
      engine_socket_error(c, strerror(err));
    else
      engine_socket_error(c, uv_strerror(status));
    return;
  }
  if (p->connecting) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      engine_socket_error(c, strerror(err));
      return;
    }
    p->connecting = false;
    engine_set_peer(c, p->fd);
    engine_tcp_connected(c);
    if (!p->closing) {
      update_poll(p);
      if (p->shut_req && p->out.len == p->out_off) do_shutdown(p);
    }
    return;
  }
  if (events & UV_WRITABLE) {
    if (!flush_out(p)) return;
    if (p->out.len == p->out_off) {
      update_poll(p);
      if (p->shut_req) do_shutdown(p);
      if (!c->closing()) engine_drained(c);
      if (p->closing || c->closing()) return;
    }
  }
  if ((events & UV_READABLE) && p->reading) read_ready(p);
}

static PConn *attach(Conn *c, int fd) {
  Addon *a = c->addon;
  PConn *p = new PConn();
  p->fd = fd;
  p->c = c;
  qwh_buf_init(&p->out);
  c->io = p;
  uv_poll_init(a->loop, &p->poll, fd);  // fd is a socket: cannot fail on Linux
  p->poll.data = p;
  a->open_handles++;
  return p;
}

// connect(host, port, options) -> id (see napi_glue.h)
napi_value backend_connect(napi_env env, napi_callback_info info) {
  int fd = -1, connect_err = 0;
  Conn *c = dial(env, info, &fd, &connect_err);
  if (!c) return nullptr;
  PConn *p = attach(c, fd);
  p->connecting = true;
  p->pending_error = connect_err;
  update_poll(p);
  napi_value id;
  napi_create_uint32(env, c->id, &id);
  return id;
}

// ---------------------------------------------------------------- listeners

static void on_listener_closed(uv_handle_t *h) {
  PListener *pl = static_cast<PListener *>(h->data);
  if (--pl->pending_closes > 0) return;
  Listener *l = pl->l;
  Addon *a = l->addon;
  delete pl;
  l->io = nullptr;
  engine_listener_closed(l);
  engine_handle_released(a);
  engine_handle_released(a);
}

static void p_close_listener(Listener *l) {
  PListener *pl = static_cast<PListener *>(l->io);
  if (!pl || pl->pending_closes) return;
  pl->pending_closes = 2;
  uv_close(reinterpret_cast<uv_handle_t *>(&pl->poll), on_listener_closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&pl->timer), on_listener_closed);
}

static void on_accept(uv_poll_t *h, int status, int) {
  PListener *pl = static_cast<PListener *>(h->data);
  Listener *l = pl->l;
  Addon *a = l->addon;
  if (status < 0) {
    engine_listener_error(l, uv_strerror(status));
    return;
  }
  for (int i = 0; i < 128 && !l->closed; i++) {
    int fd = accept4(pl->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) engine_listener_error(l, strerror(errno));
      break;
    }
    tune_socket(fd, l->keep_alive, l->keep_alive_delay_ms);
    char err[256] = "";
    Conn *c = engine_new_conn(a, true, l->id, l->tls, nullptr, nullptr, err, sizeof err);
    if (!c) {
      close(fd);
      continue;
    }
    attach(c, fd);
    engine_set_peer(c, fd);
    engine_accepted(l, c);
  }
}

static void on_deadline(uv_timer_t *t) { engine_expire_tls_handshakes(static_cast<PListener *>(t->data)->l); }

// listen(host, port, options) -> [id, port] (see napi_glue.h); TLS handshakes have a deadline here.
napi_value backend_listen(napi_env env, napi_callback_info info) {
  int fd = -1, port = 0;
  napi_value o;
  Listener *l = listen_socket(env, info, &fd, &port, &o);
  if (!l) return nullptr;
  Addon *a = l->addon;
  PListener *pl = new PListener();
  pl->fd = fd;
  pl->l = l;
  l->handshake_timeout_ms = int_prop(env, o, "handshakeTimeoutMs", 10000);
  l->io = pl;
  uv_poll_init(a->loop, &pl->poll, fd);
  pl->poll.data = pl;
  uv_timer_init(a->loop, &pl->timer);
  pl->timer.data = pl;
  a->open_handles += 2;
  uv_poll_start(&pl->poll, UV_READABLE, on_accept);
  if (l->tls) {
    uint64_t every = engine_tls_check_every_ms(l);
    uv_timer_start(&pl->timer, on_deadline, every, every);
    uv_unref(reinterpret_cast<uv_handle_t *>(&pl->timer));
  }
  return listen_result(env, l, port);
}

napi_value backend_listener_address(napi_env env, napi_callback_info) { return undefined(env); }

void backend_teardown(Addon *a) {
  std::vector<Conn *> conns;
  for (auto &kv : a->conns) conns.push_back(kv.second);
  for (Conn *c : conns) {
    c->phase = Phase::Closing;
    c->close_notified = true;
    p_close(c);
  }
  std::vector<Listener *> ls;
  for (auto &kv : a->listeners) ls.push_back(kv.second);
  for (Listener *l : ls) {
    l->closed = true;
    p_close_listener(l);
  }
}

static void p_read_ended(Conn *c) {
  PConn *p = static_cast<PConn *>(c->io);
  if (p && !p->closing) maybe_finish(p);
}

static void p_free_state(void *s) {
  auto *st = static_cast<PState *>(s);
  delete[] st->rbuf;
  delete st;
}

static const Backend POSIX = {"posix",          p_send,       p_shutdown_write, p_set_reading, p_close,
                              p_close_listener, p_read_ended, p_free_state,     nullptr};

}  // namespace qwh

static napi_value Init(napi_env env, napi_value exports) {
  auto *st = new qwh::PState();
  st->rbuf = new uint8_t[qwh::READ_SIZE];
  return qwh::engine_init_module(env, exports, &qwh::POSIX, st);
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
