// JS-thread engine shared by both addons (see engine.h).
#include "engine.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace qwh {

#define NAPI_OK(call)                        \
  do {                                       \
    if ((call) != napi_ok) return nullptr;   \
  } while (0)

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value throw_error(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return nullptr;
}

Addon *addon_of(napi_env env) {
  void *d = nullptr;
  if (napi_get_instance_data(env, &d) != napi_ok) return nullptr;
  return static_cast<Addon *>(d);
}

bool get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t n = 0;
  return napi_get_value_string_utf8(env, v, buf, len, &n) == napi_ok && n < len - 1;
}

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) return nullptr;
  return v;
}

// ---------------------------------------------------------------- dispatch

void engine_dispatch(Addon *a, int32_t type, uint32_t id, napi_value x, napi_value y) {
  if (a->tearing_down || !a->dispatch) return;
  napi_env env = a->env;
  napi_value fn, global, argv[4], result;
  // Raw napi calls with checked statuses: during worker shutdown every call may fail (drop the event).
  if (napi_get_reference_value(env, a->dispatch, &fn) != napi_ok || fn == nullptr) return;
  if (napi_get_global(env, &global) != napi_ok) return;
  if (napi_create_int32(env, type, &argv[0]) != napi_ok) return;
  if (napi_create_uint32(env, id, &argv[1]) != napi_ok) return;
  argv[2] = x ? x : undefined(env);
  argv[3] = y ? y : undefined(env);
  napi_status st = napi_make_callback(env, a->actx, global, fn, 4, argv, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

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

static void dispatch_code(Conn *c, int32_t type, uint32_t id, const char *code, const char *msg) {
  Addon *a = c->addon;
  if (a->tearing_down) return;
  Scope s(a);
  engine_dispatch(a, type, id, str(a->env, code), str(a->env, msg));
}

// ---------------------------------------------------------------- connections

static constexpr uint32_t SIDE = 0x80000000u; // meta kind flag: the payload is in c->batch, not in c->own

static qwh_code on_frame(void *user, bool control, const uint8_t *payload, size_t len) {
  Conn *c = static_cast<Conn *>(user);
  uint32_t kind = control ? K_CONTROL : K_DATA;
  if (c->own && payload >= c->own && payload + len <= c->own + c->own_len) {
    // Whole inside the received chunk: a view, no copy.
    c->meta.push_back(kind);
    c->meta.push_back(static_cast<uint32_t>(payload - c->own));
  } else {
    size_t off = c->batch.len;
    if (qwh_buf_append(&c->batch, payload, len) != 0) return QWH_E_INTERNAL;
    c->meta.push_back(kind | SIDE);
    c->meta.push_back(static_cast<uint32_t>(off));
  }
  c->meta.push_back(static_cast<uint32_t>(len));
  // While handshaking every frame, and always a control frame (a CLOSE refuses
  // later data frames), goes to JS before the next header is read.
  if (c->step || control) qwh_decoder_pause(&c->dec);
  return QWH_OK;
}

Conn *engine_new_conn(Addon *a, bool server, uint32_t listener_id, qwh_tls_ctx *tls, const char *sni, const char *verify_host, char *err, size_t errlen) {
  Conn *c = new Conn();
  c->addon = a;
  c->id = a->next_id++;
  if (a->next_id == 0) a->next_id = 1;
  c->server = server;
  c->listener_id = listener_id;
  qwh_decoder_init(&c->dec, on_frame, c);
  qwh_decoder_handshake(&c->dec);
  qwh_buf_init(&c->pend);
  qwh_buf_init(&c->batch);
  qwh_buf_init(&c->tls_out);
  if (tls) {
    c->tls = qwh_tls_new(tls, sni, verify_host, err, errlen);
    if (!c->tls) {
      qwh_decoder_free(&c->dec);
      delete c;
      return nullptr;
    }
  }
  if (server) c->out_limit = 8u << 20;
  a->conns[c->id] = c;
  a->live_conns++;
  return c;
}

void engine_set_peer(Conn *c, int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      auto *in = reinterpret_cast<sockaddr_in *>(&ss);
      inet_ntop(AF_INET, &in->sin_addr, c->remote_addr, sizeof c->remote_addr);
      c->remote_port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto *in6 = reinterpret_cast<sockaddr_in6 *>(&ss);
      inet_ntop(AF_INET6, &in6->sin6_addr, c->remote_addr, sizeof c->remote_addr);
      c->remote_port = ntohs(in6->sin6_port);
    }
  }
  sl = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &sl) == 0) {
    if (ss.ss_family == AF_INET) c->local_port = ntohs(reinterpret_cast<sockaddr_in *>(&ss)->sin_port);
    else if (ss.ss_family == AF_INET6) c->local_port = ntohs(reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port);
  }
}

