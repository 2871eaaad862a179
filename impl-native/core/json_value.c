/* The JSON values' arena, builders and helpers (see json.h). */
#include "json.h"

#include <stdlib.h>
#include <string.h>
/* ---- arena ---- */

struct qwh_arena_block {
  qwh_arena_block *next;
  size_t used, size;
  _Alignas(8) unsigned char data[];
};

#define ARENA_BLOCK 8192u

void qwh_arena_init(qwh_arena *a) { a->head = NULL; }

void qwh_arena_free(qwh_arena *a) {
  qwh_arena_block *b = a->head;
  while (b) {
    qwh_arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
}

void *qwh_arena_alloc(qwh_arena *a, size_t n) {
  if (n > SIZE_MAX - 16) return NULL;
  n = (n + 7u) & ~(size_t)7u;
  if (n == 0) n = 8;
  qwh_arena_block *b = a->head;
  if (!b || b->size - b->used < n) {
    size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    b = malloc(sizeof *b + size);
    if (!b) return NULL;
    b->used = 0;
    b->size = size;
    b->next = a->head;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  memset(p, 0, n);
  return p;
}

const char *qwh_json_status_text(qwh_json_status s) {
  switch (s) {
    case QWH_JSON_OK:
      return "ok";
    case QWH_JSON_ERR_UTF8:
      return "invalid UTF-8";
    case QWH_JSON_ERR_SYNTAX:
      return "syntax error";
    case QWH_JSON_ERR_DUPLICATE:
      return "duplicate member name";
    case QWH_JSON_ERR_SURROGATE:
      return "lone surrogate escape";
    case QWH_JSON_ERR_DEPTH:
      return "nesting too deep";
    case QWH_JSON_ERR_TRAILING:
      return "trailing characters";
    case QWH_JSON_ERR_NONINT:
      return "number is not a safe integer";
    case QWH_JSON_ERR_NOMEM:
      return "out of memory";
  }
  return "unknown";
}

qwh_json *qwh_json_new(qwh_arena *a, qwh_json_type t) {
  qwh_json *v = qwh_arena_alloc(a, sizeof *v);
  if (v) v->type = t;
  return v;
}

int qwh_json_object_append(qwh_arena *a, qwh_json *obj, qwh_str name, qwh_json *value) {
  if (obj->u.obj.n == obj->u.obj.cap) {
    size_t cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 4;
    qwh_json_member *m = qwh_arena_alloc(a, cap * sizeof *m);
    if (!m) return -1;
    if (obj->u.obj.n) memcpy(m, obj->u.obj.m, obj->u.obj.n * sizeof *m);
    obj->u.obj.m = m;
    obj->u.obj.cap = cap;
  }
  obj->u.obj.m[obj->u.obj.n].name = name;
  obj->u.obj.m[obj->u.obj.n].value = value;
  obj->u.obj.n++;
  return 0;
}

/* ---- helpers and builders ---- */

qwh_json *qwh_json_get(const qwh_json *obj, const char *name) {
  if (!obj || obj->type != QWH_JSON_OBJECT) return NULL;
  size_t n = strlen(name);
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    const qwh_json_member *m = &obj->u.obj.m[i];
    if (m->name.len == n && memcmp(m->name.s, name, n) == 0) return m->value;
  }
  return NULL;
}

bool qwh_json_is_string(const qwh_json *v, const char *s) {
  size_t n = strlen(s);
  return v && v->type == QWH_JSON_STRING && v->u.str.len == n && memcmp(v->u.str.s, s, n) == 0;
}

bool qwh_json_has_nonint(const qwh_json *v) {
  if (!v) return false;
  switch (v->type) {
    case QWH_JSON_NUMBER:
      return true;
    case QWH_JSON_ARRAY:
      for (size_t i = 0; i < v->u.arr.n; i++)
        if (qwh_json_has_nonint(v->u.arr.items[i])) return true;
      return false;
    case QWH_JSON_OBJECT:
      for (size_t i = 0; i < v->u.obj.n; i++)
        if (qwh_json_has_nonint(v->u.obj.m[i].value)) return true;
      return false;
    default:
      return false;
  }
}

qwh_json *qwh_json_null(qwh_arena *a) { return qwh_json_new(a, QWH_JSON_NULL); }

qwh_json *qwh_json_bool(qwh_arena *a, bool b) {
  qwh_json *v = qwh_json_new(a, QWH_JSON_BOOL);
  if (v) v->u.b = b;
  return v;
}

qwh_json *qwh_json_int(qwh_arena *a, int64_t i) {
  qwh_json *v = qwh_json_new(a, QWH_JSON_INT);
  if (v) v->u.i = i;
  return v;
}

qwh_json *qwh_json_string(qwh_arena *a, const char *s, size_t len) {
  qwh_json *v = qwh_json_new(a, QWH_JSON_STRING);
  char *copy = v ? qwh_arena_alloc(a, len + 1) : NULL;
  if (!copy) return NULL;
  if (len) memcpy(copy, s, len);
  v->u.str.s = copy;
  v->u.str.len = len;
  return v;
}

qwh_json *qwh_json_cstring(qwh_arena *a, const char *s) { return qwh_json_string(a, s, strlen(s)); }
qwh_json *qwh_json_array(qwh_arena *a) { return qwh_json_new(a, QWH_JSON_ARRAY); }
qwh_json *qwh_json_object(qwh_arena *a) { return qwh_json_new(a, QWH_JSON_OBJECT); }

int qwh_json_push(qwh_arena *a, qwh_json *arr, qwh_json *item) {
  if (!arr || !item || arr->type != QWH_JSON_ARRAY) return -1;
  if (arr->u.arr.n == arr->u.arr.cap) {
    size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
    qwh_json **items = qwh_arena_alloc(a, cap * sizeof *items);
    if (!items) return -1;
    if (arr->u.arr.n) memcpy(items, arr->u.arr.items, arr->u.arr.n * sizeof *items);
    arr->u.arr.items = items;
    arr->u.arr.cap = cap;
  }
  arr->u.arr.items[arr->u.arr.n++] = item;
  return 0;
}

int qwh_json_set(qwh_arena *a, qwh_json *obj, const char *name, qwh_json *value) {
  if (!obj || !value || obj->type != QWH_JSON_OBJECT) return -1;
  size_t n = strlen(name);
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    qwh_json_member *m = &obj->u.obj.m[i];
    if (m->name.len == n && memcmp(m->name.s, name, n) == 0) {
      m->value = value;
      return 0;
    }
  }
  char *copy = qwh_arena_alloc(a, n + 1);
  if (!copy) return -1;
  memcpy(copy, name, n);
  return qwh_json_object_append(a, obj, (qwh_str){copy, n}, value);
}

qwh_json *qwh_json_without(qwh_arena *a, const qwh_json *obj, const char *name) {
  qwh_json *out = qwh_json_object(a);
  if (!out || !obj || obj->type != QWH_JSON_OBJECT) return NULL;
  size_t n = name ? strlen(name) : 0;
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    const qwh_json_member *m = &obj->u.obj.m[i];
    if (name && m->name.len == n && memcmp(m->name.s, name, n) == 0) continue;
    if (qwh_json_object_append(a, out, m->name, m->value) != 0) return NULL;
  }
  return out;
}
