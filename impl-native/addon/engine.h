// The part of both Node addons that runs on the JS thread: per connection the
// C core's frame decoder, the TLS memory-BIO module and the batch handed to JS
// (one call per readable event). A backend (posix: uv_poll on Node's loop;
// lws: a libwebsockets service thread) moves bytes and reports events here.
//   engine_conn.cc  the connection engine (decode, TLS, socket events); calls engine_batch.cc
//   engine_batch.cc the batches handed to JS and the dispatch of every event (calls nothing back)
//   engine_read.cc  reading a socket on the JS thread (both backends)
//   engine_api.cc   the methods JS calls, TLS contexts and handshake deadlines, module life cycle
//   napi_glue.cc    N-API helpers and socket set-up shared by both addons
#pragma once

#include <uv.h>

#include <unordered_map>
#include <vector>

extern "C" {
#include "../core/buf.h"
#include "../core/errors.h"
#include "../core/frame_decoder.h"
}

#include "events.h"
#include "napi_glue.h"  // node_api.h, tls_bio.h, the helpers

namespace qwh {

// The event types and frame kinds handed to JS (generated from addon/events.json).
using namespace events;

// What a backend does for the engine (all called on the JS thread).
struct Backend {
  const char *name;
  // Sends the n (<= QWH_SENDV_MAX) pieces of iov, gathered, queueing what the kernel does not
  // take now; returns the bytes not yet accepted by the kernel (or the service thread).
  size_t (*sendv)(Conn *c, const struct iovec *iov, int n);
  // Shut down our direction once everything queued is sent.
  void (*shutdown_write)(Conn *c);
  void (*set_reading)(Conn *c, bool on);
  // Close now; the backend later calls engine_closed(c) exactly once.
  void (*close)(Conn *c);
  void (*close_listener)(Listener *l);
  // Our read side is over (END delivered): a backend may now finish the connection (may be null).
  void (*read_ended)(Conn *c);
  // Frees backend_state once the addon instance is gone (may be null).
  void (*free_state)(void *state);
  // Adds backend counters to the stats() object (may be null).
  void (*stats)(Addon *a, napi_value obj);
};

// Where a connection is in its life; it only moves forward. Connecting: the TCP connect or the
// TLS handshake is not done (JS does not have the link yet). Open: connected / accepted reported
// to JS. Failed: decoding or the socket failed, nothing more is read (JS is told and closes).
// Closing: close requested; the backend calls engine_closed(c) once, which frees it.
enum class Phase : uint8_t { Connecting, Open, Failed, Closing };
// The peer's end of the stream: not seen, seen while JS is paused or bytes wait, delivered (END).
enum class ReadEnd : uint8_t { None, Pending, Delivered };

// One connection of the engine. It owns its decoder, TLS state and buffers: they are released
// with it (delete), whoever deletes it.
struct Conn {
  Conn() = default;
  Conn(const Conn &) = delete;
  Conn &operator=(const Conn &) = delete;
  ~Conn();
  bool closing() const { return phase == Phase::Closing; }
  bool reading_over() const { return phase >= Phase::Failed; }
  bool established() const { return phase != Phase::Connecting; }
  void fail() {
    if (phase < Phase::Failed) phase = Phase::Failed;
  }

