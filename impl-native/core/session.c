#include "session.h"

#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "limits.h"

static void set_error(qwh_session *s, qwh_code code, const char *name) {
  s->error = code;
  snprintf(s->error_name, sizeof s->error_name, "%s", name ? name : (code ? qwh_code_name(code) : ""));
}

static void finish(qwh_session *s) {
  s->finished = true;
  s->state = QWH_ST_CLOSED;
}

/* Appends the canonical JSON of `obj` to `out` as a handshake frame. */
static qwh_code json_frame(qwh_buf *out, const qwh_json *obj) {
  qwh_buf text;
  qwh_buf_init(&text);
  qwh_code rc = qwh_jcs_write(obj, &text) == QWH_JSON_OK ? qwh_encode_handshake_frame(out, text.data, text.len) : QWH_E_INTERNAL;
  qwh_buf_free(&text);
  return rc;
}

/* Queues the canonical JSON of `obj` as a handshake frame. */
static qwh_code queue_json_frame(qwh_session *s, const qwh_json *obj) { return json_frame(&s->out, obj); }

static void queue_reject(qwh_session *s, qwh_code code) {
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *r = qwh_reject_build(&a, qwh_code_name(code), NULL, code == QWH_E_UNSUPPORTED_VERSION ? QWH_VERSION_STRING : NULL);
  if (r) queue_json_frame(s, r);
  qwh_arena_free(&a);
}

void qwh_session_fail(qwh_session *s, qwh_code code) {
  if (s->finished) return;
  set_error(s, code, NULL);
  bool wire = qwh_code_is_wire(code);
  /* a 0.3 client gets no frame; a bare peer none at all */
  bool answering = s->cfg.profile != QWH_HS_BARE && (s->state == QWH_ST_HANDSHAKE || (s->state == QWH_ST_VERIFYING && !s->legacy));
  if (answering && s->cfg.role == QWH_SERVER && wire)
    queue_reject(s, code); /* QWH-ERR-002 */
  else if ((s->state == QWH_ST_OPEN || s->state == QWH_ST_CLOSING) && s->control && !s->close_sent && wire &&
           !(s->rs && code == QWH_E_HEARTBEAT_TIMEOUT)) { /* the session survives a heartbeat timeout (QWH-RESUME-012) */
    const char *name = qwh_code_name(code);
    if (qwh_encoder_close(&s->enc, &s->out, name, strlen(name), NULL, 0) == QWH_OK) s->close_sent = true; /* QWH-ERR-008 */
  }
  finish(s);
}

/* ---- open phase ---- */

static int64_t now_ms(const qwh_session *s) { return s->cfg.clock_ms ? s->cfg.clock_ms() : s->cfg.policy.now_ms; }

/* The first frame on a resumed connection proves that the client holds the new token: the one it
 * presented is retired (QWH-RESUME-018). */
static void resume_frame(qwh_session *s) {
  if (s->resume_frame_seen) return;
  s->resume_frame_seen = true;
  if (s->resume_entry) s->resume_entry->has_prev = false;
}

static qwh_code rx_message(void *user, const uint8_t *p, size_t n) {
  qwh_session *s = user;
  if (s->finished) return QWH_OK;
  if (!s->rs) return s->h.on_message ? s->h.on_message(s->user, p, n) : QWH_OK;
  resume_frame(s);
  int64_t now = s->rs->unreported_since < 0 ? now_ms(s) : 0; /* the clock only for the first frame no count covers */
  bool due = qwh_resume_delivered(s->rs, n, now);            /* counted as delivered (QWH-RESUME-008) */
  qwh_code rc = s->h.on_message ? s->h.on_message(s->user, p, n) : QWH_OK;
  if (rc == QWH_OK && due && s->rs && !s->finished) rc = qwh_encode_ack(&s->out, false, qwh_resume_report(s->rs)); /* QWH-ACK-005 */
  return rc;
}

