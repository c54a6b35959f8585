/* parse: numbers from text, and checks of parsed numbers; see parse.h. strtoll/strtod do the
 * conversion; the character checks before them refuse what they would quietly accept (leading
 * spaces, "+5", "0x10", "inf", "nan"), and errno catches overflow. */
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The one refusal: "NAME 'TEXT': expected WHAT". Long values are cut, so a message fits a line. */
static enum status refuse(const char *name, const char *text, const char *what)
{
    return status_fail(STATUS_RANGE, "%s '%.40s%s': expected %s", name, text,
                       strlen(text) > 40 ? "..." : "", what);
}

/* The expectations, worded only when a value is refused (the request path checks every pixel). */
static enum status refuse_int(const char *name, const char *text, long long lo, long long hi)
{
    char what[96];
    snprintf(what, sizeof what, "an integer in [%lld, %lld]", lo, hi);
    return refuse(name, text, what);
}

static enum status refuse_float(const char *name, const char *text, double lo, double hi)
{
    char what[96];
    snprintf(what, sizeof what, "a number in [%g, %g]", lo, hi);
    return refuse(name, text, what);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

enum status parse_int(long long *out, const char *name, const char *text, long long lo,
                      long long hi)
{
    if (!all_digits(text + (text[0] == '-')))
        return refuse_int(name, text, lo, hi);
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno || v < lo || v > hi)
        return refuse_int(name, text, lo, hi);
    *out = v;
    return STATUS_OK;
}

enum status parse_u64(uint64_t *out, const char *name, const char *text)
{
    if (!all_digits(text))
        return refuse(name, text, "an integer in [0, 2^64)");
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno)
        return refuse(name, text, "an integer in [0, 2^64)");
    *out = (uint64_t)v;
    return STATUS_OK;
}

enum status parse_float(double *out, const char *name, const char *text, double lo, double hi)
{
    /* strtod also reads hex, "inf", "nan" and leading spaces: only plain decimal gets to it */
    bool shape = (text[0] >= '0' && text[0] <= '9') || text[0] == '-' || text[0] == '.';
    shape = shape && strspn(text, "0123456789.eE+-") == strlen(text);
    char *end = NULL;
    errno = 0;
    double v = shape ? strtod(text, &end) : NAN;
    if (!shape || end == text || *end || (errno == ERANGE && fabs(v) == HUGE_VAL) ||
        !isfinite(v) || v < lo || v > hi)
        return refuse_float(name, text, lo, hi);
    *out = v;
    return STATUS_OK;
}

enum status parse_size(size_t *out, const char *name, const char *text, size_t lo, size_t hi)
{
    char what[96];
    snprintf(what, sizeof what, "a byte count in [%zu, %zu] (K, M, G suffixes)", lo, hi);
    size_t digits = strspn(text, "0123456789");
    if (!digits)
        return refuse(name, text, what);
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    const char *end = text + digits;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'i' || *end == 'B')
        end++;
    if (*end || errno || v > (SIZE_MAX >> shift) || ((size_t)v << shift) < lo ||
        ((size_t)v << shift) > hi)
        return refuse(name, text, what);
    *out = (size_t)v << shift;
    return STATUS_OK;
}

enum status parse_bool(bool *out, const char *name, const char *text)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false",
                                                                                  "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcasecmp(text, yes[i])) {
            *out = true;
            return STATUS_OK;
        }
        if (!strcasecmp(text, no[i])) {
            *out = false;
            return STATUS_OK;
        }
    }
    return refuse(name, text, "1 or 0 (true/false, yes/no, on/off)");
}

enum status parse_choice(int *out, const char *name, const char *text, const char *choices)
{
    size_t tl = strlen(text);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        size_t len = strcspn(p, "|");
        if (len == tl && !strncmp(p, text, len)) {
            *out = i;
            return STATUS_OK;
        }
        p += len + (p[len] == '|');
    }
    /* "a, b or c" */
    char what[256];
    size_t n = 0;
    for (const char *p = choices; *p && n < sizeof what;) {
        size_t len = strcspn(p, "|");
        const char *sep = p == choices ? "" : p[len] ? ", " : " or ";
        n += (size_t)snprintf(what + n, sizeof what - n, "%s%.*s", sep, (int)len, p);
        p += len + (p[len] == '|');
    }
    return refuse(name, text, what);
}

/* For values that were never text: the same words, with the value printed as text, or without
 * it when there was no number at all (a JSON string or object where a number belongs). */
static void number_text(char *buf, size_t len, const char *name, double v)
{
    if (isnan(v))
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%s '%.15g'", name, v);
}

enum status parse_check_int(long long *out, const char *name, double v, long long lo,
                            long long hi)
{
    /* the cast is defined only inside long long's range (2^63 itself is a double outside) */
    if (!isfinite(v) || floor(v) != v || !(v >= -0x1p63 && v < 0x1p63) || (long long)v < lo ||
        (long long)v > hi) {
        char head[160];
        number_text(head, sizeof head, name, v);
        return status_fail(STATUS_RANGE, "%s: expected an integer in [%lld, %lld]", head, lo, hi);
    }
    *out = (long long)v;
    return STATUS_OK;
}

enum status parse_check_float(double *out, const char *name, double v, double lo, double hi)
{
    if (!isfinite(v) || v < lo || v > hi) {
        char head[160];
        number_text(head, sizeof head, name, v);
        return status_fail(STATUS_RANGE, "%s: expected a number in [%g, %g]", head, lo, hi);
    }
    *out = v;
    return STATUS_OK;
}
