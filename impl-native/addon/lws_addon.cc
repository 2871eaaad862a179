// qwormhole_lws.node ("native-lws"): libwebsockets raw sockets on ONE service
// thread per addon instance (context), not per connection.
//
// Threads. The service thread owns the lws context and every wsi; it moves
// bytes only. The JS thread runs the engine (framing, TLS through the memory
// BIO module) and talks to the service thread through mutex-protected queues:
//   JS -> service: per-connection output queue and flags, a command list, then
//                  lws_cancel_service() (the only lws call made from JS).
//   service -> JS: per-connection input buffer and event flags, a ready list,
//                  then one ThreadSafeFunction call (coalesced) whose JS-side
//                  callback drains everything. No lock is held while JS runs.
// TLS: both directions use the engine's memory-BIO module: lws 4.1.6's raw TLS
// client cannot connect (libwebsockets/README.md), and a server on lws's own
// TLS would put the SSL object (facts, RFC 5705/9266 exporters) on the service
// thread while the handshake code needs it on the JS thread.
#include <libwebsockets.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"

namespace qwh {

static constexpr size_t IO_SIZE = 256 * 1024;

struct LState;

// One connection as both threads see it. Fields marked [svc] are the service
// thread's; [mu] are guarded by LState::mu; [js] are the JS thread's.
struct LConn {
  LState *st = nullptr;
  Conn *c = nullptr;              // [js]
  struct lws *wsi = nullptr;      // [svc]
  uint32_t listener_id = 0;       // accepted: the listener it came from
  // JS -> service [mu]
  qwh_buf out{};
  size_t out_off = 0;
  bool want_shutdown = false;
  bool want_close = false;
  bool reading = true;
  bool reading_applied = true;    // [svc]
  bool op_queued = false;
  bool connect_req = false;
  std::string addr;               // connect target
  std::string iface;              // local address to bind, or empty
  int port = 0;
  bool keep_alive = true;
  int keep_alive_delay_ms = 30000;
  // service -> JS [mu]
  qwh_buf in{};
  bool ev_connected = false, ev_accepted = false, ev_eof = false, ev_drained = false, ev_closed = false;
  std::string ev_error;
  bool ready_queued = false;
  bool svc_done = false;          // the wsi is gone (no further service-thread access)
  bool shut_done = false;         // [svc]
  char remote[64] = "";
  int remote_port = 0, local_port = 0;
};

struct LListener {
  LState *st = nullptr;
  uint32_t id = 0;
  bool keep_alive = true;
  int keep_alive_delay_ms = 30000;
  struct lws_vhost *vh = nullptr; // [svc]
  std::string iface;
  int port = 0;
  int bound_port = -1;            // [mu] result of the creation
  std::string error;
  bool create_req = false, destroy_req = false, created = false;
};

struct LState {
  Addon *a = nullptr;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  struct lws_context *ctx = nullptr;
  struct lws_vhost *client_vh = nullptr;
  pthread_t thread{};
  bool running = false;
  bool stop = false;
  napi_threadsafe_function tsfn = nullptr;
  bool js_signalled = false;           // [mu]
  bool tsfn_refed = false;             // [js]
  std::vector<LConn *> ops;            // [mu] JS -> service
  std::vector<LConn *> ready;          // [mu] service -> JS
  std::vector<LListener *> lops;       // [mu]
  std::vector<LConn *> all;            // [js] live LConns
  std::vector<LListener *> svc_listeners; // [svc] (after the thread stops: JS)
  uint8_t *txbuf = nullptr;            // [svc] LWS_PRE + IO_SIZE
};

static LState *st_of(Addon *a) { return static_cast<LState *>(a->backend_state); }

extern struct lws_protocols qwh_lws_protocol;

// ---------------------------------------------------------------- service thread

static void signal_js(LState *st, LConn *lc) {
  // Called with mu held.
  if (lc && !lc->ready_queued) {
    lc->ready_queued = true;
    st->ready.push_back(lc);
  }
  if (!st->js_signalled && st->tsfn) {
    st->js_signalled = true;
    napi_call_threadsafe_function(st->tsfn, nullptr, napi_tsfn_nonblocking);
  }
}

static void peer_of(LConn *lc, int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      auto *in = reinterpret_cast<sockaddr_in *>(&ss);
      inet_ntop(AF_INET, &in->sin_addr, lc->remote, sizeof lc->remote);
      lc->remote_port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto *in6 = reinterpret_cast<sockaddr_in6 *>(&ss);
      inet_ntop(AF_INET6, &in6->sin6_addr, lc->remote, sizeof lc->remote);
      lc->remote_port = ntohs(in6->sin6_port);
    }
  }
  sl = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &sl) == 0) {
    lc->local_port = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port) : ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
  }
}

