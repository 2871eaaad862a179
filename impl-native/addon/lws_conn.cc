// The lws addon's JS-thread half (see lws_backend.h): the engine's backend
// operations, delivery of what the service thread queued, connect/listen,
// teardown and the module entry point.
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../io/sendq.h"
#include "lws_backend.h"

namespace qwh {

static LState *st_of(Addon *a) { return static_cast<LState *>(a->backend_state); }

static void cancel_service(LState *st, bool need) {
  if (need && st->running) lws_cancel_service(st->ctx);
}

// The wake-up pipe keeps Node's loop alive only while there are connections or listeners.
static void update_ref(LState *st) {
  bool want = st->a->live_conns > 0 || st->a->live_listeners > 0;
  if (!st->wake_open || want == st->wake_refed) return;
  st->wake_refed = want;
  if (want)
    uv_ref(reinterpret_cast<uv_handle_t *>(&st->wake_poll));
  else
    uv_unref(reinterpret_cast<uv_handle_t *>(&st->wake_poll));
}

// JS is done with lc: the service thread closes what is left and frees it.
static void js_release(LState *st, LConn *lc) {
  lock(st);
  lc->js_done = true;
  lc->requests |= L_CLOSE;
  st->ready.erase(std::remove(st->ready.begin(), st->ready.end(), lc), st->ready.end());
  bool need = queue_op(st, lc);
  unlock(st);
  cancel_service(st, need);
}

// ---------------------------------------------------------------- reading (JS thread)

static void on_reader_closed(uv_handle_t *h) {
  LReader *r = static_cast<LReader *>(h->data);
  Addon *a = r->addon;
  close(r->fd);
  delete r;
  engine_handle_released(a);
}

static void reader_close(LConn *lc) {
  LReader *r = lc->reader;
  if (!r) return;
  lc->reader = nullptr;
  r->c = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(&r->poll), on_reader_closed);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  LReader *r = static_cast<LReader *>(h->data);
  Conn *c = r->c;
  if (!c || c->closing()) return;
  if (status < 0 && !(events & UV_READABLE)) {
    // libuv reports POLLERR as UV_EBADF; the socket's own error says what happened.
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err != 0)
      engine_socket_error(c, strerror(err));
    else
      engine_socket_error(c, uv_strerror(status));
    return;
  }
  engine_read(c, r->fd);
}

// The reader of a connection that JS now has, on its own descriptor fd (taken over).
static void reader_open(LConn *lc, Conn *c, int fd) {
  if (fd < 0) return;
  LReader *r = new LReader();
  r->fd = fd;
  r->addon = c->addon;
  r->c = c;
  uv_poll_init(c->addon->loop, &r->poll, fd);  // a socket: cannot fail on Linux
  r->poll.data = r;
  c->addon->open_handles++;
  lc->reader = r;
}

static void peer_to_conn(Conn *c, const LConn *lc) {
  snprintf(c->remote_addr, sizeof c->remote_addr, "%s", lc->remote);
  c->remote_port = lc->remote_port;
  c->local_port = lc->local_port;
}

