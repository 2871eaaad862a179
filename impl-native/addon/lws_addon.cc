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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"

namespace qwh {

static constexpr size_t IO_SIZE = 256 * 1024;
static constexpr int READS_PER_EVENT = 8;

struct LState;

enum : int { TAG_CONN = 1, TAG_LISTENER = 2 };

// One connection as both threads see it. Fields marked [svc] are the service
// thread's; [mu] are guarded by LState::mu; [js] are the JS thread's.
struct LConn {
  int tag = TAG_CONN;
  LState *st = nullptr;
  Conn *c = nullptr;              // [js]
  struct lws *wsi = nullptr;      // [svc]
  int fd = -1;                    // [svc] after the adoption (lws closes it)
  uint32_t listener_id = 0;       // accepted: the listener it came from
  // JS -> service [mu]
  qwh_buf out{};
  size_t out_off = 0;
  bool want_shutdown = false;
  bool want_close = false;
  bool read_ended = false;        // JS delivered END: the socket may go once our side is shut
  bool reading = true;
  bool reading_applied = true;    // [svc]
  bool op_queued = false;
  bool connect_req = false;
  int connect_fd = -1;            // connecting socket made on the JS thread, adopted by the service thread
  bool keep_alive = true;
  int keep_alive_delay_ms = 30000;
  // service -> JS [mu]
  qwh_buf in{};
  bool ev_connected = false, ev_accepted = false, ev_eof = false, ev_drained = false, ev_closed = false;
  std::string ev_error;
  bool ready_queued = false;
  bool svc_done = false;          // the wsi is gone (no further service-thread access)
  bool shut_done = false;         // [svc]
  bool connecting = false;        // [svc]
  bool svc_eof = false;           // [svc] read returned 0
  bool can_send = false;          // [mu] connected and adopted: JS may send() on fd directly while `out` is empty
  bool send_failed = false;       // [mu] a direct send failed: the service thread reports it
  char remote[64] = "";
  int remote_port = 0, local_port = 0;
};

struct LListener {
  int tag = TAG_LISTENER;
  LState *st = nullptr;
  uint32_t id = 0;
  bool keep_alive = true;
  int keep_alive_delay_ms = 30000;
  int fd = -1;                    // listening socket (made on the JS thread, adopted by the service thread)
  struct lws *wsi = nullptr;      // [svc]
  bool create_req = false, destroy_req = false;
};

struct LState {
  Addon *a = nullptr;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  struct lws_context *ctx = nullptr;
  struct lws_vhost *vh = nullptr;
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
};

static LState *st_of(Addon *a) { return static_cast<LState *>(a->backend_state); }

// ---------------------------------------------------------------- service thread
//
// Every socket is handed to lws as a raw file descriptor (LWS_ADOPT_RAW_FILE_DESC):
// lws polls it and calls RAW_RX_FILE / RAW_WRITEABLE_FILE, and this code does the
// recv/send/accept. The raw-skt role of 4.1.6 closes the connection as soon as a
// read returns 0 (the peer's FIN), so it cannot half-close: after a FIN we must
// still deliver what was read, keep writing until our side is done, then close.

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

static struct lws *adopt(LState *st, int fd, void *opaque) {
  lws_adopt_desc_t d;
  memset(&d, 0, sizeof d);
  d.vh = st->vh;
  d.type = LWS_ADOPT_RAW_FILE_DESC;
  d.fd.filefd = fd;
  d.vh_prot_name = "qwh";
  d.opaque = opaque;
  return lws_adopt_descriptor_vhost_via_info(&d); // closes fd on failure
}

static void svc_closed(LState *st, LConn *lc, const char *error) {
  pthread_mutex_lock(&st->mu);
  if (error && lc->ev_error.empty()) lc->ev_error = error;
  lc->ev_closed = true;
  lc->svc_done = true;
  lc->can_send = false;
  lc->wsi = nullptr;
  signal_js(st, lc);
  pthread_mutex_unlock(&st->mu);
}

static int flush_locked(LConn *lc);

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
      int fd = ll->fd;
      ll->wsi = adopt(st, fd, ll);
      if (ll->wsi) st->svc_listeners.push_back(ll);
      ll->fd = -1; // lws owns it now (or closed it)
    }
    if (ll->destroy_req) {
      for (size_t i = 0; i < st->svc_listeners.size(); i++) {
        if (st->svc_listeners[i] == ll) {
          st->svc_listeners.erase(st->svc_listeners.begin() + static_cast<long>(i));
          break;
        }
      }
      if (ll->wsi) {
        lws_set_opaque_user_data(ll->wsi, nullptr);
        lws_set_timeout(ll->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_SYNC);
      } else if (ll->fd >= 0) {
        close(ll->fd);
      }
      delete ll; // the JS side forgot it when it asked for the close
    }
  }

  for (LConn *lc : ops) {
    pthread_mutex_lock(&st->mu);
    bool connect_req = lc->connect_req;
    lc->connect_req = false;
    bool want_close = lc->want_close;
    bool reading = lc->reading;
    bool has_out = lc->out.len > lc->out_off || lc->want_shutdown || lc->send_failed;
    bool read_ended = lc->read_ended;
    bool done = lc->svc_done;
    pthread_mutex_unlock(&st->mu);
    if (done) continue;
    if (connect_req && want_close) {
      if (lc->connect_fd >= 0) close(lc->connect_fd);
      lc->connect_fd = -1;
      svc_closed(st, lc, nullptr);
      continue;
    }
    if (connect_req) {
      int fd = lc->connect_fd;
      lc->connect_fd = -1;
      lc->connecting = true;
      lc->fd = fd;
      lc->wsi = adopt(st, fd, lc);
      if (!lc->wsi) {
        lc->fd = -1;
        svc_closed(st, lc, "connect failed (lws adoption)");
        continue;
      }
      lws_callback_on_writable(lc->wsi); // connect completion
      continue;
    }
    if (!lc->wsi) continue;
    if (want_close || (read_ended && lc->shut_done)) {
      // What JS wrote before closing goes first, as far as the kernel takes it now (as a
      // close() right after a write does on the posix backend).
      pthread_mutex_lock(&st->mu);
      if (!lc->connecting && !lc->send_failed) flush_locked(lc);
      lc->can_send = false;
      pthread_mutex_unlock(&st->mu);
      lws_set_timeout(lc->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
      continue;
    }
    if (!lc->connecting && !lc->svc_eof && reading != lc->reading_applied) {
      lc->reading_applied = reading;
      lws_rx_flow_control(lc->wsi, reading ? 1 : 0);
    }
    if (has_out) lws_callback_on_writable(lc->wsi);
  }
}

