/*
 * Shared by the files of codec/: reading a vector's parameters and inputs, building its
 * outputs, and the operations each file implements (codec_ops.c dispatches to them).
 */
#ifndef QWH_CODEC_PARAMS_H
#define QWH_CODEC_PARAMS_H

#include "codec_ops.h"

/* The bytes of the hex string input[name]; -1 when it is missing or not hex. */
int codec_hex_input(const qwh_json *input, const char *name, qwh_buf *out);
bool codec_get_bool(const qwh_json *o, const char *name, bool dflt);
int64_t codec_get_int(const qwh_json *o, const char *name, int64_t dflt);
/* Output object {error: code|null} plus what the caller adds; NULL when memory runs out. */
qwh_json *codec_result(qwh_arena *a, qwh_code code);
/* {type: "reject", code}. */
qwh_json *codec_reject_answer(qwh_arena *a, qwh_code code);
/* The strings of a JSON array as a C array (arena-owned); NULL when memory runs out. */
const char **codec_strings_of(qwh_arena *a, const qwh_json *arr, size_t *n);
/* Exactly n bytes of a base64url string. */
bool codec_b64_param(const qwh_json *v, uint8_t *out, size_t n);
/* The 32 exporter bytes of a {"exporterHex"} object; false without TLS. */
bool codec_exporter_of(const qwh_json *tls, uint8_t exporter[32]);
/* A replay cache holding the {key, nonce} entries (NULL: none). */
int codec_fill_replay_cache(qwh_replay_cache *c, const qwh_json *entries, int64_t now, int64_t window);

/*
 * The server of a "negotiate" or "resume" vector (params.server): qwh, features,
 * maxFrameLength, version, tags, framing, legacyAllowed, requireSignature,
 * signatureWindowMs, now, and the TLS exporter when `tls` is an object (its 32
 * bytes go to `exporter`, which must outlive *p). False when malformed.
 */
bool codec_server_policy(qwh_arena *a, const qwh_json *s, qwh_server_policy *p, uint8_t exporter[32]);
/* The server's decision on the hello input.hex, with a replay cache of `replay_entries` (NULL:
 * empty). -1 when the input is malformed. */
int codec_decide(qwh_arena *a, const qwh_json *input, const qwh_json *replay_entries, const qwh_server_policy *p, qwh_decision *d);

/* The server's answer input.hex as a client that offered `offer` checks it: 0 with *rc its
 * verdict, or -1 when the input is malformed. */
int codec_parse_answer(qwh_arena *a, const qwh_json *input, const qwh_offer *offer, qwh_answer *ans, qwh_code *rc);
/* An accept's qwh, features, maxFrameLength, tags and version as members of `o`; -1 when memory runs out. */
int codec_accept_members(qwh_arena *a, qwh_json *o, const qwh_answer *ans);

typedef int codec_op(qwh_arena *a, const qwh_json *params, const qwh_json *input, qwh_json **out);
codec_op codec_frame_decode, codec_frame_encode;                                            /* codec_frames.c */
codec_op codec_hello, codec_accept, codec_negotiate, codec_signature, codec_canonical_json; /* codec_handshake.c */
codec_op codec_resume;                                                                      /* codec_resume.c */

#endif