static void tune_socket(int fd, bool keep_alive, int delay_ms) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!keep_alive) return;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int secs = delay_ms / 1000 < 1 ? 1 : delay_ms / 1000;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
}

static LListener *listener_of_vhost(LState *st, struct lws_vhost *vh);

static void run_ops(LState *st) {
  // Takes the command list under the lock, acts on it without.
  pthread_mutex_lock(&st->mu);
  std::vector<LConn *> ops;
  ops.swap(st->ops);
  std::vector<LListener *> lops;
  lops.swap(st->lops);
  for (LConn *lc : ops) lc->op_queued = false;
  pthread_mutex_unlock(&st->mu);

  for (LListener *ll : lops) {
    if (ll->create_req) {
      ll->create_req = false;
      struct lws_context_creation_info info;
      memset(&info, 0, sizeof info);
      static struct lws_protocols protos[2];
      protos[0] = qwh_lws_protocol;
      memset(&protos[1], 0, sizeof protos[1]); // 4.1 has no LWS_PROTOCOL_LIST_TERM
      info.protocols = protos;
      info.port = ll->port;
      info.iface = ll->iface.c_str();
      info.vhost_name = "qwh-listen";
      info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
      info.listen_accept_role = "raw-skt";
      info.listen_accept_protocol = "qwh";
      if (ll->iface.find(':') == std::string::npos) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
      struct lws_vhost *vh = lws_create_vhost(st->ctx, &info);
      pthread_mutex_lock(&st->mu);
      if (!vh) {
        ll->error = "cannot listen (address in use or not available)";
        ll->bound_port = 0;
      } else {
        ll->vh = vh;
        ll->created = true;
        st->svc_listeners.push_back(ll);
        ll->bound_port = lws_get_vhost_listen_port(vh);
      }
      pthread_cond_broadcast(&st->cv);
      pthread_mutex_unlock(&st->mu);
    }
    if (ll->destroy_req) {
      for (size_t i = 0; i < st->svc_listeners.size(); i++) {
        if (st->svc_listeners[i] == ll) {
          st->svc_listeners.erase(st->svc_listeners.begin() + static_cast<long>(i));
          break;
        }
      }
      if (ll->vh) lws_vhost_destroy(ll->vh);
      delete ll; // the JS side forgot it when it asked for the close
    }
  }

  for (LConn *lc : ops) {
    pthread_mutex_lock(&st->mu);
    bool connect_req = lc->connect_req;
    lc->connect_req = false;
    bool want_close = lc->want_close;
    bool reading = lc->reading;
    bool has_out = lc->out.len > lc->out_off || lc->want_shutdown;
    bool done = lc->svc_done;
    pthread_mutex_unlock(&st->mu);
    if (done) continue;
    if (connect_req && want_close) {
      pthread_mutex_lock(&st->mu);
      lc->ev_closed = true;
      lc->svc_done = true;
      signal_js(st, lc);
      pthread_mutex_unlock(&st->mu);
      continue;
    }
    if (connect_req) {
      struct lws_client_connect_info ci;
      memset(&ci, 0, sizeof ci);
      ci.context = st->ctx;
      ci.vhost = st->client_vh;
      ci.address = lc->addr.c_str();
      ci.port = lc->port;
      ci.host = lc->addr.c_str();
      ci.origin = lc->addr.c_str();
      ci.method = "RAW";
      if (!lc->iface.empty()) ci.iface = lc->iface.c_str();
      ci.local_protocol_name = "qwh";
      ci.ssl_connection = 0; // TLS runs in the engine (memory BIOs)
      ci.opaque_user_data = lc;
      ci.pwsi = &lc->wsi;
      if (!lws_client_connect_via_info(&ci)) {
        pthread_mutex_lock(&st->mu);
        lc->wsi = nullptr;
        lc->ev_error = "connect failed";
        lc->ev_closed = true;
        lc->svc_done = true;
        signal_js(st, lc);
        pthread_mutex_unlock(&st->mu);
      }
      continue;
    }
    if (!lc->wsi) continue;
    if (want_close) {
      lws_set_timeout(lc->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
      continue;
    }
    if (reading != lc->reading_applied) {
      lc->reading_applied = reading;
      lws_rx_flow_control(lc->wsi, reading ? 1 : 0);
    }
    if (has_out) lws_callback_on_writable(lc->wsi);
  }
}

static int writeable(LState *st, LConn *lc, struct lws *wsi) {
  pthread_mutex_lock(&st->mu);
  size_t n = lc->out.len - lc->out_off;
  if (n > IO_SIZE) n = IO_SIZE;
  if (n) memcpy(st->txbuf + LWS_PRE, lc->out.data + lc->out_off, n);
  lc->out_off += n;
  bool more = lc->out.len > lc->out_off;
  if (!more) {
    lc->out.len = 0;
    lc->out_off = 0;
  }
  bool shut = !more && lc->want_shutdown && !lc->shut_done;
  pthread_mutex_unlock(&st->mu);
  if (n && lws_write(wsi, st->txbuf + LWS_PRE, n, LWS_WRITE_RAW) < static_cast<int>(n)) return -1;
  if (more) {
    lws_callback_on_writable(wsi);
  } else {
    pthread_mutex_lock(&st->mu);
    lc->ev_drained = true;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
    if (shut) {
      lc->shut_done = true;
      shutdown(lws_get_socket_fd(wsi), SHUT_WR);
    }
  }
  return 0;
}

static int qwh_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  (void)user;
  struct lws_context *ctx = lws_get_context(wsi);
  LState *st = static_cast<LState *>(lws_context_user(ctx));
  LConn *lc = static_cast<LConn *>(lws_get_opaque_user_data(wsi));
  switch (reason) {
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
    if (st) run_ops(st);
    return 0;
  case LWS_CALLBACK_RAW_ADOPT: {
    // Accepted by a listening vhost: a new connection for JS to pick up.
    LListener *ll = listener_of_vhost(st, lws_get_vhost(wsi));
    if (!ll) return -1;
    lc = new LConn();
    lc->st = st;
    lc->wsi = wsi;
    lc->listener_id = ll->id;
    qwh_buf_init(&lc->out);
    qwh_buf_init(&lc->in);
    lws_set_opaque_user_data(wsi, lc);
    int fd = lws_get_socket_fd(wsi);
    tune_socket(fd, ll->keep_alive, ll->keep_alive_delay_ms);
    peer_of(lc, fd);
    pthread_mutex_lock(&st->mu);
    lc->ev_accepted = true;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
    return 0;
  }
  case LWS_CALLBACK_RAW_CONNECTED: {
    if (!lc) return -1;
    int fd = lws_get_socket_fd(wsi);
    tune_socket(fd, lc->keep_alive, lc->keep_alive_delay_ms);
    peer_of(lc, fd);
    pthread_mutex_lock(&st->mu);
    lc->ev_connected = true;
    bool has_out = lc->out.len > lc->out_off;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
    if (has_out) lws_callback_on_writable(wsi);
    return 0;
  }
  case LWS_CALLBACK_RAW_RX:
    if (!lc) return -1;
    pthread_mutex_lock(&st->mu);
    if (len) qwh_buf_append(&lc->in, in, len);
    else lc->ev_eof = true;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
    return 0;
  case LWS_CALLBACK_RAW_WRITEABLE:
    if (!lc) return -1;
    pthread_mutex_lock(&st->mu);
    if (lc->want_close) {
      pthread_mutex_unlock(&st->mu);
      return -1;
    }
    pthread_mutex_unlock(&st->mu);
    return writeable(st, lc, wsi);
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    if (!lc) return 0;
    pthread_mutex_lock(&st->mu);
    lc->ev_error = in && len ? std::string(static_cast<const char *>(in), len) : (in ? std::string(static_cast<const char *>(in)) : "connection failed");
    lc->ev_closed = true;
    lc->svc_done = true;
    lc->wsi = nullptr;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
    lws_set_opaque_user_data(wsi, nullptr);
    return 0;
  case LWS_CALLBACK_RAW_CLOSE:
    if (!lc) return 0;
    pthread_mutex_lock(&st->mu);
    // lws closes a raw socket when its read ends: that is the peer's FIN.
    lc->ev_eof = true;
    lc->ev_closed = true;
    lc->svc_done = true;
    lc->wsi = nullptr;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
    lws_set_opaque_user_data(wsi, nullptr);
    return 0;
  default:
    return 0;
  }
}

