/*
 * Session resumption (feature "resume", QWH/1.1, spec 10.7) without I/O: the
 * ACK control frame, the hello and accept members "resume", the constant-time
 * token compare, one side's counts and replay buffer (qwh_resume_state), and
 * the sessions a server holds (qwh_resume_store).
 */
#ifndef QWH_RESUME_H
#define QWH_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "json.h"

#define QWH_ACK_BODY_LENGTH 9u /* flags + 8-byte count (QWH-ACK-001) */
#define QWH_ACK_FRAME_LENGTH 14u
#define QWH_ACK_REQUEST_BIT 0x01u
#define QWH_SESSION_ID_BYTES 16u
#define QWH_SESSION_TOKEN_BYTES 32u
#define QWH_SESSION_ID_CHARS 22u
#define QWH_SESSION_TOKEN_CHARS 43u
#define QWH_MAX_SAFE_INTEGER 9007199254740991ll
#define QWH_MAX_UNACKED_MESSAGES_LIMIT 4294967295ll

/* One side's replay-buffer bounds, as announced in its hello or accept. */
typedef struct qwh_resume_limits {
  uint64_t max_messages; /* 1 .. 2^32-1 */
  uint64_t max_bytes;    /* 1 .. 2^53-1: 4 + payload length per frame */
} qwh_resume_limits;

/* ---- the ACK frame (QWH-ACK-001, QWH-ACK-002) ---- */

/* Decodes an ACK body (after the type byte): E_INVALID_CONTROL_FRAME for a length other than 9 or a count above 2^53-1. */
qwh_code qwh_ack_parse(const uint8_t *body, size_t len, bool *request, uint64_t *count);
/* Appends a complete ACK frame (14 bytes). */
qwh_code qwh_encode_ack(qwh_buf *out, bool request, uint64_t count);

/* ---- the hello and accept members (QWH-RESUME-002, QWH-RESUME-005) ---- */

typedef struct qwh_hello_resume {
  qwh_resume_limits limits;
  bool named; /* id, token and received present: a resume */
  uint8_t id[QWH_SESSION_ID_BYTES];
  uint8_t token[QWH_SESSION_TOKEN_BYTES];
  uint64_t received;
} qwh_hello_resume;

typedef struct qwh_accept_resume {
  uint8_t id[QWH_SESSION_ID_BYTES];
  uint8_t token[QWH_SESSION_TOKEN_BYTES];
  uint64_t window_ms;
  qwh_resume_limits limits;
  uint64_t received;
  bool resumed;
} qwh_accept_resume;

/* Checks and reads a hello member "resume" (QWH-RESUME-002). */
bool qwh_hello_resume_parse(const qwh_json *v, qwh_hello_resume *out);
/* Checks and reads an accept member "resume" (QWH-RESUME-005). */
bool qwh_accept_resume_parse(const qwh_json *v, qwh_accept_resume *out);
qwh_json *qwh_hello_resume_build(qwh_arena *a, const qwh_hello_resume *r);
qwh_json *qwh_accept_resume_build(qwh_arena *a, const qwh_accept_resume *r);

/* What a client's hello named, for the check of the accept (QWH-RESUME-007, QWH-RESUME-019). */
typedef struct qwh_named_session {
  uint8_t id[QWH_SESSION_ID_BYTES];
  uint64_t sent;             /* data frames the client sent in the session */
  uint64_t server_reported;  /* the highest count the server reported */
  uint32_t max_frame_length; /* of the session's first accept */
} qwh_named_session;

/*
 * The client's check of an accept that lists "resume" (`member` is its member "resume", may be NULL):
 * E_INVALID_HANDSHAKE (member invalid), E_PROTOCOL_ERROR ("control" missing, "resumed" not matching
 * the hello, another session), E_RESUME_MISMATCH (count out of range, smaller receive maximum).
 */
qwh_code qwh_accept_resume_check(const qwh_json *member, bool control, uint32_t max_frame_length, const qwh_named_session *named,
                                 qwh_accept_resume *out);

/* A copy of an accept's "features" without "resume" (arena-owned; NULL when out of memory). */
qwh_json *qwh_features_without_resume(qwh_arena *a, const qwh_json *features);

/* Compares two tokens in a time that does not depend on their content (QWH-RESUME-006). */
bool qwh_token_equal(const uint8_t a[QWH_SESSION_TOKEN_BYTES], const uint8_t b[QWH_SESSION_TOKEN_BYTES]);

/* ---- one side of a session ---- */

