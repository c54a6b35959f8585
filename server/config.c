/* config: the daemon's built-in settings and their start-up printout; see config.h. */
#include "config.h"

#include <unistd.h>

struct serve_config config_defaults(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    struct serve_config c = {
        .bind = "127.0.0.1",
        .port = 8080,
        .workers = cores > 0 ? (int)cores : 1,
        .queue = 64,
        .http_threads = 2,
        .threads = cores > 0 ? (int)cores : 1, /* lent to whichever searches are running */
        .precision = "fp32",
        .max_body = 8u << 20,
        .max_side = 4096,
        .max_pixels = 16u << 20,
        .max_images = 64,
        .max_batch = 4, /* each image of a batch costs ~6 MB of scratch per worker (docs/benchmarks.md) */
        .batch_wait_ms = 2,
        .max_iterations = 10000,
        .max_graph_nodes = 100000,
        .max_graph_edges = 1000000,
        .timeout_s = 30,
        .shutdown_timeout_s = 30,
        .max_connections = 1024,
        .refusal_delay_ms = 500,
        .access_log = true,
        .mqtt_outbox = 1000,
        .webhook_timeout_ms = 2000,
        .webhook_retries = 3,
        .webhook_outbox = 1000,
        /* Search: nothing set, so each model's defaults (anogan_search_resolve) hold. */
        .search = {.has_mode = false},
    };
    return c;
}

void config_print(const struct serve_config *c, FILE *f)
{
    /* "model": the field is not set, so each model's default for its start holds */
    const struct anogan_search_layer *s = &c->search;
    char it[32] = "model", lr[32] = "model", pat[32] = "model", tol[32] = "model";
    if (s->has_iterations)
        snprintf(it, sizeof it, "%d", s->iterations);
    if (s->has_lr)
        snprintf(lr, sizeof lr, "%g", (double)s->lr);
    if (s->has_patience)
        snprintf(pat, sizeof pat, "%d", s->patience);
    if (s->has_tol)
        snprintf(tol, sizeof tol, "%g", (double)s->tol);
    fprintf(f,
            "config bind=%s port=%d models=%s graph=%s gcn=%s\n"
            "config workers=%d queue=%d http_threads=%d threads=%d precision=%s timeout_s=%d "
            "shutdown_timeout_s=%d max_connections=%d refusal_delay_ms=%d\n"
            "config max_body=%zu max_side=%d max_pixels=%zu max_images=%d max_batch=%d "
            "batch_wait_ms=%d max_iterations=%d max_graph_nodes=%d max_graph_edges=%d\n"
            "config search=%s iterations=%s lr=%s patience=%s tol=%s seed=%llu\n"
            "config api_key=%s access_log=%s\n",
            c->bind, c->port, c->models_dir[0] ? c->models_dir : "(default)",
            c->graph_dir[0] ? c->graph_dir : "(none)", c->gcn_file[0] ? c->gcn_file : "(none)",
            c->workers, c->queue, c->http_threads, c->threads, c->precision, c->timeout_s,
            c->shutdown_timeout_s,
            c->max_connections, c->refusal_delay_ms, c->max_body, c->max_side, c->max_pixels, c->max_images,
            c->max_batch, c->batch_wait_ms, c->max_iterations, c->max_graph_nodes,
            c->max_graph_edges, anogan_mode_name(s->has_mode ? s->mode : ANOGAN_MODE_AUTO), it, lr,
            pat, tol, (unsigned long long)(s->has_seed ? s->seed : 0),
            c->api_key[0] ? "set" : "none", c->access_log ? "on" : "off");
    /* the broker's URL may carry no secret (user and password are options of their own) */
    fprintf(f, "config mqtt=%s mqtt_topic=%s mqtt_line=%s mqtt_user=%s mqtt_password=%s "
            "mqtt_outbox=%d webhooks=%s webhook_timeout_ms=%d webhook_retries=%d "
            "webhook_outbox=%d\n",
            c->mqtt_url[0] ? c->mqtt_url : "off", c->mqtt_topic[0] ? c->mqtt_topic : "(default)",
            c->mqtt_line[0] ? c->mqtt_line : "line", c->mqtt_username[0] ? c->mqtt_username : "none",
            c->mqtt_password[0] ? "set" : "none", c->mqtt_outbox,
            c->webhook_urls[0] ? "set" : "off", c->webhook_timeout_ms, c->webhook_retries,
            c->webhook_outbox);
}