struct lws_protocols qwh_lws_protocol = {"qwh", qwh_callback, 0, IO_SIZE, 0, nullptr, IO_SIZE};

static LListener *listener_of_vhost(LState *st, struct lws_vhost *vh) {
  for (LListener *ll : st->svc_listeners)
    if (ll->vh == vh) return ll;
  // lws destroys a vhost lazily: its listening socket can still accept for a
  // moment after a new listener took the same port. Route by port.
  int port = lws_get_vhost_listen_port(vh);
  for (LListener *ll : st->svc_listeners)
    if (ll->bound_port == port) return ll;
  return nullptr;
}

static void *service_main(void *arg) {
  LState *st = static_cast<LState *>(arg);
  while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
    if (lws_service(st->ctx, 0) < 0) break;
  }
  return nullptr;
}

// ---------------------------------------------------------------- JS thread

static void wake(LState *st, LConn *lc) {
  // Called with mu held.
  if (lc && !lc->op_queued) {
    lc->op_queued = true;
    st->ops.push_back(lc);
  }
}

static void call_js(napi_env env, napi_value, void *context, void *);

static bool ensure_started(LState *st, std::string *err) {
  if (st->running) return true;
  Addon *a = st->a;
  lws_set_log_level(LLL_ERR, nullptr);
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  static struct lws_protocols protos[2];
  protos[0] = qwh_lws_protocol;
  memset(&protos[1], 0, sizeof protos[1]);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protos;
  info.user = st;
  info.pt_serv_buf_size = IO_SIZE;
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  st->ctx = lws_create_context(&info);
  if (!st->ctx) {
    *err = "lws_create_context failed";
    return false;
  }
  struct lws_context_creation_info vi;
  memset(&vi, 0, sizeof vi);
  vi.port = CONTEXT_PORT_NO_LISTEN;
  vi.protocols = protos;
  vi.vhost_name = "qwh-client";
  st->client_vh = lws_create_vhost(st->ctx, &vi);
  if (!st->client_vh) {
    lws_context_destroy(st->ctx);
    st->ctx = nullptr;
    *err = "lws_create_vhost failed";
    return false;
  }
  napi_value name;
  napi_create_string_utf8(a->env, "qwormhole-lws", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(a->env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, st, call_js, &st->tsfn) != napi_ok) {
    lws_context_destroy(st->ctx);
    st->ctx = nullptr;
    *err = "napi_create_threadsafe_function failed";
    return false;
  }
  napi_unref_threadsafe_function(a->env, st->tsfn);
  st->stop = false;
  if (pthread_create(&st->thread, nullptr, service_main, st) != 0) {
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    st->tsfn = nullptr;
    lws_context_destroy(st->ctx);
    st->ctx = nullptr;
    *err = "cannot start the service thread";
    return false;
  }
  st->running = true;
  return true;
}