/*
 * Numbers the data frames sent and received (QWH-RESUME-008), keeps the frames sent, encoded,
 * until the peer's count covers them (QWH-RESUME-009), bounds them by the own limits and holds
 * what does not fit (QWH-RESUME-010), says when an ACK is due (QWH-ACK-005) and checks the peer's
 * counts (QWH-ACK-004, QWH-RESUME-016, QWH-RESUME-019). The kept frames lie back to back in a byte
 * ring with a ring of their lengths: one copy per frame kept, none when it is released, and no
 * allocation per message once the rings have grown.
 */
typedef struct qwh_resume_state {
  qwh_resume_limits own, peer;
  uint64_t sent;          /* number of the last data frame sent */
  uint64_t peer_received; /* the highest count the peer reported */
  uint64_t received;      /* data frames received and delivered */
  uint64_t reported;      /* the count last reported (ACK, resume hello or accept) */
  uint64_t unreported_bytes;
  int64_t unreported_since; /* caller's clock (ms) of the first delivery no count covers; -1: none */
  /* frames peer_received+1 .. sent: a byte ring (capacity a power of 2) of replay_len bytes from replay_head */
  uint8_t *replay;
  size_t replay_cap, replay_head, replay_len;
  uint32_t *lens; /* ring of their lengths (4 + payload) */
  size_t ring_cap, ring_head;
  qwh_buf held; /* encoded frames past the limits, in order, from held_off */
  size_t held_off, held_count;
  /* the last `unsent` kept bytes are still to be written, from the ring itself, before what the
   * caller's output buffer holds (see qwh_resume_send); 0 at each new connection */
  size_t unsent;
} qwh_resume_state;

void qwh_resume_init(qwh_resume_state *st, const qwh_resume_limits *own, const qwh_resume_limits *peer);
void qwh_resume_free(qwh_resume_state *st);
static inline uint64_t qwh_resume_unacked(const qwh_resume_state *st) { return st->sent - st->peer_received; }
static inline uint64_t qwh_resume_replay_bytes(const qwh_resume_state *st) { return st->replay_len; }
/* Whether a data frame of `payload_len` bytes may be sent now: within the limits, or alone (QWH-RESUME-010). */
bool qwh_resume_can_send(const qwh_resume_state *st, size_t payload_len);
/* Records a data frame as sent (its encoded bytes, header included, are kept). */
qwh_code qwh_resume_record(qwh_resume_state *st, const uint8_t *frame, size_t len);
/* How many data frames of `frame_len` bytes (header included) may be sent now, none being held (QWH-RESUME-010). */
uint64_t qwh_resume_room(const qwh_resume_state *st, size_t frame_len);
/* Records n data frames of `frame_len` bytes each, back to back in `frames`, as sent (one copy for all). */
qwh_code qwh_resume_record_many(qwh_resume_state *st, const uint8_t *frames, size_t frame_len, size_t n);
/*
 * Queues a data frame when nothing is held and it fits, else holds it. Sets *held accordingly (may
 * be NULL). A queued frame is kept in the replay ring, encoded, and written from there: it joins
 * the unsent bytes at the ring's end (qwh_resume_unsent) when `out` is empty or unsent bytes are
 * already waiting, which go out before `out`; else it is appended to `out`, after what waits
 * there. The caller writes the unsent ring bytes first, then `out`: data frames keep their order,
 * and a control frame queued in `out` meanwhile may be overtaken by later data frames only.
 */
qwh_code qwh_resume_send(qwh_resume_state *st, qwh_buf *out, const uint8_t *payload, size_t len, bool *held);
/* qwh_resume_record_many, then queued as qwh_resume_send queues a frame (none may be held). */
qwh_code qwh_resume_send_many(qwh_resume_state *st, qwh_buf *out, const uint8_t *frames, size_t frame_len, size_t n);
/* Queues held frames that now fit, in order, as qwh_resume_send does; returns how many. */
size_t qwh_resume_release(qwh_resume_state *st, qwh_buf *out);
/* The unsent bytes at the ring's end, in order, in at most two pieces (the second may be empty); returns their total. */
size_t qwh_resume_unsent(const qwh_resume_state *st, const uint8_t **p1, size_t *n1, const uint8_t **p2, size_t *n2);
/* The first n unsent bytes were written. */
static inline void qwh_resume_unsent_done(qwh_resume_state *st, size_t n) { st->unsent -= n < st->unsent ? n : st->unsent; }
/* A count from the peer: releases the frames it covers; `code` when below an earlier one or above what was sent. */
qwh_code qwh_resume_acknowledge(qwh_resume_state *st, uint64_t count, qwh_code code);
/* A data frame was delivered (at caller time `now`, read only when no earlier delivery is uncovered);
 * true when an ACK is due at once (QWH-ACK-005). */
