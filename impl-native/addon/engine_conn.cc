// The connection engine shared by both addons (see engine.h): frames decoded
// in C go to JS in batches, one Buffer per readable event; TLS runs through the
// core's memory-BIO module; socket events become the link's events.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine.h"

namespace qwh {

static void dispatch_code(Conn *c, int32_t type, uint32_t id, const char *code, const char *msg) {
  Addon *a = c->addon;
  if (a->tearing_down) return;
  Scope s(a);
  engine_dispatch(a, type, id, str(a->env, code), str(a->env, msg));
}

// ---------------------------------------------------------------- connections

Conn *engine_new_conn(Addon *a, bool server, uint32_t listener_id, qwh_tls_ctx *tls, const char *sni, const char *verify_host, char *err,
                      size_t errlen) {
  Conn *c = new Conn();
  c->addon = a;
  c->id = a->next_id++;
  if (a->next_id == 0) a->next_id = 1;
  c->server = server;
  c->listener_id = listener_id;
  qwh_decoder_init(&c->dec, engine_on_frame, c);
  qwh_decoder_set_tail(&c->dec, ENGINE_TABLE_TAIL);
  qwh_decoder_handshake(&c->dec);
  qwh_buf_init(&c->pend);
  qwh_buf_init(&c->batch);
  qwh_buf_init(&c->tls_out);
  if (tls) {
    c->tls = qwh_tls_new(tls, sni, verify_host, err, errlen);
    if (!c->tls) {
      delete c;
      return nullptr;
    }
  }
  if (server) c->out_limit = 8u << 20;
  c->created_ms = uv_now(a->loop);
  a->conns[c->id] = c;
  a->live_conns++;
  return c;
}

void engine_set_peer(Conn *c, int fd) { socket_peer(fd, c->remote_addr, sizeof c->remote_addr, &c->remote_port, &c->local_port); }

Conn::~Conn() {
  qwh_decoder_free(&dec);
  qwh_buf_free(&pend);
  qwh_buf_free(&batch);
  free(own);
  free(stolen);
  if (big_ref && !addon->tearing_down) napi_delete_reference(addon->env, big_ref);
  qwh_buf_free(&tls_out);
  qwh_tls_free(tls);
}

static void free_conn(Conn *c) {
  Addon *a = c->addon;
  a->conns.erase(c->id);
  a->live_conns--;
  delete c;
}

static void update_reading(Conn *c) { c->addon->backend->set_reading(c, engine_wants_read(c)); }

static size_t backend_send(Conn *c, const uint8_t *p, size_t n) {
  struct iovec v = {const_cast<uint8_t *>(p), n};
  return c->addon->backend->sendv(c, &v, 1);
}

static void send_bytes(Conn *c, const struct iovec *iov, int count, size_t n) {
  if (c->closing() || n == 0) return;
  c->bytes_out += static_cast<double>(n);
  c->unsent = c->addon->backend->sendv(c, iov, count);
  if (c->unsent > 0) c->want_drain = true;
  if (c->out_limit && c->unsent > c->out_limit && !c->limit_stopped) {
    c->limit_stopped = true;
    update_reading(c);
  }
}

static void send_tls_out(Conn *c) {
  if (c->tls_out.len) {
    size_t n = c->tls_out.len;
    c->tls_out.len = 0;
    c->unsent = backend_send(c, c->tls_out.data, n);
    if (c->unsent > 0) c->want_drain = true;
  }
}

static void fail_decode(Conn *c, qwh_code code) {
  engine_flush_batch(c);
  if (c->closing()) return;
  c->fail();
  update_reading(c);
  char msg[96];
  snprintf(msg, sizeof msg, "frame decoding failed (%s)", qwh_code_name(code));
  dispatch_code(c, EV_ERROR, c->id, qwh_code_name(code), msg);
}

static void keep(Conn *c, const uint8_t *p, size_t n) {
  if (n && qwh_buf_append(&c->pend, p, n) != 0) fail_decode(c, QWH_E_INTERNAL);
}

// Decodes plaintext; frames go into the batch; pauses hand the batch to JS.
static void process(Conn *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (c->reading_over()) return;
    if (c->js_paused) {
      keep(c, p, n);
      return;
    }
    if (c->raw) {
      if (c->own && p >= c->own && p + n <= c->own + c->own_len) {
        c->meta.push_back(K_RAW);
        c->meta.push_back(static_cast<uint32_t>(p - c->own));
      } else {
        size_t off = c->batch.len;
        if (qwh_buf_append(&c->batch, p, n) != 0) return fail_decode(c, QWH_E_INTERNAL);
        c->meta.push_back(K_RAW | SIDE);
        c->meta.push_back(static_cast<uint32_t>(off));
      }
      c->meta.push_back(static_cast<uint32_t>(n));
      return;
    }
    size_t used = 0;
    qwh_code rc = qwh_decoder_push(&c->dec, p, n, &used);
    p += used;
    n -= used;
    if (rc != QWH_OK) return fail_decode(c, rc);
    if (c->dec.paused) engine_flush_batch(c);  // JS may change limits, switch to raw, pause or destroy
  }
}