// Everything the service thread queued since the last turn, one connection after the other.
static void deliver(LState *st) {
  Addon *a = st->a;
  lock(st);
  st->js_signalled = false;
  st->js_turns++;
  std::vector<LConn *> ready;
  ready.swap(st->ready);
  for (LConn *lc : ready) lc->ready_queued = false;
  unlock(st);
  for (LConn *lc : ready) {
    if (a->tearing_down) break;  // shutdown() ran inside a call into JS
    lock(st);
    uint8_t ev = lc->events;
    lc->events = 0;
    bool connected = ev & L_CONNECTED, accepted = ev & L_ACCEPTED, drained = ev & L_DRAINED, closed = ev & L_CLOSED;
    int js_fd = -1;
    if (connected || accepted) {
      js_fd = lc->js_fd;  // the reader's from now on
      lc->js_fd = -1;
    }
    std::string error;
    error.swap(lc->ev_error);
    unlock(st);
    if (accepted) {
      auto it = a->listeners.find(lc->listener_id);
      Listener *l = it == a->listeners.end() ? nullptr : it->second;
      char err[256];
      Conn *c = l && !l->closed ? engine_new_conn(a, true, l->id, l->tls, nullptr, nullptr, err, sizeof err) : nullptr;
      if (!c) {
        if (js_fd >= 0) close(js_fd);
        js_release(st, lc);
        continue;
      }
      lc->c = c;
      c->io = lc;
      peer_to_conn(c, lc);
      reader_open(lc, c, js_fd);
      update_ref(st);
      engine_accepted(l, c);
    }
    Conn *c = lc->c;
    if (connected && c) {
      peer_to_conn(c, lc);
      reader_open(lc, c, js_fd);
      engine_tcp_connected(c);
    } else if (connected && js_fd >= 0) {
      close(js_fd);
    }
    if (c && !c->closing() && drained) engine_drained(c);
    if (c && !error.empty() && !c->closing()) engine_socket_error(c, error.c_str());
    if (closed) {
      if (c) {
        // lws closed the wsi (a hang-up, an error): what the socket still holds is read first
        // (the reader's descriptor keeps it open).
        if (lc->reader && !c->closing() && engine_wants_read(c)) engine_read(c, lc->reader->fd);
        reader_close(lc);
        lc->c = nullptr;
        c->io = nullptr;
        engine_closed(c);
      }
      js_release(st, lc);
      update_ref(st);
    }
  }
}

static void on_wake(uv_poll_t *h, int, int) {
  LState *st = static_cast<LState *>(h->data);
  // One byte per js_signalled cycle: one read empties the pipe (a stray byte only costs an
  // empty turn: the poll is level-triggered).
  char buf[64];
  ssize_t n = read(st->wake_r, buf, sizeof buf);
  (void)n;
  if (!st->a->tearing_down) deliver(st);
}

static void on_wake_closed(uv_handle_t *h) {
  LState *st = static_cast<LState *>(h->data);
  close(st->wake_r);
  close(st->wake_w);
  st->wake_r = st->wake_w = -1;
  st->wake_open = false;
  engine_handle_released(st->a);  // may free st
}

// The service thread and the wake-up pipe, on the first connect or listen.
static bool ensure_started(napi_env env, LState *st) {
  if (st->running) return true;
  const char *why = nullptr;
  std::string err;
  int p[2];
  if (st->a->tearing_down)
    why = "the addon is shutting down";
  else if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
    why = "cannot make the wake-up pipe";
  if (why) return throw_error(env, "E_NATIVE_UNAVAILABLE", why), false;
  st->wake_r = p[0];
  st->wake_w = p[1];
  if (!service_start(st, &err)) {
    close(p[0]);
    close(p[1]);
    st->wake_r = st->wake_w = -1;
    return throw_error(env, "E_NATIVE_UNAVAILABLE", err.c_str()), false;
  }
  uv_poll_init(st->a->loop, &st->wake_poll, st->wake_r);
  st->wake_poll.data = st;
  uv_poll_start(&st->wake_poll, UV_READABLE, on_wake);
  uv_unref(reinterpret_cast<uv_handle_t *>(&st->wake_poll));
  st->wake_open = true;
  st->wake_refed = false;
  st->a->open_handles++;
  return true;
}

// ---------------------------------------------------------------- backend operations

