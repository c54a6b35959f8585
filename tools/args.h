/* args: flag values for the developer tools (one executable per .c file of tools/), read by
 * core/parse.c in the words the inspectd command line uses. A tool is a main, so a refused value
 * ends it here: the message on stderr, exit status 2 (a usage error). Header-only, since every
 * .c file of tools/ is built as a program of its own. */
#ifndef INSPECTD_TOOLS_ARGS_H
#define INSPECTD_TOOLS_ARGS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "parse.h"

static inline void args_refused(const char *tool)
{
    fprintf(stderr, "%s: %s\n", tool, status_message());
    exit(2);
}

/* An integer in [lo, hi]. */
static inline long long args_int(const char *tool, const char *flag, const char *v, long long lo,
                                 long long hi)
{
    long long n = 0;
    if (parse_int(&n, flag, v, lo, hi))
        args_refused(tool);
    return n;
}

/* A number in [lo, hi]. */
static inline double args_float(const char *tool, const char *flag, const char *v, double lo,
                                double hi)
{
    double d = 0;
    if (parse_float(&d, flag, v, lo, hi))
        args_refused(tool);
    return d;
}

/* An unsigned 64-bit integer. */
static inline uint64_t args_u64(const char *tool, const char *flag, const char *v)
{
    uint64_t n = 0;
    if (parse_u64(&n, flag, v))
        args_refused(tool);
    return n;
}

#endif