static qwh_code rx_ping(void *user, const uint8_t *p, size_t n) {
  qwh_session *s = user;
  if (s->rs) resume_frame(s);
  return s->finished ? QWH_OK : qwh_encoder_pong(&s->enc, &s->out, p, n); /* QWH-PING-001 */
}

static void send_close(qwh_session *s, qwh_code code, const char *reason, size_t reason_len);

/* A peer's count (QWH-ACK-004) frees replay room for held messages; a request is answered at once (QWH-ACK-007). */
static qwh_code rx_ack(void *user, bool request, uint64_t count) {
  qwh_session *s = user;
  if (s->finished || !s->rs) return QWH_OK;
  resume_frame(s);
  qwh_code rc = qwh_resume_acknowledge(s->rs, count, QWH_E_PROTOCOL_ERROR);
  if (rc == QWH_OK && request) rc = qwh_encode_ack(&s->out, false, qwh_resume_report(s->rs));
  if (rc == QWH_OK && !s->close_sent) qwh_resume_release(s->rs, &s->out);
  if (rc == QWH_OK && s->close_owed && s->rs->held_count == 0) { /* the last held message went out: now the CLOSE */
    s->close_owed = false;
    send_close(s, s->owed_code, s->owed_has_reason ? (const char *)s->owed_reason.data : NULL, s->owed_reason.len);
  }
  return rc;
}

/* A PONG echoing counter k answers every PING up to k (QWH-PING-004); any other PONG is ignored. */
static qwh_code rx_pong(void *user, const uint8_t *p, size_t n) {
  qwh_session *s = user;
  if (s->rs) resume_frame(s);
  if (n != 8) return QWH_OK;
  uint64_t k = ((uint64_t)qwh_get_u32be(p) << 32) | qwh_get_u32be(p + 4);
  if (k > s->pings_answered && k <= s->pings_sent) s->pings_answered = k;
  return QWH_OK;
}

static qwh_code rx_close(void *user, const qwh_close_info *info) {
  qwh_session *s = user;
  if (s->rs) resume_frame(s);
  s->close_received = true;
  if (!s->close_sent) s->peer_ended = true;
  char code[72], reason[1100];
  snprintf(code, sizeof code, "%.*s", (int)info->code.len, info->code.s);
  snprintf(reason, sizeof reason, "%.*s", info->has_reason ? (int)info->reason.len : 0, info->has_reason ? info->reason.s : "");
  if (s->h.on_peer_close) s->h.on_peer_close(s->user, code, info->has_reason ? reason : NULL);
  if (!s->close_sent) {                            /* QWH-CLOSE-003: our queued frames are already in `out`, then one CLOSE */
    static const char normal[] = "E_NORMAL_CLOSE"; /* whatever the peer's code (QWH-CLOSE-010) */
    if (qwh_encoder_close(&s->enc, &s->out, normal, sizeof normal - 1, NULL, 0) == QWH_OK) s->close_sent = true;
  }
  qwh_code known = qwh_code_from_name(info->code.s, info->code.len);
  set_error(s, known == QWH_E_NORMAL_CLOSE || known == QWH_E_GOING_AWAY ? QWH_OK : known, code);
  finish(s);
  return QWH_OK;
}

