/* qwh-native codec: JSON lines {id, op, params, input, chunks?} on stdin -> {id, ok, output | error}. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "../codec/codec_ops.h"
#include "cli.h"

int run_codec(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  qwh_buf out;
  qwh_buf_init(&out);
  while ((n = getline(&line, &cap, stdin)) > 0) {
    qwh_arena a;
    qwh_arena_init(&a);
    qwh_json *req, *resp = qwh_json_object(&a);
    size_t len = (size_t)n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    if (len == 0) {
      qwh_arena_free(&a);
      continue;
    }
    if (qwh_json_parse(&a, (const uint8_t *)line, len, &req) != QWH_JSON_OK || req->type != QWH_JSON_OBJECT) {
      qwh_json *err = qwh_json_object(&a);
      qwh_json_set(&a, err, "code", qwh_json_cstring(&a, "bad-request"));
      qwh_json_set(&a, err, "message", qwh_json_cstring(&a, "not a JSON object"));
      qwh_json_set(&a, resp, "id", qwh_json_int(&a, 0));
      qwh_json_set(&a, resp, "ok", qwh_json_bool(&a, false));
      qwh_json_set(&a, resp, "error", err);
    } else {
      qwh_json *id = qwh_json_get(req, "id");
      const qwh_json *op = qwh_json_get(req, "op");
      qwh_json *params = qwh_json_get(req, "params"), *input = qwh_json_get(req, "input"), *chunks = qwh_json_get(req, "chunks");
      if (!params) params = qwh_json_object(&a);
      if (!input) input = qwh_json_object(&a);
      if (chunks) {
        input = qwh_json_without(&a, input, NULL);
        qwh_json_set(&a, input, "chunks", chunks);
      }
      qwh_json *output = NULL;
      int rc = op && op->type == QWH_JSON_STRING ? qwh_codec_run(&a, op->u.str.s, params, input, &output) : UNSUPPORTED;
      qwh_json_set(&a, resp, "id", id ? id : qwh_json_null(&a));
      qwh_json_set(&a, resp, "ok", qwh_json_bool(&a, rc == 0));
      if (rc == 0) {
        qwh_json_set(&a, resp, "output", output);
      } else {
        qwh_json *err = qwh_json_object(&a);
        qwh_json_set(&a, err, "code", qwh_json_cstring(&a, rc == UNSUPPORTED ? "unsupported" : "internal"));
        qwh_json_set(&a, err, "message", qwh_json_cstring(&a, rc == UNSUPPORTED ? "op is not supported" : "malformed parameters"));
        qwh_json_set(&a, resp, "error", err);
      }
    }
    out.len = 0;
    qwh_json_write(resp, &out);
    out_line(&out);
    qwh_arena_free(&a);
  }
  free(line);
  qwh_buf_free(&out);
  return 0;
}