static void free_conn(Conn *c) {
  Addon *a = c->addon;
  a->conns.erase(c->id);
  a->live_conns--;
  qwh_decoder_free(&c->dec);
  qwh_buf_free(&c->pend);
  qwh_buf_free(&c->batch);
  free(c->own);
  c->own = nullptr;
  qwh_buf_free(&c->tls_out);
  qwh_tls_free(c->tls);
  delete c;
}

static void update_reading(Conn *c) {
  bool on = !c->js_paused && !c->failed && !c->destroyed && !c->rd_eof && !c->eof_pending && !c->limit_stopped;
  c->addon->backend->set_reading(c, on);
}

static void send_bytes(Conn *c, const uint8_t *p, size_t n) {
  if (c->destroyed || n == 0) return;
  c->bytes_out += static_cast<double>(n);
  c->unsent = c->addon->backend->send(c, p, n);
  if (c->unsent > 0) c->want_drain = true;
  if (c->out_limit && c->unsent > c->out_limit && !c->limit_stopped) {
    c->limit_stopped = true;
    update_reading(c);
  }
}

static void send_tls_out(Conn *c) {
  if (c->tls_out.len) {
    size_t n = c->tls_out.len;
    c->tls_out.len = 0;
    c->unsent = c->addon->backend->send(c, c->tls_out.data, n);
    if (c->unsent > 0) c->want_drain = true;
  }
}

static void free_external(napi_env env, void *data, void *hint) {
  int64_t size = static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint));
  int64_t ignored;
  if (env) napi_adjust_external_memory(env, -size, &ignored);
  free(data);
}

static size_t align4(size_t n) { return (n + 3) & ~static_cast<size_t>(3); }

static void drop_batch(Conn *c) {
  c->meta.clear();
  c->batch.len = 0;
}

