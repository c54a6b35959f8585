/* metrics: the daemon's counters in the Prometheus text exposition format (version 0.0.4,
 * https://prometheus.io/docs/instrumenting/exposition_formats/): requests by route and status, a
 * request latency histogram per route, queue depth, images scored, search iterations, search
 * batch sizes, queue rejections. Thread-safe; one mutex (updates are a few adds). */
#ifndef INSPECTD_METRICS_H
#define INSPECTD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct metrics;

/* Point-in-time values the caller reads when /metrics is asked for. */
struct metrics_gauges {
    int queue_depth, queue_capacity;
    int workers, workers_busy;
    int in_flight; /* HTTP requests received and not yet answered */
    int models_anogan, models_gcn;
    int ready;     /* 1 when /readyz would answer 200 */
    double uptime_s;
    /* what does the arithmetic, as labels of inspectd_compute_info (NULL: "unknown") */
    const char *blas_kernels, *small_kernels, *precision;
};

/* Route labels (copied by pointer: they must outlive m); requests for no route count under
 * "other". NULL on allocation failure. */
struct metrics *metrics_create(const char *const *routes, int nroutes);
void metrics_free(struct metrics *m);

/* route: index into the labels given at creation, or -1 for "other". */
void metrics_request(struct metrics *m, int route, int status, double seconds);
/* One search call: images scored together (the batch), Adam steps summed over them. */
void metrics_search(struct metrics *m, int images, long long iterations, double seconds);
/* A request turned away with 503 because the queue was full. */
void metrics_rejected(struct metrics *m);
/* A job dropped unscored because its deadline passed while it was queued (answered 504). */
void metrics_expired(struct metrics *m);
/* Verdicts handed to a publisher (MQTT, webhook) and those it had to drop (its outbox full or
 * the message undeliverable). sink: "mqtt" or "webhook". */
void metrics_published(struct metrics *m, const char *sink, bool dropped);
long long metrics_expired_count(struct metrics *m);

/* Counters read back (for tests and /readyz). */
long long metrics_images_scored(struct metrics *m);
long long metrics_requests(struct metrics *m, int route, int status);

/* The exposition text: malloc'd, NUL-terminated, *len bytes; NULL on allocation failure. */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len);

#endif
