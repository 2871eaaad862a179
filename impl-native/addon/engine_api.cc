// The methods both addons export to JS (connection control, TLS facts and
// contexts, stats), the listeners' TLS handshake deadlines and the module's life
// cycle (instance data, async cleanup).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine.h"

namespace qwh {

#define NAPI_OK(call)                      \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

// ---------------------------------------------------------------- exported methods

// The arguments of a connection method; returns the connection argv[0] names (null when gone).
static Conn *conn_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  Addon *a = addon_of(env);
  uint32_t id = 0;
  if (!a || !args(env, info, want, argv) || napi_get_value_uint32(env, argv[0], &id) != napi_ok) return nullptr;
  auto it = a->conns.find(id);
  return it == a->conns.end() ? nullptr : it->second;
}

// setDispatch(fn, table?): fn(type, id, a, b) gets every event; `table`, a Uint32Array, receives
// the [kind, offset, length] entries of each batch that fits in it (see engine.h).
static napi_value m_set_dispatch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return nullptr;
  Addon *a = addon_of(env);
  if (a->dispatch) napi_delete_reference(env, a->dispatch);
  a->dispatch = nullptr;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_function) napi_create_reference(env, argv[0], 1, &a->dispatch);
  if (a->table_ref) napi_delete_reference(env, a->table_ref);
  a->table_ref = nullptr;
  a->table = nullptr;
  a->table_frames = 0;
  bool typed = false;
  napi_is_typedarray(env, argv[1], &typed);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = nullptr;
  if (typed && napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) == napi_ok && type == napi_uint32_array &&
      length >= 3 && napi_create_reference(env, argv[1], 1, &a->table_ref) == napi_ok) {
    a->table = static_cast<uint32_t *>(data);
    a->table_frames = length / 3;
  }
  return undefined(env);
}

// write(id, buffer | buffer[]) -> unsent bytes (-1 when the connection is gone)
static napi_value m_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Conn *c = conn_args(env, info, 2, argv);
  if (!c || c->closing()) return num(env, -1);
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  uint32_t count = 1;
  if (is_array) napi_get_array_length(env, argv[1], &count);
  // Up to QWH_SENDV_MAX pieces at a time go out with one gathered send.
  struct iovec iov[QWH_SENDV_MAX];
  int n = 0;
  for (uint32_t i = 0; i < count && !c->closing(); i++) {
    napi_value b = argv[1];
    if (is_array) napi_get_element(env, argv[1], i, &b);
    void *data = nullptr;
    size_t len = 0;
    if (napi_get_buffer_info(env, b, &data, &len) != napi_ok) {
      napi_typedarray_type tt;
      napi_value ab;
      size_t off;
      if (napi_get_typedarray_info(env, b, &tt, &len, &data, &ab, &off) != napi_ok)
        return throw_error(env, "E_INTERNAL", "write takes Buffers");
    }
    iov[n].iov_base = data;
    iov[n].iov_len = len;
    if (++n == QWH_SENDV_MAX || i + 1 == count) {
      if (!engine_writev(c, iov, n)) return num(env, -1);
      n = 0;
    }
  }
  return num(env, static_cast<double>(c->unsent));
}

// setLimits(id, maxFrameLength, control, handshake)
static napi_value m_set_limits(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  Conn *c = conn_args(env, info, 4, argv);
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
  Conn *c = conn_args(env, info, 1, argv);
  if (c) qwh_decoder_refuse_data(&c->dec);
  return undefined(env);
}

static napi_value m_switch_to_raw(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn *c = conn_args(env, info, 1, argv);
  if (c) {
    if (!qwh_decoder_idle(&c->dec)) return throw_error(env, "E_INVALID_OPTION", "cannot switch to raw mode inside a frame");
    c->raw = true;
  }
  return undefined(env);
}

static napi_value m_switch_to_frames(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn *c = conn_args(env, info, 1, argv);
  if (c) c->raw = false;  // the decoder is idle: the next byte starts a header
  return undefined(env);
}

// pause(id, paused) -> true when bytes are pending (call drainPending from a later turn)
static napi_value m_pause(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Conn *c = conn_args(env, info, 2, argv);
  bool paused = false;
  napi_get_value_bool(env, argv[1], &paused);
  napi_value r;
  if (!c || c->closing()) {
    napi_get_boolean(env, false, &r);
    return r;
  }
  napi_get_boolean(env, engine_pause(c, paused), &r);
  return r;
}

static napi_value m_drain_pending(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn *c = conn_args(env, info, 1, argv);
  if (!c || c->closing() || c->js_paused) return undefined(env);
  engine_drain_pending(c);
  return undefined(env);
}

static napi_value m_set_output_limit(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Conn *c = conn_args(env, info, 2, argv);
  double lim = 0;
  napi_get_value_double(env, argv[1], &lim);
  if (c) c->out_limit = lim > 0 ? static_cast<size_t>(lim) : 0;
  return undefined(env);
}

static napi_value m_end(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn *c = conn_args(env, info, 1, argv);
  if (!c || c->closing() || c->end_requested) return undefined(env);
  engine_end(c);
  return undefined(env);
}

