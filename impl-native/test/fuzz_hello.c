/* libFuzzer target: strict JSON, hello classification, negotiation (with "resume" enabled for half of
 * the inputs), the hello and accept members "resume", the client's accept check and JCS on arbitrary bytes. */
#include "../core/qwh_core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_server_policy p;
  qwh_server_policy_defaults(&p);
  static const char *const features[] = {"control"};
  p.features = features;
  p.n_features = 1;
  p.legacy_allowed = size > 0 && (data[0] & 1);
  p.resume = size > 0 && (data[0] & 2);
  if (p.resume) p.qwh_minor = 1;
  qwh_decision d;
  qwh_decide(&a, data, size, &p, &d);
  qwh_json *v;
  if (qwh_json_parse(&a, data, size, &v) == QWH_JSON_OK) {
    qwh_hello_resume hr;
    qwh_accept_resume ar;
    qwh_hello_resume_parse(qwh_json_get(v, "resume"), &hr);
    qwh_named_session named = {{0}, 10, 4, 4194304};
    qwh_accept_resume_check(qwh_json_get(v, "resume"), true, 4194304, size > 1 && (data[1] & 1) ? &named : NULL, &ar);
    qwh_buf b;
    qwh_buf_init(&b);
    qwh_jcs_write(v, &b);
    qwh_buf_free(&b);
  }
  qwh_arena_free(&a);
  return 0;
}
