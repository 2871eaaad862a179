/* Validators for members shared by hello, accept, reject and CLOSE (spec 7.2-7.4, 10.5). */
#ifndef QWH_FIELDS_H
#define QWH_FIELDS_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"

/* "qwh": ^(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})$ */
bool qwh_parse_version_text(const char *s, size_t len, int *major, int *minor);
bool qwh_parse_qwh(const qwh_json *v, int *major, int *minor);
/* "features": at most 32 distinct names matching ^[a-z][a-z0-9-]{0,31}$ */
bool qwh_check_features(const qwh_json *v);
bool qwh_feature_name_valid(const char *s, size_t len);
/* True when the string array `features` contains `name`. */
bool qwh_features_has(const qwh_json *features, const char *name);
/* "version": a string of 1..64 code points */
bool qwh_check_app_version(const qwh_json *v);
/* "tags": v1 rules, or 0.3's looser ones (any number, no count or length limit) */
bool qwh_check_tags(const qwh_json *v, bool legacy);
/* "maxFrameLength": an integer in 0..2^31-1 */
bool qwh_check_max_frame_length(const qwh_json *v);
/* ^E_[A-Z0-9_]{1,62}$ */
bool qwh_error_code_valid(const char *s, size_t len);
/* an optional reason: a string of at most 256 code points (NULL = absent, valid) */
bool qwh_check_reason(const qwh_json *v);
/* Application versions (spec 8.4, QWH-NEG-009). */
bool qwh_app_versions_compatible(const char *a, size_t alen, const char *b, size_t blen);

#endif
