/*
 * Incremental QWH/1 frame reassembler: a state machine fed arbitrary chunks.
 * The length on each header is checked before any payload byte is buffered.
 * A frame lying inside one chunk is handed to the callback as a pointer into
 * that chunk (no copy); only a frame spanning chunks is assembled, in a buffer
 * that grows as its bytes arrive (a peer announcing a large frame and stalling
 * pins at most 1 MiB, not the announced size). A reader may receive the rest of
 * such a frame straight into that buffer (qwh_decoder_room / _commit), and a
 * callback may take the buffer over (qwh_decoder_take), so a large frame need
 * not be copied at all.
 */
#ifndef QWH_FRAME_DECODER_H
#define QWH_FRAME_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/*
 * One complete frame. `payload` is valid only during the call. For a control
 * frame it is the type byte followed by the body. Return QWH_OK to go on, or a
 * code, which fails the decoder with that code.
 */
typedef qwh_code (*qwh_frame_cb)(void *user, bool control, const uint8_t *payload, size_t len);

typedef struct qwh_decoder {
  qwh_frame_cb cb;
  void *user;
  uint32_t max_frame_length; /* data frames above this fail with oversize_code */
  qwh_code oversize_code;    /* E_FRAME_TOO_LARGE, or E_HANDSHAKE_TOO_LARGE while handshaking */
  bool control;              /* bit 31 marks a control frame */
  bool refuse_data;          /* after the peer's CLOSE: every data header is E_PROTOCOL_ERROR */
  bool paused;               /* set by qwh_decoder_pause from a callback */
  qwh_code error;            /* sticky */
  uint8_t hdr[4];
  unsigned hdr_len;
  bool in_payload;
  bool partial_control;
  uint32_t need; /* payload length of the frame being assembled */
  uint8_t *partial;
  size_t partial_len, partial_cap;
  size_t tail;     /* bytes the assembly buffer keeps free past the payload (see qwh_decoder_set_tail) */
  bool delivering; /* the callback running was given the assembly buffer */
} qwh_decoder;

void qwh_decoder_init(qwh_decoder *d, qwh_frame_cb cb, void *user);
void qwh_decoder_free(qwh_decoder *d);
/* Limits for the next header on. */
void qwh_decoder_set_limits(qwh_decoder *d, uint32_t max_frame_length, bool control, qwh_code oversize_code);
/* Handshake phase: limit 16384, no control frames, E_HANDSHAKE_TOO_LARGE. */
void qwh_decoder_handshake(qwh_decoder *d);
void qwh_decoder_refuse_data(qwh_decoder *d);
/* From inside a callback: stop after this frame; push returns with *consumed at its end. */
void qwh_decoder_pause(qwh_decoder *d);

/*
 * Feeds bytes. Returns QWH_OK or the (sticky) error code; frames before the
 * offending one have been delivered. `consumed` (may be NULL) receives how many
 * bytes were used: len, unless a callback paused or an error occurred.
 */
qwh_code qwh_decoder_push(qwh_decoder *d, const uint8_t *chunk, size_t len, size_t *consumed);
/* End of stream: E_TRUNCATED_FRAME when it ends inside a frame. */
qwh_code qwh_decoder_end(qwh_decoder *d);
/* True when no frame is partly received. */
bool qwh_decoder_idle(const qwh_decoder *d);

/*
 * Assembly buffers get `tail` spare bytes past the payload, so that a taker
 * can append to a taken frame (e.g. a small table) without a reallocation.
 */
void qwh_decoder_set_tail(qwh_decoder *d, size_t tail);

/*
 * Where the next bytes of the frame being assembled may be received directly,
 * when at least `min` of them are still missing: returns the room (at most
 * what the frame still needs) and sets *at; 0 when there is no such frame or
 * the buffer cannot grow. Pass what was received to qwh_decoder_commit.
 */
size_t qwh_decoder_room(qwh_decoder *d, size_t min, uint8_t **at);

/*
 * `n` bytes were received at the place qwh_decoder_room gave (n <= the room);
 * delivers the frame when complete. Returns like qwh_decoder_push.
 */
qwh_code qwh_decoder_commit(qwh_decoder *d, size_t n);

/*
 * From inside a callback whose payload is an assembled frame: takes over the
 * assembly buffer (the payload is at its start; it holds at least len + tail
 * bytes, its size is stored in *cap). The caller frees it. NULL when the
 * payload lies in the pushed chunk instead (copy it if it must outlive the call).
 */
uint8_t *qwh_decoder_take(qwh_decoder *d, size_t *cap);

#endif
