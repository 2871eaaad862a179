/* qwh-native serve: the hello's policy (spec 8.1 step 10: config.policy, trustedKeys, verifyDelayMs)
 * and the TLS checks (the hello's "tls" tags, step 8; pins; the channel binding). */
#include <stddef.h>
#include <string.h>

#include "serve.h"

/* Step 10 of spec 8.1: config.policy, then trustedKeys (only hellos signed by one of them, QWH-SIG-014). */
static qwh_code policy_decision(const config *cfg, const qwh_hello *h) {
  if (cfg->policy && (strcmp(cfg->policy, "reject") == 0 || strcmp(cfg->policy, "throw") == 0)) return QWH_E_POLICY_REJECTED;
  if (cfg->trusted_keys) {
    if (h->profile != QWH_PROFILE_V1 || h->sig_state != QWH_SIG_PRESENT) return QWH_E_POLICY_REJECTED; /* verified when present */
    for (size_t i = 0; i < cfg->trusted_keys->u.arr.n; i++) {
      const qwh_json *k = cfg->trusted_keys->u.arr.items[i];
      if (k->type == QWH_JSON_STRING && k->u.str.len == h->sig.key.len && memcmp(k->u.str.s, h->sig.key.s, k->u.str.len) == 0)
        return QWH_OK;
    }
    return QWH_E_POLICY_REJECTED;
  }
  return QWH_OK;
}

qwh_code serve_verify_now(void *user, const qwh_hello *h) {
  qwh_pconn *c = user; /* the session's user is its connection */
  server *srv = c->app;
  return policy_decision(srv->cfg, h);
}

static void verify_due(qwh_timer *t) {
  srv_conn *sc = (srv_conn *)(void *)((char *)t - offsetof(srv_conn, verify_timer));
  qwh_session_verdict(&sc->c.s, sc->verdict);
  qwh_pconn_service(&sc->c);
}

/* verifyDelayMs: the decision is known now but given after the delay (the session waits in VERIFYING). */
qwh_code serve_verify_later(void *user, const qwh_hello *h) {
  srv_conn *sc = user;
  server *srv = sc->c.app;
  sc->verdict = policy_decision(srv->cfg, h);
  sc->verify_timer.fire = verify_due;
  qwh_timer_set(&srv->loop, &sc->verify_timer, qwh_monotonic_ms() + srv->cfg->verify_delay_ms);
  return QWH_OK;
}

/* Server: a hello's "tls" tags must match the TLS session (spec 8.1 step 8). */
qwh_code serve_check_tls_tags(void *user, const qwh_json *tags) {
  qwh_pconn *c = user;
  if (!tags || tags->type != QWH_JSON_OBJECT) return QWH_OK;
  const qwh_json *fp = qwh_json_get(tags, "tlsFingerprint256"), *alpn = qwh_json_get(tags, "tlsAlpn");
  if ((fp || alpn) && !c->tls) return QWH_E_TLS_PIN_MISMATCH; /* a TLS claim over plain TCP */
  if (fp) {
    char peer[130];
    if (fp->type != QWH_JSON_STRING || !qwh_tls_peer_fingerprint256(c->tls, peer, sizeof peer) || !fp_equal(fp->u.str.s, peer))
      return QWH_E_TLS_PIN_MISMATCH;
  }
  if (alpn) {
    char got[256];
    if (alpn->type != QWH_JSON_STRING || !qwh_tls_alpn(c->tls, got, sizeof got) || strcmp(got, alpn->u.str.s) != 0)
      return QWH_E_TLS_PIN_MISMATCH;
  }
  return QWH_OK;
}

qwh_code serve_tls_open(qwh_pconn *c) {
  server *srv = c->app;
  c->s.cfg.transport_tls = true; /* a session begun here resumes only over TLS (QWH-RESUME-015) */
  char fp[130];
  bool have = qwh_tls_peer_fingerprint256(c->tls, fp, sizeof fp);
  if (srv->cfg->pins && srv->cfg->pins->u.arr.n > 0 && (!have || !pins_match(srv->cfg->pins, fp))) return QWH_E_TLS_PIN_MISMATCH;
  if (qwh_tls_export(c->tls, c->tls_exporter, sizeof c->tls_exporter, "EXPORTER-Channel-Binding", 24, NULL, 0, true) == QWH_TLS_OK)
    c->s.cfg.policy.exporter = c->tls_exporter;
  c->s.cfg.policy.check_tls_tags = serve_check_tls_tags;
  c->s.cfg.policy.user = c;
  return QWH_OK;
}
