// The lws addon's service thread (see lws_backend.h): accepts and adopts sockets,
// completes connects, writes what JS queued as lws reports room, closes, and
// applies what JS queued. JS reads.
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "../io/lws_context.h"
#include "../io/sendq.h"
#include "lws_backend.h"

namespace qwh {

static constexpr size_t IO_SIZE = 256 * 1024;

// ---------------------------------------------------------------- shared queues

// One lws_cancel_service() per service turn, however many requests JS makes meanwhile.
static bool cancel_needed(LState *st) {
  bool need = !st->svc_signalled;
  st->svc_signalled = true;
  if (need) st->svc_wakes++;
  return need;
}

bool queue_op(LState *st, LConn *lc) {
  if (lc && !lc->op_queued) {
    lc->op_queued = true;
    st->ops.push_back(lc);
  }
  return cancel_needed(st);
}

bool queue_listener_op(LState *st, LListener *ll) {
  if (!ll->queued) {
    ll->queued = true;
    st->lops.push_back(ll);
  }
  return cancel_needed(st);
}

bool signal_js(LState *st, LConn *lc) {
  if (lc) {
    if (lc->js_done) return false;
    if (!lc->ready_queued) {
      lc->ready_queued = true;
      st->ready.push_back(lc);
    }
  }
  if (st->js_signalled || st->wake_w < 0) return false;
  st->js_signalled = true;
  st->js_wakes++;
  return true;
}

void wake_js(LState *st, bool wake) {
  if (!wake) return;
  char b = 1;
  ssize_t w = write(st->wake_w, &b, 1);  // full pipe: a wake-up is pending anyway
  (void)w;
}

static void forget(std::vector<LConn *> &v, LConn *lc) { v.erase(std::remove(v.begin(), v.end(), lc), v.end()); }

void lconn_free(LState *st, LConn *lc) {
  lock(st);
  forget(st->ops, lc);
  forget(st->ready, lc);
  forget(st->conns, lc);
  unlock(st);
  delete lc;
}

// ---------------------------------------------------------------- sockets

// Hands fd to lws (which closes it on failure); the opaque pointer is set only once adopted,
// so a failed adoption never reaches our callback with it. A connection's input is read by JS
// (its LReader): lws never polls it for input.
static struct lws *adopt(LState *st, int fd, void *opaque, bool conn) {
  lws_adopt_desc_t d;
  memset(&d, 0, sizeof d);
  d.vh = st->vh;
  d.type = LWS_ADOPT_RAW_FILE_DESC;
  d.fd.filefd = fd;
  d.vh_prot_name = "qwh";
  struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&d);
  if (wsi) lws_set_opaque_user_data(wsi, opaque);
  if (wsi && conn) lws_rx_flow_control(wsi, 0);
  return wsi;
}

// The wsi is gone (or never was): JS hears of it, or lc is freed if JS already let go.
static void svc_closed(LState *st, LConn *lc, const char *error) {
  lock(st);
  if (error && lc->ev_error.empty()) lc->ev_error = error;
  lc->events |= L_CLOSED;
  lc->svc_done = true;
  lc->can_send = false;
  lc->wsi = nullptr;
  bool free_now = lc->js_done;
  bool wake = !free_now && signal_js(st, lc);
  unlock(st);
  wake_js(st, wake);
  if (free_now) lconn_free(st, lc);
}

// The callback is about to return -1 (lws closes the wsi): JS stops sending on the fd now.
static int failing(LState *st, LConn *lc, const char *error) {
  lock(st);
  if (error && lc->ev_error.empty()) lc->ev_error = error;
  lc->can_send = false;
  unlock(st);
  return -1;
}

// Sends what `out` holds (mu held), with the send queue's reset and compaction (io/sendq.h);
// returns an errno or 0.
static int flush_locked(LConn *lc) {
  size_t sent = 0;
  return qwh_send_queued(lc->fd, &lc->out, &lc->out_off, 4u << 20, &sent);
}

static void connected(LState *st, LConn *lc) {
  lc->phase = SvcPhase::Open;
  char remote[64] = "";
  int rport = 0, lport = 0;
  socket_peer(lc->fd, remote, sizeof remote, &rport, &lport);
  lock(st);
  memcpy(lc->remote, remote, sizeof remote);
  lc->remote_port = rport;
  lc->local_port = lport;
  lc->events |= L_CONNECTED;
  lc->can_send = true;
  bool wake = signal_js(st, lc);
  unlock(st);
  wake_js(st, wake);
}