static void feed_plain(Conn *c, const uint8_t *p, size_t n) {
  if (c->pend.len || c->js_paused)
    keep(c, p, n);
  else
    process(c, p, n);
}

static void deliver_end(Conn *c) {
  if (c->read_end == ReadEnd::Delivered || c->reading_over()) return;
  c->read_end = ReadEnd::Delivered;
  update_reading(c);
  if (!c->raw) {
    qwh_code rc = qwh_decoder_end(&c->dec);
    if (rc != QWH_OK) {
      c->fail();
      dispatch_code(c, EV_ERROR, c->id, qwh_code_name(rc), "stream ended inside a frame");
      return;
    }
  }
  {
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_END, c->id, nullptr, nullptr);
  }
  if (!c->closing() && c->addon->backend->read_ended) c->addon->backend->read_ended(c);
}

static void report_established(Conn *c) {
  if (c->phase == Phase::Connecting) c->phase = Phase::Open;
  if (c->server) {
    Scope s(c->addon);
    napi_value id;
    napi_create_uint32(c->addon->env, c->id, &id);
    engine_dispatch(c->addon, EV_ACCEPT, c->listener_id, id, nullptr);
  } else {
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_CONNECTED, c->id, nullptr, nullptr);
  }
}

static void tls_failed(Conn *c, const char *message) {
  if (c->server && !c->established()) {
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_TLS_FAIL, c->listener_id, str(c->addon->env, message), str(c->addon->env, c->remote_addr));
    c->phase = Phase::Closing;
    c->close_notified = true;  // JS never saw this connection
    c->addon->backend->close(c);
  } else if (!c->established()) {
    dispatch_code(c, EV_CONNECT_FAILED, c->id, "E_TLS_HANDSHAKE", message);
    c->phase = Phase::Closing;
    c->close_notified = true;
    c->addon->backend->close(c);
  } else {
    c->fail();
    dispatch_code(c, EV_ERROR, c->id, "E_SOCKET", message);
    if (!c->closing()) {
      c->phase = Phase::Closing;
      c->addon->backend->close(c);
    }
  }
}

// Decodes a malloc'd plaintext chunk in place (n bytes used of cap): frames whole inside it
// are delivered as views, and the chunk becomes the batch Buffer (or is freed).
static void decode_owned(Conn *c, uint8_t *p, size_t n, size_t cap) {
  c->own = p;
  c->own_len = n;
  c->own_cap = cap;
  process(c, p, n);
  engine_flush_batch_owned(c);
  engine_chunk_free(c->own, c->own_cap);  // still ours when nothing (or nothing since a pause) was delivered from it
  c->own = nullptr;
}

// Decodes plaintext in a buffer that is reused once this returns: frames whole inside it are
// recorded where they are and copied once into the batch Buffer, handed to JS before it returns.
static void decode_borrowed(Conn *c, const uint8_t *p, size_t n) {
  if (c->own || c->pend.len || c->js_paused) return feed_plain(c, p, n);
  c->own = const_cast<uint8_t *>(p);
  c->own_len = n;
  c->own_cap = 0;
  process(c, p, n);
  engine_flush_batch(c);
  c->own = nullptr;
  c->own_len = 0;
}

