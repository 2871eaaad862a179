#include "admission.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct addr_count {
  qwh_addr_key key;
  size_t n;
  addr_count *next;
};

int admission_init(admission *a) {
  a->pending = 0;
  a->n_buckets = 1024;
  a->buckets = calloc(a->n_buckets, sizeof *a->buckets);
  return a->buckets ? 0 : -1;
}

void admission_free(admission *a) {
  for (size_t i = 0; a->buckets && i < a->n_buckets; i++) {
    for (addr_count *e = a->buckets[i], *next; e; e = next) {
      next = e->next;
      free(e);
    }
  }
  free(a->buckets);
  a->buckets = NULL;
}

qwh_addr_key addr_key_of(const struct sockaddr_storage *ss) {
  qwh_addr_key k;
  memset(&k, 0, sizeof k);
  if (ss->ss_family == AF_INET) {
    k.b[0] = 4;
    memcpy(k.b + 1, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const uint8_t *a6 = ((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a6, mapped, 12) == 0) {
      k.b[0] = 4;
      memcpy(k.b + 1, a6 + 12, 4);
    } else {
      k.b[0] = 6;
      memcpy(k.b + 1, a6, 16);
    }
  }
  return k;
}

static size_t bucket_of(const admission *a, const qwh_addr_key *k) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < sizeof k->b; i++) h = (h ^ k->b[i]) * 1099511628211ull;
  return (size_t)(h % a->n_buckets);
}

static addr_count *find(const admission *a, const qwh_addr_key *k, addr_count ***link) {
  addr_count **p = &a->buckets[bucket_of(a, k)];
  for (; *p; p = &(*p)->next)
    if (memcmp((*p)->key.b, k->b, sizeof k->b) == 0) break;
  if (link) *link = p;
  return *p;
}

size_t admission_pending_from(const admission *a, const qwh_addr_key *k) {
  const addr_count *e = find(a, k, NULL);
  return e ? e->n : 0;
}

int admission_begin(admission *a, const qwh_addr_key *k) {
  addr_count **link;
  addr_count *e = find(a, k, &link);
  if (!e) {
    e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->key = *k;
    *link = e;
  }
  e->n++;
  a->pending++;
  return 0;
}

void admission_end(admission *a, const qwh_addr_key *k) {
  addr_count **link;
  addr_count *e = find(a, k, &link);
  if (!e) return;
  a->pending--;
  if (--e->n == 0) {
    *link = e->next;
    free(e);
  }
}
