/* Built when libwebsockets is not found: the lws loop (the CLI's backend "lws") is unavailable. */
#include "loop_impl.h"

int qwh_loop_init_lws(qwh_loop *l) {
  (void)l;
  return -1;
}
void qwh_lws_free(qwh_loop *l) { (void)l; }
int qwh_lws_watch(qwh_loop *l, qwh_watch *w, uint32_t events, int add) {
  (void)l, (void)w, (void)events, (void)add;
  return -1;
}
void qwh_lws_unwatch(qwh_loop *l, qwh_watch *w) { (void)l, (void)w; }
void qwh_lws_close_fd(qwh_loop *l, qwh_watch *w) { (void)l, (void)w; }
int qwh_lws_poll(qwh_loop *l, int timeout_ms) {
  (void)l, (void)timeout_ms;
  return -1;
}
