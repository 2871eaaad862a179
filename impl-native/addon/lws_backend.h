// qwormhole_lws.node ("native-lws"): libwebsockets raw sockets on ONE service
// thread per addon instance (context), not per connection.
//
// Threads. The service thread owns the lws context and every wsi: it accepts,
// completes connects, writes what JS queued when the socket has room, and
// closes. The JS thread runs the engine (framing, TLS through the memory BIO
// module) and reads: each connection has a reader (LReader), a uv_poll on
// Node's loop over a duplicate of the socket's descriptor, which calls the
// engine's read strategies (engine_read.cc) as the posix addon does; lws never
// polls a connection for input (rx flow control off from its adoption). So a
// message received costs no thread hop, and one sent none either while nothing
// is queued. The threads talk through mutex-protected state:
//   JS -> service: per-connection output queue and flags, queued on `ops`, then
//                  lws_cancel_service() (the only lws call made from JS), at most
//                  once per service turn (`svc_signalled`). While a connection
//                  has nothing queued, JS send()s on its socket directly (no hop).
//   service -> JS: per-connection event flags, queued on `ready`, then one byte
//                  down a pipe that a uv_poll on Node's loop watches, at most
//                  once per JS turn (`js_signalled`). A pipe, not an eventfd
//                  (uv_async, ThreadSafeFunction): Linux wakes a pipe reader
//                  "synchronously", on the writer's CPU, which costs ~3 us here
//                  against ~22 us for a cross-CPU eventfd wake-up.
// No lock is held while JS runs, and the only lock is `mu`. The reader's own
// descriptor keeps the socket open until JS is done with it, whenever lws
// closes the wsi's (a hang-up with bytes still unread, an error): JS reads what
// is left before it reports the close, and never polls a descriptor number
// that lws has closed and the kernel may have reused.
//
// Lifetime of an LConn: JS and the service thread each say when they are done
// with it (`js_done`, `svc_done`); it is freed by the service thread (in
// run_ops or on close) once both are, never while the other side may still hold
// it in a batch it took from `ops` or `ready`; after the thread has stopped,
// by the JS thread (teardown).
//
// lws 4.1.6 facts this relies on (see libwebsockets/README.md): every socket is
// adopted as a raw file descriptor, so our code does recv/send/accept (half-close
// works); the raw-file role clears POLLOUT *after* RAW_WRITEABLE_FILE returns, so
// a lws_callback_on_writable() made inside that callback is lost: a partial flush
// re-arms from the next service turn; a hang-up (POLLHUP without POLLIN, as while
// rx flow control is off) closes the wsi.
#pragma once

#include <libwebsockets.h>
#include <pthread.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine.h"