static void open_phase(qwh_session *s, uint32_t peer_max, bool control, bool raw) {
  s->control = control;
  s->raw = raw;
  s->state = QWH_ST_OPEN;
  qwh_encoder_init(&s->enc, peer_max, control);
  s->rx.dec.cb = qwh_receiver_on_frame;
  s->rx.dec.user = &s->rx;
  qwh_decoder_set_limits(&s->rx.dec, s->cfg.max_frame_length, control, QWH_E_FRAME_TOO_LARGE);
  if (raw) qwh_decoder_pause(&s->rx.dec); /* the rest of this chunk is raw stream */
  if (s->rs) {
    s->rx.resume = true;
    qwh_code rc = QWH_OK;
    /* after a resume accept: the client's ACK first (QWH-RESUME-020), then each side's frames the
     * peer has not received, byte for byte, before any other (QWH-RESUME-021) */
    if (s->resumed && s->cfg.role == QWH_CLIENT) rc = qwh_encode_ack(&s->out, false, qwh_resume_report(s->rs));
    if (rc == QWH_OK && s->resumed) rc = qwh_resume_resend(s->rs, &s->out);
    if (rc == QWH_OK) qwh_resume_release(s->rs, &s->out);
    if (rc) {
      qwh_session_fail(s, rc);
      return;
    }
  }
  if (s->h.on_open) s->h.on_open(s->user);
}

/* ---- handshake ---- */

/* VERIFYING, 0.3 client: its frames wait for the verdict (QWH-LEGACY-011). */
static qwh_code hold_frame(void *user, bool control, const uint8_t *p, size_t n) {
  (void)control; /* no control frames without "control": the decoder never reports one */
  qwh_session *s = user;
  uint8_t h[4];
  if (n > UINT32_MAX) return QWH_E_INTERNAL;
  qwh_put_u32be(h, (uint32_t)n);
  if (qwh_buf_append(&s->pending, h, 4) || qwh_buf_append(&s->pending, p, n)) return QWH_E_INTERNAL;
  return QWH_OK;
}

/* A v1 hello is acceptable: the accept waits aside, and the rest of this read is checked by
 * qwh_session_feed, where any byte fails (QWH-STATE-003: it came before the answer). */
static qwh_code stash_accept(qwh_session *s, const qwh_decision *d) {
  s->state = QWH_ST_VERIFYING;
  s->pending_peer_max = d->hello.max_frame_length;
  s->pending_control = d->control;
  s->pending_raw = d->raw;
  qwh_code rc = queue_json_frame(s, d->accept); /* into `out`, then moved aside until the verdict */
  if (rc) return rc;
  qwh_buf tmp = s->pending;
  s->pending = s->out;
  s->out = tmp;
  qwh_decoder_pause(&s->rx.dec);
  return QWH_OK;
}

/* The hello is acceptable and the policy decides later: wait in VERIFYING. */
static qwh_code start_verifying(qwh_session *s, const qwh_decision *d) {
  s->state = QWH_ST_VERIFYING;
  qwh_code now = s->cfg.verify ? s->cfg.verify(s->user, &d->hello) : QWH_OK; /* starts the decision */
  if (now) return now;
  if (s->legacy) {
    s->rx.dec.cb = hold_frame;
    s->rx.dec.user = s;
    qwh_decoder_set_limits(&s->rx.dec, s->cfg.max_frame_length, false, QWH_E_FRAME_TOO_LARGE);
    return QWH_OK;
  }
  return stash_accept(s, d);
}

/* Step 11 of spec 8.1 for an accept that lists "resume": a new session, the named one resumed, none
 * (the accept goes without "resume", QWH-RESUME-024), or a refusal code. */
static qwh_code resume_decide(qwh_session *s, qwh_decision *d) {
  qwh_resume_store *store = s->cfg.resume_store;
  qwh_hello_resume r;
  if (!d->resume) return QWH_OK;
  if (!qwh_hello_resume_parse(qwh_json_get(d->hello.raw, "resume"), &r)) return QWH_E_INVALID_HANDSHAKE; /* checked at step 3 */
  qwh_resume_entry *e = NULL;
  qwh_accept_resume grant;
  qwh_code refusal = QWH_OK;
  qwh_resume_outcome o = QWH_RESUME_NONE;
  if (store) {
    const uint8_t *key = d->hello.sig_state == QWH_SIG_PRESENT ? d->hello.sig.key_bytes : NULL;
    o = qwh_resume_store_decide(store, &r, key, s->cfg.transport_tls, d->hello.max_frame_length, now_ms(s), &e, &grant, &refusal);
  }
  if (o == QWH_RESUME_REFUSED) return refusal;
  if (o == QWH_RESUME_NONE) {
    d->resume = false;
    return qwh_json_set(&s->hs, d->accept, "features", qwh_features_without_resume(&s->hs, qwh_json_get(d->accept, "features")))
               ? QWH_E_INTERNAL
               : QWH_OK;
  }
  if (qwh_json_set(&s->hs, d->accept, "resume", qwh_accept_resume_build(&s->hs, &grant))) return QWH_E_INTERNAL;
  e->conn = s;
  s->rs = &e->st;
  s->resume_entry = e;
  s->resumed = o == QWH_RESUME_RESUMED;
  return QWH_OK;
}

