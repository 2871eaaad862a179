// N-API helpers and connection set-up shared by both addons (see napi_glue.h).
#include "napi_glue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "engine.h"

namespace qwh {

// ---------------------------------------------------------------- values and arguments

Addon *addon_of(napi_env env) {
  void *d = nullptr;
  if (napi_get_instance_data(env, &d) != napi_ok) return nullptr;
  return static_cast<Addon *>(d);
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value str(napi_env env, const char *s) {
  napi_value v;
  if (napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) != napi_ok) return nullptr;
  return v;
}

napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value throw_error(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return nullptr;
}

napi_value sys_error(napi_env env, const char *what, int err) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  return throw_error(env, "E_SOCKET", msg);
}

bool args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  for (size_t i = argc; i < want; i++) argv[i] = undefined(env);
  return true;
}

bool get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t n = 0;
  return napi_get_value_string_utf8(env, v, buf, len, &n) == napi_ok && n < len - 1;
}

bool get_prop(napi_env env, napi_value o, const char *name, napi_value *v) {
  bool has = false;
  if (napi_has_named_property(env, o, name, &has) != napi_ok || !has) return false;
  if (napi_get_named_property(env, o, name, v) != napi_ok) return false;
  napi_valuetype t;
  napi_typeof(env, *v, &t);
  return t != napi_undefined && t != napi_null;
}

int int_prop(napi_env env, napi_value o, const char *name, int dflt) {
  napi_value v;
  int32_t r = dflt;
  if (get_prop(env, o, name, &v)) napi_get_value_int32(env, v, &r);
  return r;
}

bool bool_prop(napi_env env, napi_value o, const char *name, bool dflt) {
  napi_value v;
  bool r = dflt;
  if (get_prop(env, o, name, &v)) napi_get_value_bool(env, v, &r);
  return r;
}

void set_prop(napi_env env, napi_value obj, const char *name, napi_value v) { napi_set_named_property(env, obj, name, v); }

qwh_tls_ctx *tls_ctx_of(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return nullptr;
  void *d = nullptr;
  napi_get_value_external(env, v, &d);
  return static_cast<qwh_tls_ctx *>(d);
}

// ---------------------------------------------------------------- sockets

// (host, port, options) of connect() and listen().
struct Endpoint {
  char host[64] = "";
  uint32_t port = 0;
  sockaddr_storage ss{};
  socklen_t sl = 0;
  napi_value options = nullptr;
};

static bool endpoint_args(napi_env env, napi_callback_info info, const char *what, Endpoint *e) {
  napi_value argv[3];
  if (!args(env, info, 3, argv)) return false;
  napi_get_value_uint32(env, argv[1], &e->port);
  // A literal IPv4 or IPv6 address (names are resolved in JS).
  if (!get_string(env, argv[0], e->host, sizeof e->host) || e->port > 65535 ||
      qwh_sockaddr_literal(e->host, static_cast<uint16_t>(e->port), &e->ss, &e->sl) < 0) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s needs a literal IP address", what);
    throw_error(env, "E_INVALID_OPTION", msg);
    return false;
  }
  napi_valuetype t;
  if (napi_typeof(env, argv[2], &t) != napi_ok || t != napi_object) napi_create_object(env, &argv[2]);
  e->options = argv[2];
  return true;
}

Conn *dial(napi_env env, napi_callback_info info, int *fd_out, int *connect_err) {
  Endpoint e;
  if (!endpoint_args(env, info, "connect", &e)) return nullptr;
  napi_value o = e.options, v;
  qwh_tls_ctx *tls = get_prop(env, o, "tls", &v) ? tls_ctx_of(env, v) : nullptr;
  char sni[256] = "", vhost[256] = "";
  if (get_prop(env, o, "sni", &v)) get_string(env, v, sni, sizeof sni);
  if (get_prop(env, o, "verifyHost", &v)) get_string(env, v, vhost, sizeof vhost);
  char local[64] = "";
  bool has_local = get_prop(env, o, "localAddress", &v);
  if (has_local) get_string(env, v, local, sizeof local);
  int local_port = int_prop(env, o, "localPort", 0);
  qwh_dial_opts d = {e.host,
                     static_cast<uint16_t>(e.port),
                     has_local ? local : nullptr,
                     static_cast<uint16_t>(local_port < 0 || local_port > 65535 ? 0 : local_port),
                     bool_prop(env, o, "keepAlive", true),
                     int_prop(env, o, "keepAliveDelayMs", 30000)};
  int cerr = 0;
  const char *what = "socket";
  int fd = qwh_dial_tcp(&d, &cerr, &what);
  if (fd < 0) return sys_error(env, what, errno ? errno : EINVAL), nullptr;
  char err[256] = "";
  Conn *c = engine_new_conn(addon_of(env), false, 0, tls, sni[0] ? sni : nullptr, vhost[0] ? vhost : nullptr, err, sizeof err);
  if (!c) {
    close(fd);
    return throw_error(env, "E_TLS_HANDSHAKE", err[0] ? err : "TLS set-up failed"), nullptr;
  }
  *fd_out = fd;
  *connect_err = cerr;
  return c;
}

Listener *listen_socket(napi_env env, napi_callback_info info, int *fd_out, int *port_out, napi_value *options) {
  Endpoint e;
  if (!endpoint_args(env, info, "listen", &e)) return nullptr;
  napi_value o = e.options, v;
  qwh_listen_opts lo = {e.host, static_cast<uint16_t>(e.port), int_prop(env, o, "backlog", 511), bool_prop(env, o, "reusePort", false)};
  uint16_t bound = 0;
  int fd = qwh_listen_tcp_opts(&lo, &bound);
  if (fd < 0) {
    int err = errno;
    char msg[200];
    snprintf(msg, sizeof msg, "listen %s:%u: %s: %s", e.host, e.port, err == EADDRINUSE ? "EADDRINUSE" : "failed", strerror(err));
    return throw_error(env, "E_SOCKET", msg), nullptr;
  }
  Addon *a = addon_of(env);
  Listener *l = new Listener();
  l->addon = a;
  l->id = a->next_id++;
  l->tls = get_prop(env, o, "tls", &v) ? tls_ctx_of(env, v) : nullptr;
  l->keep_alive = bool_prop(env, o, "keepAlive", true);
  l->keep_alive_delay_ms = int_prop(env, o, "keepAliveDelayMs", 30000);
  l->handshake_timeout_ms = int_prop(env, o, "handshakeTimeoutMs", 10000);
  a->listeners[l->id] = l;
  a->live_listeners++;
  engine_listener_opened(l);
  *fd_out = fd;
  *port_out = bound;
  *options = o;
  return l;
}

napi_value listen_result(napi_env env, const Listener *l, int port) {
  napi_value arr, id, p;
  napi_create_array_with_length(env, 2, &arr);
  napi_create_uint32(env, l->id, &id);
  napi_create_uint32(env, static_cast<uint32_t>(port), &p);
  napi_set_element(env, arr, 0, id);
  napi_set_element(env, arr, 1, p);
  return arr;
}

}  // namespace qwh
