/*
 * One connection as a state machine without I/O: the handshake (session.h). The client's hello
 * (v1, 1.1 with "resume", signed; 0.3) and its check of the answer, the server's decision
 * (spec 8.1) with the policy now or later (VERIFYING, 0.3 frames held meanwhile), and the
 * session that "resume" names (step 11) on either side.
 */
#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "limits.h"
#include "session_internal.h"

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
  qwh_code rc = qwh_sess_queue_json_frame(s, d->accept); /* into `out`, then moved aside until the verdict */
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
    o = qwh_resume_store_decide(store, &r, key, s->cfg.transport_tls, d->hello.max_frame_length, qwh_sess_now_ms(s), &e, &grant, &refusal);
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
  s->rs->unsent = 0; /* what an earlier connection left unwritten is resent once this one opens */
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
        qwh_sess_set_error(s, QWH_E_POLICY_REJECTED, NULL);
        qwh_sess_finish(s);
        return QWH_E_POLICY_REJECTED;
      }
      s->legacy = true;
      qwh_sess_open_phase(s, s->cfg.max_frame_length, false, false);
      return QWH_OK;
    case QWH_DECIDE_REJECT:
      return d.code; /* fail() sends the reject */
    case QWH_DECIDE_CLOSE:
      qwh_sess_set_error(s, d.code, NULL);
      qwh_sess_finish(s); /* a 0.3 client gets no frame (QWH-LEGACY-010) */
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
  s->rs->unsent = 0; /* what an earlier connection left unwritten is resent once this one opens */
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
    qwh_sess_set_error(s, qwh_code_from_name(ans.code.s, ans.code.len), code);
    if (s->error == QWH_OK) s->error = QWH_E_PROTOCOL_ERROR; /* unknown peer code: the name says which */
    qwh_sess_finish(s);
    return s->error;
  }
  qwh_buf_append(&s->accept, p, n); /* for the application (best effort) */
  qwh_sess_open_phase(s, ans.max_frame_length, qwh_features_has(ans.features, "control"), qwh_features_has(ans.features, "raw"));
  return QWH_OK;
}

qwh_code qwh_sess_handshake_frame(void *user, bool control, const uint8_t *p, size_t n) {
  (void)control;
  qwh_session *s = user;
  return s->cfg.role == QWH_SERVER ? server_first_frame(s, p, n) : client_first_frame(s, p, n);
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
    qwh_sess_open_phase(s, QWH_DEFAULT_MAX_FRAME_LENGTH, false, false);
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
  if (hello) rc = qwh_sess_queue_json_frame(s, hello);
  qwh_arena_free(&a);
  if (rc) {
    qwh_session_fail(s, rc);
    return rc;
  }
  if (s->cfg.profile == QWH_HS_LEGACY) { /* a 0.3 server never answers: open at once, no control */
    s->legacy = true;
    qwh_sess_open_phase(s, QWH_DEFAULT_MAX_FRAME_LENGTH, false, false);
  }
  return QWH_OK;
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
      rc = qwh_sess_json_frame(&s->pending, s->pending_decision.accept);
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
    qwh_sess_open_phase(s, s->pending_peer_max, s->pending_control, s->pending_raw);
    return;
  }
  qwh_sess_open_phase(s, s->cfg.max_frame_length, false, false);
  /* the held frames, in order, then whatever the decoder had begun goes on normally */
  qwh_buf held = s->pending;
  qwh_buf_init(&s->pending);
  for (size_t off = 0; off + 4 <= held.len && !s->finished;) {
    uint32_t len = qwh_get_u32be(held.data + off);
    if (len > held.len - off - 4) break;
    qwh_code rc = qwh_sess_rx_message(s, held.data + off + 4, len);
    if (rc) qwh_session_fail(s, rc);
    off += 4 + (size_t)len;
  }
  qwh_buf_free(&held);
}
