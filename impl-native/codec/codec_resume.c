/*
 * Codec operation "resume" (feature "resume", spec 10.7), one function a model: "session" (one
 * side's counts, ACKs and replay), "server-hello" (the answer given the sessions the server
 * holds) and "client-accept" (the client's check of an accept listing "resume").
 */
#include <string.h>

#include "codec_params.h"

static qwh_resume_limits limits_param(const qwh_json *o) {
  qwh_resume_limits l = {(uint64_t)codec_get_int(o, "maxUnackedMessages", 4096), (uint64_t)codec_get_int(o, "maxUnackedBytes", 4194304)};
  return l;
}

static int event_n(qwh_arena *a, qwh_json *events, const char *type, const char *key, uint64_t n) {
  qwh_json *e = qwh_json_object(a);
  if (!e || qwh_json_set(a, e, "type", qwh_json_cstring(a, type)) || (key && qwh_json_set(a, e, key, qwh_json_int(a, (int64_t)n))) ||
      qwh_json_push(a, events, e))
    return -1;
  return 0;
}

/* The frames numbered from..to were written (each one a "data" event). */
static int data_events(qwh_arena *a, qwh_json *events, uint64_t from, uint64_t to) {
  for (uint64_t n = from; n <= to; n++)
    if (event_n(a, events, "data", "n", n)) return -1;
  return 0;
}

/* Model "session": one side's counting, ACK and replay rules driven by `steps`. */
static int resume_session(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  qwh_resume_limits own = limits_param(qwh_json_get(params, "own")), peer = limits_param(qwh_json_get(params, "peer"));
  qwh_resume_state st;
  qwh_resume_init(&st, &own, &peer);
  qwh_json *events = qwh_json_array(a);
  const qwh_json *steps = qwh_json_get(input, "steps");
  qwh_buf sink, payload;
  qwh_buf_init(&sink);
  qwh_buf_init(&payload);
  qwh_code rc = QWH_OK;
  int ret = events && steps && steps->type == QWH_JSON_ARRAY ? 0 : -1;
  for (size_t i = 0; ret == 0 && rc == QWH_OK && i < steps->u.arr.n; i++) {
    const qwh_json *step = steps->u.arr.items[i];
    const qwh_json *send = qwh_json_get(step, "send"), *receive = qwh_json_get(step, "receive");
    const qwh_json *control = qwh_json_get(step, "control"), *resume = qwh_json_get(step, "resume");
    uint64_t before = st.sent;
    if (send && send->type == QWH_JSON_INT && send->u.i >= 0) {
      size_t n = (size_t)send->u.i;
      payload.len = 0;
      if (qwh_buf_reserve(&payload, n + 1)) {
        ret = -1;
        break;
      }
      memset(payload.data, 0, n);
      bool held = false;
      sink.len = 0;
      rc = qwh_resume_send(&st, &sink, payload.data, n, &held);
      if (rc == QWH_OK) ret = held ? event_n(a, events, "held", NULL, 0) : data_events(a, events, before + 1, st.sent);
    } else if (receive && receive->type == QWH_JSON_INT && receive->u.i >= 0) {
      ret = event_n(a, events, "deliver", "n", st.received + 1);
      if (ret == 0 && qwh_resume_delivered(&st, (size_t)receive->u.i, 0)) ret = event_n(a, events, "ack", "count", qwh_resume_report(&st));
    } else if (control && control->type == QWH_JSON_STRING) {
      qwh_buf bytes;
      qwh_buf_init(&bytes);
      if (qwh_hex_decode(control->u.str.s, control->u.str.len, &bytes) || bytes.len < 1) {
        qwh_buf_free(&bytes);
        ret = -1;
        break;
      }
      if (bytes.data[0] == QWH_CTRL_ACK) {
        bool request = false;
        uint64_t count = 0;
        rc = qwh_ack_parse(bytes.data + 1, bytes.len - 1, &request, &count);
        if (rc == QWH_OK) rc = qwh_resume_acknowledge(&st, count, QWH_E_PROTOCOL_ERROR);
        if (rc == QWH_OK && request) ret = event_n(a, events, "ack", "count", qwh_resume_report(&st));
        if (rc == QWH_OK && ret == 0) {
          sink.len = 0;
          qwh_resume_release(&st, &sink);
          ret = data_events(a, events, before + 1, st.sent);
        }
      }
      qwh_buf_free(&bytes);
    } else if (resume && resume->type == QWH_JSON_INT && resume->u.i >= 0) {
      rc = qwh_resume_acknowledge(&st, (uint64_t)resume->u.i, QWH_E_RESUME_MISMATCH);
      if (rc == QWH_OK) {
        ret = data_events(a, events, st.peer_received + 1, st.sent); /* sent again (QWH-RESUME-021) */
        sink.len = 0;
        qwh_resume_release(&st, &sink);
        if (ret == 0) ret = data_events(a, events, before + 1, st.sent);
      }
    } else {
      ret = -1;
    }
  }
  qwh_buf_free(&sink);
  qwh_buf_free(&payload);
  qwh_resume_free(&st);
  if (ret) return -1;
  *out = codec_result(a, rc);
  return *out && qwh_json_set(a, *out, "events", events) == 0 ? 0 : -1;
}