// One slice of ciphertext through the TLS module, its plaintext decoded.
static void tls_received(Conn *c, const uint8_t *p, size_t n) {
  Addon *a = c->addon;
  bool was_done = qwh_tls_handshake_done(c->tls);
  // Once the handshake is done, the plaintext of a large slice goes into a fresh chunk that the
  // batch Buffer is made of (no copy of the frames inside it), as a large plain read does; else
  // into the shared buffer (its frames copied once, as a small plain read's).
  bool owned = was_done && n >= ENGINE_COPY_BELOW && !c->pend.len && !c->js_paused && !c->own;
  // The chunk comes from the pool of received chunks (pages already mapped: a fresh malloc of
  // this size is an mmap whose every page SSL_read faulted in).
  qwh_buf chunk;
  qwh_buf_init(&chunk);
  if (owned) {
    chunk.data = engine_chunk_alloc(n + n / 4 + 64, &chunk.cap);
    if (!chunk.data) {
      chunk.cap = 0;
      owned = false;
    }
  }
  qwh_buf *plain = owned ? &chunk : &a->plain;
  plain->len = 0;
  int rc = qwh_tls_feed(c->tls, p, n, plain, &c->tls_out);
  send_tls_out(c);
  if (rc != QWH_TLS_OK) {
    engine_chunk_free(chunk.data, chunk.cap);
    return tls_failed(c, qwh_tls_error(c->tls));
  }
  if (!was_done && qwh_tls_handshake_done(c->tls)) {
    // Plaintext that came with the handshake's last flight waits until JS has the link.
    qwh_buf early;
    qwh_buf_init(&early);
    if (a->plain.len) qwh_buf_append(&early, a->plain.data, a->plain.len);
    report_established(c);
    if (early.len) feed_plain(c, early.data, early.len);
    qwh_buf_free(&early);
  } else if (owned && chunk.len) {
    decode_owned(c, chunk.data, chunk.len, chunk.cap);
    qwh_buf_init(&chunk);  // taken over
  } else if (!owned && a->plain.len) {
    // Reads never nest (they come from the loop, not from JS), so the shared buffer is not reused meanwhile.
    decode_borrowed(c, a->plain.data, a->plain.len);
  }
  engine_chunk_free(chunk.data, chunk.cap);
  if (!c->closing() && qwh_tls_peer_closed(c->tls) && c->read_end != ReadEnd::Delivered) engine_eof(c);
}

// Ciphertext goes through the TLS module in slices of at most this much, so the memory BIO and
// each plaintext chunk stay small and their memory is reused (a 4 MiB read fed at once grew the
// BIO to 4 MiB and faulted in fresh pages for every read).
static constexpr size_t TLS_SLICE = 256 * 1024;

void engine_received(Conn *c, const uint8_t *p, size_t n) {
  if (c->reading_over()) return;
  c->bytes_in += static_cast<double>(n);
  if (!c->tls) return decode_borrowed(c, p, n);
  while (n > 0 && !c->reading_over()) {
    size_t k = n < TLS_SLICE ? n : TLS_SLICE;
    tls_received(c, p, k);
    p += k;
    n -= k;
  }
}

void engine_received_owned(Conn *c, uint8_t *p, size_t n, size_t cap) {
  if (c->reading_over() || c->tls || c->pend.len || c->js_paused || c->own) {
    engine_received(c, p, n);
    if (!c->closing()) engine_flush_batch(c);
    engine_chunk_free(p, cap);
    return;
  }
  c->bytes_in += static_cast<double>(n);
  decode_owned(c, p, n, cap);
}

size_t engine_in_place_room(Conn *c, uint8_t **at) {
  if (c->reading_over() || c->tls || c->raw || c->pend.len || c->js_paused || c->own || !c->established()) return 0;
  return qwh_decoder_room(&c->dec, ENGINE_LARGE_FRAME, at);
}

void engine_received_in_place(Conn *c, size_t n) {
  c->bytes_in += static_cast<double>(n);
  qwh_code rc = qwh_decoder_commit(&c->dec, n);
  if (rc != QWH_OK) return fail_decode(c, rc);
  engine_flush_batch(c);
}

void engine_received_frame(Conn *c, napi_value buf, uint8_t *data, size_t n, size_t buf_len) {
  if (c->reading_over()) return;
  engine_flush_batch(c);  // what an earlier read left, if anything
  if (c->closing()) return;
  c->own = data;
  c->own_len = n;
  c->own_cap = 0;
  process(c, data, n);
  if (!c->closing()) engine_flush_batch_into(c, buf, buf_len);
  c->own = nullptr;
  c->own_len = 0;
}

void engine_eof(Conn *c) {
  if (c->closing() || c->read_end == ReadEnd::Delivered) return;
  if (!c->established()) {
    if (c->server) {
      tls_failed(c, "connection closed during the TLS handshake");
    } else {
      tls_failed(c, "connection closed before it was established");
    }
    return;
  }
  engine_flush_batch(c);
  if (c->js_paused || c->pend.len) {
    c->read_end = ReadEnd::Pending;
    update_reading(c);
    return;
  }
  deliver_end(c);
}

