/* testutil: small helpers shared by the Check suites: where ../shared is, comparisons with a
 * relative tolerance, deterministic random arrays, and a runner that fails the process on any
 * failed assertion. */
#ifndef INSPECTD_TESTUTIL_H
#define INSPECTD_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Path of a file under the shared folder (env INSPECTD_SHARED, else ../shared from the source
 * tree), or NULL if it does not exist; the string is static (one per call site use). */
const char *tu_shared_path(const char *rel);
/* Path under the source tree (env INSPECTD_SOURCE, else "."), into buf. */
const char *tu_source_path(char *buf, size_t len, const char *rel);

/* Max over i of |a-b| / (atol + |b|), the figure golden tests bound. */
double tu_max_rel_err(const float *a, const float *b, size_t n, double atol);
/* ggml-style normalised MSE: sum (a-b)^2 / sum b^2. */
double tu_nmse(const float *a, const float *b, size_t n);

/* Deterministic uniform [-scale, scale] fill (xorshift, seed). */
void tu_fill_uniform(float *x, size_t n, uint64_t seed, float scale);

/* Runs load on every file of the source tree's folder rel (fuzz seeds or past crashers); with
 * must_parse each must return STATUS_OK, else any verdict will do (the sanitizer builds catch
 * harm). Returns how many files it ran; a missing folder is noted and counts 0. */
int tu_replay(enum status (*load)(const char *path), const char *rel, int must_parse);

/* Runs suite s; returns the process exit status (0 only if no test failed). */
int tu_run(Suite *s);

#endif