// Sends what `out` holds (mu held); returns an errno or 0.
static int flush_locked(LConn *lc) {
  while (lc->out.len > lc->out_off) {
    ssize_t n = send(lc->fd, lc->out.data + lc->out_off, lc->out.len - lc->out_off, MSG_NOSIGNAL);
    if (n > 0) {
      lc->out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return n < 0 ? errno : EPIPE;
  }
  return 0;
}

// Sends queued output straight from the shared queue (no copy); returns -1 to close.
static int writeable(LState *st, LConn *lc, struct lws *wsi) {
  if (lc->connecting) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(lc->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
      pthread_mutex_lock(&st->mu);
      lc->ev_error = strerror(err);
      pthread_mutex_unlock(&st->mu);
      return -1;
    }
    lc->connecting = false;
    tune_socket(lc->fd, lc->keep_alive, lc->keep_alive_delay_ms);
    peer_of(lc, lc->fd);
    pthread_mutex_lock(&st->mu);
    lc->ev_connected = true;
    lc->can_send = true;
    signal_js(st, lc);
    bool reading = lc->reading;
    pthread_mutex_unlock(&st->mu);
    if (!reading) {
      lc->reading_applied = false;
      lws_rx_flow_control(wsi, 0);
    }
  }
  pthread_mutex_lock(&st->mu);
  int err = lc->send_failed ? EPIPE : flush_locked(lc);
  if (err) {
    lc->ev_error = strerror(err);
    pthread_mutex_unlock(&st->mu);
    return -1;
  }
  bool more = lc->out.len > lc->out_off;
  if (!more) {
    lc->out.len = 0;
    lc->out_off = 0;
    if (lc->out.cap > (4u << 20)) qwh_buf_free(&lc->out);
    lc->ev_drained = true;
    signal_js(st, lc);
  } else if (lc->out_off > (1u << 20) && lc->out_off * 2 > lc->out.len) {
    qwh_buf_consume(&lc->out, lc->out_off);
    lc->out_off = 0;
  }
  bool shut = !more && lc->want_shutdown && !lc->shut_done;
  bool read_ended = lc->read_ended;
  pthread_mutex_unlock(&st->mu);
  if (more) {
    lws_callback_on_writable(wsi);
    // Safety net: a writable request made while the socket's send buffer is full was seen to
    // get lost under load (lws 4.1.6, raw file role); re-check shortly.
    lws_set_timer_usecs(wsi, 2000);
    return 0;
  }
  if (shut) {
    lc->shut_done = true;
    shutdown(lc->fd, SHUT_WR);
  }
  if (lc->shut_done && read_ended) return -1; // both directions are over
  return 0;
}

