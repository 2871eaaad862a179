/* libFuzzer target: the frame receiver (open phase, control on) under an input-chosen chunking. */
#include "../core/qwh_core.h"

static qwh_code on_msg(void *u, const uint8_t *p, size_t n) {
  (void)u, (void)p, (void)n;
  return QWH_OK;
}
static qwh_code on_close(void *u, const qwh_close_info *i) {
  (void)u, (void)i;
  return QWH_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  qwh_receiver rx;
  qwh_receiver_handlers h = {on_msg, on_msg, on_msg, on_close};
  qwh_receiver_init(&rx, &h, NULL, (uint32_t)data[0] * 64u, (data[1] & 1) != 0);
  size_t step = (size_t)(data[1] >> 1) + 1, off = 2;
  qwh_code rc = QWH_OK;
  while (off < size && rc == QWH_OK) {
    size_t n = size - off < step ? size - off : step;
    rc = qwh_receiver_push(&rx, data + off, n, NULL);
    off += n;
  }
  if (rc == QWH_OK) qwh_receiver_end(&rx);
  qwh_receiver_free(&rx);
  return 0;
}