typedef struct random_bytes {
  qwh_buf bytes;
  size_t off;
} random_bytes;

/* The vector's generator: its bytes in order. */
static int vector_random(void *user, uint8_t *out, size_t n) {
  random_bytes *r = user;
  if (r->bytes.len - r->off < n) return -1;
  memcpy(out, r->bytes.data + r->off, n);
  r->off += n;
  return 0;
}

static int load_sessions(qwh_resume_store *store, const qwh_json *sessions, int64_t now) {
  for (size_t i = 0; sessions && sessions->type == QWH_JSON_ARRAY && i < sessions->u.arr.n; i++) {
    const qwh_json *h = sessions->u.arr.items[i];
    uint8_t id[QWH_SESSION_ID_BYTES], token[QWH_SESSION_TOKEN_BYTES], prev[QWH_SESSION_TOKEN_BYTES], key[32];
    if (!codec_b64_param(qwh_json_get(h, "id"), id, sizeof id) || !codec_b64_param(qwh_json_get(h, "token"), token, sizeof token))
      return -1;
    bool has_prev = codec_b64_param(qwh_json_get(h, "previousToken"), prev, sizeof prev);
    bool has_key = codec_b64_param(qwh_json_get(h, "key"), key, sizeof key);
    if (!qwh_resume_store_load(store, id, token, has_prev ? prev : NULL, has_key ? key : NULL, codec_get_bool(h, "tls", false),
                               (uint32_t)codec_get_int(h, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH),
                               (uint64_t)codec_get_int(h, "sent", 0), (uint64_t)codec_get_int(h, "clientReported", 0),
                               (uint64_t)codec_get_int(h, "received", 0), now))
      return -1;
  }
  return 0;
}

