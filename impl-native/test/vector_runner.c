/*
 * Runs every golden vector in conformance/vectors through the C core, the way
 * impl-ts/test/vectors.test.ts does: frame-decode vectors under three kinds of
 * chunking (whole, one byte per chunk, seeded random splits), outputs compared
 * as JSON values (object member order ignored, accept features as sets).
 *
 * usage: vector_runner [VECTOR_DIR]   (default ../conformance/vectors)
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/codec_ops.h"

static int read_file(const char *path, qwh_buf *out) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  uint8_t chunk[65536];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (qwh_buf_append(out, chunk, n)) rc = -1;
  if (ferror(f)) rc = -1;
  fclose(f);
  return rc;
}

/* mulberry32, as in the TS runner, so a failing split can be replayed from its seed. */
static uint32_t mulberry32(uint32_t *state) {
  uint32_t t = (*state += 0x6d2b79f5u);
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

/* ---- comparison ---- */

static double num_of(const qwh_json *v) { return v->type == QWH_JSON_INT ? (double)v->u.i : v->u.num.value; }

static bool json_equal(const qwh_json *a, const qwh_json *b, bool features_as_set);

static bool array_equal_as_set(const qwh_json *a, const qwh_json *b) {
  if (a->u.arr.n != b->u.arr.n) return false;
  for (size_t i = 0; i < a->u.arr.n; i++) {
    bool found = false;
    for (size_t j = 0; j < b->u.arr.n && !found; j++) found = json_equal(a->u.arr.items[i], b->u.arr.items[j], true);
    if (!found) return false;
  }
  return true;
}

static bool json_equal(const qwh_json *a, const qwh_json *b, bool features_as_set) {
  if (!a || !b) return a == b;
  bool an = a->type == QWH_JSON_INT || a->type == QWH_JSON_NUMBER, bn = b->type == QWH_JSON_INT || b->type == QWH_JSON_NUMBER;
  if (an || bn) {
    if (!(an && bn)) return false;
    if (a->type == QWH_JSON_INT && b->type == QWH_JSON_INT) return a->u.i == b->u.i;
    return num_of(a) == num_of(b);
  }
  if (a->type != b->type) return false;
  switch (a->type) {
    case QWH_JSON_NULL:
      return true;
    case QWH_JSON_BOOL:
      return a->u.b == b->u.b;
    case QWH_JSON_STRING:
      return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case QWH_JSON_ARRAY:
      if (a->u.arr.n != b->u.arr.n) return false;
      for (size_t i = 0; i < a->u.arr.n; i++)
        if (!json_equal(a->u.arr.items[i], b->u.arr.items[i], features_as_set)) return false;
      return true;
    case QWH_JSON_OBJECT:
      if (a->u.obj.n != b->u.obj.n) return false;
      for (size_t i = 0; i < a->u.obj.n; i++) {
        const qwh_json_member *m = &a->u.obj.m[i];
        const qwh_json *other = qwh_json_get(b, m->name.s);
        if (!other) return false;
        if (features_as_set && strcmp(m->name.s, "features") == 0 && m->value->type == QWH_JSON_ARRAY && other->type == QWH_JSON_ARRAY) {
          if (!array_equal_as_set(m->value, other)) return false;
        } else if (!json_equal(m->value, other, features_as_set)) {
          return false;
        }
      }
      return true;
    default:
      return false;
  }
}

/* The outputs a vector states, in the shape the operation returns (cf. expectedOf in the TS runner). */
static qwh_json *expected_of(qwh_arena *a, const char *kind, const qwh_json *t) {
  qwh_json *e = qwh_json_object(a);
  qwh_json *error = qwh_json_get(t, "error");
  if (!error) error = qwh_json_null(a);
  bool has_error = error->type == QWH_JSON_STRING;
  const char *keys[4] = {NULL};
  if (strcmp(kind, "frame-decode") == 0) {
    keys[0] = "events";
  } else if (strcmp(kind, "frame-encode") == 0) {
    keys[0] = "hex";
  } else if (strcmp(kind, "hello") == 0) {
    if (!has_error) keys[0] = "profile", keys[1] = "hello";
  } else if (strcmp(kind, "accept") == 0) {
    if (!has_error) {
      keys[0] = "outcome";
      keys[1] = qwh_json_is_string(qwh_json_get(t, "outcome"), "accept") ? "accept" : "reject";
    }
  } else if (strcmp(kind, "negotiate") == 0) {
    keys[0] = "answer";
  } else if (strcmp(kind, "signature") == 0) {
    if (qwh_json_get(t, "signedHex")) keys[0] = "signedHex";
  } else if (strcmp(kind, "canonical-json") == 0) {
    if (!has_error) keys[0] = "canonicalHex";
  } else if (strcmp(kind, "resume") == 0) {
    keys[0] = qwh_json_get(t, "events") ? "events" : "answer";
  }
  for (int i = 0; keys[i]; i++) {
    qwh_json *v = qwh_json_get(t, keys[i]);
    if (!v && strcmp(keys[i], "hex") == 0) v = qwh_json_cstring(a, "");
    if (v) qwh_json_set(a, e, keys[i], v);
  }
  qwh_json_set(a, e, "error", error);
  return e;
}

/* Keeps only the members the vector states (an absent "error" is null). */
static qwh_json *comparable(qwh_arena *a, const qwh_json *actual, const qwh_json *expected) {
  qwh_json *out = qwh_json_object(a);
  for (size_t i = 0; i < expected->u.obj.n; i++) {
    const char *k = expected->u.obj.m[i].name.s;
    qwh_json *v = qwh_json_get(actual, k);
    if (!v && strcmp(k, "error") == 0) v = qwh_json_null(a);
    if (v) qwh_json_set(a, out, k, v);
  }
  return out;
}

static void print_json(const char *label, const qwh_json *v) {
  qwh_buf b;
  qwh_buf_init(&b);
  qwh_json_write(v, &b);
  fprintf(stderr, "    %s %.*s\n", label, (int)(b.len > 2000 ? 2000 : b.len), (const char *)b.data);
  qwh_buf_free(&b);
}

typedef struct stats {
  int tests, passed, failed, runs;
} stats;

static bool run_one(qwh_arena *a, const char *file, const char *kind, const qwh_json *params, const qwh_json *input, const qwh_json *test,
                    const char *run_name, stats *st) {
  st->runs++;
  qwh_json *actual;
  int rc = qwh_codec_run(a, kind, params, input, &actual);
  qwh_json *expected = expected_of(a, kind, test);
  bool as_set = strcmp(kind, "accept") == 0 || strcmp(kind, "negotiate") == 0 || strcmp(kind, "resume") == 0;
  if (rc == 0 && json_equal(comparable(a, actual, expected), expected, as_set)) return true;
  const qwh_json *id = qwh_json_get(test, "tcId");
  const qwh_json *comment = qwh_json_get(test, "comment");
  fprintf(stderr, "FAIL %s tcId %lld (%s): %s\n", file, id ? (long long)id->u.i : -1LL, run_name, comment ? comment->u.str.s : "");
  if (rc) fprintf(stderr, "    operation returned %d\n", rc);
  print_json("expected", expected);
  if (actual) print_json("actual  ", actual);
  return false;
}

static qwh_json *with_chunks(qwh_arena *a, const qwh_json *test, const size_t *sizes, size_t n) {
  qwh_json *input = qwh_json_without(a, test, NULL);
  qwh_json *chunks = qwh_json_array(a);
  for (size_t i = 0; i < n; i++) qwh_json_push(a, chunks, qwh_json_int(a, (int64_t)sizes[i]));
  qwh_json_set(a, input, "chunks", chunks);
  return input;
}

static int run_file(const char *dir, const char *name, stats *st) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  qwh_buf text;
  qwh_buf_init(&text);
  if (read_file(path, &text)) {
    fprintf(stderr, "cannot read %s\n", path);
    qwh_buf_free(&text);
    return -1;
  }
  qwh_arena doc;
  qwh_arena_init(&doc);
  qwh_json *root;
  qwh_json_status js = qwh_json_parse(&doc, text.data, text.len, &root);
  qwh_buf_free(&text);
  if (js != QWH_JSON_OK) {
    fprintf(stderr, "%s: %s\n", path, qwh_json_status_text(js));
    qwh_arena_free(&doc);
    return -1;
  }
  const qwh_json *kind = qwh_json_get(root, "kind"), *groups = qwh_json_get(root, "testGroups");
  const qwh_json *declared = qwh_json_get(root, "numberOfTests");
  int count = 0, failed_before = st->failed;
  /* A kind the codec does not implement is skipped, not failed. */
  const qwh_json *first_group = groups && groups->u.arr.n ? groups->u.arr.items[0] : NULL;
  const qwh_json *first_tests = first_group ? qwh_json_get(first_group, "tests") : NULL;
  if (kind && first_tests && first_tests->u.arr.n) {
    qwh_arena probe;
    qwh_arena_init(&probe);
    qwh_json *ignored = NULL;
    int rc = qwh_codec_run(&probe, kind->u.str.s, qwh_json_without(&probe, first_group, "tests"), first_tests->u.arr.items[0], &ignored);
    qwh_arena_free(&probe);
    if (rc == QWH_CODEC_UNSUPPORTED) {
      printf("%-32s %-15s skipped: kind not implemented\n", name, kind->u.str.s);
      qwh_arena_free(&doc);
      return 0;
    }
  }
  for (size_t g = 0; groups && g < groups->u.arr.n; g++) {
    const qwh_json *group = groups->u.arr.items[g];
    qwh_arena pa;
    qwh_arena_init(&pa);
    const qwh_json *params = qwh_json_without(&pa, group, "tests");
    const qwh_json *tests = qwh_json_get(group, "tests");
    for (size_t t = 0; tests && t < tests->u.arr.n; t++) {
      const qwh_json *test = tests->u.arr.items[t];
      qwh_arena a;
      qwh_arena_init(&a);
      count++;
      st->tests++;
      bool ok = run_one(&a, name, kind->u.str.s, params, test, test, "whole", st);
      if (ok && strcmp(kind->u.str.s, "frame-decode") == 0) {
        const qwh_json *hex = qwh_json_get(test, "hex");
        size_t n = hex->u.str.len / 2;
        size_t *sizes = malloc((n + 1) * sizeof *sizes);
        for (size_t i = 0; i < n; i++) sizes[i] = 1;
        ok = run_one(&a, name, kind->u.str.s, params, with_chunks(&a, test, sizes, n), test, "bytewise", st);
        const qwh_json *id = qwh_json_get(test, "tcId");
        for (uint32_t k = 0; ok && k < 8; k++) {
          uint32_t seed = (uint32_t)id->u.i * 8u + k, state = seed;
          size_t m = 0;
          for (size_t off = 0; off < n; m++) {
            sizes[m] = 1 + (size_t)((uint64_t)mulberry32(&state) * 17u >> 32);
            off += sizes[m];
          }
          char label[48];
          snprintf(label, sizeof label, "random(seed=%u)", seed);
          ok = run_one(&a, name, kind->u.str.s, params, with_chunks(&a, test, sizes, m), test, label, st);
        }
        free(sizes);
      }
      if (ok)
        st->passed++;
      else
        st->failed++;
      qwh_arena_free(&a);
    }
    qwh_arena_free(&pa);
  }
  if (!declared || declared->type != QWH_JSON_INT || declared->u.i != count) {
    fprintf(stderr, "%s: numberOfTests does not match the %d tests found\n", name, count);
    st->failed++;
  }
  printf("%-32s %-15s %4d tests, %d failed\n", name, kind->u.str.s, count, st->failed - failed_before);
  qwh_arena_free(&doc);
  return 0;
}

static int cmp_names(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "../conformance/vectors";
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "cannot open %s\n", dir);
    return 2;
  }
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_names);
  stats st = {0, 0, 0, 0};
  int broken = 0;
  for (size_t i = 0; i < n; i++) {
    if (run_file(dir, names[i], &st)) broken++;
    free(names[i]);
  }
  printf("%d vector files, %d tests (%d runs): %d passed, %d failed\n", (int)n, st.tests, st.runs, st.passed, st.failed);
  if (n < 10 || broken || st.failed || st.tests == 0) return 1;
  return 0;
}
