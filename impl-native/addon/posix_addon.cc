// qwormhole_posix.node ("native-libsocket"): non-blocking POSIX sockets driven
// by uv_poll on Node's own loop (no thread). Framing and TLS are the engine's.
// Needs nothing but libc and OpenSSL.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../io/sendq.h"
#include "engine.h"

namespace qwh {

// The socket's life: connect() in progress, open, closing (uv_close called). Only moves forward.
enum class PPhase : uint8_t { Connecting, Open, Closing };
// Our direction: open, shutdown asked for (done once the queue is sent), shut down (SHUT_WR).
enum class WriteEnd : uint8_t { Open, Ending, Ended };

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
  bool reading = false;  // the engine wants bytes (poll for readable)
  PPhase phase = PPhase::Open;
  WriteEnd write_end = WriteEnd::Open;
  int pending_error = 0;
  int events = -1;
};

// A listener's uv_poll and socket; deleting it closes the socket.
struct PListener {
  PListener() = default;
  PListener(const PListener &) = delete;
  PListener &operator=(const PListener &) = delete;
  ~PListener() {
    if (fd >= 0) close(fd);
  }
  uv_poll_t poll;
  int fd = -1;
  Listener *l = nullptr;
  bool closing = false;
};

static void on_poll(uv_poll_t *h, int status, int events);

static void update_poll(PConn *p) {
  if (p->phase == PPhase::Closing) return;
  int ev = 0;
  if (p->reading) ev |= UV_READABLE;
  if (p->phase == PPhase::Connecting || p->out.len > p->out_off || p->pending_error) ev |= UV_WRITABLE;
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
  if (!p || p->phase == PPhase::Closing) return;
  p->phase = PPhase::Closing;
  uv_close(reinterpret_cast<uv_handle_t *>(&p->poll), on_conn_closed);
}

static void maybe_finish(PConn *p) {
  // Both directions done: the connection is over.
  if (p->write_end == WriteEnd::Ended && p->c->read_end == ReadEnd::Delivered && !p->c->closing()) {
    p->c->phase = Phase::Closing;
    p_close(p->c);
  }
}

static void do_shutdown(PConn *p) {
  if (p->write_end == WriteEnd::Ended) return;
  p->write_end = WriteEnd::Ended;
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

static size_t p_sendv(Conn *c, const struct iovec *iov, int n) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->phase == PPhase::Closing) return 0;
  size_t sent = 0;
  if (p->out.len == p->out_off && p->phase == PPhase::Open && !p->pending_error) {
    int err = send_some_v(p->fd, iov, n, &sent);
    if (err) {
      // Reported from the loop, not from inside the JS call that wrote.
      p->pending_error = err;
      update_poll(p);
      return 0;
    }
  }
  size_t before = p->out.len;
  if (qwh_sendq_append_rest(&p->out, iov, n, sent) != 0) p->pending_error = ENOMEM;
  if (p->out.len != before || p->pending_error) update_poll(p);
  return p->out.len - p->out_off;
}

static void p_shutdown_write(Conn *c) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->phase == PPhase::Closing) return;
  if (p->write_end == WriteEnd::Open) p->write_end = WriteEnd::Ending;
  if (p->out.len == p->out_off && p->phase == PPhase::Open) do_shutdown(p);
}

static void p_set_reading(Conn *c, bool on) {
  PConn *p = static_cast<PConn *>(c->io);
  if (!p || p->phase == PPhase::Closing) return;
  p->reading = on;
  update_poll(p);
}

static void read_ready(PConn *p) {
  if (engine_read(p->c, p->fd) == ReadResult::Eof) maybe_finish(p);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  PConn *p = static_cast<PConn *>(h->data);
  Conn *c = p->c;
  if (p->phase == PPhase::Closing || c->closing()) return;
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
  if (p->phase == PPhase::Connecting) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      engine_socket_error(c, strerror(err));
      return;
    }
    p->phase = PPhase::Open;
    engine_set_peer(c, p->fd);
    engine_tcp_connected(c);
    if (p->phase != PPhase::Closing) {
      update_poll(p);
      if (p->write_end == WriteEnd::Ending && p->out.len == p->out_off) do_shutdown(p);
    }
    return;
  }
  if (events & UV_WRITABLE) {
    if (!flush_out(p)) return;
    if (p->out.len == p->out_off) {
      update_poll(p);
      if (p->write_end == WriteEnd::Ending) do_shutdown(p);
      if (!c->closing()) engine_drained(c);
      if (p->phase == PPhase::Closing || c->closing()) return;
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
  p->phase = PPhase::Connecting;
  p->pending_error = connect_err;
  update_poll(p);
  napi_value id;
  napi_create_uint32(env, c->id, &id);
  return id;
}

// ---------------------------------------------------------------- listeners

static void on_listener_closed(uv_handle_t *h) {
  PListener *pl = static_cast<PListener *>(h->data);
  Listener *l = pl->l;
  Addon *a = l->addon;
  delete pl;
  l->io = nullptr;
  engine_listener_closed(l);
  engine_handle_released(a);
}

static void p_close_listener(Listener *l) {
  PListener *pl = static_cast<PListener *>(l->io);
  if (!pl || pl->closing) return;
  pl->closing = true;
  uv_close(reinterpret_cast<uv_handle_t *>(&pl->poll), on_listener_closed);
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

// listen(host, port, options) -> [id, port] (see napi_glue.h).
napi_value backend_listen(napi_env env, napi_callback_info info) {
  int fd = -1, port = 0;
  napi_value o;
  Listener *l = listen_socket(env, info, &fd, &port, &o);
  if (!l) return nullptr;
  Addon *a = l->addon;
  PListener *pl = new PListener();
  pl->fd = fd;
  pl->l = l;
  l->io = pl;
  uv_poll_init(a->loop, &pl->poll, fd);
  pl->poll.data = pl;
  a->open_handles++;
  uv_poll_start(&pl->poll, UV_READABLE, on_accept);
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
  if (p && p->phase != PPhase::Closing) maybe_finish(p);
}

static const Backend POSIX = {"posix", p_sendv, p_shutdown_write, p_set_reading, p_close, p_close_listener, p_read_ended, nullptr, nullptr};

}  // namespace qwh

static napi_value Init(napi_env env, napi_value exports) { return qwh::engine_init_module(env, exports, &qwh::POSIX, nullptr); }

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