// RAW_WRITEABLE_FILE: completes a connect, then sends queued output straight from the shared
// queue (no copy); returns -1 to close.
static int writeable(LState *st, LConn *lc, struct lws *wsi) {
  if (lc->phase == SvcPhase::Connecting) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(lc->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return failing(st, lc, strerror(err));
    connected(st, lc);
  }
  lock(st);
  if (lc->requests & L_CLOSE) {
    lc->can_send = false;
    unlock(st);
    return -1;
  }
  int err = lc->send_failed ? EPIPE : flush_locked(lc);
  if (err) {
    if (lc->ev_error.empty()) lc->ev_error = strerror(err);
    lc->can_send = false;
    unlock(st);
    return -1;
  }
  bool more = lc->out.len > lc->out_off;
  bool cancel = false, wake = false;
  if (!more) {
    lc->events |= L_DRAINED;
    wake = signal_js(st, lc);
  } else {
    // lws clears POLLOUT once this callback returns: a lws_callback_on_writable() here would
    // be undone. run_ops re-arms it on the next service turn.
    cancel = queue_op(st, lc);
    st->rearms++;
  }
  bool shut = !more && (lc->requests & L_SHUTDOWN) && lc->phase != SvcPhase::WriteShut;
  bool read_ended = lc->requests & L_READ_ENDED;
  unlock(st);
  wake_js(st, wake);
  if (cancel) lws_cancel_service(lws_get_context(wsi));
  if (shut) {
    lc->phase = SvcPhase::WriteShut;
    shutdown(lc->fd, SHUT_WR);
  }
  return lc->phase == SvcPhase::WriteShut && read_ended ? failing(st, lc, nullptr) : 0;  // both directions over: close
}

