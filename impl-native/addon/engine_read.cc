// Reading a connection's non-blocking socket on the JS thread, for both addons: the posix
// addon's uv_poll and the lws addon's reader poll call engine_read() when the socket is
// readable. Four strategies, tried in this order:
//   frame     while the last data frame was at least ENGINE_HEADER_READS long, each header is
//             read alone, and a data frame of at least ENGINE_LARGE_FRAME is received whole into
//             a Buffer that V8 allocates at its length, which becomes the batch (no copy, no
//             malloc or finalizer of ours; the reads of Node's own streams for such frames);
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
#include <sys/uio.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

extern "C" {
#include "../core/limits.h"
}

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

static constexpr int FRAMES_PER_EVENT = 32;

// Whether the next frame's header is read alone.
static bool header_reads(const Conn *c) {
  return c->last_frame >= ENGINE_HEADER_READS && !c->tls && !c->raw && !c->step && !c->pend.len && !c->own && c->established() &&
         engine_wants_read(c) && qwh_decoder_idle(&c->dec) && c->meta.empty();
}

// The Buffer of a frame of `total` bytes (header and payload) ends with the table of one frame.
static size_t frame_buffer_length(size_t total) { return (total + 3) / 4 * 4 + 12; }
// A frame's Buffer holds at first at most this much of it, then grows to at most GROWTH times
// what it holds (a copy), so that a peer that announces a large frame and stalls pins 64 KiB,
// not the announced length (the TypeScript decoder's rule).
static constexpr size_t FIRST_BYTES = 4 + 64 * 1024;
static constexpr size_t GROWTH = 16;

static void release_big(Conn *c) {
  if (c->big_ref) napi_delete_reference(c->addon->env, c->big_ref);
  c->big_ref = nullptr;
  c->big = nullptr;
  c->big_need = c->big_have = c->big_cap = 0;
}

// Makes the Buffer for the frame's next bytes: at most `cap` bytes of the frame, the table too
// when that is all of it; the bytes already there are copied. False when V8 gives no Buffer.
static bool big_buffer(Conn *c, size_t cap, napi_value *buf) {
  size_t len = cap >= c->big_need ? frame_buffer_length(c->big_need) : cap;
  void *data = nullptr;
  napi_value nb;
  if (napi_create_buffer(c->addon->env, len, &data, &nb) != napi_ok) return false;
  if (c->big_have) memcpy(data, c->big, c->big_have);
  if (c->big_ref) napi_delete_reference(c->addon->env, c->big_ref);
  c->big_ref = nullptr;
  c->big = static_cast<uint8_t *>(data);
  c->big_cap = cap < c->big_need ? cap : c->big_need;
  *buf = nb;
  return true;
}

// The frame goes on on a later readable event: a reference keeps its Buffer. False: failed (reported).
static bool keep_big(Conn *c, napi_value buf) {
  if (c->big_ref || napi_create_reference(c->addon->env, buf, 1, &c->big_ref) == napi_ok) return true;
  release_big(c);
  engine_socket_error(c, "could not keep the Buffer of a frame being received");
  return false;
}

// The stream ended or failed (n: recv's result) while the frame strategy held bytes: the decoder
// gets them (it reports a frame cut short), then the end or the error.
static ReadResult frames_stopped(Conn *c, ssize_t n, const uint8_t *held, size_t k) {
  if (k) {
    c->bytes_in -= static_cast<double>(k);
    engine_received(c, held, k);
  }
  if (n < 0) {
    engine_socket_error(c, strerror(errno));
    return ReadResult::Closed;
  }
  engine_eof(c);
  return c->closing() ? ReadResult::Closed : ReadResult::Eof;
}