// Stops the service thread and destroys the context (JS thread; exit or teardown).
static void stop_service(LState *st) {
  if (!st->running) return;
  __atomic_store_n(&st->stop, true, __ATOMIC_RELEASE);
  lws_cancel_service(st->ctx);
  pthread_join(st->thread, nullptr);
  st->running = false;
  // The thread is gone: the context is ours now.
  lws_context_destroy(st->ctx);
  st->ctx = nullptr;
  if (st->tsfn) {
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    st->tsfn = nullptr;
  }
}

static void update_ref(LState *st) {
  bool want = st->a->live_conns > 0 || st->a->live_listeners > 0;
  if (!st->tsfn || want == st->tsfn_refed) return;
  st->tsfn_refed = want;
  if (want) napi_ref_threadsafe_function(st->a->env, st->tsfn);
  else napi_unref_threadsafe_function(st->a->env, st->tsfn);
}

static void free_lconn(LState *st, LConn *lc) {
  // Forget every queued reference first (both lists are shared with the service thread).
  pthread_mutex_lock(&st->mu);
  for (auto *v : {&st->ready, &st->ops}) {
    for (size_t i = 0; i < v->size();) {
      if ((*v)[i] == lc) v->erase(v->begin() + static_cast<long>(i));
      else i++;
    }
  }
  pthread_mutex_unlock(&st->mu);
  for (size_t i = 0; i < st->all.size(); i++) {
    if (st->all[i] == lc) {
      st->all[i] = st->all.back();
      st->all.pop_back();
      break;
    }
  }
  qwh_buf_free(&lc->out);
  qwh_buf_free(&lc->in);
  delete lc;
}