static void accept_ready(LState *st, LListener *ll) {
  for (int i = 0; i < 128; i++) {
    int fd = accept4(lws_get_socket_fd(ll->wsi), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    tune_socket(fd, ll->keep_alive, ll->keep_alive_delay_ms);
    int js_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (js_fd < 0) {
      close(fd);
      continue;
    }
    LConn *lc = new LConn();
    lc->st = st;
    lc->listener_id = ll->id;
    lc->fd = fd;
    lc->js_fd = js_fd;
    qwh_buf_init(&lc->out);
    socket_peer(fd, lc->remote, sizeof lc->remote, &lc->remote_port, &lc->local_port);
    lc->wsi = adopt(st, fd, lc, true);
    if (!lc->wsi) {
      delete lc;  // lws closed fd
      continue;
    }
    lock(st);
    st->conns.push_back(lc);
    lc->events |= L_ACCEPTED;
    lc->can_send = true;
    bool wake = signal_js(st, lc);
    unlock(st);
    wake_js(st, wake);
  }
}

// ---------------------------------------------------------------- what JS queued

static void run_listener_ops(LState *st, std::vector<LListener *> &lops) {
  for (LListener *ll : lops) {
    if (ll->create_req) {
      ll->create_req = false;
      ll->wsi = adopt(st, ll->fd, ll, false);
      if (ll->wsi) st->svc_listeners.push_back(ll);
      ll->fd = -1;  // lws owns it now (or closed it)
    }
    if (ll->destroy_req) {
      st->svc_listeners.erase(std::remove(st->svc_listeners.begin(), st->svc_listeners.end(), ll), st->svc_listeners.end());
      if (ll->wsi) {
        lws_set_opaque_user_data(ll->wsi, nullptr);
        lws_set_timeout(ll->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_SYNC);
      }
      delete ll;  // the JS side forgot it when it asked for the close; closes fd unless lws has it
    }
  }
}

// EVENT_WAIT_CANCELLED: applies what JS (or a partial flush) queued. Takes the lists under the
// lock, acts on them without it (lws calls may run our callback).
static void run_ops(LState *st) {
  lock(st);
  std::vector<LConn *> ops;
  ops.swap(st->ops);
  std::vector<LListener *> lops;
  lops.swap(st->lops);
  st->svc_signalled = false;
  for (LConn *lc : ops) lc->op_queued = false;
  for (LListener *ll : lops) ll->queued = false;
  unlock(st);
  run_listener_ops(st, lops);

  for (LConn *lc : ops) {
    lock(st);
    bool connect_req = lc->requests & L_CONNECT;
    lc->requests &= static_cast<uint8_t>(~L_CONNECT);
    bool want_close = lc->requests & L_CLOSE, read_ended = lc->requests & L_READ_ENDED;
    bool has_out = lc->out.len > lc->out_off || (lc->requests & L_SHUTDOWN) || lc->send_failed;
    bool js_done = lc->js_done, svc_done = lc->svc_done;
    unlock(st);
    if (svc_done) {
      if (js_done) lconn_free(st, lc);
      continue;
    }
    if (connect_req) {
      int fd = lc->connect_fd;
      lc->connect_fd = -1;
      if (want_close) {
        close(fd);
        svc_closed(st, lc, nullptr);
        continue;
      }
      lc->phase = SvcPhase::Connecting;
      lc->fd = fd;
      lc->wsi = adopt(st, fd, lc, true);
      if (!lc->wsi) {
        lc->fd = -1;
        svc_closed(st, lc, "connect failed (lws adoption)");
        continue;
      }
      lws_callback_on_writable(lc->wsi);  // connect completion
      continue;
    }
    if (!lc->wsi) continue;
    if (want_close || (read_ended && lc->phase == SvcPhase::WriteShut)) {
      // What JS wrote before closing goes first, as far as the kernel takes it now (as a
      // close() right after a write does on the posix backend).
      lock(st);
      if (lc->phase != SvcPhase::Connecting && !lc->send_failed) flush_locked(lc);
      lc->can_send = false;
      unlock(st);
      lws_set_timeout(lc->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
      continue;
    }
    if (has_out) lws_callback_on_writable(lc->wsi);
  }
}

// ---------------------------------------------------------------- lws callback and thread

static int qwh_callback(struct lws *wsi, enum lws_callback_reasons reason, void *, void *, size_t) {
  LState *st = static_cast<LState *>(lws_context_user(lws_get_context(wsi)));
  void *op = lws_get_opaque_user_data(wsi);
  LConn *lc = op && *static_cast<int *>(op) == TAG_CONN ? static_cast<LConn *>(op) : nullptr;
  LListener *ll = op && *static_cast<int *>(op) == TAG_LISTENER ? static_cast<LListener *>(op) : nullptr;
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      // Not while service_stop() destroys the context on the JS thread.
      if (st && !__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) run_ops(st);
      return 0;
    case LWS_CALLBACK_RAW_RX_FILE:
      if (ll) {
        accept_ready(st, ll);
        return 0;
      }
      if (!lc) return -1;
      lws_rx_flow_control(wsi, 0);  // JS reads (it is off from the adoption on)
      return 0;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
      if (!lc) return ll ? 0 : -1;
      return writeable(st, lc, wsi);
    case LWS_CALLBACK_RAW_CLOSE_FILE:
      lws_set_opaque_user_data(wsi, nullptr);
      if (ll) ll->wsi = nullptr;
      if (!lc) return 0;
      if (lc->phase == SvcPhase::Connecting) {
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

static void *service_main(void *arg) {
  LState *st = static_cast<LState *>(arg);
  while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
    if (lws_service(st->ctx, 0) < 0) break;
  }
  return nullptr;
}

bool service_start(LState *st, std::string *err) {
  static struct lws_protocols protos[2] = {{"qwh", qwh_callback, 0, IO_SIZE, 0, nullptr, IO_SIZE}, {}};
  const char *why = nullptr;
  if (qwh_lws_context_new(protos, "qwh", st, IO_SIZE, &st->ctx, &st->vh, &why) != 0) {
    *err = why;
    return false;
  }
  st->stop = false;
  if (pthread_create(&st->thread, nullptr, service_main, st) != 0) {
    lws_context_destroy(st->ctx);
    st->ctx = nullptr;
    *err = "cannot start the service thread";
    return false;
  }
  st->running = true;
  return true;
}

void service_stop(LState *st) {
  if (!st->running) return;
  __atomic_store_n(&st->stop, true, __ATOMIC_RELEASE);
  lws_cancel_service(st->ctx);
  pthread_join(st->thread, nullptr);
  st->running = false;
  // The thread is gone: the context is ours. Its destruction closes every wsi; our objects are
  // freed by the caller, so the callbacks must not reach them.
  for (LConn *lc : st->conns) {
    lc->can_send = false;  // lws closes the sockets now
    if (lc->wsi) lws_set_opaque_user_data(lc->wsi, nullptr);
  }
  for (LListener *ll : st->svc_listeners)
    if (ll->wsi) lws_set_opaque_user_data(ll->wsi, nullptr);
  lws_context_destroy(st->ctx);
  st->ctx = nullptr;
}

}  // namespace qwh
