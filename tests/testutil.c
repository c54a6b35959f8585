/* testutil: see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
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
