/* parse: numbers from text (command-line flags, environment variables, query strings) and the
 * same checks on numbers that arrive already parsed (JSON values), with one wording for every
 * refusal, so a bad value reads the same wherever it was typed:
 *
 *     iterations '501': expected an integer in [0, 500]
 *
 * Text must be the number and nothing else: no spaces, no trailing characters, decimal only
 * (no hex, no "inf" or "nan"), and a value that overflows its type is out of range. Every
 * function returns STATUS_OK with *out set, or STATUS_RANGE with the message above in
 * status_message() and *out untouched. name is what the message calls the value ("--port",
 * "INSPECTD_PORT", "iterations"). */
#ifndef INSPECTD_PARSE_H
#define INSPECTD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* An integer in [lo, hi]: an optional '-', then decimal digits. */
enum status parse_int(long long *out, const char *name, const char *text, long long lo,
                      long long hi);
/* An unsigned 64-bit integer, the whole range [0, 2^64): decimal digits only. */
enum status parse_u64(uint64_t *out, const char *name, const char *text);
/* A finite number in [lo, hi]: decimal with optional fraction and exponent ("1e-3", "-0.5").
 * Values too small for a double read as 0 (or the nearest subnormal), then face the range. */
enum status parse_float(double *out, const char *name, const char *text, double lo, double hi);
/* A byte count in [lo, hi]: digits, then optionally a binary unit K, M or G (any case), then
 * optionally "B" or "iB": "1048576", "512K", "512KiB", "8M", "1G". */
enum status parse_size(size_t *out, const char *name, const char *text, size_t lo, size_t hi);
/* 1/0, true/false, yes/no, on/off (any case). */
enum status parse_bool(bool *out, const char *name, const char *text);
/* One of the names in choices, a '|'-separated list ("auto|random|encoder"): *out is its index. */
enum status parse_choice(int *out, const char *name, const char *text, const char *choices);

/* The checks on a number that was parsed elsewhere (a JSON value, NaN when it was not a
 * number): finite, in [lo, hi], and for parse_check_int a whole number. */
enum status parse_check_int(long long *out, const char *name, double v, long long lo,
                            long long hi);
enum status parse_check_float(double *out, const char *name, double v, double lo, double hi);

#endif
