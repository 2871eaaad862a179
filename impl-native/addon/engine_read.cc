// Reading a connection's non-blocking socket on the JS thread, for both addons: the posix
// addon's uv_poll and the lws addon's reader poll call engine_read() when the socket is
// readable. Three strategies, tried in this order:
//   in place  while at least ENGINE_LARGE_FRAME of a large frame is missing, its bytes are
//             received straight into the decoder's buffer for it (no copy of a large message);
//   owned     after a read of at least ENGINE_COPY_BELOW, one read of everything the kernel
//             holds (FIONREAD) into a chunk of its own, decoded in place and handed to JS as the
//             batch Buffer itself (no copy of the payloads);
//   shared    otherwise, reads into the addon's shared buffer, whose frames are copied once into
//             the batch Buffer (small reads: no malloc, free or finalizer per read).
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine.h"

namespace qwh {

static constexpr size_t READ_SIZE = 256 * 1024;
static constexpr int READS_PER_EVENT = 8;
static constexpr size_t OWNED_MAX = 4u << 20;

// The chunk pool: a few chunks, 8 MiB in all, shared by every addon instance of the process
// (finalizers run on each instance's own thread).
static std::mutex pool_mu;
static constexpr int POOL_SLOTS = 4;
static constexpr size_t POOL_BYTES = 8u << 20;
static struct {
  uint8_t *p;
  size_t cap;
} pool[POOL_SLOTS];
static int pool_n = 0;
static size_t pool_bytes = 0;

uint8_t *engine_chunk_alloc(size_t want, size_t *cap) {
  {
    std::lock_guard<std::mutex> g(pool_mu);
    int best = -1;
    for (int i = 0; i < pool_n; i++)
      if (pool[i].cap >= want && pool[i].cap <= 4 * want + (256u << 10) && (best < 0 || pool[i].cap < pool[best].cap)) best = i;
    if (best >= 0) {
      uint8_t *p = pool[best].p;
      *cap = pool[best].cap;
      pool_bytes -= *cap;
      pool[best] = pool[--pool_n];
      return p;
    }
  }
  *cap = want;
  return static_cast<uint8_t *>(malloc(want));
}

void engine_chunk_free(uint8_t *p, size_t cap) {
  if (!p) return;
  if (cap > 0 && cap <= POOL_BYTES) {
    std::lock_guard<std::mutex> g(pool_mu);
    if (pool_n < POOL_SLOTS && pool_bytes + cap <= POOL_BYTES) {
      pool[pool_n++] = {p, cap};
      pool_bytes += cap;
      return;
    }
  }
  free(p);
}

static ssize_t recv_some(int fd, uint8_t *at, size_t room) {
  ssize_t n;
  do n = recv(fd, at, room, 0);
  while (n < 0 && errno == EINTR);
  return n;
}

bool engine_wants_read(const Conn *c) { return !c->js_paused && !c->reading_over() && c->read_end == ReadEnd::None && !c->limit_stopped; }

// The in-place strategy; false when it does not apply or saw the EOF (the shared one reads it).
static bool read_in_place(Conn *c, int fd) {
  uint8_t *at = nullptr;
  size_t room = engine_in_place_room(c, &at);
  if (room == 0) return false;
  ssize_t n = recv_some(fd, at, room);
  if (n == 0) return false;
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) engine_socket_error(c, strerror(errno));
    return true;
  }
  engine_received_in_place(c, static_cast<size_t>(n));
  return true;
}

// The owned strategy; false when it does not apply (TLS, paused, less than ENGINE_COPY_BELOW
// announced, which also ends the large reads) or saw the EOF.
static bool read_owned(Conn *c, int fd) {
  if (c->tls || c->pend.len || c->js_paused) return false;
  int avail = 0;
  if (ioctl(fd, FIONREAD, &avail) != 0 || avail < static_cast<int>(ENGINE_COPY_BELOW)) {
    c->large_reads = false;
    return false;
  }
  size_t want = static_cast<size_t>(avail) < OWNED_MAX ? static_cast<size_t>(avail) : OWNED_MAX;
  size_t cap = 0;
  uint8_t *buf = engine_chunk_alloc(want + want / 4 + 64, &cap);  // room for the table of frames of 48+ bytes
  if (!buf) return false;
  ssize_t n = recv_some(fd, buf, want);
  if (n <= 0) {
    engine_chunk_free(buf, cap);
    if (n == 0) return false;
    if (errno != EAGAIN && errno != EWOULDBLOCK) engine_socket_error(c, strerror(errno));
    return true;
  }
  engine_received_owned(c, buf, static_cast<size_t>(n), cap);
  return true;
}

ReadResult engine_read(Conn *c, int fd) {
  if (read_in_place(c, fd) || (c->large_reads && read_owned(c, fd))) return c->closing() ? ReadResult::Closed : ReadResult::More;
  Addon *a = c->addon;
  if (!a->rbuf) a->rbuf = static_cast<uint8_t *>(malloc(READ_SIZE));
  if (!a->rbuf) {
    engine_socket_error(c, strerror(ENOMEM));
    return ReadResult::Closed;
  }
  for (int i = 0; i < READS_PER_EVENT && engine_wants_read(c) && !c->closing(); i++) {
    ssize_t n = recv(fd, a->rbuf, READ_SIZE, 0);
    if (n > 0) {
      c->large_reads = static_cast<size_t>(n) >= ENGINE_COPY_BELOW;
      engine_received(c, a->rbuf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < READ_SIZE) break;
      continue;
    }
    if (n == 0) {
      engine_eof(c);
      return c->closing() ? ReadResult::Closed : ReadResult::Eof;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    engine_socket_error(c, strerror(errno));
    return ReadResult::Closed;
  }
  if (c->closing()) return ReadResult::Closed;
  engine_flush_batch(c);
  return c->closing() ? ReadResult::Closed : ReadResult::More;
}

}  // namespace qwh
