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

void tune_socket(int fd, bool keep_alive, int keep_alive_delay_ms) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!keep_alive) return;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int secs = keep_alive_delay_ms / 1000 < 1 ? 1 : keep_alive_delay_ms / 1000;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
}

int send_some(int fd, const uint8_t *p, size_t n, size_t *sent) {
  size_t done = 0;
  int err = 0;
  while (done < n) {
    ssize_t w = send(fd, p + done, n - done, MSG_NOSIGNAL);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    err = w < 0 ? errno : EPIPE;
    break;
  }
  *sent = done;
  return err;
}

static int port_of(const sockaddr_storage &ss) {
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6 *>(&ss)->sin6_port);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in *>(&ss)->sin_port);
  return 0;
}

void socket_peer(int fd, char *remote, size_t remote_len, int *remote_port, int *local_port) {
  sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &sl) == 0) {
    if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in *>(&ss)->sin_addr, remote, static_cast<socklen_t>(remote_len));
    else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_addr, remote, static_cast<socklen_t>(remote_len));
    *remote_port = port_of(ss);
  }
  sl = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &sl) == 0) *local_port = port_of(ss);
}

// A literal IPv4 or IPv6 address (names are resolved in JS, where the lookup does not block the loop).
static bool make_addr(const char *host, uint32_t port, sockaddr_storage *ss, socklen_t *sl) {
  memset(ss, 0, sizeof *ss);
  auto *in = reinterpret_cast<sockaddr_in *>(ss);
  auto *in6 = reinterpret_cast<sockaddr_in6 *>(ss);
  if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    *sl = sizeof *in;
    return true;
  }
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    *sl = sizeof *in6;
    return true;
  }
  return false;
}

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
  if (!get_string(env, argv[0], e->host, sizeof e->host) || !make_addr(e->host, e->port, &e->ss, &e->sl)) {
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
  int fd = socket(e.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(env, "socket", errno), nullptr;
  tune_socket(fd, bool_prop(env, o, "keepAlive", true), int_prop(env, o, "keepAliveDelayMs", 30000));
  bool has_local = get_prop(env, o, "localAddress", &v);
  if (has_local || get_prop(env, o, "localPort", &v)) {
    char local[64] = "";
    if (has_local) get_string(env, v, local, sizeof local);
    if (!local[0]) snprintf(local, sizeof local, "%s", e.ss.ss_family == AF_INET6 ? "::" : "0.0.0.0");
    sockaddr_storage ls;
    socklen_t lsl;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!make_addr(local, static_cast<uint32_t>(int_prop(env, o, "localPort", 0)), &ls, &lsl) || bind(fd, reinterpret_cast<sockaddr *>(&ls), lsl) != 0) {
      int err = errno ? errno : EINVAL;
      close(fd);
      return sys_error(env, "bind", err), nullptr;
    }
  }
  char err[256] = "";
  Conn *c = engine_new_conn(addon_of(env), false, 0, tls, sni[0] ? sni : nullptr, vhost[0] ? vhost : nullptr, err, sizeof err);
  if (!c) {
    close(fd);
    return throw_error(env, "E_TLS_HANDSHAKE", err[0] ? err : "TLS set-up failed"), nullptr;
  }
  *fd_out = fd;
  *connect_err = connect(fd, reinterpret_cast<sockaddr *>(&e.ss), e.sl) != 0 && errno != EINPROGRESS ? errno : 0;
  return c;
}

Listener *listen_socket(napi_env env, napi_callback_info info, int *fd_out, int *port_out, napi_value *options) {
  Endpoint e;
  if (!endpoint_args(env, info, "listen", &e)) return nullptr;
  napi_value o = e.options, v;
  int fd = socket(e.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(env, "socket", errno), nullptr;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bool_prop(env, o, "reusePort", false)) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr *>(&e.ss), e.sl) != 0 || listen(fd, int_prop(env, o, "backlog", 511)) != 0) {
    int err = errno;
    close(fd);
    char msg[200];
    snprintf(msg, sizeof msg, "listen %s:%u: %s: %s", e.host, e.port, err == EADDRINUSE ? "EADDRINUSE" : "failed", strerror(err));
    return throw_error(env, "E_SOCKET", msg), nullptr;
  }
  sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &bl);
  Addon *a = addon_of(env);
  Listener *l = new Listener();
  l->addon = a;
  l->id = a->next_id++;
  l->tls = get_prop(env, o, "tls", &v) ? tls_ctx_of(env, v) : nullptr;
  l->keep_alive = bool_prop(env, o, "keepAlive", true);
  l->keep_alive_delay_ms = int_prop(env, o, "keepAliveDelayMs", 30000);
  a->listeners[l->id] = l;
  a->live_listeners++;
  *fd_out = fd;
  *port_out = port_of(bound);
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

} // namespace qwh
