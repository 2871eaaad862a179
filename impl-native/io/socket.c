#define _GNU_SOURCE
#include "socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Literal IPv4 or IPv6 only: names are resolved by the caller. */
int qwh_sockaddr_literal(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
    return AF_INET6;
  }
  errno = EINVAL;
  return -1;
}

uint16_t qwh_sockaddr_port(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  if (ss->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  return 0;
}

static int fail_close(int fd) {
  int e = errno;
  close(fd);
  errno = e;
  return -1;
}

int qwh_listen_tcp_opts(const qwh_listen_opts *o, uint16_t *bound_port) {
  struct sockaddr_storage ss;
  socklen_t len;
  int family = qwh_sockaddr_literal(o->host, o->port, &ss, &len);
  if (family < 0) return -1;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (o->reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, o->backlog > 0 ? o->backlog : 1024) != 0) return fail_close(fd);
  if (bound_port) {
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound_port = qwh_sockaddr_port(&ss);
  }
  return fd;
}

int qwh_listen_tcp(const char *host, uint16_t port, uint16_t *bound_port) {
  qwh_listen_opts o = {host, port, 1024, false};
  return qwh_listen_tcp_opts(&o, bound_port);
}

void qwh_socket_tune(int fd, bool keep_alive, int keep_alive_delay_ms) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!keep_alive) return;
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int secs = keep_alive_delay_ms / 1000 < 1 ? 1 : keep_alive_delay_ms / 1000;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof secs);
}

int qwh_dial_tcp(const qwh_dial_opts *o, int *connect_err, const char **what) {
  struct sockaddr_storage ss;
  socklen_t len;
  *what = "socket";
  int family = qwh_sockaddr_literal(o->host, o->port, &ss, &len);
  if (family < 0) return -1;
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  qwh_socket_tune(fd, o->keep_alive, o->keep_alive_delay_ms);
  if (o->local_address || o->local_port) {
    *what = "bind";
    const char *local = o->local_address && *o->local_address ? o->local_address : family == AF_INET6 ? "::" : "0.0.0.0";
    struct sockaddr_storage ls;
    socklen_t lsl;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (qwh_sockaddr_literal(local, o->local_port, &ls, &lsl) < 0 || bind(fd, (struct sockaddr *)&ls, lsl) != 0) return fail_close(fd);
  }
  *connect_err = connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS ? errno : 0;
  return fd;
}

int qwh_connect_tcp(const char *host, uint16_t port) {
  qwh_dial_opts o = {host, port, NULL, 0, false, 0};
  int err = 0;
  const char *what;
  int fd = qwh_dial_tcp(&o, &err, &what);
  if (fd >= 0 && err) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

int qwh_socket_send(int fd, const uint8_t *p, size_t n, size_t *sent) {
  size_t done = 0;
  int err = 0;
  while (done < n) {
    ssize_t w = send(fd, p + done, n - done, MSG_NOSIGNAL);
    if (w > 0) {
      done += (size_t)w;
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

int qwh_socket_sendv(int fd, const struct iovec *iov, int n, size_t *sent) {
  struct iovec v[QWH_SENDV_MAX];
  int k = 0, count = n < QWH_SENDV_MAX ? n : QWH_SENDV_MAX;
  size_t done = 0;
  int err = 0;
  for (int i = 0; i < count; i++) v[i] = iov[i];
  while (k < count) {
    if (v[k].iov_len == 0) {
      k++;
      continue;
    }
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = v + k;
    m.msg_iovlen = (size_t)(count - k);
    ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (w <= 0) {
      err = w < 0 ? errno : EPIPE;
      break;
    }
    done += (size_t)w;
    for (size_t left = (size_t)w; left > 0 && k < count; k++) {
      if (left < v[k].iov_len) {
        v[k].iov_base = (uint8_t *)v[k].iov_base + left;
        v[k].iov_len -= left;
        break;
      }
      left -= v[k].iov_len;
    }
  }
  *sent = done;
  return err;
}

void qwh_socket_peer(int fd, char *remote, size_t remote_len, int *remote_port, int *local_port) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET)
      inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, remote, (socklen_t)remote_len);
    else if (ss.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, remote, (socklen_t)remote_len);
    *remote_port = qwh_sockaddr_port(&ss);
  }
  sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) *local_port = qwh_sockaddr_port(&ss);
}