// Hands the frames decoded so far to JS as one Buffer. `final_own`: decoding of the owned chunk
// is over, so the chunk itself can become the Buffer (the frames inside it stay where they are;
// frames from elsewhere and the table are appended). Otherwise the payloads are copied.
static void flush_batch(Conn *c, bool final_own) {
  size_t count = c->meta.size() / 3;
  if (count == 0) return;
  Addon *a = c->addon;
  if (a->tearing_down || c->destroyed) return drop_batch(c);
  Scope s(a);
  napi_value buf;
  uint32_t *table;
  size_t own_bytes = 0;
  if (final_own && c->own && c->batch.len > 4096) {
    for (size_t i = 0; i < count; i++)
      if (!(c->meta[i * 3] & SIDE)) own_bytes += c->meta[i * 3 + 2];
  }
  if (final_own && c->own && c->batch.len > 4096 && c->batch.len >= own_bytes) {
    // Mostly frames that spanned reads (large messages): the side buffer becomes the Buffer,
    // the few bytes of frames inside the chunk are copied after it.
    size_t own_at = c->batch.len;
    size_t table_at = align4(own_at + own_bytes);
    size_t total = table_at + count * 12;
    if (qwh_buf_reserve(&c->batch, total - c->batch.len) != 0) return drop_batch(c);
    uint8_t *m = c->batch.data;
    table = reinterpret_cast<uint32_t *>(m + table_at);
    size_t at = own_at;
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1], len = c->meta[i * 3 + 2];
      table[i * 3] = kind & ~SIDE;
      table[i * 3 + 2] = len;
      if (kind & SIDE) {
        table[i * 3 + 1] = off;
      } else {
        if (len) memcpy(m + at, c->own + off, len);
        table[i * 3 + 1] = static_cast<uint32_t>(at);
        at += len;
      }
    }
    size_t cap = c->batch.cap;
    qwh_buf_init(&c->batch); // JS owns it now
    if (napi_create_external_buffer(a->env, total, m, free_external, reinterpret_cast<void *>(static_cast<uintptr_t>(cap)), &buf) != napi_ok) {
      free(m);
      return drop_batch(c);
    }
    int64_t ignored;
    napi_adjust_external_memory(a->env, static_cast<int64_t>(cap), &ignored);
  } else if (final_own && c->own) {
    size_t side_at = c->own_len;
    size_t table_at = align4(side_at + c->batch.len);
    size_t total = table_at + count * 12;
    if (total > c->own_cap) {
      auto *p = static_cast<uint8_t *>(realloc(c->own, total));
      if (!p) return drop_batch(c);
      c->own = p;
      c->own_cap = total;
    }
    uint8_t *m = c->own;
    if (c->batch.len) memcpy(m + side_at, c->batch.data, c->batch.len);
    table = reinterpret_cast<uint32_t *>(m + table_at);
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1];
      table[i * 3] = kind & ~SIDE;
      table[i * 3 + 1] = (kind & SIDE) ? static_cast<uint32_t>(side_at) + off : off;
      table[i * 3 + 2] = c->meta[i * 3 + 2];
    }
    c->own = nullptr; // JS owns it now
    if (napi_create_external_buffer(a->env, total, m, free_external, reinterpret_cast<void *>(static_cast<uintptr_t>(c->own_cap)), &buf) != napi_ok) {
      free(m);
      return drop_batch(c);
    }
    int64_t ignored;
    napi_adjust_external_memory(a->env, static_cast<int64_t>(c->own_cap), &ignored);
  } else {
    size_t payload = 0;
    for (size_t i = 0; i < count; i++) payload += c->meta[i * 3 + 2];
    size_t table_at = align4(payload);
    size_t total = table_at + count * 12;
    void *data = nullptr;
    if (napi_create_buffer(a->env, total, &data, &buf) != napi_ok) return drop_batch(c);
    auto *m = static_cast<uint8_t *>(data);
    table = reinterpret_cast<uint32_t *>(m + table_at);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1], len = c->meta[i * 3 + 2];
      const uint8_t *src = (kind & SIDE) ? c->batch.data + off : c->own + off;
      if (len) memcpy(m + at, src, len);
      uint32_t v[3] = {kind & ~SIDE, static_cast<uint32_t>(at), len};
      memcpy(table + i * 3, v, 12); // little-endian hosts (x86-64, arm64)
      at += len;
    }
  }
  c->meta.clear();
  if (c->batch.cap > (1u << 20)) qwh_buf_free(&c->batch);
  else c->batch.len = 0;
  napi_value n;
  napi_create_uint32(a->env, static_cast<uint32_t>(count), &n);
  engine_dispatch(a, EV_BATCH, c->id, buf, n);
}

void engine_flush_batch(Conn *c) { flush_batch(c, false); }

static void fail_decode(Conn *c, qwh_code code) {
  engine_flush_batch(c);
  if (c->destroyed) return;
  c->failed = true;
  update_reading(c);
  char msg[96];
  snprintf(msg, sizeof msg, "frame decoding failed (%s)", qwh_code_name(code));
  dispatch_code(c, EV_ERROR, c->id, qwh_code_name(code), msg);
}

static void keep(Conn *c, const uint8_t *p, size_t n) {
  if (n && qwh_buf_append(&c->pend, p, n) != 0) fail_decode(c, QWH_E_INTERNAL);
}

// Decodes plaintext; frames go into the batch; pauses hand the batch to JS.
static void process(Conn *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (c->destroyed || c->failed) return;
    if (c->js_paused) {
      keep(c, p, n);
      return;
    }
    if (c->raw) {
      if (c->own && p >= c->own && p + n <= c->own + c->own_len) {
        c->meta.push_back(K_RAW);
        c->meta.push_back(static_cast<uint32_t>(p - c->own));
      } else {
        size_t off = c->batch.len;
        if (qwh_buf_append(&c->batch, p, n) != 0) return fail_decode(c, QWH_E_INTERNAL);
        c->meta.push_back(K_RAW | SIDE);
        c->meta.push_back(static_cast<uint32_t>(off));
      }
      c->meta.push_back(static_cast<uint32_t>(n));
      return;
    }
    size_t used = 0;
    qwh_code rc = qwh_decoder_push(&c->dec, p, n, &used);
    p += used;
    n -= used;
    if (rc != QWH_OK) return fail_decode(c, rc);
    if (c->dec.paused) engine_flush_batch(c); // JS may change limits, switch to raw, pause or destroy
  }
}

static void feed_plain(Conn *c, const uint8_t *p, size_t n) {
  if (c->pend.len || c->js_paused) keep(c, p, n);
  else process(c, p, n);
}

