/* status: names for status codes and the per-thread error message. */
#include "status.h"

#include <stdarg.h>

static _Thread_local char last_message[512];

const char *status_to_string(enum status s)
{
    switch (s) {
    case STATUS_OK: return "ok";
    case STATUS_IO: return "io";
    case STATUS_FORMAT: return "format";
    case STATUS_SHAPE: return "shape";
    case STATUS_RANGE: return "range";
    case STATUS_NOMEM: return "nomem";
    case STATUS_UNSUPPORTED: return "unsupported";
    case STATUS_NOT_FOUND: return "not_found";
    case STATUS_NUMERIC: return "numeric";
    case STATUS_CANCELLED: return "cancelled";
    case STATUS_BUSY: return "busy";
    }
    return "unknown";
}

enum status status_fail(enum status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return s;
}

const char *status_message(void)
{
    return last_message;
}
