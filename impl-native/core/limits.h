/* Wire constants of QWH/1 (spec/qwh-1.md); change only together with the spec. */
#ifndef QWH_LIMITS_H
#define QWH_LIMITS_H

#define QWH_VERSION_MAJOR 1
#define QWH_VERSION_MINOR 0
#define QWH_VERSION_STRING "1.0"
/* The version that carries feature "resume" (spec 10.7). */
#define QWH_RESUME_VERSION_MINOR 1
#define QWH_RESUME_VERSION_STRING "1.1"

#define QWH_FRAME_HEADER 4u
#define QWH_CONTROL_BIT 0x80000000u
#define QWH_MAX_FRAME_LENGTH_LIMIT 0x7fffffffu
#define QWH_DEFAULT_MAX_FRAME_LENGTH 4194304u
#define QWH_MAX_HANDSHAKE_LENGTH 16384u
#define QWH_MAX_CONTROL_LENGTH 1024u
#define QWH_DEFAULT_SIGNATURE_WINDOW_MS 30000
#define QWH_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000

#define QWH_MAX_FEATURES 32u
#define QWH_MAX_TAGS 64u
#define QWH_MAX_TAG_VALUE_CODEPOINTS 512u
#define QWH_MAX_VERSION_CODEPOINTS 64u
#define QWH_MAX_REASON_CODEPOINTS 256u

#define QWH_CTRL_PING 0x01u
#define QWH_CTRL_PONG 0x02u
#define QWH_CTRL_CLOSE 0x03u
#define QWH_CTRL_RESUME 0x10u /* reserved (spec 10.7.1) */
#define QWH_CTRL_ACK 0x11u    /* feature "resume" */
#define QWH_CTRL_FIRST_IGNORABLE 0x80u

#define QWH_SIGNATURE_CONTEXT "QWH/1 hello\n"
#define QWH_EXPORTER_LENGTH 32u

#endif
