/* metrics: see metrics.h. Fixed-size tables (routes x known status codes, fixed histogram
 * buckets) allocated once, so updates never allocate. */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* Status codes the daemon answers; anything else counts under the last slot with its own code
 * label "other". */
static const int known_status[] = {200, 400, 401, 404, 405, 413, 415, 422, 500, 503};
#define NSTATUS ((int)(sizeof known_status / sizeof known_status[0]) + 1)

/* Latency buckets in seconds: from a cached answer to a long random-start search. */
static const double latency_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10,   30, 60};
#define NLAT ((int)(sizeof latency_le / sizeof latency_le[0]))

static const double batch_le[] = {1, 2, 4, 8, 16, 32, 64, 128};
#define NBATCH ((int)(sizeof batch_le / sizeof batch_le[0]))

struct route_stats {
    long long count[NSTATUS];
    long long bucket[NLAT]; /* non-cumulative; summed when rendered */
    long long n;
    double sum;
};

struct metrics {
    pthread_mutex_t lock;
    const char *const *labels;
    int nroutes;               /* + 1 for "other" in stats */
    struct route_stats *stats; /* nroutes + 1 */
    long long images, iterations, searches, rejected, expired;
    long long mqtt_published, mqtt_dropped, webhook_published, webhook_dropped;
    double search_seconds;
    long long batch_bucket[NBATCH + 1]; /* last: above the largest bound */
    long long batch_sum;
};

struct metrics *metrics_create(const char *const *routes, int nroutes)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->stats = calloc((size_t)nroutes + 1, sizeof *m->stats);
    if (!m->stats) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    m->labels = routes;
    m->nroutes = nroutes;
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->stats);
    free(m);
}

static int status_slot(int status)
{
    for (int i = 0; i < NSTATUS - 1; i++)
        if (known_status[i] == status)
            return i;
    return NSTATUS - 1;
}

static int route_slot(const struct metrics *m, int route)
{
    return route >= 0 && route < m->nroutes ? route : m->nroutes;
}

void metrics_request(struct metrics *m, int route, int status, double seconds)
{
    pthread_mutex_lock(&m->lock);
    struct route_stats *s = &m->stats[route_slot(m, route)];
    s->count[status_slot(status)]++;
    int b = 0;
    while (b < NLAT && seconds > latency_le[b])
        b++;
    if (b < NLAT)
        s->bucket[b]++;
    s->n++;
    s->sum += seconds;
    pthread_mutex_unlock(&m->lock);
}

void metrics_search(struct metrics *m, int images, long long iterations, double seconds)
{
    pthread_mutex_lock(&m->lock);
    m->images += images;
    m->iterations += iterations;
    m->searches++;
    m->search_seconds += seconds;
    int b = 0;
    while (b < NBATCH && images > batch_le[b])
        b++;
    m->batch_bucket[b]++;
    m->batch_sum += images;
    pthread_mutex_unlock(&m->lock);
}

/* *counter += 1, under the lock. */
static void count_one(struct metrics *m, long long *counter)
{
    pthread_mutex_lock(&m->lock);
    (*counter)++;
    pthread_mutex_unlock(&m->lock);
}

/* *counter, read under the lock. */
static long long read_count(struct metrics *m, const long long *counter)
{
    pthread_mutex_lock(&m->lock);
    long long v = *counter;
    pthread_mutex_unlock(&m->lock);
    return v;
}

void metrics_rejected(struct metrics *m)
{
    count_one(m, &m->rejected);
}

void metrics_expired(struct metrics *m)
{
    count_one(m, &m->expired);
}

long long metrics_expired_count(struct metrics *m)
{
    return read_count(m, &m->expired);
}

void metrics_published(struct metrics *m, const char *sink, bool dropped)
{
    bool mqtt = !strcmp(sink, "mqtt");
    if (dropped)
        count_one(m, mqtt ? &m->mqtt_dropped : &m->webhook_dropped);
    else
        count_one(m, mqtt ? &m->mqtt_published : &m->webhook_published);
}

long long metrics_images_scored(struct metrics *m)
{
    return read_count(m, &m->images);
}