static void deliver_end(Conn *c) {
  if (c->rd_eof || c->destroyed || c->failed) return;
  c->rd_eof = true;
  c->eof_pending = false;
  update_reading(c);
  if (!c->raw) {
    qwh_code rc = qwh_decoder_end(&c->dec);
    if (rc != QWH_OK) {
      c->failed = true;
      dispatch_code(c, EV_ERROR, c->id, qwh_code_name(rc), "stream ended inside a frame");
      return;
    }
  }
  {
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_END, c->id, nullptr, nullptr);
  }
  if (!c->destroyed && c->addon->backend->read_ended) c->addon->backend->read_ended(c);
}

static void established(Conn *c) {
  c->established = true;
  if (c->server) {
    Scope s(c->addon);
    napi_value id;
    napi_create_uint32(c->addon->env, c->id, &id);
    engine_dispatch(c->addon, EV_ACCEPT, c->listener_id, id, nullptr);
  } else {
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_CONNECTED, c->id, nullptr, nullptr);
  }
}

static void tls_failed(Conn *c, const char *message) {
  if (c->server && !c->established) {
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_TLS_FAIL, c->listener_id, str(c->addon->env, message), str(c->addon->env, c->remote_addr));
    c->destroyed = true;
    c->close_notified = true; // JS never saw this connection
    c->addon->backend->close(c);
  } else if (!c->established) {
    dispatch_code(c, EV_CONNECT_FAILED, c->id, "E_TLS_HANDSHAKE", message);
    c->destroyed = true;
    c->close_notified = true;
    c->addon->backend->close(c);
  } else {
    c->failed = true;
    dispatch_code(c, EV_ERROR, c->id, "E_SOCKET", message);
    if (!c->destroyed) {
      c->destroyed = true;
      c->addon->backend->close(c);
    }
  }
}

void engine_received(Conn *c, const uint8_t *p, size_t n) {
  if (c->destroyed || c->failed) return;
  c->bytes_in += static_cast<double>(n);
  if (!c->tls) {
    feed_plain(c, p, n);
    return;
  }
  Addon *a = c->addon;
  a->plain.len = 0;
  bool was_done = qwh_tls_handshake_done(c->tls);
  int rc = qwh_tls_feed(c->tls, p, n, &a->plain, &c->tls_out);
  send_tls_out(c);
  if (rc != QWH_TLS_OK) return tls_failed(c, qwh_tls_error(c->tls));
  if (!was_done && qwh_tls_handshake_done(c->tls)) {
    // Plaintext that came with the handshake's last flight waits until JS has the link.
    qwh_buf early;
    qwh_buf_init(&early);
    if (a->plain.len) qwh_buf_append(&early, a->plain.data, a->plain.len);
    established(c);
    if (early.len) feed_plain(c, early.data, early.len);
    qwh_buf_free(&early);
  } else if (a->plain.len) {
    // Reads never nest (they come from the loop, not from JS), so the shared buffer is not reused meanwhile.
    feed_plain(c, a->plain.data, a->plain.len);
  }
  if (qwh_tls_peer_closed(c->tls) && !c->rd_eof) engine_eof(c);
}

void engine_received_owned(Conn *c, uint8_t *p, size_t n, size_t cap) {
  if (c->destroyed || c->failed || c->tls || c->pend.len || c->js_paused || c->own) {
    engine_received(c, p, n);
    if (!c->destroyed) engine_flush_batch(c);
    free(p);
    return;
  }
  c->bytes_in += static_cast<double>(n);
  c->own = p;
  c->own_len = n;
  c->own_cap = cap;
  process(c, p, n);
  flush_batch(c, true);
  free(c->own); // still ours when nothing (or nothing since a pause) was delivered from it
  c->own = nullptr;
}

void engine_eof(Conn *c) {
  if (c->destroyed || c->rd_eof) return;
  if (!c->established) {
    if (c->server) {
      tls_failed(c, "connection closed during the TLS handshake");
    } else {
      tls_failed(c, "connection closed before it was established");
    }
    return;
  }
  engine_flush_batch(c);
  if (c->js_paused || c->pend.len) {
    c->eof_pending = true;
    update_reading(c);
    return;
  }
  deliver_end(c);
}

