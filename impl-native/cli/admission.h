/*
 * A server's admission bookkeeping before any byte is read (spec 13.1): how many handshakes are
 * pending, in total and per peer address, so that one address cannot hold every pending slot
 * (maxPendingHandshakesPerAddress).
 */
#ifndef QWH_CLI_ADMISSION_H
#define QWH_CLI_ADMISSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A peer address without its port: the family, then 4 (IPv4) or 16 (IPv6) bytes. */
typedef struct qwh_addr_key {
  uint8_t b[17];
} qwh_addr_key;

typedef struct addr_count addr_count;

typedef struct admission {
  size_t pending;       /* admitted connections whose handshake has not finished */
  addr_count **buckets; /* pending handshakes per address (only addresses with one or more) */
  size_t n_buckets;
} admission;

int admission_init(admission *a);
void admission_free(admission *a);
/* The key of a peer address (an IPv4-mapped IPv6 address counts as its IPv4 address). */
qwh_addr_key addr_key_of(const struct sockaddr_storage *ss);
size_t admission_pending_from(const admission *a, const qwh_addr_key *k);
/* A handshake from `k` starts / ends (finished or closed). Returns -1 when out of memory. */
int admission_begin(admission *a, const qwh_addr_key *k);
void admission_end(admission *a, const qwh_addr_key *k);

#endif