bool qwh_resume_delivered(qwh_resume_state *st, size_t payload_len, int64_t now);
/* The count to report now; marks it reported. */
uint64_t qwh_resume_report(qwh_resume_state *st);
static inline bool qwh_resume_ack_pending(const qwh_resume_state *st) { return st->received > st->reported; }
/* Appends the kept frames (those the peer has not received), in order, byte for byte (QWH-RESUME-021). */
qwh_code qwh_resume_resend(const qwh_resume_state *st, qwh_buf *out);

/* ---- the sessions a server holds ---- */

typedef struct qwh_resume_entry {
  uint8_t id[QWH_SESSION_ID_BYTES];
  uint8_t token[QWH_SESSION_TOKEN_BYTES];
  uint8_t prev_token[QWH_SESSION_TOKEN_BYTES]; /* the token the last resume presented (QWH-RESUME-018) */
  bool has_prev;
  bool has_key; /* the session's first hello was signed with `key` */
  uint8_t key[32];
  bool tls;
  uint32_t max_frame_length; /* the client's receive maximum in the first hello */
  qwh_resume_state st;
  void *conn;         /* the caller's connection that holds the session, or NULL */
  int64_t expires_ms; /* without a connection: when the window ends */
  struct qwh_resume_entry *next;
} qwh_resume_entry;

typedef struct qwh_resume_store {
  qwh_resume_limits limits;
  uint64_t window_ms;
  uint64_t max_sessions;
  qwh_resume_entry *head;
  size_t count;
  /* Fills `out` with n bytes from a CSPRNG (NULL: OpenSSL's RAND_bytes); 0 on success. */
  int (*random)(void *user, uint8_t *out, size_t n);
  /* Closes `conn`, the connection that holds a session, without CLOSE and without delivering more (QWH-RESUME-017). */
  void (*take_over)(void *user, qwh_resume_entry *e);
  void *user;
} qwh_resume_store;

typedef enum qwh_resume_outcome {
  QWH_RESUME_NONE,    /* accept without "resume" (QWH-RESUME-024) */
  QWH_RESUME_NEW,     /* a new session */
  QWH_RESUME_RESUMED, /* the named session continues */
  QWH_RESUME_REFUSED  /* reject with the code */
} qwh_resume_outcome;

void qwh_resume_store_init(qwh_resume_store *s, const qwh_resume_limits *limits, uint64_t window_ms, uint64_t max_sessions);
void qwh_resume_store_free(qwh_resume_store *s);
/* Forgets sessions without connection whose window passed by `now` (QWH-RESUME-022). */
void qwh_resume_store_expire(qwh_resume_store *s, int64_t now);
/*
 * Step 11 of spec 8.1 for a hello whose accept lists "resume": creates, resumes (taking over an
 * open connection, rotating the token) or refuses (QWH-RESUME-015, QWH-RESUME-016; a mismatch ends
 * the session). `key` is the 32-byte key of a verified signature, or NULL. On NEW and RESUMED,
 * *entry and *grant are set and the caller attaches its connection (entry->conn).
 */
qwh_resume_outcome qwh_resume_store_decide(qwh_resume_store *s, const qwh_hello_resume *r, const uint8_t *key, bool tls,
                                           uint32_t max_frame_length, int64_t now, qwh_resume_entry **entry, qwh_accept_resume *grant,
                                           qwh_code *refusal);
/* The connection of a session ended without CLOSE: the session waits `window_ms` from `now`. */
void qwh_resume_store_detach(qwh_resume_store *s, qwh_resume_entry *e, int64_t now);
/* The session is over (CLOSE, mismatch): forgotten. Takes over its connection first if it has one. */
void qwh_resume_store_end(qwh_resume_store *s, qwh_resume_entry *e);
/* Adds a session as a server holds it after some traffic (golden vectors). */
qwh_resume_entry *qwh_resume_store_load(qwh_resume_store *s, const uint8_t id[QWH_SESSION_ID_BYTES],
                                        const uint8_t token[QWH_SESSION_TOKEN_BYTES], const uint8_t *prev_token, const uint8_t *key,
                                        bool tls, uint32_t max_frame_length, uint64_t sent, uint64_t client_reported, uint64_t received,
                                        int64_t now);

#endif