static void call_js(napi_env env, napi_value, void *context, void *) {
  LState *st = static_cast<LState *>(context);
  if (env == nullptr || st->a->tearing_down) return;
  Addon *a = st->a;
  pthread_mutex_lock(&st->mu);
  st->js_signalled = false;
  std::vector<LConn *> ready;
  ready.swap(st->ready);
  for (LConn *lc : ready) lc->ready_queued = false;
  pthread_mutex_unlock(&st->mu);
  qwh_buf in;
  qwh_buf_init(&in);
  for (LConn *lc : ready) {
    pthread_mutex_lock(&st->mu);
    qwh_buf tmp = lc->in;
    lc->in = in;
    in = tmp;
    bool connected = lc->ev_connected, accepted = lc->ev_accepted, eof = lc->ev_eof, drained = lc->ev_drained, closed = lc->ev_closed;
    std::string error;
    error.swap(lc->ev_error);
    lc->ev_connected = lc->ev_accepted = lc->ev_eof = lc->ev_drained = false;
    bool done = lc->svc_done;
    pthread_mutex_unlock(&st->mu);
    if (accepted) {
      st->all.push_back(lc);
      auto it = a->listeners.find(lc->listener_id);
      Listener *l = it == a->listeners.end() ? nullptr : it->second;
      char err[256];
      Conn *c = l && !l->closed ? engine_new_conn(a, true, l->id, l->tls, nullptr, nullptr, err, sizeof err) : nullptr;
      if (!c) {
        pthread_mutex_lock(&st->mu);
        lc->want_close = true;
        wake(st, lc);
        pthread_mutex_unlock(&st->mu);
        lws_cancel_service(st->ctx);
        if (!done) continue;
        free_lconn(st, lc);
        continue;
      }
      lc->c = c;
      c->io = lc;
      snprintf(c->remote_addr, sizeof c->remote_addr, "%s", lc->remote);
      c->remote_port = lc->remote_port;
      c->local_port = lc->local_port;
      update_ref(st);
      engine_accepted(l, c);
    }
    Conn *c = lc->c;
    if (c == nullptr) {
      if (closed) free_lconn(st, lc);
      continue;
    }
    if (connected) {
      snprintf(c->remote_addr, sizeof c->remote_addr, "%s", lc->remote);
      c->remote_port = lc->remote_port;
      c->local_port = lc->local_port;
      engine_tcp_connected(c);
    }
    if (in.len && !c->destroyed) {
      engine_received(c, in.data, in.len);
      if (!c->destroyed) engine_flush_batch(c);
    }
    in.len = 0;
    if (!c->destroyed && drained) engine_drained(c);
    if (!error.empty() && !c->destroyed) engine_socket_error(c, error.c_str());
    if (eof && !c->destroyed) engine_eof(c);
    if (closed) {
      lc->c = nullptr;
      c->io = nullptr;
      engine_closed(c);
      free_lconn(st, lc);
      update_ref(st);
    }
  }
  qwh_buf_free(&in);
}

static size_t l_send(Conn *c, const uint8_t *p, size_t n) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return 0;
  LState *st = lc->st;
  pthread_mutex_lock(&st->mu);
  if (lc->out_off > (1u << 20) && lc->out_off * 2 > lc->out.len) {
    qwh_buf_consume(&lc->out, lc->out_off);
    lc->out_off = 0;
  }
  qwh_buf_append(&lc->out, p, n);
  size_t queued = lc->out.len - lc->out_off;
  wake(st, lc);
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
  // Small queues are the service thread's business; report only real backlogs (they end with a drain event).
  return queued > 65536 ? queued : 0;
}

static void l_shutdown_write(Conn *c) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return;
  LState *st = lc->st;
  pthread_mutex_lock(&st->mu);
  lc->want_shutdown = true;
  wake(st, lc);
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
}

static void l_set_reading(Conn *c, bool on) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return;
  LState *st = lc->st;
  pthread_mutex_lock(&st->mu);
  if (lc->reading == on) {
    pthread_mutex_unlock(&st->mu);
    return;
  }
  lc->reading = on;
  wake(st, lc);
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
}