// The frame strategy. Returns false when it does not apply (nothing was read this time, or a
// header announced something else, which the decoder now holds); else *r is engine_read's
// result. The rest of a frame and the next header are read together (one readv).
static bool read_frames(Conn *c, int fd, ReadResult *r) {
  Addon *a = c->addon;
  *r = ReadResult::More;
  Scope s(a);
  napi_value buf = nullptr;  // the Buffer at c->big
  for (int i = 0; i < FRAMES_PER_EVENT; i++) {
    if (c->closing()) {
      *r = ReadResult::Closed;
      return true;
    }
    if (!engine_wants_read(c)) {
      if (c->big && !keep_big(c, buf)) *r = ReadResult::Closed;
      return true;
    }
    if (!c->big) {
      if (!header_reads(c)) return i > 0;
      if (c->hdr_have < sizeof c->hdr) {
        ssize_t n = recv_some(fd, c->hdr + c->hdr_have, sizeof c->hdr - c->hdr_have);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n <= 0) {
          uint8_t held[sizeof c->hdr];
          size_t k = c->hdr_have;
          memcpy(held, c->hdr, k);
          c->hdr_have = 0;
          *r = frames_stopped(c, n, held, k);
          return true;
        }
        c->bytes_in += static_cast<double>(n);
        c->hdr_have = static_cast<uint8_t>(c->hdr_have + n);
        if (c->hdr_have < sizeof c->hdr) return true;
      }
      c->hdr_have = 0;
      uint8_t held[sizeof c->hdr];
      memcpy(held, c->hdr, sizeof held);
      uint32_t h =
          static_cast<uint32_t>(held[0]) << 24 | static_cast<uint32_t>(held[1]) << 16 | static_cast<uint32_t>(held[2]) << 8 | held[3];
      bool large = !(h & QWH_CONTROL_BIT) && h >= ENGINE_LARGE_FRAME && h <= c->dec.max_frame_length && !c->dec.refuse_data;
      if (large) {
        c->big = held;
        c->big_have = sizeof held;
        c->big_need = sizeof held + h;
        if (!big_buffer(c, FIRST_BYTES, &buf)) release_big(c);
      }
      if (!c->big) {
        // Something else (a small or control frame, or one the decoder refuses): the decoder
        // takes the header; the other strategies read the rest.
        c->bytes_in -= static_cast<double>(sizeof held);
        engine_received(c, held, sizeof held);
        if (c->closing()) *r = ReadResult::Closed;
        return c->closing();
      }
    } else if (!buf && (napi_get_reference_value(a->env, c->big_ref, &buf) != napi_ok || !buf)) {
      release_big(c);
      engine_socket_error(c, "lost the Buffer of a frame being received");
      *r = ReadResult::Closed;
      return true;
    }
    if (c->big_have == c->big_cap) {
      size_t cap = c->big_have * GROWTH;
      if (!big_buffer(c, cap < c->big_need ? cap : c->big_need, &buf)) {
        release_big(c);
        engine_socket_error(c, strerror(ENOMEM));
        *r = ReadResult::Closed;
        return true;
      }
    }
    size_t want = c->big_cap - c->big_have;
    bool last = c->big_cap == c->big_need;
    struct iovec iov[2] = {{c->big + c->big_have, want}, {c->hdr, sizeof c->hdr}};
    ssize_t n;
    do n = readv(fd, iov, last ? 2 : 1);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
      size_t got = static_cast<size_t>(n) < want ? static_cast<size_t>(n) : want;
      c->big_have += got;
      c->hdr_have = static_cast<uint8_t>(static_cast<size_t>(n) - got);
      c->bytes_in += static_cast<double>(n);
    }
    if (c->big_have == c->big_need) {
      uint8_t *data = c->big;
      size_t total = c->big_need;
      release_big(c);
      engine_received_frame(c, buf, data, total, frame_buffer_length(total));
      buf = nullptr;
      continue;
    }
    if (n > 0 && c->big_have == c->big_cap) continue;  // the Buffer grows
    if (n > 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!keep_big(c, buf)) *r = ReadResult::Closed;
      return true;
    }
    *r = frames_stopped(c, n, c->big, c->big_have);
    release_big(c);
    return true;
  }
  if (c->big && !keep_big(c, buf)) *r = ReadResult::Closed;
  return true;
}

ReadResult engine_read(Conn *c, int fd) {
  ReadResult fr;
  if ((c->big || header_reads(c)) && read_frames(c, fd, &fr)) return fr;
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
