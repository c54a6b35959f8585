/* status: the runtime error channel of core/.
 *
 * Anything outside input can cause (a bad file, a short read, a failed allocation) is reported as
 * an enum status returned up the call chain, together with a one-line human message kept per
 * thread. Programmer errors (broken invariants) are ASSERTs instead and abort with file and line.
 * Only main() exits. */
#ifndef INSPECTD_STATUS_H
#define INSPECTD_STATUS_H

#include <stdio.h>
#include <stdlib.h>

enum status {
    STATUS_OK = 0,
    STATUS_IO,          /* open/read/write/rename failed */
    STATUS_FORMAT,      /* malformed bytes: bad header, truncated, not a PNG, bad JSON */
    STATUS_SHAPE,       /* well-formed, but the wrong shape or size for the model */
    STATUS_RANGE,       /* a value or index out of its allowed range */
    STATUS_NOMEM,       /* allocation failed */
    STATUS_UNSUPPORTED, /* valid but not handled (e.g. an unknown dtype) */
    STATUS_NOT_FOUND,   /* a named tensor, file or model that is not there */
    STATUS_NUMERIC,     /* NaN or Inf where a number was needed (e.g. training diverged) */
    STATUS_CANCELLED,   /* stopped on request (a signal) */
    STATUS_BUSY,        /* a bounded resource is full (the work queue): try again later */
};

/* "ok", "io", "format", ...: short, stable names, usable as error codes. */
const char *status_to_string(enum status s);

/* Records a formatted message for this thread and returns s, so callers can write
 * `return status_fail(STATUS_FORMAT, "%s: header too short", path);`. */
enum status status_fail(enum status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread by status_fail ("" if none). Valid until the next
 * status_fail on the same thread. */
const char *status_message(void);

#define ASSERT(cond)                                                                          \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#endif