/* The slot's address is fixed at creation; only the count needs the lock. */
long long metrics_requests(struct metrics *m, int route, int status)
{
    return read_count(m, &m->stats[route_slot(m, route)].count[status_slot(status)]);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void counter(FILE *f, const char *name, const char *help, double v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %.17g\n", name, help, name, name, v);
}

char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return NULL;
    pthread_mutex_lock(&m->lock);

    fprintf(f, "# HELP inspectd_http_requests_total HTTP requests answered, by route and status.\n"
               "# TYPE inspectd_http_requests_total counter\n");
    for (int r = 0; r <= m->nroutes; r++) {
        const char *label = r < m->nroutes ? m->labels[r] : "other";
        for (int s = 0; s < NSTATUS; s++) {
            if (!m->stats[r].count[s])
                continue;
            if (s < NSTATUS - 1)
                fprintf(f, "inspectd_http_requests_total{route=\"%s\",status=\"%d\"} %lld\n", label,
                        known_status[s], m->stats[r].count[s]);
            else
                fprintf(f, "inspectd_http_requests_total{route=\"%s\",status=\"other\"} %lld\n",
                        label, m->stats[r].count[s]);
        }
    }

    fprintf(f, "# HELP inspectd_http_request_duration_seconds Time from request headers to the "
               "answer being sent.\n"
               "# TYPE inspectd_http_request_duration_seconds histogram\n");
    for (int r = 0; r <= m->nroutes; r++) {
        const struct route_stats *s = &m->stats[r];
        if (!s->n)
            continue;
        const char *label = r < m->nroutes ? m->labels[r] : "other";
        long long cum = 0;
        for (int b = 0; b < NLAT; b++) {
            cum += s->bucket[b];
            fprintf(f, "inspectd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lld\n",
                    label, latency_le[b], cum);
        }
        fprintf(f,
                "inspectd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lld\n"
                "inspectd_http_request_duration_seconds_sum{route=\"%s\"} %.9g\n"
                "inspectd_http_request_duration_seconds_count{route=\"%s\"} %lld\n",
                label, s->n, label, s->sum, label, s->n);
    }

    fprintf(f, "# HELP inspectd_search_batch_size Images searched together per search call.\n"
               "# TYPE inspectd_search_batch_size histogram\n");
    long long cum = 0;
    for (int b = 0; b < NBATCH; b++) {
        cum += m->batch_bucket[b];
        fprintf(f, "inspectd_search_batch_size_bucket{le=\"%g\"} %lld\n", batch_le[b], cum);
    }
    fprintf(f,
            "inspectd_search_batch_size_bucket{le=\"+Inf\"} %lld\n"
            "inspectd_search_batch_size_sum %lld\ninspectd_search_batch_size_count %lld\n",
            m->searches, m->batch_sum, m->searches);

    counter(f, "inspectd_images_scored_total", "Images scored by the AnoGAN search.",
            (double)m->images);
    counter(f, "inspectd_search_iterations_total", "Adam steps taken, summed over images.",
            (double)m->iterations);
    counter(f, "inspectd_search_seconds_total", "Time spent in search calls.", m->search_seconds);
    counter(f, "inspectd_queue_rejected_total", "Requests answered 503 because the queue was full.",
            (double)m->rejected);
    counter(f, "inspectd_deadline_expired_total",
            "Jobs dropped unscored (504) because their deadline passed while queued.",
            (double)m->expired);
    counter(f, "inspectd_mqtt_published_total", "Verdicts handed to the MQTT client.",
            (double)m->mqtt_published);
    counter(f, "inspectd_mqtt_dropped_total", "Verdicts not published to MQTT (outbox full).",
            (double)m->mqtt_dropped);
    counter(f, "inspectd_webhook_delivered_total", "Verdicts delivered to webhooks.",
            (double)m->webhook_published);
    counter(f, "inspectd_webhook_dropped_total",
            "Verdicts not delivered to a webhook (outbox full or retries spent).",
            (double)m->webhook_dropped);
    pthread_mutex_unlock(&m->lock);

    gauge(f, "inspectd_queue_depth", "Jobs waiting for a worker.", g->queue_depth);
    gauge(f, "inspectd_queue_capacity", "Jobs that may wait before requests are refused.",
          g->queue_capacity);
    gauge(f, "inspectd_workers", "Search worker threads.", g->workers);
    gauge(f, "inspectd_workers_busy", "Workers running a search now.", g->workers_busy);
    gauge(f, "inspectd_http_in_flight", "Requests received and not yet answered.", g->in_flight);
    gauge(f, "inspectd_models_loaded", "AnoGAN models loaded.", g->models_anogan);
    gauge(f, "inspectd_gcn_models_loaded", "GCN models loaded.", g->models_gcn);
    gauge(f, "inspectd_ready", "1 when /readyz answers 200.", g->ready);
    gauge(f, "inspectd_uptime_seconds", "Seconds since start-up.", g->uptime_s);
    fprintf(f, "# HELP inspectd_build_info Version of the running binary.\n"
               "# TYPE inspectd_build_info gauge\ninspectd_build_info{version=\"%s\"} 1\n",
            INSPECTD_VERSION);
    fprintf(f, "# HELP inspectd_compute_info What runs the arithmetic: OpenBLAS's kernels, the "
               "small-product kernels, the precision.\n# TYPE inspectd_compute_info gauge\n"
               "inspectd_compute_info{blas=\"%s\",kernels=\"%s\",precision=\"%s\"} 1\n",
            g->blas_kernels ? g->blas_kernels : "unknown",
            g->small_kernels ? g->small_kernels : "unknown",
            g->precision ? g->precision : "unknown");

    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    *len = size;
    return text;
}