static qwh_code server_first_frame(qwh_session *s, const uint8_t *p, size_t n) {
  qwh_decision d;
  qwh_decide(&s->hs, p, n, &s->cfg.policy, &d);
  if (d.has_hello) {
    s->has_hello = true;
    s->hello = d.hello;
    s->negotiated = d.accept ? qwh_json_get(d.accept, "features") : NULL;
  }
  switch (d.type) {
    case QWH_DECIDE_ACCEPT: {
      if (s->cfg.verify_async) { /* the session (step 11) is settled by a positive verdict */
        s->pending_resume = d.resume;
        if (d.resume) s->pending_decision = d;
        return start_verifying(s, &d);
      }
      qwh_code rc = s->cfg.verify ? s->cfg.verify(s->user, &d.hello) : QWH_OK;
      if (rc == QWH_OK) rc = resume_decide(s, &d);
      if (rc) return rc;
      s->negotiated = qwh_json_get(d.accept, "features");
      s->verdict_ready = true; /* accepted: answered once the rest of this read proved empty */
      return stash_accept(s, &d);
    }
    case QWH_DECIDE_LEGACY:
      if (s->cfg.verify_async) {
        s->legacy = true;
        return start_verifying(s, &d);
      }
      if (s->cfg.verify && s->cfg.verify(s->user, &d.hello) != QWH_OK) {
        set_error(s, QWH_E_POLICY_REJECTED, NULL);
        finish(s);
        return QWH_E_POLICY_REJECTED;
      }
      s->legacy = true;
      open_phase(s, s->cfg.max_frame_length, false, false);
      return QWH_OK;
    case QWH_DECIDE_REJECT:
      return d.code; /* fail() sends the reject */
    case QWH_DECIDE_CLOSE:
      set_error(s, d.code, NULL);
      finish(s); /* a 0.3 client gets no frame (QWH-LEGACY-010) */
      return d.code;
  }
  return QWH_E_INTERNAL;
}

/* The client's side of an accept when it offered "resume" (QWH-RESUME-007, QWH-RESUME-019). */
static qwh_code client_resume_accept(qwh_session *s, const qwh_answer *ans) {
  qwh_resume_client *rc = s->cfg.resume_client;
  if (!qwh_features_has(ans->features, "resume")) {
    if (rc->active) rc->ended = true; /* the server holds no session for it any more */
    return QWH_OK;
  }
  qwh_named_session named;
  if (rc->active) {
    memcpy(named.id, rc->id, sizeof named.id);
    named.sent = rc->st.sent;
    named.server_reported = rc->st.peer_received;
    named.max_frame_length = rc->max_frame_length;
  }
  qwh_accept_resume g;
  qwh_code code = qwh_accept_resume_check(ans->resume, qwh_features_has(ans->features, "control"), ans->max_frame_length,
                                          rc->active ? &named : NULL, &g);
  if (code) {
    if (code == QWH_E_RESUME_MISMATCH) rc->ended = true; /* without sending a frame (QWH-RESUME-019) */
    return code;
  }
  if (g.resumed) {
    qwh_resume_acknowledge(&rc->st, g.received, QWH_E_RESUME_MISMATCH); /* in range: checked above */
    rc->st.peer = g.limits;
  } else {
    qwh_resume_free(&rc->st);
    qwh_resume_init(&rc->st, &rc->limits, &g.limits);
    memcpy(rc->id, g.id, sizeof rc->id);
    rc->max_frame_length = ans->max_frame_length;
    rc->active = true;
  }
  memcpy(rc->token, g.token, sizeof rc->token);
  s->rs = &rc->st;
  s->resumed = g.resumed;
  return QWH_OK;
}

