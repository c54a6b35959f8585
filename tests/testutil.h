/* testutil: small helpers shared by the Check suites: where ../shared is, comparisons with a
 * relative tolerance, deterministic random arrays, and the one main of every suite (tu_main),
 * which runs the daemon's CPU kernels, fails the process on any failed assertion, and skips (exit
 * 77, SKIP in CTest) the tests whose data is missing rather than letting them pass. */
#ifndef INSPECTD_TESTUTIL_H
#define INSPECTD_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Path of a file under the shared folder (env INSPECTD_SHARED, else ../shared from the source
 * tree), or NULL if it does not exist; the string is static (one per call site use). */
const char *tu_shared_path(const char *rel);
/* The same for a file a test cannot do without: a missing one fails the test. For tests in a
 * TCase marked with tu_needs_shared, where tu_main has checked the file before. */
const char *tu_shared_need(const char *rel);
/* Path under the source tree (env INSPECTD_SOURCE, else "."), into buf. */
const char *tu_source_path(char *buf, size_t len, const char *rel);

/* Max over i of |a-b| / (atol + |b|), the figure golden tests bound. */
double tu_max_rel_err(const float *a, const float *b, size_t n, double atol);
/* ggml-style normalised MSE: sum (a-b)^2 / sum b^2. */
double tu_nmse(const float *a, const float *b, size_t n);
/* max |got - want| / max |want|: the error relative to the tensor's scale (NaN when any
 * difference is NaN). *peak, when not NULL, gets max |want|. */
double tu_max_err_over_peak(const float *got, const float *want, size_t n, double *peak);

/* Deterministic uniform [-scale, scale] fill (xorshift, seed). */
void tu_fill_uniform(float *x, size_t n, uint64_t seed, float scale);

/* Runs load on every file of the source tree's folder rel (fuzz seeds or past crashers); with
 * must_parse each must return STATUS_OK, else any verdict will do (the sanitizer builds catch
 * harm). Returns how many files it ran; a missing folder is noted and counts 0. */
int tu_replay(enum status (*load)(const char *path), const char *rel, int must_parse);

/* ---- tests that need data from outside the tree ----
 * Check has no per-test skip, so such tests go in TCases of their own, marked with the files
 * they need (NULL-terminated lists): under ../shared (the golden files and data sets; CI always
 * has them), or absolute paths of data installed on the system. A marked TCase runs only when
 * its executable is called with --golden (shared) or --system, which CMake registers as the
 * CTest tests NAME_golden and NAME_system beside NAME, which runs everything else. Asked for its
 * marked TCases, tu_main first checks every file they need: one missing prints what and exits
 * 77 (SKIP in CTest), except that under INSPECTD_REQUIRE_SHARED=1 (set by .ci/run) a missing
 * shared file fails the run (exit 1): there a golden suite must not pass by skipping. */
void tu_needs_shared(TCase *tc, ...) __attribute__((sentinel));
void tu_needs_system(TCase *tc, ...) __attribute__((sentinel));

/* The main of every suite: first, like the daemon, restarts itself on the OpenBLAS kernels that
 * suit this CPU when OpenBLAS fell back to its generic ones (ops_blas_reexec), so the tests run
 * the kernels the daemon runs; then runs s's TCases as argv says (above). Returns the process's
 * exit status: 0 only if no test failed, 77 for a skip. */
int tu_main(Suite *s, int argc, char **argv);

#endif
