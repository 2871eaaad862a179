/*
 * qwh-native: the standalone C implementation of QWH/1 (backends "posix" and
 * "lws"), speaking the conformance adapter contract:
 *
 *   qwh-native [--backend posix|libsocket|lws] codec
 *   qwh-native [--backend ...] info      (one line: {"features":[...]}, the optional features)
 *   qwh-native [--backend ...] serve   --port P [--host H] [--config JSON] [--tls-cert F --tls-key F --tls-ca F]
 *   qwh-native [--backend ...] connect --port P [--host H] [--scenario S] [--config JSON] [--tls-*]
 *
 * Exit 127 for a mode, scenario or configuration this build does not support.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cli.h"

cli_globals g_cli;

/*
 * SIGTERM/SIGINT set g_cli.stop and write a byte to a pipe whose read end the loop watches: a loop
 * that waits for events and timers only wakes at once, even when the signal comes between its
 * look at the flag and its wait (which the interrupted wait alone would miss). The lws loop adopts
 * the read end like any descriptor: lws 4.1's signal handling (signal_cb) needs an event library
 * such as libuv, and lws_cancel_service() is documented for other threads, not signal handlers.
 */
static volatile sig_atomic_t sig_wfd = -1;
static qwh_watch sig_watch = {-1, NULL, NULL, 0};

static void on_sig_pipe(qwh_watch *w, uint32_t events) {
  (void)events;
  char b[64];
  while (read(w->fd, b, sizeof b) > 0) {}
}

int cli_loop_init(qwh_loop *l) {
  if (g_cli.lws ? qwh_loop_init_lws(l) : qwh_loop_init(l)) return -1;
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
    qwh_loop_free(l);
    return -1;
  }
  sig_watch = (qwh_watch){p[0], on_sig_pipe, NULL, 0};
  if (qwh_loop_watch(l, &sig_watch, EPOLLIN, 1) != 0) { /* the read end is closed */
    close(p[1]);
    qwh_loop_free(l);
    return -1;
  }
  sig_wfd = p[1];
  return 0;
}

void cli_loop_free(qwh_loop *l) {
  int w = sig_wfd;
  sig_wfd = -1;
  if (w >= 0) close(w);
  qwh_loop_close_fd(l, &sig_watch);
  qwh_loop_free(l);
}

int cli_wait_ms(int64_t due) {
  if (due == INT64_MAX) return -1;
  int64_t left = due - qwh_monotonic_ms();
  return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

void out_line(const qwh_buf *b) {
  fwrite(b->data, 1, b->len, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  qwh_buf b;
  qwh_buf_init(&b);
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) qwh_buf_append(&b, tmp, n);
  fclose(f);
  qwh_buf_putc(&b, 0);
  return (char *)b.data;
}

static void on_signal(int sig) {
  (void)sig;
  int e = errno;
  g_cli.stop = 1;
  int w = sig_wfd;
  if (w >= 0 && write(w, "", 1) < 0) { /* full: a byte is already waiting */
  }
  errno = e;
}

static void usage(void) {
  fprintf(stderr,
          "usage: qwh-native [--backend posix|libsocket|lws] MODE ...\n"
          "       qwh-native codec\n"
          "       qwh-native info\n"
          "       qwh-native serve --port P [--host H] [--config JSON] [--tls-cert F --tls-key F --tls-ca F]\n"
          "       qwh-native connect --port P [--host H] [--scenario S] [--config JSON] [--tls-cert F --tls-key F --tls-ca F]\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage();
    return UNSUPPORTED;
  }
  /* Optional leading "--backend posix|libsocket|lws" (the conformance agents' form). */
  if (argc >= 3 && strcmp(argv[1], "--backend") == 0) {
    const char *b = argv[2];
    if (strcmp(b, "lws") == 0) {
      g_cli.lws = true;
      qwh_loop probe;
      if (qwh_loop_init_lws(&probe) != 0) {
        fprintf(stderr, "qwh-native: this build has no libwebsockets (backend lws)\n");
        return UNSUPPORTED;
      }
      qwh_loop_free(&probe);
    } else if (strcmp(b, "posix") != 0 && strcmp(b, "libsocket") != 0) {
      usage();
      return 2;
    }
    argv += 2;
    argc -= 2;
    if (argc < 2) {
      usage();
      return UNSUPPORTED;
    }
  }
  const char *mode = argv[1];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(mode, "codec") == 0) return run_codec();
  if (strcmp(mode, "info") == 0) { /* the optional features this build exercises (spec Appendix D.1) */
    printf(
        "{\"name\":\"qwh-native\",\"implementation\":\"impl-native (C), backend %s\",\"features\":"
        "[\"control\",\"raw\",\"legacy\",\"bare\",\"tls\",\"sign\",\"heartbeat\",\"resume\"]}\n",
        g_cli.lws ? "lws" : "posix");
    return fflush(stdout) == 0 ? 0 : 2;
  }
  bool serve = strcmp(mode, "serve") == 0;
  if (!serve && strcmp(mode, "connect") != 0) {
    fprintf(stderr, "qwh-native: unsupported mode %s\n", mode);
    return UNSUPPORTED;
  }
  const char *host = "127.0.0.1", *config_text = "{}", *scenario = "echo";
  long port = 0;
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!val) {
      usage();
      return 2;
    }
    char *end = NULL;
    if (strcmp(arg, "--port") == 0) {
      port = strtol(val, &end, 10);
      if (!*val || *end) port = -1;
    } else if (strcmp(arg, "--host") == 0) {
      host = val;
    } else if (strcmp(arg, "--config") == 0) {
      config_text = val;
    } else if (strcmp(arg, "--scenario") == 0) {
      scenario = val;
    } else if (strcmp(arg, "--tls-cert") == 0 || strcmp(arg, "--tls-key") == 0 || strcmp(arg, "--tls-ca") == 0) {
      char *pem = read_file(val);
      if (!pem) {
        fprintf(stderr, "qwh-native: cannot read %s\n", val);
        return 2;
      }
      char **slot = strcmp(arg, "--tls-cert") == 0 ? &g_cli.tls_cert : strcmp(arg, "--tls-key") == 0 ? &g_cli.tls_key : &g_cli.tls_ca;
      free(*slot);
      *slot = pem;
      g_cli.tls = true;
    } else {
      usage();
      return 2;
    }
    i++;
  }
  if (port < 0 || port > 65535) {
    usage();
    return 2;
  }
  config cfg;
  int rc = config_load(&cfg, config_text, serve ? QWH_SERVER : QWH_CLIENT);
  if (rc == 0) rc = tls_setup(&cfg, serve);
  if (rc == 0)
    rc = serve ? run_serve(&cfg, host, (uint16_t)port) : run_connect(&cfg, host, (uint16_t)port, scenario);
  else
    fprintf(stderr, "qwh-native: %s --config\n", rc == UNSUPPORTED ? "unsupported" : "malformed");
  config_free(&cfg);
  free(g_cli.tls_cert);
  free(g_cli.tls_key);
  free(g_cli.tls_ca);
  return rc;
}
