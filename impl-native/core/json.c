/* Strict JSON parser (see json.h): UTF-8 checks, strings, numbers, arrays, objects with duplicate names
 * compared after unescaping, a depth limit. */
#include "json.h"

#include <stdlib.h>
#include <string.h>
/* ---- UTF-8 ---- */

bool qwh_utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false; /* continuation byte, overlong lead 0xc0/0xc1, or 0xf5..0xff */
    }
    if (len - i <= n) return false;
    for (size_t k = 1; k <= n; k++) {
      uint8_t d = s[i + k];
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false;
    i += n + 1;
  }
  return true;
}

size_t qwh_utf8_codepoints(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((uint8_t)s[i] & 0xc0) != 0x80) n++;
  return n;
}

static size_t utf8_put(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* ---- parser ---- */

typedef struct parser {
  qwh_arena *a;
  const uint8_t *s;
  size_t len, pos;
  qwh_json_status err;
} parser;

static qwh_json *fail(parser *p, qwh_json_status st) {
  if (p->err == QWH_JSON_OK) p->err = st;
  return NULL;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    uint8_t c = p->s[p->pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      p->pos++;
    else
      break;
  }
}

static int hex4(parser *p, uint32_t *out) {
  if (p->len - p->pos < 4) return -1;
  uint32_t v = 0;
  for (int k = 0; k < 4; k++) {
    uint8_t c = p->s[p->pos + (size_t)k];
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (uint32_t)(c - 'A' + 10);
    else
      return -1;
    v = (v << 4) | d;
  }
  p->pos += 4;
  *out = v;
  return 0;
}

/* Parses a string at p->pos (on the opening quote) into *out. */
static int parse_string(parser *p, qwh_str *out) {
  p->pos++;
  size_t start = p->pos, escapes = 0;
  /* First pass: find the end and check the plain bytes; decoded length <= raw length. */
  for (;;) {
    if (p->pos >= p->len) return fail(p, QWH_JSON_ERR_SYNTAX), -1;
    uint8_t c = p->s[p->pos];
    if (c == '"') break;
    if (c < 0x20) return fail(p, QWH_JSON_ERR_SYNTAX), -1;
    if (c == '\\') {
      escapes++;
      p->pos += 2;
      continue;
    }
    p->pos++;
  }
  size_t end = p->pos;
  if (end > p->len) return fail(p, QWH_JSON_ERR_SYNTAX), -1;
  char *buf = qwh_arena_alloc(p->a, end - start + 1);
  if (!buf) return fail(p, QWH_JSON_ERR_NOMEM), -1;
  if (escapes == 0) {
    memcpy(buf, p->s + start, end - start);
    out->s = buf;
    out->len = end - start;
    p->pos = end + 1;
    return 0;
  }
  size_t o = 0;
  p->pos = start;
  while (p->pos < end) {
    uint8_t c = p->s[p->pos];
    if (c != '\\') {
      buf[o++] = (char)c;
      p->pos++;
      continue;
    }
    p->pos++;
    uint8_t e = p->s[p->pos++];
    switch (e) {
      case '"':
        buf[o++] = '"';
        break;
      case '\\':
        buf[o++] = '\\';
        break;
      case '/':
        buf[o++] = '/';
        break;
      case 'b':
        buf[o++] = '\b';
        break;
      case 'f':
        buf[o++] = '\f';
        break;
      case 'n':
        buf[o++] = '\n';
        break;
      case 'r':
        buf[o++] = '\r';
        break;
      case 't':
        buf[o++] = '\t';
        break;
      case 'u': {
        uint32_t u;
        if (p->pos > end || hex4(p, &u) != 0 || p->pos > end) return fail(p, QWH_JSON_ERR_SYNTAX), -1;
        if (u >= 0xd800 && u <= 0xdbff) {
          uint32_t lo;
          if (end - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') return fail(p, QWH_JSON_ERR_SURROGATE), -1;
          p->pos += 2;
          if (hex4(p, &lo) != 0) return fail(p, QWH_JSON_ERR_SYNTAX), -1;
          if (lo < 0xdc00 || lo > 0xdfff) return fail(p, QWH_JSON_ERR_SURROGATE), -1;
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          return fail(p, QWH_JSON_ERR_SURROGATE), -1;
        }
        /* 6 raw bytes (\uXXXX) give at most 3 UTF-8 bytes, 12 give 4: always fits. */
        o += utf8_put(buf + o, u);
        break;
      }
      default:
        return fail(p, QWH_JSON_ERR_SYNTAX), -1;
    }
  }
  if (p->pos != end) return fail(p, QWH_JSON_ERR_SYNTAX), -1;
  buf[o] = '\0';
  out->s = buf;
  out->len = o;
  p->pos = end + 1;
  return 0;
}

static qwh_json *parse_number(parser *p) {
  size_t start = p->pos;
  const uint8_t *s = p->s;
  bool neg = false, integer = true;
  if (s[p->pos] == '-') {
    neg = true;
    p->pos++;
  }
  if (p->pos >= p->len) return fail(p, QWH_JSON_ERR_SYNTAX);
  size_t int_start = p->pos;
  if (s[p->pos] == '0') {
    p->pos++;
  } else if (s[p->pos] >= '1' && s[p->pos] <= '9') {
    while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
  } else {
    return fail(p, QWH_JSON_ERR_SYNTAX);
  }
  size_t int_end = p->pos;
  if (p->pos < p->len && s[p->pos] == '.') {
    integer = false;
    p->pos++;
    size_t d = p->pos;
    while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
    if (p->pos == d) return fail(p, QWH_JSON_ERR_SYNTAX);
  }
  if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
    integer = false;
    p->pos++;
    if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) p->pos++;
    size_t d = p->pos;
    while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') p->pos++;
    if (p->pos == d) return fail(p, QWH_JSON_ERR_SYNTAX);
  }
  size_t digits = int_end - int_start;
  if (integer && !(neg && digits == 1 && s[int_start] == '0') && digits <= 16) {
    int64_t v = 0;
    for (size_t k = int_start; k < int_end; k++) v = v * 10 + (int64_t)(s[k] - '0');
    if (v <= QWH_JSON_MAX_SAFE_INT) {
      qwh_json *r = qwh_json_new(p->a, QWH_JSON_INT);
      if (!r) return fail(p, QWH_JSON_ERR_NOMEM);
      r->u.i = neg ? -v : v;
      return r;
    }
  }
  qwh_json *r = qwh_json_new(p->a, QWH_JSON_NUMBER);
  char *text = r ? qwh_arena_alloc(p->a, p->pos - start + 1) : NULL;
  if (!text) return fail(p, QWH_JSON_ERR_NOMEM);
  memcpy(text, s + start, p->pos - start);
  r->u.num.text = text;
  r->u.num.len = p->pos - start;
  r->u.num.value = strtod(text, NULL); /* the text is in the C locale's number syntax */
  return r;
}