  Addon *addon = nullptr;
  uint32_t id = 0;
  uint32_t listener_id = 0;  // server side: the listener it came from
  bool server = false;
  void *io = nullptr;  // the backend's state
  qwh_decoder dec{};
  qwh_tls *tls = nullptr;
  Phase phase = Phase::Connecting;
  ReadEnd read_end = ReadEnd::None;
  // Set by JS and independent of the phase.
  bool step = true;  // deliver after each frame (handshake limits in force)
  bool raw = false;
  bool js_paused = false;
  bool end_requested = false;   // JS ended our direction
  bool close_notified = false;  // EV_CLOSE sent, or JS must never get one (it never saw the link)
  bool want_drain = false;      // a send was not taken whole: EV_DRAIN when the queue empties
  size_t unsent = 0;
  size_t out_limit = 0;  // stop reading above this many unsent bytes (0: off)
  bool limit_stopped = false;
  double bytes_in = 0, bytes_out = 0;
  qwh_buf pend{};              // plaintext received but not decoded yet (paused)
  qwh_buf batch{};             // payload bytes of the batch being built (frames not inside `own`)
  std::vector<uint32_t> meta;  // kind (| SIDE when in `batch`), offset, length
  // The received chunk being decoded in place (engine_received_owned): frames that lie whole
  // inside it are delivered as views of it, with no copy; the chunk becomes the batch Buffer.
  uint8_t *own = nullptr;
  size_t own_len = 0, own_cap = 0;
  // A large frame taken over from the decoder's assembly buffer: it becomes the batch Buffer,
  // so a message that spanned reads is not copied again (at most one per batch).
  uint8_t *stolen = nullptr;
  size_t stolen_cap = 0;
  qwh_buf tls_out{};  // ciphertext produced by the TLS module
  // Peer facts.
  char remote_addr[64] = "";
  int remote_port = 0;
  int local_port = 0;
  uint64_t created_ms = 0;   // uv_now() when the engine connection was made (handshake deadline)
  bool large_reads = false;  // the last read was at least ENGINE_COPY_BELOW (engine_read.cc)
  uint32_t last_frame = 0;   // the length of the last data frame decoded
  // The large-frame strategy (engine_read.cc): the header being read alone, then the frame
  // (header and payload) being received into a Buffer that V8 allocated; the reference keeps
  // that Buffer while the frame spans readable events.
  uint8_t hdr[4] = {};
  uint8_t hdr_have = 0;
  napi_ref big_ref = nullptr;
  uint8_t *big = nullptr;
  size_t big_need = 0, big_have = 0, big_cap = 0;
};

struct Listener {
  Addon *addon = nullptr;
  uint32_t id = 0;
  void *io = nullptr;
  qwh_tls_ctx *tls = nullptr;  // borrowed from a JS TlsContext kept alive by JS
  bool keep_alive = true;
  int keep_alive_delay_ms = 30000;
  int handshake_timeout_ms = 10000;  // a TLS handshake not done by then fails (E_TLS_HANDSHAKE)
  bool closed = false;
};

struct Addon {
  napi_env env = nullptr;
  napi_ref dispatch = nullptr;
  // The table JS gave with setDispatch: a batch of at most table_frames frames has its
  // [kind, offset, length] entries there (the count handed to JS is positive), so JS makes no
  // view per batch; a larger batch, or one made while another is being delivered, has them at
  // the end of its Buffer (the count is negative).
  uint32_t *table = nullptr;
  size_t table_frames = 0;
  napi_ref table_ref = nullptr;
  bool in_batch = false;
  napi_async_context actx = nullptr;
  const Backend *backend = nullptr;
  uv_loop_t *loop = nullptr;
  std::unordered_map<uint32_t, Conn *> conns;
  std::unordered_map<uint32_t, Listener *> listeners;
  uint32_t next_id = 1;
  bool tearing_down = false;
  bool finalized = false;
  int open_handles = 0;  // uv handles / backend objects not yet fully closed
  napi_async_cleanup_hook_handle cleanup = nullptr;
  qwh_buf plain{};          // shared TLS plaintext buffer
  uint8_t *rbuf = nullptr;  // shared read buffer (engine_read.cc), made on the first read
  // TLS handshake deadlines: one timer while a TLS listener is open (engine_conn.cc).
  uv_timer_t *tls_deadline = nullptr;
  void *backend_state = nullptr;
  size_t live_conns = 0;
  size_t live_listeners = 0;
};

// Runs a dispatch inside a handle scope (for calls from libuv callbacks).
struct Scope {
  napi_env env;
  napi_handle_scope scope = nullptr;
  explicit Scope(Addon *a) : env(a->env) {
    if (!a->tearing_down) napi_open_handle_scope(env, &scope);
  }
  ~Scope() {
    if (scope) napi_close_handle_scope(env, scope);
  }
};

// Batches (engine_batch.cc). Frames at least ENGINE_LARGE_FRAME long that spanned reads are
// taken over from the decoder, not copied; while at least that much of a frame is missing,
// plain reads land in its buffer. A taken frame has ENGINE_TABLE_TAIL spare bytes for its table.
constexpr size_t ENGINE_LARGE_FRAME = 16u * 1024;
// Flags on the kind of a Conn::meta entry: where its payload is (else in Conn::own).
constexpr uint32_t SIDE = 0x80000000u;    // in Conn::batch
constexpr uint32_t STOLEN = 0x40000000u;  // Conn::stolen
constexpr uint32_t KIND_MASK = ~(SIDE | STOLEN);
constexpr size_t ENGINE_TABLE_TAIL = 16;
// Reads smaller than this are decoded where they were received and their frames copied into a
// Buffer that V8 allocates: cheaper than a chunk of their own, whose external Buffer needs a
// malloc, a free and a finalizer (run from an extra turn of Node's loop).
constexpr size_t ENGINE_COPY_BELOW = 16u * 1024;
// While the last data frame was at least this long, frame headers are read alone (4-byte reads)
// so that a large frame's payload lands straight in the Buffer handed to JS (engine_read.cc).
constexpr size_t ENGINE_HEADER_READS = 32u * 1024;
// The decoder's callback: collects one frame into the batch.
qwh_code engine_on_frame(void *user, bool control, const uint8_t *payload, size_t len);
// Hands the batch to JS when decoding of the owned chunk (Conn::own) is over: the chunk may become the Buffer.
void engine_flush_batch_owned(Conn *c);

// Engine entry points for the backends (JS thread).
Conn *engine_new_conn(Addon *a, bool server, uint32_t listener_id, qwh_tls_ctx *tls, const char *sni, const char *verify_host, char *err,
                      size_t errlen);
void engine_set_peer(Conn *c, int fd);
// Bytes received from the network (ciphertext with TLS).
void engine_received(Conn *c, const uint8_t *p, size_t n);
// The same for a malloc'd chunk the engine takes over (n bytes used of cap); it may become the
// batch Buffer handed to JS (external memory, freed by its finalizer). Plain connections only.
void engine_received_owned(Conn *c, uint8_t *p, size_t n, size_t cap);
// Where the rest of a large frame may be received directly (plain connections): the room, 0 if
// none; then engine_received_in_place with the bytes received there.
size_t engine_in_place_room(Conn *c, uint8_t **at);
void engine_received_in_place(Conn *c, size_t n);
// A whole frame (header and payload, `n` bytes) received at `data`, the start of the Buffer
// `buf` (buf_len bytes) that V8 allocated, with room for a table of one frame after align4(n):
// the frame is decoded there and `buf` becomes the batch (plain connections, decoder idle).
void engine_received_frame(Conn *c, napi_value buf, uint8_t *data, size_t n, size_t buf_len);
// Hands the batch to JS as `buf` when its frames all lie in Conn::own (the start of buf) and
// its table fits at the end of buf; otherwise as a copy (engine_batch.cc).
void engine_flush_batch_into(Conn *c, napi_value buf, size_t buf_len);
// Call after a readable event: hands the batch to JS.
void engine_flush_batch(Conn *c);
void engine_eof(Conn *c);
void engine_socket_error(Conn *c, const char *message);
void engine_drained(Conn *c);
void engine_tcp_connected(Conn *c);
void engine_accepted(Listener *l, Conn *c);
void engine_closed(Conn *c);  // the backend is done with c: notify JS, free
void engine_listener_closed(Listener *l);
void engine_listener_error(Listener *l, const char *message);
// A listener is open (listen_socket calls it): with TLS, its handshakes get deadlines. The
// engine's one timer then fails every accepted TLS connection whose handshake is not done
// handshake_timeout_ms after it was made: EV_TLS_FAIL "TLS handshake timed out", then closed
// (QWH-TIME-005). It checks every quarter of the shortest timeout (at most every 250 ms) while
// a TLS listener is open, and never keeps the loop alive.
void engine_listener_opened(Listener *l);
// Closes the engine's own handles (teardown, or no TLS listener left).
void engine_close_handles(Addon *a);
void engine_handle_released(Addon *a);  // one backend handle fully closed
void engine_dispatch(Addon *a, int32_t type, uint32_t id, napi_value x, napi_value y);

// Reading a connection's socket on the JS thread (engine_read.cc), when it is readable.
enum class ReadResult : uint8_t {
  More,    // read what there was (or nothing): keep polling while engine_wants_read()
  Eof,     // the peer's end was read (engine_eof called)
  Closed,  // the connection failed or is closing (reported)
};
ReadResult engine_read(Conn *c, int fd);
// Received chunks (engine_read.cc): a chunk whose Buffer JS has dropped goes back to a small
// process-wide pool, so that the next large read reuses memory whose pages are mapped (a fresh
// multi-MiB malloc per read faulted in every page the kernel copied into). cap: what it holds.
uint8_t *engine_chunk_alloc(size_t want, size_t *cap);
void engine_chunk_free(uint8_t *p, size_t cap);
// Whether the engine wants bytes: not paused, not over, not stopped by the send backlog.
bool engine_wants_read(const Conn *c);

// What JS asks of a connection (engine_api.cc's methods; JS thread).
bool engine_write(Conn *c, const uint8_t *p, size_t n);  // false: TLS failed (reported)
// The same for n (<= QWH_SENDV_MAX) pieces: a plain connection sends them with one sendmsg().
bool engine_writev(Conn *c, const struct iovec *iov, int n);
bool engine_pause(Conn *c, bool paused);  // true: bytes are pending (drain them on a later turn)
void engine_drain_pending(Conn *c);
void engine_end(Conn *c);
void engine_destroy(Conn *c, bool silent);

// Module set-up shared by both addons.
napi_value engine_init_module(napi_env env, napi_value exports, const Backend *backend, void *backend_state);

// Backend-specific exports, implemented per addon.
napi_value backend_connect(napi_env env, napi_callback_info info);
napi_value backend_listen(napi_env env, napi_callback_info info);
napi_value backend_listener_address(napi_env env, napi_callback_info info);
void backend_teardown(Addon *a);  // close everything now (env cleanup)

}  // namespace qwh
