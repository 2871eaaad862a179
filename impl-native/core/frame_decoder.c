#include "frame_decoder.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"

/*
 * The assembly buffer grows as the frame's bytes arrive, never by what the header announces: it
 * starts at PARTIAL_INITIAL (or the whole frame when smaller) and at most doubles what it must
 * hold at each step, up to the whole frame. A peer that announces a large frame and stalls pins
 * PARTIAL_INITIAL; one that sends half a frame pins at most that half again. Buffers above
 * PARTIAL_KEEP are released after use.
 */
#define PARTIAL_INITIAL 65536u
#define PARTIAL_KEEP 262144u

void qwh_decoder_init(qwh_decoder *d, qwh_frame_cb cb, void *user) {
  memset(d, 0, sizeof *d);
  d->cb = cb;
  d->user = user;
  d->max_frame_length = QWH_DEFAULT_MAX_FRAME_LENGTH;
  d->oversize_code = QWH_E_FRAME_TOO_LARGE;
}

void qwh_decoder_free(qwh_decoder *d) {
  free(d->partial);
  d->partial = NULL;
  d->partial_cap = d->partial_len = 0;
}

void qwh_decoder_set_limits(qwh_decoder *d, uint32_t max_frame_length, bool control, qwh_code oversize_code) {
  d->max_frame_length = max_frame_length;
  d->control = control;
  d->oversize_code = oversize_code;
}

void qwh_decoder_handshake(qwh_decoder *d) { qwh_decoder_set_limits(d, QWH_MAX_HANDSHAKE_LENGTH, false, QWH_E_HANDSHAKE_TOO_LARGE); }

void qwh_decoder_refuse_data(qwh_decoder *d) { d->refuse_data = true; }
void qwh_decoder_pause(qwh_decoder *d) { d->paused = true; }

bool qwh_decoder_idle(const qwh_decoder *d) { return d->hdr_len == 0 && !d->in_payload; }

static qwh_code fail(qwh_decoder *d, qwh_code code) {
  d->error = code;
  d->in_payload = false;
  d->hdr_len = 0;
  return code;
}

/* Decides what the header announces. Returns QWH_OK and sets *len / *control. */
static qwh_code check_header(qwh_decoder *d, uint32_t h, uint32_t *len, bool *control) {
  if (d->control && (h & QWH_CONTROL_BIT)) {
    uint32_t l = h & ~QWH_CONTROL_BIT;
    if (l == 0 || l > QWH_MAX_CONTROL_LENGTH) return QWH_E_INVALID_CONTROL_FRAME;
    *len = l;
    *control = true;
    return QWH_OK;
  }
  if (d->refuse_data) return QWH_E_PROTOCOL_ERROR;
  if (h > d->max_frame_length) return d->oversize_code;
  *len = h;
  *control = false;
  return QWH_OK;
}

static qwh_code deliver(qwh_decoder *d, bool control, const uint8_t *p, size_t n) {
  qwh_code c = d->cb ? d->cb(d->user, control, p, n) : QWH_OK;
  return c == QWH_OK ? QWH_OK : fail(d, c);
}

void qwh_decoder_set_tail(qwh_decoder *d, size_t tail) { d->tail = tail; }

/* Makes the assembly buffer hold at least `want` payload bytes, growing toward d->need + d->tail. */
static int partial_reserve(qwh_decoder *d, size_t want) {
  if (want <= d->partial_cap) return 0;
  size_t full = (size_t)d->need + d->tail;
  size_t cap = d->partial_cap ? d->partial_cap : PARTIAL_INITIAL;
  while (cap < want) cap *= 2;
  if (cap > full || cap >= d->need) cap = full; /* the whole frame: with its tail */
  uint8_t *np = realloc(d->partial, cap);
  if (!np) return -1;
  d->partial = np;
  d->partial_cap = cap;
  return 0;
}

/* Appends to the assembly buffer. */
static int partial_append(qwh_decoder *d, const uint8_t *p, size_t n) {
  if (partial_reserve(d, d->partial_len + n) != 0) return -1;
  memcpy(d->partial + d->partial_len, p, n);
  d->partial_len += n;
  return 0;
}