static qwh_code client_first_frame(qwh_session *s, const uint8_t *p, size_t n) {
  qwh_resume_client *resume = s->cfg.resume_client;
  qwh_offer offer = {QWH_VERSION_MAJOR, resume ? QWH_RESUME_VERSION_MINOR : QWH_VERSION_MINOR, s->cfg.features, s->cfg.n_features};
  qwh_answer ans;
  qwh_code rc = qwh_answer_parse(&s->hs, p, n, &offer, &ans);
  if (rc) return rc;
  if (!ans.accepted && resume && resume->active &&
      (qwh_code_from_name(ans.code.s, ans.code.len) == QWH_E_SESSION_UNKNOWN ||
       qwh_code_from_name(ans.code.s, ans.code.len) == QWH_E_RESUME_MISMATCH))
    resume->ended = true; /* a refused resume ends the session (QWH-RESUME-013) */
  if (ans.accepted && resume) {
    rc = client_resume_accept(s, &ans);
    if (rc) return rc;
  }
  if (!ans.accepted) {
    char code[72];
    snprintf(code, sizeof code, "%.*s", (int)ans.code.len, ans.code.s);
    if (s->h.on_peer_close) s->h.on_peer_close(s->user, code, ans.reason ? ans.reason->u.str.s : NULL);
    s->peer_ended = true;
    set_error(s, qwh_code_from_name(ans.code.s, ans.code.len), code);
    if (s->error == QWH_OK) s->error = QWH_E_PROTOCOL_ERROR; /* unknown peer code: the name says which */
    finish(s);
    return s->error;
  }
  qwh_buf_append(&s->accept, p, n); /* for the application (best effort) */
  open_phase(s, ans.max_frame_length, qwh_features_has(ans.features, "control"), qwh_features_has(ans.features, "raw"));
  return QWH_OK;
}

static qwh_code handshake_frame(void *user, bool control, const uint8_t *p, size_t n) {
  (void)control;
  qwh_session *s = user;
  return s->cfg.role == QWH_SERVER ? server_first_frame(s, p, n) : client_first_frame(s, p, n);
}

/* ---- public API ---- */

int qwh_session_init(qwh_session *s, const qwh_session_config *cfg, const qwh_session_handlers *h, void *user) {
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  if (h) s->h = *h;
  s->user = user;
  s->state = QWH_ST_HANDSHAKE;
  qwh_buf_init(&s->out);
  qwh_buf_init(&s->pending);
  qwh_buf_init(&s->accept);
  qwh_buf_init(&s->owed_reason);
  qwh_arena_init(&s->hs);
  qwh_receiver_handlers rh = {rx_message, rx_ping, rx_pong, rx_close, rx_ack};
  qwh_receiver_init(&s->rx, &rh, s, cfg->max_frame_length, false);
  s->rx.dec.cb = handshake_frame;
  s->rx.dec.user = s;
  qwh_decoder_handshake(&s->rx.dec);
  qwh_encoder_init(&s->enc, 0, false);
  return 0;
}

void qwh_session_free(qwh_session *s) {
  qwh_receiver_free(&s->rx);
  qwh_buf_free(&s->owed_reason);
  qwh_buf_free(&s->out);
  qwh_buf_free(&s->pending);
  qwh_buf_free(&s->accept);
  qwh_arena_free(&s->hs);
}