void engine_socket_error(Conn *c, const char *message) {
  if (c->closing()) return;
  if (!c->established()) {
    if (c->server) {
      tls_failed(c, message);
    } else {
      dispatch_code(c, EV_CONNECT_FAILED, c->id, "E_SOCKET", message);
      c->phase = Phase::Closing;
      c->close_notified = true;
      c->addon->backend->close(c);
    }
    return;
  }
  engine_flush_batch(c);
  c->fail();
  dispatch_code(c, EV_ERROR, c->id, "E_SOCKET", message);
  if (!c->closing()) {
    c->phase = Phase::Closing;
    c->addon->backend->close(c);
  }
}

void engine_drained(Conn *c) {
  c->unsent = 0;
  if (c->limit_stopped) {
    c->limit_stopped = false;
    update_reading(c);
  }
  if (c->want_drain && !c->closing() && c->established()) {
    c->want_drain = false;
    Scope s(c->addon);
    engine_dispatch(c->addon, EV_DRAIN, c->id, nullptr, nullptr);
  }
}

void engine_tcp_connected(Conn *c) {
  if (c->tls) {
    qwh_tls_start(c->tls, &c->tls_out);
    send_tls_out(c);
    update_reading(c);
    return;
  }
  update_reading(c);
  report_established(c);
}

void engine_accepted(Listener *l, Conn *c) {
  (void)l;
  update_reading(c);
  if (!c->tls) report_established(c);
}

void engine_closed(Conn *c) {
  Addon *a = c->addon;
  if (!c->close_notified && !a->tearing_down) {
    c->close_notified = true;
    Scope s(a);
    engine_dispatch(a, EV_CLOSE, c->id, nullptr, nullptr);
  }
  free_conn(c);
}

void engine_listener_error(Listener *l, const char *message) {
  Addon *a = l->addon;
  Scope s(a);
  engine_dispatch(a, EV_LISTEN_ERROR, l->id, str(a->env, message), nullptr);
}

// ---------------------------------------------------------------- what JS asks of a connection

bool engine_writev(Conn *c, const struct iovec *iov, int n) {
  if (c->tls) {
    for (int i = 0; i < n; i++)
      if (!engine_write(c, static_cast<const uint8_t *>(iov[i].iov_base), iov[i].iov_len)) return false;
    return true;
  }
  size_t total = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  send_bytes(c, iov, n, total);
  return true;
}

bool engine_write(Conn *c, const uint8_t *p, size_t n) {
  if (!c->tls) {
    struct iovec v = {const_cast<uint8_t *>(p), n};
    send_bytes(c, &v, 1, n);
    return true;
  }
  if (qwh_tls_write(c->tls, p, n, &c->tls_out) != QWH_TLS_OK) {
    tls_failed(c, qwh_tls_error(c->tls));
    return false;
  }
  c->bytes_out += static_cast<double>(n);
  send_tls_out(c);
  if (c->out_limit && c->unsent > c->out_limit && !c->limit_stopped) {
    c->limit_stopped = true;
    update_reading(c);
  }
  return true;
}

bool engine_pause(Conn *c, bool paused) {
  c->js_paused = paused;
  update_reading(c);
  return !paused && (c->pend.len > 0 || (c->hdr_have > 0 && !c->big) || c->read_end == ReadEnd::Pending);
}

void engine_drain_pending(Conn *c) {
  if (c->hdr_have && !c->big && !c->js_paused && !c->reading_over()) {
    // A header read with the end of the last frame (engine_read.cc): the decoder takes it, in
    // case no more bytes come to make the socket readable.
    uint8_t held[sizeof c->hdr];
    size_t k = c->hdr_have;
    memcpy(held, c->hdr, k);
    c->hdr_have = 0;
    c->bytes_in -= static_cast<double>(k);
    engine_received(c, held, k);
  }
  if (c->pend.len) {
    qwh_buf mine = c->pend;
    qwh_buf_init(&c->pend);
    process(c, mine.data, mine.len);
    qwh_buf_free(&mine);
    if (!c->closing()) engine_flush_batch(c);
  }
  if (!c->closing() && !c->js_paused && !c->pend.len && c->read_end == ReadEnd::Pending) deliver_end(c);
  update_reading(c);
}

void engine_end(Conn *c) {
  c->end_requested = true;
  if (c->tls) {
    qwh_tls_close_notify(c->tls, &c->tls_out);
    send_tls_out(c);
  }
  c->addon->backend->shutdown_write(c);
}

void engine_destroy(Conn *c, bool silent) {
  c->phase = Phase::Closing;
  if (silent) c->close_notified = true;
  c->addon->backend->close(c);
}

}  // namespace qwh
