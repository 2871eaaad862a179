// Batches: the frames the decoder delivers are collected per readable event and handed to JS
// as one Buffer (payloads, then a table of [kind, offset, length] x count). Payloads that lie
// in the received chunk stay where they are (the chunk becomes the Buffer); a large frame that
// spanned reads is taken over from the decoder's buffer; only the rest is copied. Also the
// dispatch of every event to JS. The connection engine (engine_conn.cc) calls this file, never
// the other way round.
#include <cstdlib>
#include <cstring>

#include "engine.h"

namespace qwh {

// Every event to JS goes through here: dispatch(type, id, a, b).
void engine_dispatch(Addon *a, int32_t type, uint32_t id, napi_value x, napi_value y) {
  if (a->tearing_down || !a->dispatch) return;
  napi_env env = a->env;
  napi_value fn, global, argv[4], result;
  // Raw napi calls with checked statuses: during worker shutdown every call may fail (drop the event).
  if (napi_get_reference_value(env, a->dispatch, &fn) != napi_ok || fn == nullptr) return;
  if (napi_get_global(env, &global) != napi_ok) return;
  if (napi_create_int32(env, type, &argv[0]) != napi_ok) return;
  if (napi_create_uint32(env, id, &argv[1]) != napi_ok) return;
  argv[2] = x ? x : undefined(env);
  argv[3] = y ? y : undefined(env);
  napi_status st = napi_make_callback(env, a->actx, global, fn, 4, argv, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

qwh_code engine_on_frame(void *user, bool control, const uint8_t *payload, size_t len) {
  Conn *c = static_cast<Conn *>(user);
  uint32_t kind = control ? K_CONTROL : K_DATA;
  if (!control) c->last_frame = static_cast<uint32_t>(len);
  if (c->own && payload >= c->own && payload + len <= c->own + c->own_len) {
    // Whole inside the received chunk: a view, no copy.
    c->meta.push_back(kind);
    c->meta.push_back(static_cast<uint32_t>(payload - c->own));
  } else {
    size_t cap = 0;
    uint8_t *taken = (len >= ENGINE_LARGE_FRAME && !c->stolen) ? qwh_decoder_take(&c->dec, &cap) : nullptr;
    if (taken) {
      // Assembled in the decoder's buffer: that buffer is handed to JS as it is.
      c->stolen = taken;
      c->stolen_cap = cap;
      c->meta.push_back(kind | STOLEN);
      c->meta.push_back(0);
      c->meta.push_back(static_cast<uint32_t>(len));
      qwh_decoder_pause(&c->dec);  // one taken frame per batch: hand it over now
      return QWH_OK;
    }
    size_t off = c->batch.len;
    if (qwh_buf_append(&c->batch, payload, len) != 0) return QWH_E_INTERNAL;
    c->meta.push_back(kind | SIDE);
    c->meta.push_back(static_cast<uint32_t>(off));
  }
  c->meta.push_back(static_cast<uint32_t>(len));
  // While handshaking every frame, and always a control frame (a CLOSE refuses
  // later data frames), goes to JS before the next header is read.
  if (c->step || control) qwh_decoder_pause(&c->dec);
  return QWH_OK;
}

// `hint`: the allocation's size (0: too large to say) << 32 | the bytes past the Buffer's length,
// which were reported separately.
static void free_external(napi_env env, void *data, void *hint) {
  auto h = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(hint));
  auto slack = static_cast<int64_t>(h & 0xffffffffu);
  int64_t ignored;
  if (env && slack) napi_adjust_external_memory(env, -slack, &ignored);
  engine_chunk_free(static_cast<uint8_t *>(data), static_cast<size_t>(h >> 32));
}

static size_t align4(size_t n) { return (n + 3) & ~static_cast<size_t>(3); }

static void drop_batch(Conn *c) {
  c->meta.clear();
  c->batch.len = 0;
  free(c->stolen);
  c->stolen = nullptr;
}

// Hands `m` (total bytes used of cap) to JS as an external Buffer; frees it on failure. V8
// already counts the Buffer's length as external memory (its ArrayBuffer sweeper does, for
// every backing store); only the slack past it is reported here. Reporting the whole size again
// counted every batch twice and doubled the full GCs that external memory triggers.
static bool external_buffer(Addon *a, uint8_t *m, size_t total, size_t cap, napi_value *buf) {
  size_t slack = cap > total ? cap - total : 0;
  uint64_t h = (cap <= 0xffffffffu ? static_cast<uint64_t>(cap) << 32 : 0) | (slack & 0xffffffffu);
  if (napi_create_external_buffer(a->env, total, m, free_external, reinterpret_cast<void *>(static_cast<uintptr_t>(h)), buf) != napi_ok) {
    free(m);
    return false;
  }
  int64_t ignored;
  if (slack) napi_adjust_external_memory(a->env, static_cast<int64_t>(slack), &ignored);
  return true;
}

// Whether a batch of `count` frames has its table in the one JS gave (engine.h): not while
// another batch is being delivered, whose entries JS may still be reading.
static bool shared_table(const Addon *a, size_t count) { return a->table && count <= a->table_frames && !a->in_batch; }

// Sends the built batch Buffer to JS and resets the batch state. The count is negative when
// the table is at the end of the Buffer.
static void dispatch_batch(Conn *c, size_t count, napi_value buf, bool shared) {
  Addon *a = c->addon;
  c->meta.clear();
  if (c->batch.cap > (1u << 20))
    qwh_buf_free(&c->batch);
  else
    c->batch.len = 0;
  napi_value n;
  napi_create_int32(a->env, shared ? static_cast<int32_t>(count) : -static_cast<int32_t>(count), &n);
  bool outer = a->in_batch;
  a->in_batch = true;
  engine_dispatch(a, EV_BATCH, c->id, buf, n);
  a->in_batch = outer;
}

// Hands the frames decoded so far to JS as one Buffer. `final_own`: decoding of the owned chunk
// is over, so the chunk itself can become the Buffer (the frames inside it stay where they are;
// frames from elsewhere and the table are appended). Otherwise the payloads are copied.
static void flush_batch(Conn *c, bool final_own) {
  size_t count = c->meta.size() / 3;
  if (count == 0) return;
  Addon *a = c->addon;
  if (a->tearing_down || c->closing()) return drop_batch(c);
  Scope s(a);
  napi_value buf;
  uint32_t *table;
  bool shared = shared_table(a, count);
  size_t table_len = shared ? 0 : count * 12;
  size_t own_bytes = 0;
  if (c->stolen) {
    // A large frame taken from the decoder becomes the Buffer; the other frames' payloads
    // (usually none or a few small ones) are copied after it, then the table.
    size_t others = 0, stolen_len = 0;
    for (size_t i = 0; i < count; i++) {
      if (c->meta[i * 3] & STOLEN)
        stolen_len = c->meta[i * 3 + 2];
      else
        others += c->meta[i * 3 + 2];
    }
    size_t other_at = align4(stolen_len);
    size_t table_at = align4(other_at + others);
    size_t total = table_at + table_len;
    uint8_t *m = c->stolen;
    size_t cap = c->stolen_cap;
    c->stolen = nullptr;
    if (total > cap) {
      auto *p = static_cast<uint8_t *>(realloc(m, total));
      if (!p) {
        free(m);
        return drop_batch(c);
      }
      m = p;
      cap = total;
    }
    table = shared ? a->table : reinterpret_cast<uint32_t *>(m + table_at);
    size_t at = other_at;
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1], len = c->meta[i * 3 + 2];
      table[i * 3] = kind & KIND_MASK;
      table[i * 3 + 2] = len;
      if (kind & STOLEN) {
        table[i * 3 + 1] = 0;
      } else {
        const uint8_t *src = (kind & SIDE) ? c->batch.data + off : c->own + off;
        if (len) memcpy(m + at, src, len);
        table[i * 3 + 1] = static_cast<uint32_t>(at);
        at += len;
      }
    }
    if (!external_buffer(a, m, total, cap, &buf)) return drop_batch(c);
    return dispatch_batch(c, count, buf, shared);
  }
  if (final_own && c->own && c->batch.len > 4096) {
    for (size_t i = 0; i < count; i++)
      if (!(c->meta[i * 3] & SIDE)) own_bytes += c->meta[i * 3 + 2];
  }
  if (final_own && c->own && c->batch.len > 4096 && c->batch.len >= own_bytes) {
    // Mostly frames that spanned reads (large messages): the side buffer becomes the Buffer,
    // the few bytes of frames inside the chunk are copied after it.
    size_t own_at = c->batch.len;
    size_t table_at = align4(own_at + own_bytes);
    size_t total = table_at + table_len;
    if (qwh_buf_reserve(&c->batch, total - c->batch.len) != 0) return drop_batch(c);
    uint8_t *m = c->batch.data;
    table = shared ? a->table : reinterpret_cast<uint32_t *>(m + table_at);
    size_t at = own_at;
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1], len = c->meta[i * 3 + 2];
      table[i * 3] = kind & ~SIDE;
      table[i * 3 + 2] = len;
      if (kind & SIDE) {
        table[i * 3 + 1] = off;
      } else {
        if (len) memcpy(m + at, c->own + off, len);
        table[i * 3 + 1] = static_cast<uint32_t>(at);
        at += len;
      }
    }
    size_t cap = c->batch.cap;
    qwh_buf_init(&c->batch);  // JS owns it now
    if (!external_buffer(a, m, total, cap, &buf)) return drop_batch(c);
  } else if (final_own && c->own) {
    size_t side_at = c->own_len;
    size_t table_at = align4(side_at + c->batch.len);
    size_t total = table_at + table_len;
    if (total > c->own_cap) {
      auto *p = static_cast<uint8_t *>(realloc(c->own, total));
      if (!p) return drop_batch(c);
      c->own = p;
      c->own_cap = total;
    }
    uint8_t *m = c->own;
    if (c->batch.len) memcpy(m + side_at, c->batch.data, c->batch.len);
    table = shared ? a->table : reinterpret_cast<uint32_t *>(m + table_at);
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1];
      table[i * 3] = kind & ~SIDE;
      table[i * 3 + 1] = (kind & SIDE) ? static_cast<uint32_t>(side_at) + off : off;
      table[i * 3 + 2] = c->meta[i * 3 + 2];
    }
    c->own = nullptr;  // JS owns it now
    if (!external_buffer(a, m, total, c->own_cap, &buf)) return drop_batch(c);
  } else {
    size_t payload = 0;
    for (size_t i = 0; i < count; i++) payload += c->meta[i * 3 + 2];
    size_t table_at = align4(payload);
    size_t total = table_at + table_len;
    void *data = nullptr;
    if (napi_create_buffer(a->env, total, &data, &buf) != napi_ok) return drop_batch(c);
    auto *m = static_cast<uint8_t *>(data);
    table = shared ? a->table : reinterpret_cast<uint32_t *>(m + table_at);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
      uint32_t kind = c->meta[i * 3], off = c->meta[i * 3 + 1], len = c->meta[i * 3 + 2];
      const uint8_t *src = (kind & SIDE) ? c->batch.data + off : c->own + off;
      if (len) memcpy(m + at, src, len);
      uint32_t v[3] = {kind & ~SIDE, static_cast<uint32_t>(at), len};
      memcpy(table + i * 3, v, 12);  // little-endian hosts (x86-64, arm64)
      at += len;
    }
  }
  dispatch_batch(c, count, buf, shared);
}

