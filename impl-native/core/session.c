/*
 * One connection as a state machine without I/O (session.h): its state after the handshake (the
 * open phase's frames, "resume" counts and ACKs, PING/PONG, the CLOSE exchange and a close that
 * waits for held messages), sending, failing and the public entry points. The handshake is in
 * session_handshake.c.
 */
#include "session_internal.h"

#include <stdio.h>
#include <string.h>

#include "fields.h"
#include "limits.h"

void qwh_sess_set_error(qwh_session *s, qwh_code code, const char *name) {
  s->error = code;
  snprintf(s->error_name, sizeof s->error_name, "%s", name ? name : (code ? qwh_code_name(code) : ""));
}

void qwh_sess_finish(qwh_session *s) {
  s->finished = true;
  s->state = QWH_ST_CLOSED;
}

qwh_code qwh_sess_json_frame(qwh_buf *out, const qwh_json *obj) {
  qwh_buf text;
  qwh_buf_init(&text);
  qwh_code rc = qwh_jcs_write(obj, &text) == QWH_JSON_OK ? qwh_encode_handshake_frame(out, text.data, text.len) : QWH_E_INTERNAL;
  qwh_buf_free(&text);
  return rc;
}

static void queue_reject(qwh_session *s, qwh_code code) {
  qwh_arena a;
  qwh_arena_init(&a);
  qwh_json *r = qwh_reject_build(&a, qwh_code_name(code), NULL, code == QWH_E_UNSUPPORTED_VERSION ? QWH_VERSION_STRING : NULL);
  if (r) qwh_sess_queue_json_frame(s, r);
  qwh_arena_free(&a);
}

void qwh_session_fail(qwh_session *s, qwh_code code) {
  if (s->finished) return;
  qwh_sess_set_error(s, code, NULL);
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
  qwh_sess_finish(s);
}

/* ---- open phase ---- */

/* The first frame on a resumed connection proves that the client holds the new token: the one it
 * presented is retired (QWH-RESUME-018). */
static void resume_frame(qwh_session *s) {
  if (s->resume_frame_seen) return;
  s->resume_frame_seen = true;
  if (s->resume_entry) s->resume_entry->has_prev = false;
}

qwh_code qwh_sess_rx_message(void *user, const uint8_t *p, size_t n) {
  qwh_session *s = user;
  if (s->finished) return QWH_OK;
  if (!s->rs) return s->h.on_message ? s->h.on_message(s->user, p, n) : QWH_OK;
  resume_frame(s);
  int64_t now = s->rs->unreported_since < 0 ? qwh_sess_now_ms(s) : 0; /* the clock only for the first frame no count covers */
  bool due = qwh_resume_delivered(s->rs, n, now);                     /* counted as delivered (QWH-RESUME-008) */
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
  qwh_sess_set_error(s, known == QWH_E_NORMAL_CLOSE || known == QWH_E_GOING_AWAY ? QWH_OK : known, code);
  qwh_sess_finish(s);
  return QWH_OK;
}

void qwh_sess_open_phase(qwh_session *s, uint32_t peer_max, bool control, bool raw) {
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
    s->rs->unsent = 0; /* what an earlier connection left unwritten is resent below with the rest */
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
  qwh_receiver_handlers rh = {qwh_sess_rx_message, rx_ping, rx_pong, rx_close, rx_ack};
  qwh_receiver_init(&s->rx, &rh, s, cfg->max_frame_length, false);
  s->rx.dec.cb = qwh_sess_handshake_frame;
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

qwh_code qwh_session_feed(qwh_session *s, const uint8_t *p, size_t n) {
  while (n > 0 && !s->finished) {
    if (s->state == QWH_ST_VERIFYING && !s->legacy) { /* a v1 client may send nothing before the accept */
      qwh_session_fail(s, QWH_E_PROTOCOL_ERROR);
      break;
    }
    if (s->raw && s->state != QWH_ST_HANDSHAKE) {
      qwh_code rc = qwh_sess_rx_message(s, p, n);
      if (rc) qwh_session_fail(s, rc);
      break;
    }
    size_t used = 0;
    qwh_code rc = qwh_receiver_push(&s->rx, p, n, &used);
    if (rc) {
      /* A frame that came in the same read right behind the peer's CLOSE breaks the protocol
       * (QWH-CLOSE-004, QWH-CLOSE-012): our answer is already queued, so no frame reports it. */
      if (s->finished && s->close_received)
        qwh_sess_set_error(s, rc, NULL);
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
    qwh_sess_finish(s);
    return;
  }
  if (s->raw && s->state != QWH_ST_HANDSHAKE) { /* raw is set only once open */
    qwh_sess_finish(s);
    return;
  }
  qwh_code rc = qwh_receiver_end(&s->rx);
  if (rc) {
    qwh_session_fail(s, rc);
    return;
  }
  if (s->state == QWH_ST_HANDSHAKE || s->state == QWH_ST_VERIFYING) {
    if (s->cfg.role == QWH_CLIENT) qwh_sess_set_error(s, QWH_E_CLOSED, NULL); /* the server closed before answering */
    qwh_sess_finish(s);
    return;
  }
  /* At a frame boundary: with control this is an unclean end; without, the peer's way of closing (QWH-CLOSE-009). */
  if (s->control && !s->close_received) s->unclean = true;
  qwh_sess_finish(s);
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
  qwh_sess_set_error(s, QWH_E_ABORTED, NULL);
  qwh_sess_finish(s);
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
    qwh_sess_set_error(s, QWH_E_ABORTED, NULL);
    qwh_sess_finish(s);
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