void engine_socket_error(Conn *c, const char *message) {
  if (c->destroyed) return;
  if (!c->established) {
    if (c->server) {
      tls_failed(c, message);
    } else {
      dispatch_code(c, EV_CONNECT_FAILED, c->id, "E_SOCKET", message);
      c->destroyed = true;
      c->close_notified = true;
      c->addon->backend->close(c);
    }
    return;
  }
  engine_flush_batch(c);
  c->failed = true;
  dispatch_code(c, EV_ERROR, c->id, "E_SOCKET", message);
  if (!c->destroyed) {
    c->destroyed = true;
    c->addon->backend->close(c);
  }
}

void engine_drained(Conn *c) {
  c->unsent = 0;
  if (c->limit_stopped) {
    c->limit_stopped = false;
    update_reading(c);
  }
  if (c->want_drain && !c->destroyed && c->established) {
    c->want_drain = false;
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_DRAIN, c->id, nullptr, nullptr);
  }
}

void engine_tcp_connected(Conn *c) {
  if (c->tls) {
    qwh_tls_start(c->tls, &c->tls_out);
    send_tls_out(c);
    update_reading(c);
    return;
  }
  update_reading(c);
  established(c);
}

void engine_accepted(Listener *l, Conn *c) {
  (void)l;
  update_reading(c);
  if (!c->tls) established(c);
}

void engine_closed(Conn *c) {
  Addon *a = c->addon;
  if (!c->close_notified && !a->tearing_down) {
    c->close_notified = true;
    Scope s(a);
    engine_dispatch(a, EV_CLOSE, c->id, nullptr, nullptr);
  }
  free_conn(c);
}

void engine_listener_closed(Listener *l) {
  Addon *a = l->addon;
  a->listeners.erase(l->id);
  a->live_listeners--;
  delete l;
}

void engine_listener_error(Listener *l, const char *message) {
  Addon *a = l->addon;
  Scope s(a);
  engine_dispatch(a, EV_LISTEN_ERROR, l->id, str(a->env, message), nullptr);
}

// ---------------------------------------------------------------- exported methods

static bool args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  for (size_t i = argc; i < want; i++) argv[i] = undefined(env);
  return true;
}

static Conn *conn_arg(napi_env env, napi_value v) {
  Addon *a = addon_of(env);
  uint32_t id = 0;
  if (!a || napi_get_value_uint32(env, v, &id) != napi_ok) return nullptr;
  auto it = a->conns.find(id);
  return it == a->conns.end() ? nullptr : it->second;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value m_set_dispatch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Addon *a = addon_of(env);
  if (a->dispatch) napi_delete_reference(env, a->dispatch);
  a->dispatch = nullptr;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_function) napi_create_reference(env, argv[0], 1, &a->dispatch);
  return undefined(env);
}

// write(id, buffer | buffer[]) -> unsent bytes (-1 when the connection is gone)
static napi_value m_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (!c || c->destroyed) return num(env, -1);
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  uint32_t count = 1;
  if (is_array) napi_get_array_length(env, argv[1], &count);
  for (uint32_t i = 0; i < count && !c->destroyed; i++) {
    napi_value b = argv[1];
    if (is_array) napi_get_element(env, argv[1], i, &b);
    void *data = nullptr;
    size_t len = 0;
    if (napi_get_buffer_info(env, b, &data, &len) != napi_ok) {
      napi_typedarray_type tt;
      napi_value ab;
      size_t off;
      if (napi_get_typedarray_info(env, b, &tt, &len, &data, &ab, &off) != napi_ok) return throw_error(env, "E_INTERNAL", "write takes Buffers");
    }
    if (c->tls) {
      if (qwh_tls_write(c->tls, static_cast<uint8_t *>(data), len, &c->tls_out) != QWH_TLS_OK) {
        tls_failed(c, qwh_tls_error(c->tls));
        return num(env, -1);
      }
      c->bytes_out += static_cast<double>(len);
      send_tls_out(c);
      if (c->out_limit && c->unsent > c->out_limit && !c->limit_stopped) {
        c->limit_stopped = true;
        update_reading(c);
      }
    } else {
      send_bytes(c, static_cast<uint8_t *>(data), len);
    }
  }
  return num(env, static_cast<double>(c->unsent));
}