void engine_flush_batch_into(Conn *c, napi_value buf, size_t buf_len) {
  size_t count = c->meta.size() / 3;
  if (count == 0) return;
  if (c->addon->tearing_down || c->closing()) return drop_batch(c);
  size_t end = 0;
  for (size_t i = 0; i < count; i++) {
    if (c->meta[i * 3] & (SIDE | STOLEN)) return flush_batch(c, false);
    end = c->meta[i * 3 + 1] + static_cast<size_t>(c->meta[i * 3 + 2]);
  }
  bool shared = shared_table(c->addon, count);
  size_t table_at = align4(end);
  if (!shared && table_at + count * 12 != buf_len) return flush_batch(c, false);
  uint8_t *table = shared ? reinterpret_cast<uint8_t *>(c->addon->table) : c->own + table_at;
  for (size_t i = 0; i < count; i++) {
    uint32_t v[3] = {c->meta[i * 3], c->meta[i * 3 + 1], c->meta[i * 3 + 2]};
    memcpy(table + i * 12, v, 12);  // little-endian hosts (x86-64, arm64)
  }
  Scope s(c->addon);
  dispatch_batch(c, count, buf, shared);
}

void engine_flush_batch(Conn *c) { flush_batch(c, false); }
void engine_flush_batch_owned(Conn *c) { flush_batch(c, true); }

}  // namespace qwh