static void l_close(Conn *c) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return;
  LState *st = lc->st;
  pthread_mutex_lock(&st->mu);
  lc->want_close = true;
  bool done = lc->svc_done;
  wake(st, lc);
  if (done) {
    // Already closed on the service thread: finish on the JS thread now.
    lc->ev_closed = true;
    signal_js(st, lc);
  }
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
}

static void l_close_listener(Listener *l) {
  LListener *ll = static_cast<LListener *>(l->io);
  l->io = nullptr;
  if (ll) {
    LState *st = ll->st;
    pthread_mutex_lock(&st->mu);
    ll->destroy_req = true; // the service thread destroys the vhost and frees ll
    st->lops.push_back(ll);
    pthread_mutex_unlock(&st->mu);
    lws_cancel_service(st->ctx);
  }
  LState *st = st_of(l->addon);
  engine_listener_closed(l);
  update_ref(st);
}

// ---------------------------------------------------------------- exports

static bool get_prop(napi_env env, napi_value o, const char *name, napi_value *v) {
  bool has = false;
  if (napi_has_named_property(env, o, name, &has) != napi_ok || !has) return false;
  if (napi_get_named_property(env, o, name, v) != napi_ok) return false;
  napi_valuetype t;
  napi_typeof(env, *v, &t);
  return t != napi_undefined && t != napi_null;
}

static int int_prop(napi_env env, napi_value o, const char *name, int dflt) {
  napi_value v;
  int32_t r = dflt;
  if (get_prop(env, o, name, &v)) napi_get_value_int32(env, v, &r);
  return r;
}

static bool bool_prop(napi_env env, napi_value o, const char *name, bool dflt) {
  napi_value v;
  bool r = dflt;
  if (get_prop(env, o, name, &v)) napi_get_value_bool(env, v, &r);
  return r;
}

napi_value backend_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Addon *a = addon_of(env);
  LState *st = st_of(a);
  char host[64];
  uint32_t port = 0;
  if (!get_string(env, argv[0], host, sizeof host)) {
    napi_throw_error(env, "E_INVALID_OPTION", "connect needs a literal IP address");
    return nullptr;
  }
  napi_get_value_uint32(env, argv[1], &port);
  napi_value o = argv[2], v;
  if (get_prop(env, o, "localPort", &v)) {
    napi_throw_error(env, "E_INVALID_OPTION", "the lws backend cannot bind a local port (use native-libsocket or the TS transport)");
    return nullptr;
  }
  char local[64] = "";
  if (get_prop(env, o, "localAddress", &v)) get_string(env, v, local, sizeof local);
  std::string err;
  if (!ensure_started(st, &err)) {
    napi_throw_error(env, "E_NATIVE_UNAVAILABLE", err.c_str());
    return nullptr;
  }
  qwh_tls_ctx *tls = get_prop(env, o, "tls", &v) ? tls_ctx_of(env, v) : nullptr;
  char sni[256] = "", vhost[256] = "";
  if (get_prop(env, o, "sni", &v)) get_string(env, v, sni, sizeof sni);
  if (get_prop(env, o, "verifyHost", &v)) get_string(env, v, vhost, sizeof vhost);
  char e[256] = "";
  Conn *c = engine_new_conn(a, false, 0, tls, sni[0] ? sni : nullptr, vhost[0] ? vhost : nullptr, e, sizeof e);
  if (!c) {
    napi_throw_error(env, "E_TLS_HANDSHAKE", e[0] ? e : "TLS set-up failed");
    return nullptr;
  }
  LConn *lc = new LConn();
  lc->st = st;
  lc->c = c;
  qwh_buf_init(&lc->out);
  qwh_buf_init(&lc->in);
  lc->addr = host;
  lc->iface = local;
  lc->port = static_cast<int>(port);
  lc->keep_alive = bool_prop(env, o, "keepAlive", true);
  lc->keep_alive_delay_ms = int_prop(env, o, "keepAliveDelayMs", 30000);
  c->io = lc;
  st->all.push_back(lc);
  pthread_mutex_lock(&st->mu);
  lc->connect_req = true;
  wake(st, lc);
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
  update_ref(st);
  napi_value id;
  napi_create_uint32(env, c->id, &id);
  return id;
}

