/*
 * Writers: RFC 8785 (JCS) canonical JSON for the QWH value domain (integers
 * within +-(2^53-1), so number serialisation is plain decimal), and a compact
 * writer that keeps member order (used for adapter output).
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"

int qwh_json_write_string(const char *s, size_t len, qwh_buf *out) {
  static const char hex[] = "0123456789abcdef";
  if (qwh_buf_putc(out, '"') != 0) return -1;
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    const char *esc = NULL;
    char u[7];
    if (c == '"')
      esc = "\\\"";
    else if (c == '\\')
      esc = "\\\\";
    else if (c == '\b')
      esc = "\\b";
    else if (c == '\f')
      esc = "\\f";
    else if (c == '\n')
      esc = "\\n";
    else if (c == '\r')
      esc = "\\r";
    else if (c == '\t')
      esc = "\\t";
    else if (c < 0x20) {
      memcpy(u, "\\u00", 4);
      u[4] = hex[c >> 4];
      u[5] = hex[c & 15];
      u[6] = '\0';
      esc = u;
    }
    if (!esc) continue;
    if (qwh_buf_append(out, s + run, i - run) != 0 || qwh_buf_puts(out, esc) != 0) return -1;
    run = i + 1;
  }
  if (qwh_buf_append(out, s + run, len - run) != 0) return -1;
  return qwh_buf_putc(out, '"');
}

/* Next code point of valid UTF-8 at s[*i], mapped to its first UTF-16 code unit (astral: high surrogate). */
static uint32_t next_unit_key(const char *s, size_t len, size_t *i, uint32_t *cp_out) {
  uint8_t c = (uint8_t)s[*i];
  uint32_t cp;
  size_t n;
  if (c < 0x80) {
    cp = c;
    n = 0;
  } else if (c < 0xe0) {
    cp = c & 0x1fu;
    n = 1;
  } else if (c < 0xf0) {
    cp = c & 0x0fu;
    n = 2;
  } else {
    cp = c & 0x07u;
    n = 3;
  }
  (*i)++;
  for (size_t k = 0; k < n && *i < len; k++, (*i)++) cp = (cp << 6) | ((uint8_t)s[*i] & 0x3fu);
  *cp_out = cp;
  return cp < 0x10000 ? cp : 0xd800u + ((cp - 0x10000u) >> 10);
}

/* Orders names by UTF-16 code units (RFC 8785 3.2.3). */
static int utf16_cmp(const qwh_str *a, const qwh_str *b) {
  size_t i = 0, j = 0;
  while (i < a->len && j < b->len) {
    uint32_t ca, cb;
    uint32_t ka = next_unit_key(a->s, a->len, &i, &ca);
    uint32_t kb = next_unit_key(b->s, b->len, &j, &cb);
    if (ka != kb) return ka < kb ? -1 : 1;
    if (ca != cb) return ca < cb ? -1 : 1; /* both astral, same high surrogate */
  }
  if (i < a->len) return 1;
  if (j < b->len) return -1;
  return 0;
}

static int member_utf16_cmp(const void *x, const void *y) {
  const qwh_json_member *const *a = x, *const *b = y;
  return utf16_cmp(&(*a)->name, &(*b)->name);
}

static qwh_json_status write_value(const qwh_json *v, qwh_buf *out, bool canonical, int depth) {
  if (depth > QWH_JSON_MAX_DEPTH + 1) return QWH_JSON_ERR_DEPTH;
  char num[32];
  switch (v->type) {
    case QWH_JSON_NULL:
      return qwh_buf_puts(out, "null") ? QWH_JSON_ERR_NOMEM : QWH_JSON_OK;
    case QWH_JSON_BOOL:
      return qwh_buf_puts(out, v->u.b ? "true" : "false") ? QWH_JSON_ERR_NOMEM : QWH_JSON_OK;
    case QWH_JSON_INT: {
      int64_t i = v->u.i;
      uint64_t m = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
      size_t k = sizeof num;
      num[--k] = '\0';
      do {
        num[--k] = (char)('0' + (m % 10));
        m /= 10;
      } while (m);
      if (i < 0) num[--k] = '-';
      return qwh_buf_puts(out, num + k) ? QWH_JSON_ERR_NOMEM : QWH_JSON_OK;
    }
    case QWH_JSON_NUMBER:
      if (canonical) return QWH_JSON_ERR_NONINT;
      return qwh_buf_append(out, v->u.num.text, v->u.num.len) ? QWH_JSON_ERR_NOMEM : QWH_JSON_OK;
    case QWH_JSON_STRING:
      return qwh_json_write_string(v->u.str.s, v->u.str.len, out) ? QWH_JSON_ERR_NOMEM : QWH_JSON_OK;
    case QWH_JSON_ARRAY:
      if (qwh_buf_putc(out, '[')) return QWH_JSON_ERR_NOMEM;
      for (size_t i = 0; i < v->u.arr.n; i++) {
        if (i && qwh_buf_putc(out, ',')) return QWH_JSON_ERR_NOMEM;
        qwh_json_status st = write_value(v->u.arr.items[i], out, canonical, depth + 1);
        if (st) return st;
      }
      return qwh_buf_putc(out, ']') ? QWH_JSON_ERR_NOMEM : QWH_JSON_OK;
    case QWH_JSON_OBJECT: {
      size_t n = v->u.obj.n;
      const qwh_json_member **order = NULL;
      if (canonical && n > 1) {
        order = malloc(n * sizeof *order);
        if (!order) return QWH_JSON_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) order[i] = &v->u.obj.m[i];
        qsort(order, n, sizeof *order, member_utf16_cmp);
      }
      qwh_json_status st = QWH_JSON_OK;
      if (qwh_buf_putc(out, '{')) st = QWH_JSON_ERR_NOMEM;
      for (size_t i = 0; i < n && st == QWH_JSON_OK; i++) {
        const qwh_json_member *m = order ? order[i] : &v->u.obj.m[i];
        if ((i && qwh_buf_putc(out, ',')) || qwh_json_write_string(m->name.s, m->name.len, out) || qwh_buf_putc(out, ':')) {
          st = QWH_JSON_ERR_NOMEM;
          break;
        }
        st = write_value(m->value, out, canonical, depth + 1);
      }
      free(order);
      if (st == QWH_JSON_OK && qwh_buf_putc(out, '}')) st = QWH_JSON_ERR_NOMEM;
      return st;
    }
  }
  return QWH_JSON_ERR_SYNTAX;
}

qwh_json_status qwh_jcs_write(const qwh_json *v, qwh_buf *out) { return write_value(v, out, true, 0); }
qwh_json_status qwh_json_write(const qwh_json *v, qwh_buf *out) { return write_value(v, out, false, 0); }