// setLimits(id, maxFrameLength, control, handshake)
static napi_value m_set_limits(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args(env, info, 4, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (!c) return undefined(env);
  uint32_t max = 0;
  bool control = false, handshake = false;
  napi_get_value_uint32(env, argv[1], &max);
  napi_get_value_bool(env, argv[2], &control);
  napi_get_value_bool(env, argv[3], &handshake);
  qwh_decoder_set_limits(&c->dec, max, control, handshake ? QWH_E_HANDSHAKE_TOO_LARGE : QWH_E_FRAME_TOO_LARGE);
  c->step = handshake;
  return undefined(env);
}

static napi_value m_refuse_data(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (c) qwh_decoder_refuse_data(&c->dec);
  return undefined(env);
}

static napi_value m_switch_to_raw(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (c) {
    if (!qwh_decoder_idle(&c->dec)) return throw_error(env, "E_INVALID_OPTION", "cannot switch to raw mode inside a frame");
    c->raw = true;
  }
  return undefined(env);
}

static napi_value m_switch_to_frames(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (c) c->raw = false; // the decoder is idle: the next byte starts a header
  return undefined(env);
}

// pause(id, paused) -> true when bytes are pending (call drainPending from a later turn)
static napi_value m_pause(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  bool paused = false;
  napi_get_value_bool(env, argv[1], &paused);
  napi_value r;
  if (!c || c->destroyed) {
    napi_get_boolean(env, false, &r);
    return r;
  }
  c->js_paused = paused;
  update_reading(c);
  napi_get_boolean(env, !paused && (c->pend.len > 0 || c->eof_pending), &r);
  return r;
}

static napi_value m_drain_pending(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (!c || c->destroyed || c->js_paused) return undefined(env);
  if (c->pend.len) {
    qwh_buf mine = c->pend;
    qwh_buf_init(&c->pend);
    process(c, mine.data, mine.len);
    qwh_buf_free(&mine);
    if (!c->destroyed) engine_flush_batch(c);
  }
  if (!c->destroyed && !c->js_paused && !c->pend.len && c->eof_pending) deliver_end(c);
  update_reading(c);
  return undefined(env);
}

static napi_value m_set_output_limit(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  double lim = 0;
  napi_get_value_double(env, argv[1], &lim);
  if (c) c->out_limit = lim > 0 ? static_cast<size_t>(lim) : 0;
  return undefined(env);
}

static napi_value m_end(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (!c || c->destroyed || c->end_requested) return undefined(env);
  c->end_requested = true;
  if (c->tls) {
    qwh_tls_close_notify(c->tls, &c->tls_out);
    send_tls_out(c);
  }
  c->addon->backend->shutdown_write(c);
  return undefined(env);
}

static napi_value m_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  bool silent = false;
  napi_get_value_bool(env, argv[1], &silent);
  if (!c || c->destroyed) return undefined(env);
  c->destroyed = true;
  if (silent) c->close_notified = true;
  c->addon->backend->close(c);
  return undefined(env);
}

// info(id) -> [remoteAddress, remotePort, localPort, bytesIn, bytesOut, unsent]
static napi_value m_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (!c) return undefined(env);
  napi_value arr;
  napi_create_array_with_length(env, 6, &arr);
  napi_set_element(env, arr, 0, str(env, c->remote_addr));
  napi_set_element(env, arr, 1, num(env, c->remote_port));
  napi_set_element(env, arr, 2, num(env, c->local_port));
  napi_set_element(env, arr, 3, num(env, c->bytes_in));
  napi_set_element(env, arr, 4, num(env, c->bytes_out));
  napi_set_element(env, arr, 5, num(env, static_cast<double>(c->unsent)));
  return arr;
}

static void set_prop(napi_env env, napi_value obj, const char *name, napi_value v) { napi_set_named_property(env, obj, name, v); }

static napi_value m_tls_facts(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  napi_value nul;
  napi_get_null(env, &nul);
  if (!c || !c->tls || !qwh_tls_handshake_done(c->tls)) return nul;
  napi_value o;
  napi_create_object(env, &o);
  const char *p = qwh_tls_protocol(c->tls);
  const char *ci = qwh_tls_cipher(c->tls);
  set_prop(env, o, "protocol", p ? str(env, p) : nul);
  set_prop(env, o, "cipher", ci ? str(env, ci) : nul);
  char buf[256];
  set_prop(env, o, "alpn", qwh_tls_alpn(c->tls, buf, sizeof buf) ? str(env, buf) : nul);
  napi_value b;
  napi_get_boolean(env, qwh_tls_authorized(c->tls), &b);
  set_prop(env, o, "authorized", b);
  set_prop(env, o, "peerFingerprint256", qwh_tls_peer_fingerprint256(c->tls, buf, sizeof buf) ? str(env, buf) : nul);
  set_prop(env, o, "localFingerprint256", qwh_tls_local_fingerprint256(c->tls, buf, sizeof buf) ? str(env, buf) : nul);
  return o;
}

