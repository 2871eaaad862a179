// N-API helpers and the connection set-up shared by both addons: argument and
// option parsing, errors thrown to JS, and the sockets made on the JS thread
// (a non-blocking dial, a listening socket) before a backend takes them over.
#pragma once

#include <node_api.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

extern "C" {
#include "../core/tls_bio.h"
}
#include "../io/socket.h"

namespace qwh {

struct Addon;
struct Conn;
struct Listener;

// ---- values and arguments
Addon *addon_of(napi_env env);
napi_value undefined(napi_env env);
napi_value str(napi_env env, const char *s);
napi_value num(napi_env env, double d);
napi_value throw_error(napi_env env, const char *code, const char *msg);          // returns nullptr
napi_value sys_error(napi_env env, const char *what, int err);                    // E_SOCKET "what: strerror"
bool args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);  // missing ones are undefined
bool get_string(napi_env env, napi_value v, char *buf, size_t len);
// Options objects: a property counts when present and neither undefined nor null.
bool get_prop(napi_env env, napi_value o, const char *name, napi_value *v);
int int_prop(napi_env env, napi_value o, const char *name, int dflt);
bool bool_prop(napi_env env, napi_value o, const char *name, bool dflt);
void set_prop(napi_env env, napi_value obj, const char *name, napi_value v);
qwh_tls_ctx *tls_ctx_of(napi_env env, napi_value v);  // a tlsContext() external, or null

// ---- sockets (io/socket.c, shared with the CLI)
inline void tune_socket(int fd, bool keep_alive, int keep_alive_delay_ms) {
  qwh_socket_tune(fd, keep_alive, keep_alive_delay_ms);
}  // TCP_NODELAY, keep-alive
// Sends as much of p[0..n) as the socket takes now (EINTR retried); *sent: the bytes taken.
// Returns 0 (all sent, or the socket is full) or the errno of a failed send.
inline int send_some(int fd, const uint8_t *p, size_t n, size_t *sent) { return qwh_socket_send(fd, p, n, sent); }
inline int send_some_v(int fd, const struct iovec *iov, int n, size_t *sent) { return qwh_socket_sendv(fd, iov, n, sent); }
// Remote address and port, local port of a connected socket (unchanged when unknown).
inline void socket_peer(int fd, char *remote, size_t remote_len, int *remote_port, int *local_port) {
  qwh_socket_peer(fd, remote, remote_len, remote_port, local_port);
}

// connect(host, port, {tls, sni, verifyHost, keepAlive, keepAliveDelayMs, localAddress, localPort}):
// makes the engine connection and a tuned non-blocking socket (bound when asked) and starts
// connect(). Returns the connection with *fd set and *connect_err = 0 (connecting) or the errno of
// a connect() that failed at once (to be reported from the loop, never inside this call); or
// nullptr with a JS exception pending.
Conn *dial(napi_env env, napi_callback_info info, int *fd, int *connect_err);

// listen(host, port, {backlog, reusePort, tls, keepAlive, keepAliveDelayMs, handshakeTimeoutMs}):
// makes the listening socket and registers the engine Listener. Returns it with *fd, *port and
// *options (the options object) set; or nullptr with a JS exception pending.
Listener *listen_socket(napi_env env, napi_callback_info info, int *fd, int *port, napi_value *options);
// listen()'s return value: [listenerId, port].
napi_value listen_result(napi_env env, const Listener *l, int port);

}  // namespace qwh