/* The frame being assembled is complete: hands it to the callback. */
static qwh_code deliver_partial(qwh_decoder *d) {
  d->in_payload = false;
  d->partial_len = 0;
  d->delivering = true;
  qwh_code rc = deliver(d, d->partial_control, d->partial, d->need);
  d->delivering = false;
  if (d->partial_cap > PARTIAL_KEEP) {
    free(d->partial);
    d->partial = NULL;
    d->partial_cap = 0;
  }
  return rc;
}

uint8_t *qwh_decoder_take(qwh_decoder *d, size_t *cap) {
  if (!d->delivering || !d->partial) return NULL;
  size_t full = (size_t)d->need + d->tail;
  if (d->partial_cap < full) {
    /* A kept buffer that fits the payload but not the tail. */
    uint8_t *np = realloc(d->partial, full);
    if (!np) return NULL;
    d->partial = np;
    d->partial_cap = full;
  }
  uint8_t *p = d->partial;
  *cap = d->partial_cap;
  d->partial = NULL;
  d->partial_cap = 0;
  return p;
}

size_t qwh_decoder_room(qwh_decoder *d, size_t min, uint8_t **at) {
  if (d->error || !d->in_payload || d->delivering) return 0;
  size_t missing = d->need - d->partial_len;
  if (missing < min || missing == 0) return 0;
  if (d->partial_cap <= d->partial_len && partial_reserve(d, d->partial_len + 1) != 0) return 0;
  size_t room = d->partial_cap - d->partial_len;
  if (room > missing) room = missing;
  *at = d->partial + d->partial_len;
  return room;
}

qwh_code qwh_decoder_commit(qwh_decoder *d, size_t n) {
  d->paused = false;
  if (d->error) return d->error;
  if (!d->in_payload || n > d->partial_cap - d->partial_len || n > d->need - d->partial_len) return fail(d, QWH_E_INTERNAL);
  d->partial_len += n;
  if (d->partial_len < d->need) return QWH_OK;
  return deliver_partial(d);
}

qwh_code qwh_decoder_push(qwh_decoder *d, const uint8_t *chunk, size_t len, size_t *consumed) {
  size_t off = 0;
  qwh_code rc = QWH_OK;
  d->paused = false;
  if (d->error) {
    rc = d->error;
    goto out;
  }
  while (off < len && !d->paused) {
    if (d->in_payload) {
      size_t take = d->need - d->partial_len;
      if (take > len - off) take = len - off;
      if (partial_append(d, chunk + off, take) != 0) {
        rc = fail(d, QWH_E_INTERNAL);
        goto out;
      }
      off += take;
      if (d->partial_len < d->need) break;
      rc = deliver_partial(d);
      if (rc) goto out;
      continue;
    }
    uint32_t h;
    if (d->hdr_len == 0 && len - off >= QWH_FRAME_HEADER) {
      h = qwh_get_u32be(chunk + off);
      off += QWH_FRAME_HEADER;
    } else {
      while (d->hdr_len < QWH_FRAME_HEADER && off < len) d->hdr[d->hdr_len++] = chunk[off++];
      if (d->hdr_len < QWH_FRAME_HEADER) break;
      h = qwh_get_u32be(d->hdr);
      d->hdr_len = 0;
    }
    uint32_t flen = 0;
    bool control = false;
    rc = check_header(d, h, &flen, &control);
    if (rc) {
      fail(d, rc);
      goto out;
    }
    if (flen <= len - off) {
      /* Zero copy: the whole payload is in this chunk. */
      const uint8_t *p = chunk + off;
      off += flen;
      rc = deliver(d, control, p, flen);
      if (rc) goto out;
    } else {
      d->in_payload = true;
      d->partial_control = control;
      d->need = flen;
      d->partial_len = 0;
    }
  }
out:
  if (consumed) *consumed = off;
  return rc;
}

qwh_code qwh_decoder_end(qwh_decoder *d) {
  if (d->error) return d->error;
  if (!qwh_decoder_idle(d)) return fail(d, QWH_E_TRUNCATED_FRAME);
  return QWH_OK;
}