// exportKeyingMaterial(id, length, label, context | undefined)
static napi_value m_export(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args(env, info, 4, argv)) return nullptr;
  Conn *c = conn_arg(env, argv[0]);
  if (!c || !c->tls || !qwh_tls_handshake_done(c->tls)) return throw_error(env, "E_INVALID_OPTION", "exportKeyingMaterial needs a TLS connection");
  uint32_t len = 0;
  napi_get_value_uint32(env, argv[1], &len);
  char label[256];
  if (!get_string(env, argv[2], label, sizeof label)) return throw_error(env, "E_INVALID_OPTION", "label too long");
  void *ctx = nullptr;
  size_t ctx_len = 0;
  bool use_ctx = napi_get_buffer_info(env, argv[3], &ctx, &ctx_len) == napi_ok;
  void *out = nullptr;
  napi_value buf;
  if (napi_create_buffer(env, len, &out, &buf) != napi_ok) return nullptr;
  if (qwh_tls_export(c->tls, static_cast<uint8_t *>(out), len, label, strlen(label), static_cast<uint8_t *>(ctx), ctx_len, use_ctx) != QWH_TLS_OK) {
    return throw_error(env, "E_INTERNAL", "TLS exporter failed");
  }
  return buf;
}

// ---------------------------------------------------------------- TLS contexts

static void tls_ctx_finalize(napi_env, void *data, void *) { qwh_tls_ctx_free(static_cast<qwh_tls_ctx *>(data)); }

qwh_tls_ctx *tls_ctx_of(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return nullptr;
  void *d = nullptr;
  napi_get_value_external(env, v, &d);
  return static_cast<qwh_tls_ctx *>(d);
}

static std::string prop_string(napi_env env, napi_value obj, const char *name, bool *present) {
  napi_value v;
  *present = false;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return "";
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) return "";
  size_t n = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &n);
  std::string s(n, '\0');
  napi_get_value_string_utf8(env, v, &s[0], n + 1, &n);
  *present = true;
  return s;
}

static bool prop_bool(napi_env env, napi_value obj, const char *name, bool dflt) {
  napi_value v;
  bool b = dflt;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return dflt;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_boolean) napi_get_value_bool(env, v, &b);
  return b;
}

// tlsContext({server, ca, cert, key, passphrase, alpn: string[], requestCert, rejectUnauthorized, minVersion}) -> external
static napi_value m_tls_context(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  napi_value o = argv[0];
  bool has_ca, has_cert, has_key, has_pass, dummy;
  std::string ca = prop_string(env, o, "ca", &has_ca);
  std::string cert = prop_string(env, o, "cert", &has_cert);
  std::string key = prop_string(env, o, "key", &has_key);
  std::string pass = prop_string(env, o, "passphrase", &has_pass);
  std::string minv = prop_string(env, o, "minVersion", &dummy);
  std::vector<std::string> alpn;
  napi_value arr;
  bool is_arr = false;
  if (napi_get_named_property(env, o, "alpn", &arr) == napi_ok && napi_is_array(env, arr, &is_arr) == napi_ok && is_arr) {
    uint32_t n = 0;
    napi_get_array_length(env, arr, &n);
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      napi_get_element(env, arr, i, &e);
      char b[256];
      if (get_string(env, e, b, sizeof b)) alpn.emplace_back(b);
    }
  }
  std::vector<const char *> alpn_p;
  for (auto &s : alpn) alpn_p.push_back(s.c_str());
  qwh_tls_config cfg{};
  cfg.server = prop_bool(env, o, "server", false);
  cfg.ca = has_ca ? ca.c_str() : nullptr;
  cfg.cert = has_cert ? cert.c_str() : nullptr;
  cfg.key = has_key ? key.c_str() : nullptr;
  cfg.passphrase = has_pass ? pass.c_str() : nullptr;
  cfg.alpn = alpn_p.data();
  cfg.alpn_count = alpn_p.size();
  cfg.request_cert = prop_bool(env, o, "requestCert", false);
  cfg.reject_unauthorized = prop_bool(env, o, "rejectUnauthorized", true);
  cfg.min_version = minv == "TLSv1.3" ? 13 : 12;
  char err[256] = "";
  qwh_tls_ctx *ctx = qwh_tls_ctx_new(&cfg, err, sizeof err);
  if (!ctx) return throw_error(env, "E_INVALID_OPTION", err[0] ? err : "invalid TLS options");
  napi_value ext;
  if (napi_create_external(env, ctx, tls_ctx_finalize, nullptr, &ext) != napi_ok) {
    qwh_tls_ctx_free(ctx);
    return nullptr;
  }
  return ext;
}

