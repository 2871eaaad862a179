/* The QWH/1 C core: no I/O, no global mutable state. Include this one header. */
#ifndef QWH_CORE_H
#define QWH_CORE_H

#include "answer.h"
#include "buf.h"
#include "control.h"
#include "errors.h"
#include "fields.h"
#include "frame_decoder.h"
#include "frame_encoder.h"
#include "hello.h"
#include "json.h"
#include "limits.h"
#include "negotiate.h"
#include "receiver.h"
#include "resume.h"
#include "signature.h"

#endif