static int literal(parser *p, const char *word) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return -1;
  p->pos += n;
  return 0;
}

static int name_cmp(const void *x, const void *y) {
  const qwh_json_member *a = x, *b = y;
  if (a->name.len != b->name.len) return a->name.len < b->name.len ? -1 : 1;
  return memcmp(a->name.s, b->name.s, a->name.len);
}

static bool has_duplicates(qwh_arena *a, const qwh_json *obj, bool *nomem) {
  size_t n = obj->u.obj.n;
  const qwh_json_member *m = obj->u.obj.m;
  if (n < 2) return false;
  if (n <= 8) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = 0; j < i; j++)
        if (name_cmp(&m[i], &m[j]) == 0) return true;
    return false;
  }
  qwh_json_member *copy = qwh_arena_alloc(a, n * sizeof *copy);
  if (!copy) {
    *nomem = true;
    return false;
  }
  memcpy(copy, m, n * sizeof *copy);
  qsort(copy, n, sizeof *copy, name_cmp);
  for (size_t i = 1; i < n; i++)
    if (name_cmp(&copy[i], &copy[i - 1]) == 0) return true;
  return false;
}

static qwh_json *parse_value(parser *p, int depth);

static qwh_json *parse_array(parser *p, int depth) {
  qwh_json *arr = qwh_json_new(p->a, QWH_JSON_ARRAY);
  if (!arr) return fail(p, QWH_JSON_ERR_NOMEM);
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == ']') {
    p->pos++;
    return arr;
  }
  for (;;) {
    skip_ws(p);
    qwh_json *item = parse_value(p, depth + 1);
    if (!item) return NULL;
    if (qwh_json_push(p->a, arr, item) != 0) return fail(p, QWH_JSON_ERR_NOMEM);
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, QWH_JSON_ERR_SYNTAX);
    uint8_t c = p->s[p->pos++];
    if (c == ']') return arr;
    if (c != ',') return fail(p, QWH_JSON_ERR_SYNTAX);
  }
}

