/*
 * One QWH/1 connection as a state machine without I/O (client or server; v1,
 * 0.3 legacy and bare profiles). The backend feeds received bytes in, writes
 * out what accumulates in `out`, and closes the transport once
 * qwh_session_finished() says so. Timers are the backend's: it calls
 * qwh_session_heartbeat() every heartbeat interval, qwh_session_verdict() when
 * an asynchronous policy decided, qwh_session_fail() for its timeouts.
 */
#ifndef QWH_SESSION_H
#define QWH_SESSION_H

#include "answer.h"
#include "frame_encoder.h"
#include "negotiate.h"
#include "receiver.h"
#include "resume.h"

typedef enum qwh_role { QWH_CLIENT, QWH_SERVER } qwh_role;
/* VERIFYING: server, the hello was judged acceptable and the policy has not decided yet (spec 8.1 step 10). */
typedef enum qwh_state { QWH_ST_HANDSHAKE, QWH_ST_VERIFYING, QWH_ST_OPEN, QWH_ST_CLOSING, QWH_ST_CLOSED } qwh_state;
/* Which handshake: v1 hello/answer, a 0.3 hello with no answer (client only), or none at all (spec 6.4). */
typedef enum qwh_handshake_profile { QWH_HS_V1 = 0, QWH_HS_LEGACY, QWH_HS_BARE } qwh_handshake_profile;

typedef struct qwh_session_handlers {
  void (*on_open)(void *user);
  /* A message (in raw mode: a chunk of the byte stream). Return a code to fail the connection. */
  qwh_code (*on_message)(void *user, const uint8_t *payload, size_t len);
  /* The peer's CLOSE (control) or reject (client); `code` may be outside the registry. */
  void (*on_peer_close)(void *user, const char *code, const char *reason);
} qwh_session_handlers;

/* Client, feature "resume" (spec 10.7): the session carried from connection to connection (the caller owns it). */
typedef struct qwh_resume_client {
  qwh_resume_limits limits; /* the own bounds, announced in the hello */
  bool active;              /* a session is held: id, token and st are valid */
  bool ended;               /* set when the session ended (a resume refused, an accept without it); the caller drops it */
  uint8_t id[QWH_SESSION_ID_BYTES];
  uint8_t token[QWH_SESSION_TOKEN_BYTES]; /* the latest the server issued */
  uint32_t max_frame_length;              /* of the session's first accept */
  qwh_resume_state st;
} qwh_resume_client;

typedef struct qwh_session_config {
  qwh_role role;
  uint32_t max_frame_length;       /* own receive maximum */
  qwh_handshake_profile profile;   /* server: V1 (0.3 clients per policy.legacy_allowed) or BARE */
  uint32_t heartbeat_missed_limit; /* unanswered PINGs before E_HEARTBEAT_TIMEOUT (0: 2) */
  /* client */
  const char *const *features;
  size_t n_features;
  const char *version;
  const qwh_json *tags;
  /* client: sign the v1 hello with this 32-byte Ed25519 seed (NULL: unsigned), with this nonce and
   * ts (the backend draws them), bound to the TLS session when sign_exporter (32 bytes) is set. */
  const uint8_t *sign_seed;
  uint8_t sign_nonce[16];
  int64_t sign_ts;
  const uint8_t *sign_exporter;
  /* server: the backend keeps policy.now_ms current */
  qwh_server_policy policy;
  /* server, step 10 of spec 8.1 (NULL: accept): QWH_OK, or a refusal code (E_POLICY_REJECTED). */
  qwh_code (*verify)(void *user, const qwh_hello *hello);
  /* server: the policy decides later; an acceptable hello puts the session in VERIFYING and calls
   * `verify`, which starts the decision (QWH_OK: wait for qwh_session_verdict(); a code refuses
   * at once). Meanwhile any byte from a v1 client is E_PROTOCOL_ERROR (QWH-STATE-003)
   * and a 0.3 client's frames are held (QWH-LEGACY-011). */
  bool verify_async;
  /* Feature "resume". Client: offer it in a 1.1 hello and continue this session (NULL: not offered).
   * Server (with policy.resume): the sessions it holds; transport_tls says this connection is TLS. */
  qwh_resume_client *resume_client;
  qwh_resume_store *resume_store;
  bool transport_tls;
  int64_t (*clock_ms)(void); /* monotonic milliseconds, for the store's windows and ACK delays (NULL: policy.now_ms) */
} qwh_session_config;