namespace qwh {

struct LState;

enum : int { TAG_CONN = 1, TAG_LISTENER = 2 };

// A connection's reading on the JS thread: a uv_poll over `fd`, a duplicate of the socket's
// descriptor that only JS uses and closes (in the poll's close callback, which frees it).
struct LReader {
  uv_poll_t poll;
  int fd = -1;
  Addon *addon = nullptr;
  Conn *c = nullptr;  // null once closing
  bool polling = false;
};

// What JS asked of a connection (LConn::requests) and what the service thread has to tell JS
// (LConn::events): bits, each set once (L_CONNECT is cleared when applied, events when delivered).
enum LRequest : uint8_t { L_CONNECT = 1, L_SHUTDOWN = 2, L_CLOSE = 4, L_READ_ENDED = 8 };
enum LEvent : uint8_t { L_CONNECTED = 1, L_ACCEPTED = 2, L_DRAINED = 4, L_CLOSED = 8 };
// The socket as the service thread sees it: connect() in progress, open, our direction shut down.
enum class SvcPhase : uint8_t { Connecting, Open, WriteShut };

// One connection as both threads see it. [svc]: the service thread's; [mu]:
// guarded by LState::mu; [js]: the JS thread's.
// Deleting it closes a connecting socket not yet adopted, and the reader's descriptor if JS
// never took it, and frees its buffers.
struct LConn {
  LConn() = default;
  LConn(const LConn &) = delete;
  LConn &operator=(const LConn &) = delete;
  ~LConn() {
    if (connect_fd >= 0) close(connect_fd);
    if (js_fd >= 0) close(js_fd);
    qwh_buf_free(&out);
  }
  int tag = TAG_CONN;
  LState *st = nullptr;
  Conn *c = nullptr;          // [js]
  LReader *reader = nullptr;  // [js]
  struct lws *wsi = nullptr;  // [svc]
  int fd = -1;                // set before either thread shares it; closed by lws with the wsi
  int js_fd = -1;             // [mu] the reader's descriptor until JS takes it
  uint32_t listener_id = 0;   // accepted: the listener it came from
  // JS -> service [mu]
  qwh_buf out{};
  size_t out_off = 0;
  uint8_t requests = 0;  // LRequest bits (L_READ_ENDED: the socket may go once our side is shut)
  bool op_queued = false;
  int connect_fd = -1;       // connecting socket made on the JS thread, adopted by the service thread
  bool send_failed = false;  // a direct send failed: the service thread reports it
  bool js_done = false;      // JS has forgotten it
  // service -> JS [mu]
  uint8_t events = 0;  // LEvent bits not delivered yet
  std::string ev_error;
  bool ready_queued = false;
  bool svc_done = false;  // the wsi is gone (the service thread touches it only to free it)
  bool can_send = false;  // connected and adopted: JS may send() on fd while `out` is empty
  char remote[64] = "";   // peer facts, written before ev_connected / ev_accepted
  int remote_port = 0, local_port = 0;
  // [svc]
  SvcPhase phase = SvcPhase::Open;
};

// Deleting it closes its listening socket unless lws has adopted it (fd -1).
struct LListener {
  LListener() = default;
  LListener(const LListener &) = delete;
  LListener &operator=(const LListener &) = delete;
  ~LListener() {
    if (fd >= 0) close(fd);
  }
  int tag = TAG_LISTENER;
  LState *st = nullptr;
  uint32_t id = 0;
  bool keep_alive = true;
  int keep_alive_delay_ms = 30000;
  int fd = -1;                                                   // listening socket (made on the JS thread, adopted by the service thread)
  struct lws *wsi = nullptr;                                     // [svc]
  bool create_req = false, destroy_req = false, queued = false;  // [mu]
};

struct LState {
  Addon *a = nullptr;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  struct lws_context *ctx = nullptr;
  struct lws_vhost *vh = nullptr;
  pthread_t thread{};
  bool running = false;  // [js]
  bool stop = false;     // atomic
  // service -> JS wake-up
  int wake_r = -1, wake_w = -1;
  uv_poll_t wake_poll{};
  bool wake_open = false;                  // [js] the uv_poll exists (until its close callback)
  bool wake_refed = false;                 // [js]
  bool js_signalled = false;               // [mu] a wake byte is on its way
  bool svc_signalled = false;              // [mu] lws_cancel_service() called, run_ops not yet run
  std::vector<LConn *> ops;                // [mu] JS -> service
  std::vector<LListener *> lops;           // [mu]
  std::vector<LConn *> ready;              // [mu] service -> JS
  std::vector<LConn *> conns;              // [mu] every LConn not freed yet
  std::vector<LListener *> svc_listeners;  // [svc] (after the thread stops: JS)
  // Counters for stats() [mu]: how often each thread woke the other, and how sends went.
  double rearms = 0;        // partial flushes re-armed from the next service turn
  double svc_wakes = 0;     // lws_cancel_service() calls (JS -> service wake-ups)
  double js_wakes = 0;      // wake bytes written (service -> JS wake-ups)
  double js_turns = 0;      // deliveries run on the JS thread
  double direct_sends = 0;  // JS writes that went straight to the socket, whole
  double queued_sends = 0;  // JS writes (or their rest) queued for the service thread
  double contended = 0;     // lock() calls that had to wait (a futex wake-up each)
};

// Takes st->mu, counting the times it had to wait for the other thread.
inline void lock(LState *st) {
  if (pthread_mutex_trylock(&st->mu) == 0) return;
  pthread_mutex_lock(&st->mu);
  st->contended++;
}
inline void unlock(LState *st) { pthread_mutex_unlock(&st->mu); }

// lws_service.cc: the service thread (start/stop are called on the JS thread).
bool service_start(LState *st, std::string *err);
void service_stop(LState *st);  // joins the thread, destroys the context
// Queues lc (may be null) for the service thread; mu held. True when the caller must call
// lws_cancel_service() once mu is released.
bool queue_op(LState *st, LConn *lc);
bool queue_listener_op(LState *st, LListener *ll);
// Queues lc for JS (mu held, either thread); true when the caller must wake the JS thread with
// wake_js() once mu is released (at most once per JS turn).
bool signal_js(LState *st, LConn *lc);
void wake_js(LState *st, bool wake);
// Frees lc and forgets every queued reference to it (mu not held).
void lconn_free(LState *st, LConn *lc);

}  // namespace qwh