/* A 0.3 hello: {"type":"handshake"} with the version and tags when set (QWH-LEGACY-005). */
static qwh_json *legacy_hello(qwh_arena *a, const qwh_session_config *c) {
  qwh_json *h = qwh_json_object(a);
  if (!h || qwh_json_set(a, h, "type", qwh_json_cstring(a, "handshake"))) return NULL;
  if (c->version && qwh_json_set(a, h, "version", qwh_json_cstring(a, c->version))) return NULL;
  if (c->tags && qwh_json_set(a, h, "tags", (qwh_json *)c->tags)) return NULL;
  return h;
}

qwh_code qwh_session_start(qwh_session *s) {
  if (s->finished || s->state != QWH_ST_HANDSHAKE) return QWH_OK;
  if (s->cfg.profile == QWH_HS_BARE) { /* no hello, no answer: every frame is data (spec 6.4) */
    open_phase(s, QWH_DEFAULT_MAX_FRAME_LENGTH, false, false);
    return QWH_OK;
  }
  if (s->cfg.role != QWH_CLIENT) return QWH_OK;
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *hello;
  qwh_code rc = QWH_E_INTERNAL;
  if (s->cfg.profile == QWH_HS_LEGACY) {
    hello = legacy_hello(&a, &s->cfg);
  } else {
    qwh_hello_options o = {
        s->cfg.features,        s->cfg.n_features, s->cfg.version, s->cfg.tags, s->cfg.max_frame_length != QWH_DEFAULT_MAX_FRAME_LENGTH,
        s->cfg.max_frame_length};
    hello = qwh_hello_build(&a, &o);
    qwh_resume_client *cl = s->cfg.resume_client;
    if (hello && cl) { /* a 1.1 hello with the member "resume" (QWH-RESUME-001, QWH-RESUME-014) */
      qwh_hello_resume r;
      memset(&r, 0, sizeof r);
      r.limits = cl->limits;
      if (cl->active) {
        r.named = true;
        memcpy(r.id, cl->id, sizeof r.id);
        memcpy(r.token, cl->token, sizeof r.token);
        r.received = qwh_resume_report(&cl->st);
      }
      if (qwh_json_set(&a, hello, "qwh", qwh_json_cstring(&a, QWH_RESUME_VERSION_STRING)) ||
          qwh_json_set(&a, hello, "resume", qwh_hello_resume_build(&a, &r)))
        hello = NULL;
    }
    /* every member, TLS tags included, is in place before signing (QWH-SIG-012) */
    if (hello && s->cfg.sign_seed &&
        qwh_sign_hello(&a, hello, s->cfg.sign_seed, s->cfg.sign_nonce, sizeof s->cfg.sign_nonce, s->cfg.sign_ts, s->cfg.sign_exporter) !=
            QWH_OK)
      hello = NULL;
  }
  if (hello) rc = queue_json_frame(s, hello);
  qwh_arena_free(&a);
  if (rc) {
    qwh_session_fail(s, rc);
    return rc;
  }
  if (s->cfg.profile == QWH_HS_LEGACY) { /* a 0.3 server never answers: open at once, no control */
    s->legacy = true;
    open_phase(s, QWH_DEFAULT_MAX_FRAME_LENGTH, false, false);
  }
  return QWH_OK;
}

