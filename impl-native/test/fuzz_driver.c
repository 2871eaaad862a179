/*
 * A time-bounded mutation driver for the libFuzzer targets (test/fuzz_*.c) that needs no clang: it
 * runs every corpus input once, then mutates randomly chosen inputs (bit flips, bytes set,
 * inserted, deleted and duplicated, big-endian lengths written, splices of two inputs) until the
 * time is up, keeping every 16th mutant as a seed. Built with ASan + UBSan (`make fuzz-ci`), so a
 * memory error or undefined behaviour aborts; the input that did it is written first to
 * $FUZZ_ARTIFACTS/crash-<target>-<n> (default the current directory) and printed in hex.
 *
 *   fuzz_driver_<target> SECONDS SEED CORPUS_DIR...
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sanitizer/common_interface_defs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LEN 4096u
#define MAX_POOL 8192u

typedef struct input {
  uint8_t *p;
  size_t n;
} input;

static input pool[MAX_POOL];
static size_t pool_n;
static const uint8_t *current;
static size_t current_n;
static uint64_t rng;

static uint64_t next(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}
static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

static void on_death(void) {
  const char *dir = getenv("FUZZ_ARTIFACTS");
  char path[4096];
  snprintf(path, sizeof path, "%s/crash-%s-%ld", dir && *dir ? dir : ".", TARGET_NAME, (long)time(NULL));
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(current, 1, current_n, f);
    fclose(f);
  }
  fprintf(stderr, "fuzz_driver: the input (%zu bytes, saved as %s):\n", current_n, path);
  for (size_t i = 0; i < current_n; i++) fprintf(stderr, "%02x", current[i]);
  fputc('\n', stderr);
}

static void add(const uint8_t *p, size_t n) {
  if (n > MAX_LEN) n = MAX_LEN;
  size_t slot = pool_n < MAX_POOL ? pool_n++ : below(MAX_POOL);
  if (slot < pool_n && pool[slot].p) free(pool[slot].p);
  pool[slot].p = malloc(n ? n : 1);
  if (!pool[slot].p) abort();
  memcpy(pool[slot].p, p, n);
  pool[slot].n = n;
}

static void run(const uint8_t *p, size_t n) {
  current = p;
  current_n = n;
  LLVMFuzzerTestOneInput(p, n);
}

static void load_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  static uint8_t buf[MAX_LEN];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    add(buf, n);
  }
  closedir(d);
}

/* One mutant of `in` into out (returns its length). */
static size_t mutate(const input *in, uint8_t *out) {
  size_t n = in->n;
  memcpy(out, in->p, n);
  int rounds = 1 + (int)below(4);
  for (int r = 0; r < rounds; r++) {
    switch (below(8)) {
      case 0: /* flip a bit */
        if (n) out[below(n)] ^= (uint8_t)(1u << below(8));
        break;
      case 1: { /* set a byte to an interesting or random value */
        static const uint8_t vals[] = {0, 1, 0x7f, 0x80, 0xff, '"', '\\', '{', '}', '[', ']', ',', ':', '0', 'e', '-'};
        if (n) out[below(n)] = below(2) ? vals[below(sizeof vals)] : (uint8_t)next();
        break;
      }
      case 2: /* insert bytes */
        if (n < MAX_LEN) {
          size_t k = 1 + below(8), at = below(n + 1);
          if (k > MAX_LEN - n) k = MAX_LEN - n;
          memmove(out + at + k, out + at, n - at);
          for (size_t i = 0; i < k; i++) out[at + i] = (uint8_t)next();
          n += k;
        }
        break;
      case 3: /* delete a range */
        if (n) {
          size_t at = below(n), k = 1 + below(n - at);
          memmove(out + at, out + at + k, n - at - k);
          n -= k;
        }
        break;
      case 4: /* duplicate a range */
        if (n && n < MAX_LEN) {
          size_t at = below(n), k = 1 + below(n - at);
          if (k > MAX_LEN - n) k = MAX_LEN - n;
          memmove(out + at + k, out + at, n - at);
          n += k;
        }
        break;
      case 5: /* a big-endian 32-bit length somewhere (frame headers) */
        if (n >= 4) {
          static const uint32_t lens[] = {0, 1, 4, 8, 1023, 1024, 1025, 65535, 65536, 0x7fffffffu, 0x80000000u, 0xffffffffu};
          uint32_t v = below(2) ? lens[below(sizeof lens / sizeof *lens)] : (uint32_t)below(n + 16);
          size_t at = below(n - 3);
          out[at] = (uint8_t)(v >> 24), out[at + 1] = (uint8_t)(v >> 16), out[at + 2] = (uint8_t)(v >> 8), out[at + 3] = (uint8_t)v;
        }
        break;
      case 6: { /* splice: a prefix of this one, a suffix of another */
        const input *o = &pool[below(pool_n)];
        size_t a = below(n + 1), b = below(o->n + 1);
        size_t k = o->n - b;
        if (a + k > MAX_LEN) k = MAX_LEN - a;
        memcpy(out + a, o->p + b, k);
        n = a + k;
        break;
      }
      default: /* the first bytes (target parameters) */
        if (n) out[below(n < 2 ? n : 2)] = (uint8_t)next();
        break;
    }
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s SECONDS SEED CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  double seconds = atof(argv[1]);
  rng = strtoull(argv[2], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
  __sanitizer_set_death_callback(on_death);
  for (int i = 3; i < argc; i++) load_dir(argv[i]);
  if (pool_n == 0) add((const uint8_t *)"", 0);
  size_t seeds = pool_n;
  for (size_t i = 0; i < seeds; i++) run(pool[i].p, pool[i].n);
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  static uint8_t buf[MAX_LEN];
  unsigned long long execs = seeds;
  for (;;) {
    if ((execs & 255) == 0) {
      clock_gettime(CLOCK_MONOTONIC, &t);
      if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds) break;
    }
    size_t n = mutate(&pool[below(pool_n)], buf);
    run(buf, n);
    if ((next() & 15) == 0) add(buf, n);
    execs++;
  }
  printf("fuzz %s: %llu executions (%zu seeds, seed %s), no finding\n", TARGET_NAME, execs, seeds, argv[2]);
  for (size_t i = 0; i < pool_n; i++) free(pool[i].p);
  return 0;
}