typedef struct qwh_session {
  qwh_session_config cfg;
  qwh_session_handlers h;
  void *user;
  qwh_state state;
  qwh_receiver rx;
  qwh_encoder enc;
  qwh_buf out;  /* bytes to write, in order */
  qwh_arena hs; /* handshake values; freed when the connection opens */
  bool control, raw, legacy;
  bool close_sent, close_received;
  bool finished;       /* close the transport once `out` is written */
  bool half_close;     /* without control: end our direction (FIN) once `out` is written */
  bool unclean;        /* the peer went away without a CLOSE */
  bool peer_ended;     /* the end came from the peer (its CLOSE, its reject, its end of stream) */
  qwh_code error;      /* why it finished (QWH_OK: clean) */
  char error_name[72]; /* the code's string, also for a peer's code outside the registry */
  qwh_buf accept;      /* client: the accept's JSON payload as received (empty until accepted) */
  /* server: the judged hello (has_hello) and the negotiated features (array, NULL for 0.3); valid
   * until the handshake arena is freed: during on_open (and in VERIFYING). */
  bool has_hello;
  qwh_hello hello;
  const qwh_json *negotiated;
  /* VERIFYING: what opens the connection on a positive verdict */
  qwh_buf pending; /* v1: the accept frame; 0.3: held frames, each as u32 length + payload */
  uint32_t pending_peer_max;
  bool pending_control, pending_raw;
  /* VERIFYING with "resume" listed: the decision, whose session is settled once the verdict is positive
   * (step 11 after step 10); it points into the handshake arena, which lives until the open */
  bool pending_resume;
  qwh_decision pending_decision;
  bool verdict_ready;                  /* a synchronous policy accepted: the accept goes out once the hello's read proved empty */
  uint64_t pings_sent, pings_answered; /* heartbeat: PING bodies are an 8-byte counter (QWH-PING-004) */
  /* "resume" negotiated: the session's counts and replay buffer (the client's or the store's) */
  qwh_resume_state *rs;
  qwh_resume_entry *resume_entry; /* server: the stored session, whose entry->conn is this session */
  bool resumed;                   /* the accept continued a session */
  bool resume_frame_seen;         /* a frame arrived on this connection since it opened */
  /* a graceful close waiting for the held messages to be sent first: its code and reason */
  bool close_owed, owed_has_reason;
  qwh_code owed_code;
  qwh_buf owed_reason;
} qwh_session;

int qwh_session_init(qwh_session *s, const qwh_session_config *cfg, const qwh_session_handlers *h, void *user);
void qwh_session_free(qwh_session *s);
/* Client: queues the hello. */
qwh_code qwh_session_start(qwh_session *s);
/* Received bytes / end of the incoming stream. */
qwh_code qwh_session_feed(qwh_session *s, const uint8_t *p, size_t n);
void qwh_session_feed_end(qwh_session *s);
/* Queues one message (E_CLOSED after close, E_FRAME_TOO_LARGE over the peer's maximum, nothing written then). */
qwh_code qwh_session_send(qwh_session *s, const uint8_t *p, size_t n);
/* Server in VERIFYING: the policy's decision (QWH_OK, or the refusal code). */
void qwh_session_verdict(qwh_session *s, qwh_code code);
/* Heartbeat tick (open, "control" only): a PING, or E_HEARTBEAT_TIMEOUT once the missed limit is reached. */
qwh_code qwh_session_heartbeat(qwh_session *s);
/* Graceful close with a wire code (E_NORMAL_CLOSE, E_GOING_AWAY). With "resume", messages held past the
 * replay bounds go first: the CLOSE follows once the peer's ACKs made room for the last of them. */
void qwh_session_close(qwh_session *s, qwh_code code, const char *reason);
/* Fails the connection with `code` (timeouts, backpressure, socket errors). */
void qwh_session_fail(qwh_session *s, qwh_code code);
static inline bool qwh_session_finished(const qwh_session *s) { return s->finished; }
/* "resume": a CLOSE was sent or received on this connection, so the session is over (QWH-RESUME-013). */
static inline bool qwh_session_resume_over(const qwh_session *s) { return s->close_sent || s->close_received; }
/* "resume": an ACK with the received count now, when a delivered frame is not yet covered (QWH-ACK-006). */
qwh_code qwh_session_ack(qwh_session *s);
/* "resume", server: another connection resumed this session: finish at once, without a frame, and let
 * go of the session's state (nothing more is delivered or counted, QWH-RESUME-017). */
void qwh_session_abort(qwh_session *s);

#endif
