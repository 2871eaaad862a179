#include "lws_context.h"

#include <string.h>
#include <sys/resource.h>

int qwh_lws_context_new(const struct lws_protocols *protocols, const char *vhost_name, void *user, size_t serv_buf_size,
                        struct lws_context **ctx, struct lws_vhost **vh, const char **err) {
  lws_set_log_level(LLL_ERR, NULL);
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = protocols;
  info.user = user;
  info.pt_serv_buf_size = (unsigned int)serv_buf_size;
  info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
  struct rlimit rl;
  rlim_t fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  if (fds == RLIM_INFINITY || fds > QWH_LWS_MAX_FDS) fds = QWH_LWS_MAX_FDS;
  if (fds < 64) fds = 64;
  info.fd_limit_per_thread = (unsigned int)fds;
  *ctx = lws_create_context(&info);
  *vh = NULL;
  if (!*ctx) {
    *err = "lws_create_context failed";
    return -1;
  }
  struct lws_context_creation_info vi;
  memset(&vi, 0, sizeof vi);
  vi.port = CONTEXT_PORT_NO_LISTEN;
  vi.protocols = protocols;
  vi.vhost_name = vhost_name;
  *vh = lws_create_vhost(*ctx, &vi);
  if (!*vh) {
    lws_context_destroy(*ctx);
    *ctx = NULL;
    *err = "lws_create_vhost failed";
    return -1;
  }
  return 0;
}
