#include "fields.h"

#include <string.h>

#include "limits.h"

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads (0|[1-9][0-9]{0,3}) at s[*i]. */
static bool version_part(const char *s, size_t len, size_t *i, int *out) {
  size_t start = *i;
  if (start >= len || !is_digit(s[start])) return false;
  if (s[start] == '0') {
    *i = start + 1;
    *out = 0;
    return true;
  }
  int v = 0;
  while (*i < len && is_digit(s[*i]) && *i - start < 4) v = v * 10 + (s[(*i)++] - '0');
  *out = v;
  return true;
}

bool qwh_parse_version_text(const char *s, size_t len, int *major, int *minor) {
  size_t i = 0;
  if (!version_part(s, len, &i, major)) return false;
  if (i >= len || s[i] != '.') return false;
  i++;
  if (!version_part(s, len, &i, minor)) return false;
  return i == len;
}

bool qwh_parse_qwh(const qwh_json *v, int *major, int *minor) {
  return v && v->type == QWH_JSON_STRING && qwh_parse_version_text(v->u.str.s, v->u.str.len, major, minor);
}

bool qwh_feature_name_valid(const char *s, size_t len) {
  if (len < 1 || len > 32 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-')) return false;
  }
  return true;
}

bool qwh_check_features(const qwh_json *v) {
  if (!v || v->type != QWH_JSON_ARRAY || v->u.arr.n > QWH_MAX_FEATURES) return false;
  for (size_t i = 0; i < v->u.arr.n; i++) {
    const qwh_json *f = v->u.arr.items[i];
    if (f->type != QWH_JSON_STRING || !qwh_feature_name_valid(f->u.str.s, f->u.str.len)) return false;
    for (size_t j = 0; j < i; j++) {
      const qwh_json *g = v->u.arr.items[j];
      if (g->u.str.len == f->u.str.len && memcmp(g->u.str.s, f->u.str.s, f->u.str.len) == 0) return false;
    }
  }
  return true;
}

bool qwh_features_has(const qwh_json *features, const char *name) {
  if (!features || features->type != QWH_JSON_ARRAY) return false;
  for (size_t i = 0; i < features->u.arr.n; i++)
    if (qwh_json_is_string(features->u.arr.items[i], name)) return true;
  return false;
}

bool qwh_check_app_version(const qwh_json *v) {
  if (!v || v->type != QWH_JSON_STRING) return false;
  size_t n = qwh_utf8_codepoints(v->u.str.s, v->u.str.len);
  return n >= 1 && n <= QWH_MAX_VERSION_CODEPOINTS;
}

static bool tag_name_valid(const char *s, size_t len) {
  if (len < 1 || len > 64) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.' || c == ':' || c == '-')) return false;
  }
  return true;
}

bool qwh_check_tags(const qwh_json *v, bool legacy) {
  if (!v || v->type != QWH_JSON_OBJECT) return false;
  if (!legacy && v->u.obj.n > QWH_MAX_TAGS) return false;
  for (size_t i = 0; i < v->u.obj.n; i++) {
    const qwh_json_member *m = &v->u.obj.m[i];
    if (!legacy && !tag_name_valid(m->name.s, m->name.len)) return false;
    switch (m->value->type) {
      case QWH_JSON_STRING:
        if (!legacy && qwh_utf8_codepoints(m->value->u.str.s, m->value->u.str.len) > QWH_MAX_TAG_VALUE_CODEPOINTS) return false;
        break;
      case QWH_JSON_INT:
        break;
      case QWH_JSON_NUMBER:
        if (!legacy) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

bool qwh_check_max_frame_length(const qwh_json *v) {
  return v && v->type == QWH_JSON_INT && v->u.i >= 0 && v->u.i <= (int64_t)QWH_MAX_FRAME_LENGTH_LIMIT;
}

bool qwh_error_code_valid(const char *s, size_t len) {
  if (len < 3 || len > 64 || s[0] != 'E' || s[1] != '_') return false;
  for (size_t i = 2; i < len; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '_')) return false;
  }
  return true;
}

bool qwh_check_reason(const qwh_json *v) {
  if (!v) return true;
  return v->type == QWH_JSON_STRING && qwh_utf8_codepoints(v->u.str.s, v->u.str.len) <= QWH_MAX_REASON_CODEPOINTS;
}

/* The numeric major: the leading digit run, followed by "." or the end; digits without leading zeros. */
static bool app_major(const char *s, size_t len, const char **digits, size_t *ndigits) {
  size_t i = 0;
  while (i < len && is_digit(s[i])) i++;
  if (i == 0 || (i < len && s[i] != '.')) return false;
  size_t z = 0;
  while (z + 1 < i && s[z] == '0') z++;
  *digits = s + z;
  *ndigits = i - z;
  return true;
}

bool qwh_app_versions_compatible(const char *a, size_t alen, const char *b, size_t blen) {
  const char *da, *db;
  size_t na, nb;
  if (!app_major(a, alen, &da, &na) || !app_major(b, blen, &db, &nb)) return alen == blen && memcmp(a, b, alen) == 0;
  return na == nb && memcmp(da, db, na) == 0;
}
