/*
 * Strict JSON for QWH/1 (spec 7.1): UTF-8 without BOM, one value, no duplicate
 * member names (compared after unescaping), no lone surrogates, nesting at most
 * QWH_JSON_MAX_DEPTH. Numbers are kept exact: an integer within +-(2^53-1) is
 * QWH_JSON_INT; any other RFC 8259 number (fraction, exponent, -0, too large)
 * is QWH_JSON_NUMBER with its text, so the caller decides (0.3 hellos accept
 * them, everything else does not).
 *
 * Ownership: every value, string and array of a parse or a build lives in one
 * qwh_arena, freed at once by qwh_arena_free. Values never point outside it.
 */
#ifndef QWH_JSON_H
#define QWH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define QWH_JSON_MAX_DEPTH 64
#define QWH_JSON_MAX_SAFE_INT INT64_C(9007199254740991)

typedef struct qwh_arena_block qwh_arena_block;
typedef struct qwh_arena {
  qwh_arena_block *head;
} qwh_arena;

void qwh_arena_init(qwh_arena *a);
void qwh_arena_free(qwh_arena *a);
/* 8-byte aligned, zeroed memory; NULL when out of memory. */
void *qwh_arena_alloc(qwh_arena *a, size_t n);

typedef enum qwh_json_type {
  QWH_JSON_NULL,
  QWH_JSON_BOOL,
  QWH_JSON_INT,
  QWH_JSON_NUMBER, /* any number that is not a safe integer; text kept */
  QWH_JSON_STRING,
  QWH_JSON_ARRAY,
  QWH_JSON_OBJECT
} qwh_json_type;

typedef struct qwh_str {
  const char *s; /* UTF-8, NUL-terminated for convenience; may contain NUL */
  size_t len;
} qwh_str;

typedef struct qwh_json qwh_json;

typedef struct qwh_json_member {
  qwh_str name;
  qwh_json *value;
} qwh_json_member;

struct qwh_json {
  qwh_json_type type;
  union {
    bool b;
    int64_t i;
    struct {
      const char *text;
      size_t len;
      double value;
    } num;
    qwh_str str;
    struct {
      qwh_json **items;
      size_t n, cap;
    } arr;
    struct {
      qwh_json_member *m;
      size_t n, cap;
    } obj;
  } u;
};

typedef enum qwh_json_status {
  QWH_JSON_OK = 0,
  QWH_JSON_ERR_UTF8,
  QWH_JSON_ERR_SYNTAX,
  QWH_JSON_ERR_DUPLICATE,
  QWH_JSON_ERR_SURROGATE,
  QWH_JSON_ERR_DEPTH,
  QWH_JSON_ERR_TRAILING,
  QWH_JSON_ERR_NONINT, /* from writers: a non-integer number cannot be canonicalised */
  QWH_JSON_ERR_NOMEM
} qwh_json_status;

const char *qwh_json_status_text(qwh_json_status s);

/* Parses text[0..len) as one strict-JSON value into arena `a`. */
qwh_json_status qwh_json_parse(qwh_arena *a, const uint8_t *text, size_t len, qwh_json **out);

/* True when text is well-formed UTF-8 (RFC 3629: no overlongs, surrogates, > U+10FFFF). */
bool qwh_utf8_valid(const uint8_t *s, size_t len);
/* Number of code points of valid UTF-8. */
size_t qwh_utf8_codepoints(const char *s, size_t len);

/* Lookup and shape helpers. qwh_json_get returns NULL when absent or `obj` is not an object. */
qwh_json *qwh_json_get(const qwh_json *obj, const char *name);
bool qwh_json_is_string(const qwh_json *v, const char *s);
/* True when v contains a QWH_JSON_NUMBER anywhere. */
bool qwh_json_has_nonint(const qwh_json *v);

/* Builders (arena-owned; NULL on out of memory). */
qwh_json *qwh_json_new(qwh_arena *a, qwh_json_type t); /* an empty value of type t */
/* Appends a member without looking for an existing one: 0, or -1 when out of memory. */
int qwh_json_object_append(qwh_arena *a, qwh_json *obj, qwh_str name, qwh_json *value);
qwh_json *qwh_json_null(qwh_arena *a);
qwh_json *qwh_json_bool(qwh_arena *a, bool b);
qwh_json *qwh_json_int(qwh_arena *a, int64_t i);
qwh_json *qwh_json_string(qwh_arena *a, const char *s, size_t len);
qwh_json *qwh_json_cstring(qwh_arena *a, const char *s);
qwh_json *qwh_json_array(qwh_arena *a);
qwh_json *qwh_json_object(qwh_arena *a);
int qwh_json_push(qwh_arena *a, qwh_json *arr, qwh_json *item);
/* Sets member `name` (replacing an existing one). */
int qwh_json_set(qwh_arena *a, qwh_json *obj, const char *name, qwh_json *value);
/* Shallow copy of an object without member `name` (NULL: keep all). */
qwh_json *qwh_json_without(qwh_arena *a, const qwh_json *obj, const char *name);

/*
 * RFC 8785 canonical form (members sorted by UTF-16 code units, no whitespace).
 * Fails with QWH_JSON_ERR_NONINT on a non-integer number.
 */
qwh_json_status qwh_jcs_write(const qwh_json *v, qwh_buf *out);
/* Compact JSON in member order; non-integer numbers are written as received. */
qwh_json_status qwh_json_write(const qwh_json *v, qwh_buf *out);
/* Writes one JSON string literal as RFC 8785 escapes it. */
int qwh_json_write_string(const char *s, size_t len, qwh_buf *out);

#endif