static size_t l_sendv(Conn *c, const struct iovec *iov, int n) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return 0;
  LState *st = lc->st;
  static const bool no_direct = getenv("QWH_LWS_NO_DIRECT") != nullptr;
  size_t total = 0, sent = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  lock(st);
  if (!no_direct && lc->can_send && !lc->send_failed && lc->out.len == lc->out_off && !(lc->requests & L_CLOSE)) {
    // Nothing queued: write now from this thread (the kernel serialises it; the service
    // thread only sends under this same lock). Saves the thread hop on every flush.
    if (send_some_v(lc->fd, iov, n, &sent) != 0) {
      lc->send_failed = true;  // reported by the service thread (never inside this call)
      bool need = queue_op(st, lc);
      unlock(st);
      cancel_service(st, need);
      return 0;
    }
    if (sent == total) {
      st->direct_sends++;
      unlock(st);
      return 0;
    }
  }
  st->queued_sends++;  // the service thread's qwh_send_queued compacts the queue
  qwh_sendq_append_rest(&lc->out, iov, n, sent);
  size_t queued = lc->out.len - lc->out_off;
  bool need = queue_op(st, lc);
  unlock(st);
  cancel_service(st, need);
  // Small queues are the service thread's business; report only real backlogs (they end with a drain event).
  return queued > 65536 ? queued : 0;
}

// Asks the service thread for `bit` (an LRequest).
static void request(Conn *c, uint8_t bit) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return;
  LState *st = lc->st;
  lock(st);
  bool need = false;
  if (!(lc->requests & bit)) {
    lc->requests |= bit;
    need = queue_op(st, lc);
  }
  unlock(st);
  cancel_service(st, need);
}

static void l_shutdown_write(Conn *c) { request(c, L_SHUTDOWN); }

static void l_set_reading(Conn *c, bool on) {
  LConn *lc = static_cast<LConn *>(c->io);
  LReader *r = lc ? lc->reader : nullptr;
  if (!r || r->polling == on) return;
  r->polling = on;
  if (on)
    uv_poll_start(&r->poll, UV_READABLE, on_readable);
  else
    uv_poll_stop(&r->poll);
}

// JS stops reading at once; the service thread reports the close.
static void l_close(Conn *c) {
  if (c->io) reader_close(static_cast<LConn *>(c->io));
  request(c, L_CLOSE);
}
static void l_read_ended(Conn *c) { request(c, L_READ_ENDED); }

static void l_close_listener(Listener *l) {
  LListener *ll = static_cast<LListener *>(l->io);
  l->io = nullptr;
  LState *st = st_of(l->addon);
  if (ll) {
    lock(st);
    ll->destroy_req = true;  // the service thread closes the socket and frees ll
    bool need = queue_listener_op(st, ll);
    unlock(st);
    cancel_service(st, need);
  }
  engine_listener_closed(l);
  update_ref(st);
}

// ---------------------------------------------------------------- exports

// connect(host, port, options) -> id (see napi_glue.h). The socket is made and connect()
// started here (non-blocking); the service thread adopts it.
napi_value backend_connect(napi_env env, napi_callback_info info) {
  LState *st = st_of(addon_of(env));
  if (!ensure_started(env, st)) return nullptr;
  int fd = -1, connect_err = 0, lc_js_fd = -1;
  Conn *c = dial(env, info, &fd, &connect_err);
  if (!c) return nullptr;
  if (!connect_err) {
    lc_js_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (lc_js_fd < 0) connect_err = errno;
  }
  LConn *lc = new LConn();
  lc->st = st;
  lc->c = c;
  lc->js_fd = lc_js_fd;
  qwh_buf_init(&lc->out);
  c->io = lc;
  lock(st);
  st->conns.push_back(lc);
  bool need = false, wake = false;
  if (connect_err) {
    // Reported from the loop like any failed connect (never inside this call).
    close(fd);
    lc->ev_error = strerror(connect_err);
    lc->events |= L_CLOSED;
    lc->svc_done = true;
    wake = signal_js(st, lc);
  } else {
    lc->connect_fd = fd;
    lc->requests |= L_CONNECT;
    need = queue_op(st, lc);
  }
  unlock(st);
  wake_js(st, wake);
  cancel_service(st, need);
  update_ref(st);
  napi_value id;
  napi_create_uint32(env, c->id, &id);
  return id;
}