static napi_value m_close_listener(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return nullptr;
  Addon *a = addon_of(env);
  uint32_t id = 0;
  napi_get_value_uint32(env, argv[0], &id);
  auto it = a->listeners.find(id);
  if (it != a->listeners.end() && !it->second->closed) {
    it->second->closed = true;
    a->backend->close_listener(it->second);
  }
  return undefined(env);
}

static napi_value m_stats(napi_env env, napi_callback_info) {
  Addon *a = addon_of(env);
  napi_value o;
  napi_create_object(env, &o);
  set_prop(env, o, "connections", num(env, static_cast<double>(a->live_conns)));
  set_prop(env, o, "listeners", num(env, static_cast<double>(a->live_listeners)));
  set_prop(env, o, "handles", num(env, a->open_handles));
  return o;
}

// ---------------------------------------------------------------- life cycle

static void maybe_free_addon(Addon *a) {
  if (!a->finalized || a->open_handles > 0) return;
  qwh_buf_free(&a->plain);
  if (a->backend->free_state) a->backend->free_state(a->backend_state);
  delete a;
}

void engine_handle_released(Addon *a) {
  a->open_handles--;
  if (a->open_handles == 0 && a->cleanup) {
    napi_async_cleanup_hook_handle h = a->cleanup;
    a->cleanup = nullptr;
    napi_remove_async_cleanup_hook(h);
  }
  maybe_free_addon(a);
}

static void async_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  Addon *a = static_cast<Addon *>(arg);
  a->tearing_down = true;
  backend_teardown(a); // closes every handle; the last close callback removes the hook
  if (a->open_handles == 0 && a->cleanup) {
    a->cleanup = nullptr;
    napi_remove_async_cleanup_hook(handle);
  }
}

static void finalize_addon(napi_env env, void *data, void *) {
  Addon *a = static_cast<Addon *>(data);
  a->tearing_down = true;
  if (a->dispatch) napi_delete_reference(env, a->dispatch);
  a->dispatch = nullptr;
  if (a->actx) napi_async_destroy(env, a->actx);
  a->actx = nullptr;
  a->finalized = true;
  maybe_free_addon(a);
}

napi_value engine_init_module(napi_env env, napi_value exports, const Backend *backend, void *backend_state) {
  Addon *a = new Addon();
  a->env = env;
  a->backend = backend;
  a->backend_state = backend_state;
  qwh_buf_init(&a->plain);
  NAPI_OK(napi_get_uv_event_loop(env, &a->loop));
  napi_value name;
  NAPI_OK(napi_create_string_utf8(env, backend->name, NAPI_AUTO_LENGTH, &name));
  NAPI_OK(napi_async_init(env, nullptr, name, &a->actx));
  NAPI_OK(napi_set_instance_data(env, a, finalize_addon, nullptr));
  NAPI_OK(napi_add_async_cleanup_hook(env, async_cleanup, a, &a->cleanup));
  struct {
    const char *name;
    napi_callback cb;
  } methods[] = {
      {"setDispatch", m_set_dispatch},       {"connect", backend_connect},
      {"listen", backend_listen},            {"listenerAddress", backend_listener_address},
      {"closeListener", m_close_listener},   {"write", m_write},
      {"setLimits", m_set_limits},           {"refuseData", m_refuse_data},
      {"switchToRaw", m_switch_to_raw},      {"switchToFrames", m_switch_to_frames},
      {"pause", m_pause},
      {"drainPending", m_drain_pending},     {"setOutputLimit", m_set_output_limit},
      {"end", m_end},                        {"destroy", m_destroy},
      {"info", m_info},                      {"tlsFacts", m_tls_facts},
      {"exportKeyingMaterial", m_export},    {"tlsContext", m_tls_context},
      {"stats", m_stats},
  };
  for (auto &m : methods) {
    napi_value fn;
    NAPI_OK(napi_create_function(env, m.name, NAPI_AUTO_LENGTH, m.cb, nullptr, &fn));
    NAPI_OK(napi_set_named_property(env, exports, m.name, fn));
  }
  NAPI_OK(napi_set_named_property(env, exports, "backend", name));
  return exports;
}

} // namespace qwh