static qwh_json *parse_object(parser *p, int depth) {
  qwh_json *obj = qwh_json_new(p->a, QWH_JSON_OBJECT);
  if (!obj) return fail(p, QWH_JSON_ERR_NOMEM);
  p->pos++;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == '}') {
    p->pos++;
    return obj;
  }
  for (;;) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"') return fail(p, QWH_JSON_ERR_SYNTAX);
    qwh_str name;
    if (parse_string(p, &name) != 0) return NULL;
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':') return fail(p, QWH_JSON_ERR_SYNTAX);
    p->pos++;
    skip_ws(p);
    qwh_json *value = parse_value(p, depth + 1);
    if (!value) return NULL;
    if (qwh_json_object_append(p->a, obj, name, value) != 0) return fail(p, QWH_JSON_ERR_NOMEM);
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, QWH_JSON_ERR_SYNTAX);
    uint8_t c = p->s[p->pos++];
    if (c == '}') break;
    if (c != ',') return fail(p, QWH_JSON_ERR_SYNTAX);
  }
  bool nomem = false;
  if (has_duplicates(p->a, obj, &nomem)) return fail(p, QWH_JSON_ERR_DUPLICATE);
  if (nomem) return fail(p, QWH_JSON_ERR_NOMEM);
  return obj;
}

static qwh_json *parse_value(parser *p, int depth) {
  if (depth > QWH_JSON_MAX_DEPTH) return fail(p, QWH_JSON_ERR_DEPTH);
  if (p->pos >= p->len) return fail(p, QWH_JSON_ERR_SYNTAX);
  switch (p->s[p->pos]) {
    case '{':
      return parse_object(p, depth);
    case '[':
      return parse_array(p, depth);
    case '"': {
      qwh_json *v = qwh_json_new(p->a, QWH_JSON_STRING);
      if (!v) return fail(p, QWH_JSON_ERR_NOMEM);
      return parse_string(p, &v->u.str) == 0 ? v : NULL;
    }
    case 't':
    case 'f': {
      bool t = p->s[p->pos] == 't';
      if (literal(p, t ? "true" : "false") != 0) return fail(p, QWH_JSON_ERR_SYNTAX);
      qwh_json *v = qwh_json_new(p->a, QWH_JSON_BOOL);
      if (!v) return fail(p, QWH_JSON_ERR_NOMEM);
      v->u.b = t;
      return v;
    }
    case 'n': {
      if (literal(p, "null") != 0) return fail(p, QWH_JSON_ERR_SYNTAX);
      qwh_json *v = qwh_json_new(p->a, QWH_JSON_NULL);
      return v ? v : fail(p, QWH_JSON_ERR_NOMEM);
    }
    default:
      return parse_number(p);
  }
}

qwh_json_status qwh_json_parse(qwh_arena *a, const uint8_t *text, size_t len, qwh_json **out) {
  *out = NULL;
  if (!qwh_utf8_valid(text, len)) return QWH_JSON_ERR_UTF8;
  parser p = {a, text, len, 0, QWH_JSON_OK};
  skip_ws(&p);
  qwh_json *v = parse_value(&p, 0);
  if (!v) return p.err ? p.err : QWH_JSON_ERR_SYNTAX;
  skip_ws(&p);
  if (p.pos != len) return QWH_JSON_ERR_TRAILING;
  *out = v;
  return QWH_JSON_OK;
}