// listen(host, port, options) -> [id, port] (see napi_glue.h). The listening socket is made
// here; the service thread adopts it and accepts.
napi_value backend_listen(napi_env env, napi_callback_info info) {
  LState *st = st_of(addon_of(env));
  if (!ensure_started(env, st)) return nullptr;
  int fd = -1, port = 0;
  napi_value o;
  Listener *l = listen_socket(env, info, &fd, &port, &o);
  if (!l) return nullptr;
  LListener *ll = new LListener();
  ll->st = st;
  ll->id = l->id;
  ll->keep_alive = l->keep_alive;
  ll->keep_alive_delay_ms = l->keep_alive_delay_ms;
  ll->fd = fd;
  l->io = ll;
  lock(st);
  ll->create_req = true;
  bool need = queue_listener_op(st, ll);
  unlock(st);
  cancel_service(st, need);
  update_ref(st);
  return listen_result(env, l, port);
}

napi_value backend_listener_address(napi_env env, napi_callback_info) { return undefined(env); }

// Closes everything now (env cleanup, process exit): the thread stops first, so what follows is
// single-threaded. The wake-up handle's close callback releases the addon's last handle.
void backend_teardown(Addon *a) {
  LState *st = st_of(a);
  service_stop(st);
  for (LConn *lc : std::vector<LConn *>(st->conns)) {
    reader_close(lc);
    if (lc->c) {
      lc->c->io = nullptr;
      lc->c->close_notified = true;
      engine_closed(lc->c);
    }
    lconn_free(st, lc);
  }
  for (auto &kv : std::unordered_map<uint32_t, Listener *>(a->listeners)) {
    kv.second->io = nullptr;
    engine_listener_closed(kv.second);
  }
  std::vector<LListener *> lls(st->svc_listeners);
  lls.insert(lls.end(), st->lops.begin(), st->lops.end());
  std::sort(lls.begin(), lls.end());
  lls.erase(std::unique(lls.begin(), lls.end()), lls.end());
  for (LListener *ll : lls) {
    delete ll;
  }
  st->svc_listeners.clear();
  st->lops.clear();
  if (st->wake_open && !uv_is_closing(reinterpret_cast<uv_handle_t *>(&st->wake_poll))) {
    uv_close(reinterpret_cast<uv_handle_t *>(&st->wake_poll), on_wake_closed);
  }
}

// shutdown(): process.exit() skips the cleanup hooks, so JS calls this on "exit" to stop the
// service thread. Nothing is freed here: "exit" may run inside one of our own calls into JS (a
// worker's process.exit() returns), whose caller still uses its connection; a worker's env
// cleanup (backend_teardown) frees everything later.
static napi_value m_shutdown(napi_env env, napi_callback_info) {
  Addon *a = addon_of(env);
  if (a) {
    a->tearing_down = true;
    service_stop(st_of(a));
  }
  return undefined(env);
}

static void l_free_state(void *s) { delete static_cast<LState *>(s); }

static void l_stats(Addon *a, napi_value o) {
  LState *st = st_of(a);
  lock(st);
  const double v[] = {st->rearms, st->svc_wakes, st->js_wakes, st->js_turns, st->direct_sends, st->queued_sends, st->contended};
  unlock(st);
  const char *names[] = {"rearms", "serviceWakeups", "jsWakeups", "jsTurns", "directSends", "queuedSends", "contended"};
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) set_prop(a->env, o, names[i], num(a->env, v[i]));
}

static const Backend LWS = {"lws",        l_sendv,      l_shutdown_write, l_set_reading, l_close, l_close_listener,
                            l_read_ended, l_free_state, l_stats};

}  // namespace qwh

static napi_value Init(napi_env env, napi_value exports) {
  auto *st = new qwh::LState();
  napi_value r = qwh::engine_init_module(env, exports, &qwh::LWS, st);
  if (!r) return r;
  st->a = qwh::addon_of(env);
  napi_value fn;
  napi_create_function(env, "shutdown", NAPI_AUTO_LENGTH, qwh::m_shutdown, nullptr, &fn);
  napi_set_named_property(env, exports, "shutdown", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
