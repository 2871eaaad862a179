/* libFuzzer target: the frame receiver (open phase, control and resume chosen by the input) under an
 * input-chosen chunking; ACKs go to a replay state that has sent three frames. */
#include "../core/qwh_core.h"

static qwh_code on_msg(void *u, const uint8_t *p, size_t n) {
  (void)u, (void)p, (void)n;
  return QWH_OK;
}
static qwh_code on_close(void *u, const qwh_close_info *i) {
  (void)u, (void)i;
  return QWH_OK;
}

static qwh_code on_ack(void *u, bool request, uint64_t count) {
  qwh_resume_state *st = u;
  qwh_code rc = qwh_resume_acknowledge(st, count, QWH_E_PROTOCOL_ERROR);
  if (rc == QWH_OK && request) qwh_resume_report(st);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  qwh_receiver rx;
  qwh_receiver_handlers h = {on_msg, on_msg, on_msg, on_close, on_ack};
  qwh_resume_limits limits = {4, 1000};
  qwh_resume_state st;
  qwh_resume_init(&st, &limits, &limits);
  static const uint8_t frame[7] = {0, 0, 0, 3, 'o', 'n', 'e'};
  for (int i = 0; i < 3; i++) qwh_resume_record(&st, frame, sizeof frame);
  qwh_receiver_init(&rx, &h, &st, (uint32_t)data[0] * 64u, (data[1] & 1) != 0);
  rx.resume = (data[1] & 1) && (data[0] & 1); /* control on and an odd limit byte: ACKs are accepted */
  size_t step = (size_t)(data[1] >> 1) + 1, off = 2;
  qwh_code rc = QWH_OK;
  while (off < size && rc == QWH_OK) {
    size_t n = size - off < step ? size - off : step;
    rc = qwh_receiver_push(&rx, data + off, n, NULL);
    off += n;
  }
  if (rc == QWH_OK) qwh_receiver_end(&rx);
  qwh_receiver_free(&rx);
  qwh_resume_free(&st);
  return 0;
}
