/*
 * Non-blocking TCP sockets for the CLI and the Node addons: literal IPv4/IPv6 addresses only
 * (names are resolved by the caller), listening and dialing sockets, tuning, partial sends.
 * Functions that make a descriptor return it or -1 with errno set.
 */
#ifndef QWH_IO_SOCKET_H
#define QWH_IO_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A literal address: returns its family (AF_INET / AF_INET6), or -1 (errno EINVAL). */
int qwh_sockaddr_literal(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);
/* The port of an AF_INET / AF_INET6 address (0 for any other). */
uint16_t qwh_sockaddr_port(const struct sockaddr_storage *ss);

typedef struct qwh_listen_opts {
  const char *host;
  uint16_t port;
  int backlog;     /* 0: 1024 */
  bool reuse_port; /* SO_REUSEPORT */
} qwh_listen_opts;

/* A non-blocking listening socket (SO_REUSEADDR); *bound_port: the port it got. */
int qwh_listen_tcp_opts(const qwh_listen_opts *o, uint16_t *bound_port);
int qwh_listen_tcp(const char *host, uint16_t port, uint16_t *bound_port);

typedef struct qwh_dial_opts {
  const char *host;
  uint16_t port;
  const char *local_address; /* NULL: any (bound only when local_port is set) */
  uint16_t local_port;
  bool keep_alive;
  int keep_alive_delay_ms;
} qwh_dial_opts;

/*
 * A tuned non-blocking socket, bound when asked, with connect() started. *connect_err: 0
 * (connected or in progress) or the errno of a connect() that failed at once (the descriptor is
 * still returned, for the caller to report from its loop). Returns -1 when the socket cannot be
 * made or bound (errno set; *what names the step: "socket" or "bind").
 */
int qwh_dial_tcp(const qwh_dial_opts *o, int *connect_err, const char **what);
/* A plain dial (TCP_NODELAY, no keep-alive): the descriptor, or -1 when connect() failed at once. */
int qwh_connect_tcp(const char *host, uint16_t port);

/* TCP_NODELAY, and keep-alive probes after keep_alive_delay_ms (at least 1 s) when asked. */
void qwh_socket_tune(int fd, bool keep_alive, int keep_alive_delay_ms);
/* Sends as much of p[0..n) as the socket takes now (EINTR retried); *sent: the bytes taken.
 * Returns 0 (all sent, or the socket is full) or the errno of a failed send. */
int qwh_socket_send(int fd, const uint8_t *p, size_t n, size_t *sent);
/* The most iovecs qwh_socket_sendv takes at once. */
#define QWH_SENDV_MAX 64
/* The same for the n (<= QWH_SENDV_MAX) pieces of iov, gathered by sendmsg(); iov is not changed. */
int qwh_socket_sendv(int fd, const struct iovec *iov, int n, size_t *sent);
/* Remote address and port, local port of a connected socket (left unchanged when unknown). */
void qwh_socket_peer(int fd, char *remote, size_t remote_len, int *remote_port, int *local_port);

#ifdef __cplusplus
}
#endif

#endif