qwh_code qwh_session_feed(qwh_session *s, const uint8_t *p, size_t n) {
  while (n > 0 && !s->finished) {
    if (s->state == QWH_ST_VERIFYING && !s->legacy) { /* a v1 client may send nothing before the accept */
      qwh_session_fail(s, QWH_E_PROTOCOL_ERROR);
      break;
    }
    if (s->raw && s->state != QWH_ST_HANDSHAKE) {
      qwh_code rc = rx_message(s, p, n);
      if (rc) qwh_session_fail(s, rc);
      break;
    }
    size_t used = 0;
    qwh_code rc = qwh_receiver_push(&s->rx, p, n, &used);
    if (rc) {
      /* A frame that came in the same read right behind the peer's CLOSE breaks the protocol
       * (QWH-CLOSE-004, QWH-CLOSE-012): our answer is already queued, so no frame reports it. */
      if (s->finished && s->close_received)
        set_error(s, rc, NULL);
      else
        qwh_session_fail(s, rc);
      break;
    }
    p += used;
    n -= used;
    if (s->verdict_ready && n == 0 && s->state == QWH_ST_VERIFYING) {
      s->verdict_ready = false;
      qwh_session_verdict(s, QWH_OK);
    }
    if (s->state == QWH_ST_OPEN) {
      qwh_arena_free(&s->hs); /* the handshake values are no longer needed */
    }
  }
  return s->error;
}

void qwh_session_feed_end(qwh_session *s) {
  if (s->finished) return;
  if (!s->half_close) s->peer_ended = true;
  if (s->state == QWH_ST_VERIFYING && !s->legacy) { /* gone while the policy decides: nothing to answer */
    finish(s);
    return;
  }
  if (s->raw && s->state != QWH_ST_HANDSHAKE) { /* raw is set only once open */
    finish(s);
    return;
  }
  qwh_code rc = qwh_receiver_end(&s->rx);
  if (rc) {
    qwh_session_fail(s, rc);
    return;
  }
  if (s->state == QWH_ST_HANDSHAKE || s->state == QWH_ST_VERIFYING) {
    if (s->cfg.role == QWH_CLIENT) set_error(s, QWH_E_CLOSED, NULL); /* the server closed before answering */
    finish(s);
    return;
  }
  /* At a frame boundary: with control this is an unclean end; without, the peer's way of closing (QWH-CLOSE-009). */
  if (s->control && !s->close_received) s->unclean = true;
  finish(s);
}

qwh_code qwh_session_send(qwh_session *s, const uint8_t *p, size_t n) {
  if (s->finished || s->close_sent || s->half_close || s->close_owed) return QWH_E_CLOSED;
  if (s->state != QWH_ST_OPEN) return QWH_E_NOT_CONNECTED;
  if (s->raw) return qwh_buf_append(&s->out, p, n) ? QWH_E_INTERNAL : QWH_OK;
  if (s->rs) { /* kept until acknowledged; held past the bounds (QWH-RESUME-009, QWH-RESUME-010) */
    uint8_t h[4];
    qwh_code rc = qwh_encoder_data_header(&s->enc, n, h);
    return rc ? rc : qwh_resume_send(s->rs, &s->out, p, n, NULL);
  }
  return qwh_encoder_data(&s->enc, &s->out, p, n);
}

qwh_code qwh_session_ack(qwh_session *s) {
  if (!s->rs || s->finished || s->state != QWH_ST_OPEN || !qwh_resume_ack_pending(s->rs)) return QWH_OK;
  return qwh_encode_ack(&s->out, false, qwh_resume_report(s->rs));
}

void qwh_session_abort(qwh_session *s) {
  s->rs = NULL;
  s->resume_entry = NULL;
  s->rx.resume = false;
  if (s->finished) return;
  s->out.len = 0;
  set_error(s, QWH_E_ABORTED, NULL);
  finish(s);
}

static void send_close(qwh_session *s, qwh_code code, const char *reason, size_t reason_len) {
  const char *name = qwh_code_name(code);
  if (qwh_encoder_close(&s->enc, &s->out, name, strlen(name), reason, reason_len) == QWH_OK) {
    s->close_sent = true;
    s->state = QWH_ST_CLOSING; /* keep reading until the peer's CLOSE (QWH-CLOSE-008) */
    return;
  }
  qwh_session_fail(s, QWH_E_INTERNAL);
}