static int resume_server_hello(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *s = qwh_json_get(params, "server");
  qwh_server_policy p;
  uint8_t exporter[32];
  if (!s || !codec_server_policy(a, s, &p, exporter)) return -1;
  p.resume = true;
  bool tls = codec_get_bool(s, "tls", false);
  qwh_decision d;
  int ret = codec_decide(a, input, NULL, &p, &d);
  if (ret) return -1;
  if (d.type == QWH_DECIDE_REJECT) {
    *out = codec_result(a, d.code);
    return *out && qwh_json_set(a, *out, "answer", codec_reject_answer(a, d.code)) == 0 ? 0 : -1;
  }
  if (d.type != QWH_DECIDE_ACCEPT) return -1; /* a v1 hello was expected */
  qwh_json *accept = d.accept;
  if (d.resume) {
    const qwh_json *rs = qwh_json_get(s, "resume");
    qwh_resume_limits limits = limits_param(rs);
    qwh_resume_store store;
    qwh_resume_store_init(&store, &limits, (uint64_t)codec_get_int(rs, "windowMs", 30000),
                          (uint64_t)codec_get_int(rs, "maxSessions", 1024));
    random_bytes rnd = {{NULL, 0, 0}, 0};
    const qwh_json *random = qwh_json_get(params, "random");
    if (random && random->type == QWH_JSON_STRING && qwh_hex_decode(random->u.str.s, random->u.str.len, &rnd.bytes)) ret = -1;
    store.random = vector_random;
    store.user = &rnd;
    if (ret == 0) ret = load_sessions(&store, qwh_json_get(params, "sessions"), p.now_ms);
    qwh_hello_resume r;
    qwh_resume_entry *entry;
    qwh_accept_resume grant;
    qwh_code refusal = QWH_OK;
    qwh_resume_outcome o = QWH_RESUME_NONE;
    if (ret == 0 && !qwh_hello_resume_parse(qwh_json_get(d.hello.raw, "resume"), &r)) ret = -1; /* checked at step 3 */
    if (ret == 0) {
      const uint8_t *key = d.hello.sig_state == QWH_SIG_PRESENT ? d.hello.sig.key_bytes : NULL;
      o = qwh_resume_store_decide(&store, &r, key, tls, d.hello.max_frame_length, p.now_ms, &entry, &grant, &refusal);
    }
    qwh_resume_store_free(&store);
    qwh_buf_free(&rnd.bytes);
    if (ret) return -1;
    if (o == QWH_RESUME_REFUSED) {
      *out = codec_result(a, refusal);
      return *out && qwh_json_set(a, *out, "answer", codec_reject_answer(a, refusal)) == 0 ? 0 : -1;
    }
    if (o == QWH_RESUME_NONE) {
      if (qwh_json_set(a, accept, "features", qwh_features_without_resume(a, qwh_json_get(accept, "features")))) return -1;
    } else if (qwh_json_set(a, accept, "resume", qwh_accept_resume_build(a, &grant))) {
      return -1;
    }
  }
  *out = codec_result(a, QWH_OK);
  return *out && qwh_json_set(a, *out, "answer", accept) == 0 ? 0 : -1;
}

/* Model "client-accept": the client's check of an accept, given what it offered and the session its hello named. */
static int resume_client_accept(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *offered = qwh_json_get(params, "offered");
  qwh_offer offer = {QWH_VERSION_MAJOR, QWH_RESUME_VERSION_MINOR, NULL, 0};
  offer.features = codec_strings_of(a, qwh_json_get(offered, "features"), &offer.n_features);
  if (!offer.features) return -1;
  const qwh_json *session = qwh_json_get(params, "session");
  qwh_named_session named;
  bool has_named = session && session->type == QWH_JSON_OBJECT;
  if (has_named) {
    if (!codec_b64_param(qwh_json_get(session, "id"), named.id, sizeof named.id)) return -1;
    named.sent = (uint64_t)codec_get_int(session, "sent", 0);
    named.server_reported = (uint64_t)codec_get_int(session, "serverReported", 0);
    named.max_frame_length = (uint32_t)codec_get_int(session, "maxFrameLength", QWH_DEFAULT_MAX_FRAME_LENGTH);
  }
  qwh_answer ans;
  qwh_code rc;
  if (codec_parse_answer(a, input, &offer, &ans, &rc)) return -1;
  qwh_accept_resume grant;
  bool listed = rc == QWH_OK && ans.accepted && qwh_features_has(ans.features, "resume");
  if (listed)
    rc = qwh_accept_resume_check(ans.resume, qwh_features_has(ans.features, "control"), ans.max_frame_length, has_named ? &named : NULL,
                                 &grant);
  *out = codec_result(a, rc);
  if (!*out) return -1;
  if (rc) return 0;
  if (!ans.accepted) return qwh_json_set(a, *out, "answer", codec_reject_answer(a, qwh_code_from_name(ans.code.s, ans.code.len)));
  qwh_json *o = qwh_json_object(a);
  if (!o || qwh_json_set(a, o, "type", qwh_json_cstring(a, "accept")) || codec_accept_members(a, o, &ans) ||
      (listed && qwh_json_set(a, o, "resume", qwh_accept_resume_build(a, &grant))))
    return -1;
  return qwh_json_set(a, *out, "answer", o);
}

int codec_resume(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out) {
  const qwh_json *model = qwh_json_get(params, "model");
  if (qwh_json_is_string(model, "session")) return resume_session(a, params, input, out);
  if (qwh_json_is_string(model, "server-hello")) return resume_server_hello(a, params, input, out);
  if (qwh_json_is_string(model, "client-accept")) return resume_client_accept(a, params, input, out);
  return -1;
}
