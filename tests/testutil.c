/* testutil: see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops.h"

const char *tu_shared_path(const char *rel)
{
    static _Thread_local char buf[8][1024];
    static _Thread_local int slot;
    char *p = buf[slot++ % 8];
    const char *env = getenv("INSPECTD_SHARED");
    const char *roots[] = {env, "../shared", "../../shared", "../../../shared"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        if (!roots[i] || !roots[i][0])
            continue;
        snprintf(p, 1024, "%s/%s", roots[i], rel);
        if (access(p, R_OK) == 0)
            return p;
    }
    return NULL;
}

const char *tu_shared_need(const char *rel)
{
    const char *p = tu_shared_path(rel);
    ck_assert_msg(p != NULL, "%s is not under ../shared (INSPECTD_SHARED)", rel);
    return p;
}

const char *tu_source_path(char *buf, size_t len, const char *rel)
{
    const char *env = getenv("INSPECTD_SOURCE");
    snprintf(buf, len, "%s/%s", env && env[0] ? env : ".", rel);
    return buf;
}

double tu_max_rel_err(const float *a, const float *b, size_t n, double atol)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (atol + fabs((double)b[i]));
        if (!(e <= worst)) /* also catches NaN */
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

double tu_nmse(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return den > 0 ? num / den : num;
}

double tu_max_err_over_peak(const float *got, const float *want, size_t n, double *peak)
{
    double maxerr = 0, maxval = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        maxerr = e > maxerr || isnan(e) ? e : maxerr;
        maxval = fabs(want[i]) > maxval ? fabs(want[i]) : maxval;
    }
    if (peak)
        *peak = maxval;
    return maxerr / maxval;
}

void tu_fill_uniform(float *x, size_t n, uint64_t seed, float scale)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = scale * (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

/* ---- data from outside the tree ---- */

enum { NEEDS_MAX = 16, NEEDS_FILES = 8 };
static const char TAG_SHARED[] = "golden", TAG_SYSTEM[] = "system";

static struct {
    const char *tag; /* TAG_SHARED or TAG_SYSTEM */
    const char *files[NEEDS_FILES];
    int nfiles;
} needs[NEEDS_MAX];
static int nneeds;

static void mark(TCase *tc, const char *tag, va_list ap)
{
    if (nneeds == NEEDS_MAX) {
        fprintf(stderr, "testutil: more than %d marked TCases\n", NEEDS_MAX);
        abort();
    }
    tcase_set_tags(tc, tag);
    needs[nneeds].tag = tag;
    for (const char *f; (f = va_arg(ap, const char *));) {
        if (needs[nneeds].nfiles == NEEDS_FILES) {
            fprintf(stderr, "testutil: more than %d files for one TCase\n", NEEDS_FILES);
            abort();
        }
        needs[nneeds].files[needs[nneeds].nfiles++] = f;
    }
    nneeds++;
}

void tu_needs_shared(TCase *tc, ...)
{
    va_list ap;
    va_start(ap, tc);
    mark(tc, TAG_SHARED, ap);
    va_end(ap);
}

void tu_needs_system(TCase *tc, ...)
{
    va_list ap;
    va_start(ap, tc);
    mark(tc, TAG_SYSTEM, ap);
    va_end(ap);
}

/* 0 when every file the TCases tagged `tag` need is there, else the exit status: 77 (skip), or 1
 * for missing shared files under INSPECTD_REQUIRE_SHARED=1. Prints what is missing. */
static int check_needs(const char *tag, const char *prog)
{
    int missing = 0, marked = 0;
    for (int i = 0; i < nneeds; i++) {
        if (needs[i].tag != tag)
            continue;
        marked++;
        for (int k = 0; k < needs[i].nfiles; k++) {
            const char *f = needs[i].files[k];
            if (tag == TAG_SHARED ? tu_shared_path(f) != NULL : access(f, R_OK) == 0)
                continue;
            printf("%s: needs %s%s, not found%s\n", prog, tag == TAG_SHARED ? "../shared/" : "",
                   f, tag == TAG_SHARED ? " (the shared folder: INSPECTD_SHARED or ../shared)" : "");
            missing++;
        }
    }
    if (!marked) {
        printf("%s: no tests need %s data (CMakeLists.txt and the suite disagree)\n", prog, tag);
        return EXIT_FAILURE;
    }
    if (!missing)
        return 0;
    const char *req = getenv("INSPECTD_REQUIRE_SHARED");
    if (tag == TAG_SHARED && req && !strcmp(req, "1")) {
        printf("FAIL: INSPECTD_REQUIRE_SHARED=1 (CI): a golden suite may not skip\n");
        return EXIT_FAILURE;
    }
    printf("SKIP: %d file%s missing\n", missing, missing == 1 ? "" : "s");
    return 77;
}

int tu_main(Suite *s, int argc, char **argv)
{
    ops_blas_reexec(argv); /* returns only when no restart was needed (or possible) */
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *tag = NULL;
    if (argc == 2 && !strcmp(argv[1], "--golden"))
        tag = TAG_SHARED;
    else if (argc == 2 && !strcmp(argv[1], "--system"))
        tag = TAG_SYSTEM;
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [--golden | --system]\n", prog);
        return 2;
    }
    if (tag) {
        int rc = check_needs(tag, prog);
        if (rc)
            return rc;
    }
    SRunner *sr = srunner_create(s);
    char others[32];
    snprintf(others, sizeof others, "%s %s", TAG_SHARED, TAG_SYSTEM);
    srunner_run_tagged(sr, NULL, NULL, tag, tag ? NULL : others, CK_NORMAL);
    int failed = srunner_ntests_failed(sr), ran = srunner_ntests_run(sr);
    srunner_free(sr);
    if (ran == 0) { /* a suite made only of marked TCases, run without an argument */
        printf("%s: every test here needs data from outside the tree (see %s_golden/_system)\n",
               prog, prog);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int tu_replay(enum status (*load)(const char *path), const char *rel, int must_parse)
{
    char dir[1024];
    tu_source_path(dir, sizeof dir, rel);
    DIR *d = opendir(dir);
    if (!d) {
        printf("note: no inputs in %s\n", dir);
        return 0;
    }
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        enum status s = load(path);
        ck_assert_msg(!must_parse || s == STATUS_OK, "%s: %s", path, status_message());
        n++;
    }
    closedir(d);
    return n;
}
