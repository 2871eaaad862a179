/*
 * qwh-native connect: when each scenario is over and whether it passed (the echo check, the
 * phases of heartbeat, broadcast and reconnect), and the sender of scenario sequence.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"

static size_t total_bytes(const qwh_buf *m, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; i++) t += m[i].len;
  return t;
}

/* The echo check: same messages (raw: same byte stream). */
static bool echo_matches(const client *cl) {
  const msg_list *m = &cl->cfg->messages;
  if (cl->cfg->raw) {
    if (cl->received_bytes != total_bytes(m->items, m->n)) return false;
    size_t mi = 0, mo = 0;
    for (size_t i = 0; i < cl->n_received; i++)
      for (size_t j = 0; j < cl->received[i].len; j++) {
        while (mi < m->n && mo == m->items[mi].len) mi++, mo = 0;
        if (mi >= m->n || m->items[mi].data[mo++] != cl->received[i].data[j]) return false;
      }
    return true;
  }
  if (cl->n_received != m->n) return false;
  for (size_t i = 0; i < m->n; i++)
    if (m->items[i].len != cl->received[i].len || (m->items[i].len && memcmp(m->items[i].data, cl->received[i].data, m->items[i].len) != 0))
      return false;
  return true;
}

bool cl_seq_fill(client *cl) {
  const msg_list *m = &cl->cfg->messages;
  for (int round = 0; round < 8; round++) {
    if (!cl->have_conn || !cl->conn_open || cl->closing_ourselves || cl->next_msg >= m->n) return false;
    qwh_pconn *c = &cl->conn;
    if (c->s.finished || c->s.close_sent) return false;
    bool full;
    size_t before = cl->next_msg;
    qwh_code rc = seq_send(c, m, &cl->next_msg, &full);
    cl->sent += cl->next_msg - before;
    if (rc != QWH_OK) { /* not a connection loss: this message cannot be sent at all */
      cl_record_error(cl, qwh_code_name(rc));
      cl->next_msg = m->n;
    }
    if (cl->next_msg == before) return false;
    qwh_pconn_service(c); /* may end the connection (cl_closed frees it) */
    if (!full || !cl->have_conn || queued_bytes(&cl->conn) > 0) return false;
  }
  return true;
}

/* holdMs: how long mirror and hold stay open, and heartbeat idles before its round trip. */
static int64_t hold_ms(const client *cl) {
  return cl->cfg->hold_ms >= 0 ? cl->cfg->hold_ms : (cl->kind == CS_MIRROR ? 10000 : cl->kind == CS_HEARTBEAT ? 500 : 1000);
}

int64_t cl_scenario_due(const client *cl, const progress *pr, int64_t start) {
  if (cl->kind == CS_MIRROR || cl->kind == CS_HOLD) return start + hold_ms(cl);
  if (cl->kind == CS_HEARTBEAT && pr->phase == 1) return pr->mark + hold_ms(cl);
  return INT64_MAX;
}

bool cl_scenario_step(client *cl, progress *pr, int64_t now, int64_t start, bool *ok) {
  const config *cfg = cl->cfg;
  size_t want = cfg->messages.n;
  int64_t hold = hold_ms(cl);
  switch (cl->kind) {
    case CS_EXPECT_REJECT:
      if (cl->opened) return *ok = false, true;
      if (cl->closed) return *ok = cfg->expect_error && strcmp(cl->error, cfg->expect_error) == 0, true;
      return false;
    case CS_ECHO:
      if (cl->opened && (cfg->raw ? cl->received_bytes >= total_bytes(cfg->messages.items, want) : cl->n_received >= want))
        return *ok = echo_matches(cl), true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_MIRROR:
    case CS_HOLD:
      if (cl->closed || now - start >= hold) return *ok = true, true;
      return false;
    case CS_CLOSE:
      if (cl->closed) return *ok = true, true;
      return false;
    case CS_RECEIVE:
      if ((int64_t)cl->n_received >= cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_COUNT:
      if (cl->counted >= (uint64_t)cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_AWAIT_CLOSE:
      if (cl->closed) return *ok = cl->closed_by_peer, true;
      return false;
    case CS_OVERSIZE: {
      size_t need = want ? want : 1;
      if (cl->n_received >= need) return *ok = !cl->closed && strcmp(cl->local_error, "E_FRAME_TOO_LARGE") == 0, true;
      if (cl->closed) return *ok = false, true;
      return false;
    }
    case CS_HEARTBEAT: /* idle for holdMs (heartbeats keep it open), then a round trip */
      if (cl->closed) return *ok = false, true;
      if (!cl->opened) return false;
      if (pr->phase == 0) pr->phase = 1, pr->mark = now;
      if (pr->phase == 1 && now - pr->mark >= hold) {
        static const qwh_buf after = {(uint8_t *)"after-idle", 10, 10};
        if (want)
          cl_send_all(cl, &cl->cfg->messages);
        else
          cl_send(cl, &after);
        pr->phase = 2;
      }
      if (pr->phase == 2 && cl->n_received >= (want ? want : 1)) return *ok = true, true;
      return false;
    case CS_BROADCAST: /* the server's "go" (dropped from the result), then the messages */
      if (pr->phase == 0 && cl->n_received >= 1) {
        qwh_buf_free(&cl->received[0]);
        memmove(cl->received, cl->received + 1, (cl->n_received - 1) * sizeof *cl->received);
        cl->n_received--;
        cl_send_all(cl, &cl->cfg->messages);
        pr->phase = 1;
      }
      if (pr->phase == 1 && (int64_t)cl->n_received >= cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
    case CS_RETRY:
      if (cl->closed || cl->closes_seen >= cfg->closes) return *ok = cl->opened, true;
      return false;
    case CS_RECONNECT: /* first echo, checkpoint (the runner restarts the server), reconnect, the rest */
      if (cl->closed) return *ok = false, true;
      if (pr->phase == 0 && cl->n_received >= 1) {
        fputs("{\"event\":\"checkpoint\"}\n", stdout);
        fflush(stdout);
        pr->phase = 1;
        pr->base = (size_t)cl->readies;
      }
      if (pr->phase == 1 && (size_t)cl->readies > pr->base && cl->conn_open) {
        for (size_t i = 1; i < want; i++) cl_send(cl, &cl->cfg->messages.items[i]);
        pr->phase = 2;
      }
      if (pr->phase == 2 && cl->n_received >= want) return *ok = true, true;
      return false;
    case CS_SEQUENCE:
      if ((int64_t)cl->n_received >= cfg->expect_count) return *ok = true, true;
      if (cl->closed) return *ok = false, true;
      return false;
  }
  return *ok = false, true;
}