napi_value backend_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Addon *a = addon_of(env);
  LState *st = st_of(a);
  char host[64];
  uint32_t port = 0;
  if (!get_string(env, argv[0], host, sizeof host)) {
    napi_throw_error(env, "E_INVALID_OPTION", "listen needs a literal IP address");
    return nullptr;
  }
  napi_get_value_uint32(env, argv[1], &port);
  napi_value o = argv[2], v;
  if (bool_prop(env, o, "reusePort", false)) {
    napi_throw_error(env, "E_INVALID_OPTION", "the lws backend does not support reusePort");
    return nullptr;
  }
  std::string err;
  if (!ensure_started(st, &err)) {
    napi_throw_error(env, "E_NATIVE_UNAVAILABLE", err.c_str());
    return nullptr;
  }
  Listener *l = new Listener();
  l->addon = a;
  l->id = a->next_id++;
  l->tls = get_prop(env, o, "tls", &v) ? tls_ctx_of(env, v) : nullptr;
  l->keep_alive = bool_prop(env, o, "keepAlive", true);
  l->keep_alive_delay_ms = int_prop(env, o, "keepAliveDelayMs", 30000);
  LListener *ll = new LListener();
  ll->st = st;
  ll->id = l->id;
  ll->keep_alive = l->keep_alive;
  ll->keep_alive_delay_ms = l->keep_alive_delay_ms;
  ll->iface = host;
  ll->port = static_cast<int>(port);
  l->io = ll;
  a->listeners[l->id] = l;
  a->live_listeners++;
  pthread_mutex_lock(&st->mu);
  ll->create_req = true;
  st->lops.push_back(ll);
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
  // Wait (briefly) for the service thread to create the vhost.
  pthread_mutex_lock(&st->mu);
  while (ll->bound_port < 0) pthread_cond_wait(&st->cv, &st->mu);
  bool ok = ll->created;
  std::string lerr = ll->error;
  int bport = ll->bound_port;
  pthread_mutex_unlock(&st->mu);
  if (!ok) {
    a->listeners.erase(l->id);
    a->live_listeners--;
    delete l;
    delete ll;
    char msg[200];
    snprintf(msg, sizeof msg, "listen %s:%u: %s", host, port, lerr.c_str());
    napi_throw_error(env, "E_SOCKET", msg);
    return nullptr;
  }
  update_ref(st);
  napi_value arr, e0, e1;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_uint32(env, l->id, &e0);
  napi_create_uint32(env, static_cast<uint32_t>(bport), &e1);
  napi_set_element(env, arr, 0, e0);
  napi_set_element(env, arr, 1, e1);
  return arr;
}

napi_value backend_listener_address(napi_env env, napi_callback_info) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

void backend_teardown(Addon *a) {
  LState *st = st_of(a);
  stop_service(st); // joins the thread: everything below is single-threaded
  for (LConn *lc : std::vector<LConn *>(st->all)) {
    if (lc->c) {
      lc->c->io = nullptr;
      lc->c->close_notified = true;
      engine_closed(lc->c);
    }
    free_lconn(st, lc);
  }
  for (auto &kv : std::unordered_map<uint32_t, Listener *>(a->listeners)) {
    kv.second->io = nullptr;
    engine_listener_closed(kv.second);
  }
  for (LListener *ll : st->svc_listeners) delete ll;
  st->svc_listeners.clear();
  for (LListener *ll : st->lops) if (ll->destroy_req) delete ll;
  st->lops.clear();
}

static napi_value m_shutdown(napi_env env, napi_callback_info) {
  Addon *a = addon_of(env);
  if (a) {
    a->tearing_down = true;
    backend_teardown(a);
  }
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static void l_free_state(void *s) {
  LState *st = static_cast<LState *>(s);
  delete[] st->txbuf;
  delete st;
}

static const Backend LWS = {"lws", l_send, l_shutdown_write, l_set_reading, l_close, l_close_listener, nullptr, l_free_state};

} // namespace qwh

static napi_value Init(napi_env env, napi_value exports) {
  auto *st = new qwh::LState();
  st->txbuf = new uint8_t[LWS_PRE + qwh::IO_SIZE];
  napi_value r = qwh::engine_init_module(env, exports, &qwh::LWS, st);
  if (!r) return r;
  st->a = qwh::addon_of(env);
  napi_value fn;
  napi_create_function(env, "shutdown", NAPI_AUTO_LENGTH, qwh::m_shutdown, nullptr, &fn);
  napi_set_named_property(env, exports, "shutdown", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
