/* test_metrics: counters by route and status, cumulative histogram buckets, the batch-size
 * histogram, and that every sample line of the exposition is well-formed Prometheus text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "testutil.h"

static const char *routes[] = {"/score", "/healthz"};

/* The value of the sample line that starts with `series ` exactly; -1 when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (!strncmp(line, series, n) && line[n] == ' ')
            return atof(line + n + 1);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}

START_TEST(counts_and_histograms)
{
    struct metrics *m = metrics_create(routes, 2);
    ck_assert_ptr_nonnull(m);
    metrics_request(m, 0, 200, 0.004);
    metrics_request(m, 0, 200, 0.2);
    metrics_request(m, 0, 503, 0.0001);
    metrics_request(m, 1, 200, 0.0001);
    metrics_request(m, -1, 404, 0.0001);
    metrics_request(m, 0, 418, 0.0001); /* a status not in the table */
    metrics_search(m, 4, 40, 0.5);
    metrics_search(m, 1, 7, 0.1);
    metrics_rejected(m);
    ck_assert_int_eq(metrics_requests(m, 0, 200), 2);
    ck_assert_int_eq(metrics_requests(m, -1, 404), 1);
    ck_assert_int_eq(metrics_images_scored(m), 5);

    struct metrics_gauges g = {.queue_depth = 3, .queue_capacity = 64, .workers = 2,
                               .workers_busy = 1, .models_anogan = 1, .ready = 1,
                               .blas_kernels = "SkylakeX", .small_kernels = "avx512",
                               .precision = "fp32"};
    size_t len;
    char *t = metrics_render(m, &g, &len);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(len, strlen(t));
    ck_assert(sample(t, "inspectd_http_requests_total{route=\"/score\",status=\"200\"}") == 2);
    ck_assert(sample(t, "inspectd_http_requests_total{route=\"/score\",status=\"503\"}") == 1);
    ck_assert(sample(t, "inspectd_http_requests_total{route=\"/score\",status=\"other\"}") == 1);
    ck_assert(sample(t, "inspectd_http_requests_total{route=\"other\",status=\"404\"}") == 1);
    ck_assert(sample(t, "inspectd_http_request_duration_seconds_bucket{route=\"/score\",le=\"0.005\"}") == 3);
    ck_assert(sample(t, "inspectd_http_request_duration_seconds_bucket{route=\"/score\",le=\"0.25\"}") == 4);
    ck_assert(sample(t, "inspectd_http_request_duration_seconds_bucket{route=\"/score\",le=\"+Inf\"}") == 4);
    ck_assert(sample(t, "inspectd_http_request_duration_seconds_count{route=\"/score\"}") == 4);
    ck_assert(sample(t, "inspectd_search_batch_size_bucket{le=\"1\"}") == 1);
    ck_assert(sample(t, "inspectd_search_batch_size_bucket{le=\"4\"}") == 2);
    ck_assert(sample(t, "inspectd_search_batch_size_sum") == 5);
    ck_assert(sample(t, "inspectd_images_scored_total") == 5);
    ck_assert(sample(t, "inspectd_search_iterations_total") == 47);
    ck_assert(sample(t, "inspectd_queue_rejected_total") == 1);
    ck_assert(sample(t, "inspectd_queue_depth") == 3);
    ck_assert(sample(t, "inspectd_workers_busy") == 1);
    ck_assert(sample(t, "inspectd_ready") == 1);
    ck_assert(sample(t, "inspectd_compute_info{blas=\"SkylakeX\",kernels=\"avx512\","
                        "precision=\"fp32\"}") == 1);

    /* Every line: a comment (# HELP / # TYPE) or `name{labels} value`. */
    int lines = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        if (line[0] == '#') {
            ck_assert(!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7));
            continue;
        }
        ck_assert_msg(!strncmp(line, "inspectd_", 9), "bad line: %s", line);
        char *sp = strrchr(line, ' ');
        ck_assert_ptr_nonnull(sp);
        char *end;
        strtod(sp + 1, &end);
        ck_assert_msg(*end == 0, "bad value: %s", line);
    }
    ck_assert_int_gt(lines, 40);
    free(t);
    metrics_free(m);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("metrics");
    TCase *t = tcase_create("metrics");
    tcase_add_test(t, counts_and_histograms);
    suite_add_tcase(s, t);
    return tu_main(s, argc, argv);
}