static napi_value m_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Conn *c = conn_args(env, info, 2, argv);
  bool silent = false;
  napi_get_value_bool(env, argv[1], &silent);
  if (!c || c->closing()) return undefined(env);
  engine_destroy(c, silent);
  return undefined(env);
}

// info(id) -> [remoteAddress, remotePort, localPort, bytesIn, bytesOut, unsent]
static napi_value m_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn *c = conn_args(env, info, 1, argv);
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

static napi_value m_tls_facts(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn *c = conn_args(env, info, 1, argv);
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
  Conn *c = conn_args(env, info, 4, argv);
  if (!c || !c->tls || !qwh_tls_handshake_done(c->tls))
    return throw_error(env, "E_INVALID_OPTION", "exportKeyingMaterial needs a TLS connection");
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
  if (qwh_tls_export(c->tls, static_cast<uint8_t *>(out), len, label, strlen(label), static_cast<uint8_t *>(ctx), ctx_len, use_ctx) !=
      QWH_TLS_OK) {
    return throw_error(env, "E_INTERNAL", "TLS exporter failed");
  }
  return buf;
}

// ---------------------------------------------------------------- TLS contexts

static void tls_ctx_finalize(napi_env, void *data, void *) { qwh_tls_ctx_free(static_cast<qwh_tls_ctx *>(data)); }

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
  if (a->backend->stats) a->backend->stats(a, o);
  return o;
}

// ---------------------------------------------------------------- TLS handshake deadlines

static void expire_tls_handshakes(Listener *l) {
  Addon *a = l->addon;
  if (!l->tls || a->tearing_down) return;
  uint64_t now = uv_now(a->loop), limit = static_cast<uint64_t>(l->handshake_timeout_ms);
  std::vector<Conn *> late;
  for (auto &kv : a->conns) {
    Conn *c = kv.second;
    if (c->server && c->listener_id == l->id && c->tls && c->phase == Phase::Connecting && now - c->created_ms >= limit) late.push_back(c);
  }
  for (Conn *c : late) engine_socket_error(c, "TLS handshake timed out");
}

static void on_tls_deadline(uv_timer_t *t) {
  Addon *a = static_cast<Addon *>(t->data);
  std::vector<Listener *> tls;
  for (auto &kv : a->listeners)
    if (kv.second->tls && !kv.second->closed) tls.push_back(kv.second);
  for (Listener *l : tls) expire_tls_handshakes(l);
}

static void update_tls_deadline(Addon *a) {
  if (a->tearing_down) return;
  uint64_t every = 0;
  for (auto &kv : a->listeners) {
    const Listener *l = kv.second;
    if (!l->tls || l->closed) continue;
    uint64_t e = static_cast<uint64_t>(l->handshake_timeout_ms / 4 + 1);
    if (e > 250) e = 250;
    if (every == 0 || e < every) every = e;
  }
  if (every == 0) return engine_close_handles(a);
  if (!a->tls_deadline) {
    a->tls_deadline = new uv_timer_t();
    uv_timer_init(a->loop, a->tls_deadline);
    a->tls_deadline->data = a;
    uv_unref(reinterpret_cast<uv_handle_t *>(a->tls_deadline));
    a->open_handles++;
  }
  uv_timer_start(a->tls_deadline, on_tls_deadline, every, every);
}

void engine_listener_opened(Listener *l) {
  if (l->tls) update_tls_deadline(l->addon);
}

void engine_listener_closed(Listener *l) {
  Addon *a = l->addon;
  bool tls = l->tls != nullptr;
  a->listeners.erase(l->id);
  a->live_listeners--;
  delete l;
  if (tls) update_tls_deadline(a);
}

static void on_tls_deadline_closed(uv_handle_t *h) {
  Addon *a = static_cast<Addon *>(h->data);
  delete reinterpret_cast<uv_timer_t *>(h);
  engine_handle_released(a);  // may free a
}

void engine_close_handles(Addon *a) {
  if (!a->tls_deadline) return;
  uv_close(reinterpret_cast<uv_handle_t *>(a->tls_deadline), on_tls_deadline_closed);
  a->tls_deadline = nullptr;
}

// ---------------------------------------------------------------- life cycle

static void maybe_free_addon(Addon *a) {
  if (!a->finalized || a->open_handles > 0) return;
  qwh_buf_free(&a->plain);
  free(a->rbuf);
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
  backend_teardown(a);  // closes every handle; the last close callback removes the hook
  engine_close_handles(a);
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
  if (a->table_ref) napi_delete_reference(env, a->table_ref);
  a->table_ref = nullptr;
  a->table = nullptr;
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
      {"setDispatch", m_set_dispatch},
      {"connect", backend_connect},
      {"listen", backend_listen},
      {"listenerAddress", backend_listener_address},
      {"closeListener", m_close_listener},
      {"write", m_write},
      {"setLimits", m_set_limits},
      {"refuseData", m_refuse_data},
      {"switchToRaw", m_switch_to_raw},
      {"switchToFrames", m_switch_to_frames},
      {"pause", m_pause},
      {"drainPending", m_drain_pending},
      {"setOutputLimit", m_set_output_limit},
      {"end", m_end},
      {"destroy", m_destroy},
      {"info", m_info},
      {"tlsFacts", m_tls_facts},
      {"exportKeyingMaterial", m_export},
      {"tlsContext", m_tls_context},
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

}  // namespace qwh