void qwh_session_close(qwh_session *s, qwh_code code, const char *reason) {
  if (s->finished || s->close_sent || s->half_close || s->close_owed) return;
  if (s->state == QWH_ST_HANDSHAKE || s->state == QWH_ST_VERIFYING) {
    set_error(s, QWH_E_ABORTED, NULL);
    finish(s);
    return;
  }
  if (s->control && s->rs && s->rs->held_count > 0) { /* the held messages first */
    s->close_owed = true;
    s->owed_code = code;
    s->owed_has_reason = reason != NULL;
    s->owed_reason.len = 0;
    if (reason && (qwh_buf_append(&s->owed_reason, reason, strlen(reason)) || qwh_buf_putc(&s->owed_reason, 0))) {
      qwh_session_fail(s, QWH_E_INTERNAL);
      return;
    }
    if (reason) s->owed_reason.len--; /* NUL-terminated, not counted */
    return;
  }
  if (s->control) {
    send_close(s, code, reason, reason ? strlen(reason) : 0);
    return;
  }
  s->half_close = true; /* without control: FIN after our queued frames, then wait for the peer's end */
  s->state = QWH_ST_CLOSING;
}

void qwh_session_verdict(qwh_session *s, qwh_code code) {
  if (s->finished || s->state != QWH_ST_VERIFYING) return;
  if (code != QWH_OK) {
    qwh_session_fail(s, code); /* v1: a reject; 0.3: closed without a frame */
    return;
  }
  if (!s->legacy && s->pending_resume) { /* step 11, then the accept as it now reads */
    s->pending_resume = false;
    qwh_code rc = resume_decide(s, &s->pending_decision);
    if (rc == QWH_OK) {
      s->negotiated = qwh_json_get(s->pending_decision.accept, "features");
      s->pending.len = 0;
      rc = json_frame(&s->pending, s->pending_decision.accept);
    }
    if (rc) {
      qwh_session_fail(s, rc);
      return;
    }
  }
  if (!s->legacy) {
    if (qwh_buf_append(&s->out, s->pending.data, s->pending.len)) {
      qwh_session_fail(s, QWH_E_INTERNAL);
      return;
    }
    s->pending.len = 0;
    open_phase(s, s->pending_peer_max, s->pending_control, s->pending_raw);
    return;
  }
  open_phase(s, s->cfg.max_frame_length, false, false);
  /* the held frames, in order, then whatever the decoder had begun goes on normally */
  qwh_buf held = s->pending;
  qwh_buf_init(&s->pending);
  for (size_t off = 0; off + 4 <= held.len && !s->finished;) {
    uint32_t len = qwh_get_u32be(held.data + off);
    if (len > held.len - off - 4) break;
    qwh_code rc = rx_message(s, held.data + off + 4, len);
    if (rc) qwh_session_fail(s, rc);
    off += 4 + (size_t)len;
  }
  qwh_buf_free(&held);
}

qwh_code qwh_session_heartbeat(qwh_session *s) {
  if (s->finished || s->state != QWH_ST_OPEN || !s->control || s->close_sent) return QWH_OK;
  uint32_t limit = s->cfg.heartbeat_missed_limit ? s->cfg.heartbeat_missed_limit : 2;
  if (s->pings_sent - s->pings_answered >= limit) {
    qwh_session_fail(s, QWH_E_HEARTBEAT_TIMEOUT); /* CLOSE with the code (QWH-ERR-008), then close (QWH-ERR-003) */
    return QWH_E_HEARTBEAT_TIMEOUT;
  }
  uint8_t body[8];
  uint64_t k = s->pings_sent + 1;
  qwh_put_u32be(body, (uint32_t)(k >> 32));
  qwh_put_u32be(body + 4, (uint32_t)k);
  qwh_code rc = qwh_encoder_ping(&s->enc, &s->out, body, sizeof body);
  if (rc == QWH_OK) s->pings_sent = k;
  return rc;
}