// Reads what is there into the shared input buffer; returns -1 to close.
static int readable(LState *st, LConn *lc, struct lws *wsi) {
  if (lc->connecting || lc->svc_eof) return 0;
  // One read of what the kernel holds, into the buffer JS takes over as is (the engine decodes
  // it in place and hands it to JS as the batch Buffer): sized by FIONREAD, with room for the
  // frame table.
  int avail = 0;
  if (ioctl(lc->fd, FIONREAD, &avail) != 0 || avail < 0) avail = 0;
  size_t want = avail == 0 ? 4096 : static_cast<size_t>(avail) < (4u << 20) ? static_cast<size_t>(avail) : (4u << 20);
  pthread_mutex_lock(&st->mu);
  bool got = false, eof = false;
  int err = 0;
  for (int i = 0; i < READS_PER_EVENT; i++) {
    if (qwh_buf_reserve(&lc->in, want + want / 4 + 64) != 0) {
      err = ENOMEM;
      break;
    }
    ssize_t n = recv(lc->fd, lc->in.data + lc->in.len, want, 0);
    if (n > 0) {
      lc->in.len += static_cast<size_t>(n);
      got = true;
      break;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
    break;
  }
  if (err) lc->ev_error = strerror(err);
  if (eof) lc->ev_eof = true;
  if (got || eof) signal_js(st, lc);
  pthread_mutex_unlock(&st->mu);
  if (err) return -1;
  if (eof) {
    lc->svc_eof = true;
    lws_rx_flow_control(wsi, 0); // the FIN stays readable: stop polling for it
  }
  return 0;
}

static void accept_ready(LState *st, LListener *ll) {
  for (int i = 0; i < 128; i++) {
    int fd = accept4(lws_get_socket_fd(ll->wsi), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    tune_socket(fd, ll->keep_alive, ll->keep_alive_delay_ms);
    LConn *lc = new LConn();
    lc->st = st;
    lc->listener_id = ll->id;
    lc->fd = fd;
    qwh_buf_init(&lc->out);
    qwh_buf_init(&lc->in);
    peer_of(lc, fd);
    lc->wsi = adopt(st, fd, lc);
    if (!lc->wsi) {
      qwh_buf_free(&lc->out);
      qwh_buf_free(&lc->in);
      delete lc;
      continue;
    }
    pthread_mutex_lock(&st->mu);
    lc->ev_accepted = true;
    lc->can_send = true;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
  }
}

static int qwh_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  (void)user;
  (void)in;
  (void)len;
  struct lws_context *ctx = lws_get_context(wsi);
  LState *st = static_cast<LState *>(lws_context_user(ctx));
  void *op = lws_get_opaque_user_data(wsi);
  LConn *lc = op && *static_cast<int *>(op) == TAG_CONN ? static_cast<LConn *>(op) : nullptr;
  LListener *ll = op && *static_cast<int *>(op) == TAG_LISTENER ? static_cast<LListener *>(op) : nullptr;
  switch (reason) {
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
    if (st) run_ops(st);
    return 0;
  case LWS_CALLBACK_RAW_RX_FILE:
    if (ll) {
      accept_ready(st, ll);
      return 0;
    }
    if (!lc) return -1;
    return readable(st, lc, wsi);
  case LWS_CALLBACK_RAW_WRITEABLE_FILE: {
    if (!lc) return ll ? 0 : -1;
    pthread_mutex_lock(&st->mu);
    bool close_now = lc->want_close;
    pthread_mutex_unlock(&st->mu);
    if (close_now) return -1;
    return writeable(st, lc, wsi);
  }
  case LWS_CALLBACK_TIMER:
    if (lc) {
      pthread_mutex_lock(&st->mu);
      bool pending = lc->out.len > lc->out_off;
      pthread_mutex_unlock(&st->mu);
      if (pending) return writeable(st, lc, wsi);
    }
    return 0;
  case LWS_CALLBACK_RAW_CLOSE_FILE:
    if (!lc) return 0;
    lws_set_opaque_user_data(wsi, nullptr);
    if (lc->connecting) {
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(lc->fd, SOL_SOCKET, SO_ERROR, &err, &el);
      svc_closed(st, lc, err ? strerror(err) : "connection failed");
    } else {
      svc_closed(st, lc, nullptr);
    }
    return 0;
  default:
    return 0;
  }
}

struct lws_protocols qwh_lws_protocol = {"qwh", qwh_callback, 0, IO_SIZE, 0, nullptr, IO_SIZE};

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
  vi.vhost_name = "qwh";
  st->vh = lws_create_vhost(st->ctx, &vi);
  if (!st->vh) {
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
  if (lc->connect_fd >= 0) close(lc->connect_fd);
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
    qwh_buf_free(&in); // what an earlier turn of this loop did not hand on
    in = lc->in; // taken over: the engine hands it to JS as the batch Buffer (no copy)
    qwh_buf_init(&lc->in);
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
      engine_received_owned(c, in.data, in.len, in.cap);
      qwh_buf_init(&in);
    }
    qwh_buf_free(&in);
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
  static const bool no_direct = getenv("QWH_LWS_NO_DIRECT") != nullptr;
  if (!no_direct && lc->can_send && !lc->send_failed && lc->out.len == lc->out_off && !lc->want_close) {
    // Nothing queued: write now from this thread (the kernel serialises it; the service
    // thread only sends under this same lock). Saves the thread hop on every flush.
    while (n > 0) {
      ssize_t w = send(lc->fd, p, n, MSG_NOSIGNAL);
      if (w > 0) {
        p += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      lc->send_failed = true; // reported by the service thread (never inside this call)
      n = 0;
      wake(st, lc);
      pthread_mutex_unlock(&st->mu);
      lws_cancel_service(st->ctx);
      return 0;
    }
    if (n == 0) {
      pthread_mutex_unlock(&st->mu);
      return 0;
    }
  }
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

static void l_read_ended(Conn *c) {
  LConn *lc = static_cast<LConn *>(c->io);
  if (!lc) return;
  LState *st = lc->st;
  pthread_mutex_lock(&st->mu);
  lc->read_ended = true;
  wake(st, lc);
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

static bool make_addr(const char *h, uint32_t port, sockaddr_storage *ss, socklen_t *sl) {
  memset(ss, 0, sizeof *ss);
  auto *in = reinterpret_cast<sockaddr_in *>(ss);
  auto *in6 = reinterpret_cast<sockaddr_in6 *>(ss);
  if (inet_pton(AF_INET, h, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    *sl = sizeof *in;
    return true;
  }
  if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    *sl = sizeof *in6;
    return true;
  }
  return false;
}

static napi_value sys_error(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "E_SOCKET", msg);
  return nullptr;
}

// connect(host, port, {tls, sni, verifyHost, keepAlive, keepAliveDelayMs, localAddress, localPort}) -> id
// The socket is made and connect() started here (non-blocking); the service thread adopts it.
napi_value backend_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Addon *a = addon_of(env);
  LState *st = st_of(a);
  char host[64];
  uint32_t port = 0;
  napi_get_value_uint32(env, argv[1], &port);
  sockaddr_storage ss;
  socklen_t sl;
  if (!get_string(env, argv[0], host, sizeof host) || !make_addr(host, port, &ss, &sl)) {
    napi_throw_error(env, "E_INVALID_OPTION", "connect needs a literal IP address");
    return nullptr;
  }
  napi_value o = argv[2], v;
  std::string err;
  if (!ensure_started(st, &err)) {
    napi_throw_error(env, "E_NATIVE_UNAVAILABLE", err.c_str());
    return nullptr;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(env, "socket", errno);
  if (get_prop(env, o, "localAddress", &v) || get_prop(env, o, "localPort", &v)) {
    char local[64] = "";
    if (get_prop(env, o, "localAddress", &v)) get_string(env, v, local, sizeof local);
    if (!local[0]) snprintf(local, sizeof local, "%s", ss.ss_family == AF_INET6 ? "::" : "0.0.0.0");
    uint32_t lport = static_cast<uint32_t>(int_prop(env, o, "localPort", 0));
    sockaddr_storage ls;
    socklen_t lsl;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!make_addr(local, lport, &ls, &lsl) || bind(fd, reinterpret_cast<sockaddr *>(&ls), lsl) != 0) {
      int e = errno;
      close(fd);
      return sys_error(env, "bind", e ? e : EINVAL);
    }
  }
  qwh_tls_ctx *tls = get_prop(env, o, "tls", &v) ? tls_ctx_of(env, v) : nullptr;
  char sni[256] = "", vhost[256] = "";
  if (get_prop(env, o, "sni", &v)) get_string(env, v, sni, sizeof sni);
  if (get_prop(env, o, "verifyHost", &v)) get_string(env, v, vhost, sizeof vhost);
  char e[256] = "";
  Conn *c = engine_new_conn(a, false, 0, tls, sni[0] ? sni : nullptr, vhost[0] ? vhost : nullptr, e, sizeof e);
  if (!c) {
    close(fd);
    napi_throw_error(env, "E_TLS_HANDSHAKE", e[0] ? e : "TLS set-up failed");
    return nullptr;
  }
  LConn *lc = new LConn();
  lc->st = st;
  lc->c = c;
  qwh_buf_init(&lc->out);
  qwh_buf_init(&lc->in);
  lc->keep_alive = bool_prop(env, o, "keepAlive", true);
  lc->keep_alive_delay_ms = int_prop(env, o, "keepAliveDelayMs", 30000);
  c->io = lc;
  st->all.push_back(lc);
  if (connect(fd, reinterpret_cast<sockaddr *>(&ss), sl) != 0 && errno != EINPROGRESS) {
    // Reported from the service thread like any failed connect (never inside this call).
    int ce = errno;
    close(fd);
    pthread_mutex_lock(&st->mu);
    lc->ev_error = strerror(ce);
    lc->ev_closed = true;
    lc->svc_done = true;
    signal_js(st, lc);
    pthread_mutex_unlock(&st->mu);
  } else {
    pthread_mutex_lock(&st->mu);
    lc->connect_fd = fd;
    lc->connect_req = true;
    wake(st, lc);
    pthread_mutex_unlock(&st->mu);
    lws_cancel_service(st->ctx);
  }
  update_ref(st);
  napi_value id;
  napi_create_uint32(env, c->id, &id);
  return id;
}

// listen(host, port, {backlog, reusePort, tls, keepAlive, keepAliveDelayMs}) -> [id, port]
// The listening socket is made here; the service thread adopts it and accepts.
napi_value backend_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Addon *a = addon_of(env);
  LState *st = st_of(a);
  char host[64];
  uint32_t port = 0;
  napi_get_value_uint32(env, argv[1], &port);
  sockaddr_storage ss;
  socklen_t sl;
  if (!get_string(env, argv[0], host, sizeof host) || !make_addr(host, port, &ss, &sl)) {
    napi_throw_error(env, "E_INVALID_OPTION", "listen needs a literal IP address");
    return nullptr;
  }
  napi_value o = argv[2], v;
  std::string err;
  if (!ensure_started(st, &err)) {
    napi_throw_error(env, "E_NATIVE_UNAVAILABLE", err.c_str());
    return nullptr;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(env, "socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bool_prop(env, o, "reusePort", false)) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  int backlog = int_prop(env, o, "backlog", 511);
  if (bind(fd, reinterpret_cast<sockaddr *>(&ss), sl) != 0 || listen(fd, backlog) != 0) {
    int e = errno;
    close(fd);
    char msg[200];
    snprintf(msg, sizeof msg, "listen %s:%u: %s: %s", host, port, e == EADDRINUSE ? "EADDRINUSE" : "failed", strerror(e));
    napi_throw_error(env, "E_SOCKET", msg);
    return nullptr;
  }
  sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &bl);
  int bport = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port) : ntohs(reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
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
  ll->fd = fd;
  l->io = ll;
  a->listeners[l->id] = l;
  a->live_listeners++;
  pthread_mutex_lock(&st->mu);
  ll->create_req = true;
  st->lops.push_back(ll);
  pthread_mutex_unlock(&st->mu);
  lws_cancel_service(st->ctx);
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
  for (LListener *ll : st->lops) {
    if (ll->fd >= 0) close(ll->fd);
    if (ll->destroy_req) delete ll;
  }
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
  delete st;
}

static const Backend LWS = {"lws", l_send, l_shutdown_write, l_set_reading, l_close, l_close_listener, l_read_ended, l_free_state};

} // namespace qwh

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
