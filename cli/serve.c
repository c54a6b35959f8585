/* cmd_serve: `inspectd serve`, the HTTP daemon. Reads the settings, loads every model (a bad file
 * stops start-up here, before the port opens), starts the worker pool and the HTTP server, then
 * waits for SIGTERM/SIGINT: stop accepting, let in-flight requests finish (cancelling searches
 * still running after --shutdown-timeout), and exit 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "cli.h"
#include "config.h"
#include "gcn.h"
#include "http.h"
#include "metrics.h"
#include "models.h"
#include "ops.h"
#include "pool.h"
#include "common.h"

int cmd_serve(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct serve_config cfg = config_defaults();
    int rc = config_parse(&cfg, argc, argv, stderr);
    if (rc)
        return rc > 0 ? 0 : 2;
    config_print(&cfg, stdout);
    ops_set_threads(cfg.threads);
    gcn_set_threads(cfg.threads);
    if ((rc = train_cli_precision("serve", cfg.precision)))
        return rc;
    char compute[512];
    train_cli_describe_compute(compute, sizeof compute);
    fprintf(stdout, "%s\n", compute);

    /* Signals are taken by sigwait below; every thread started from here on inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct app app = {.cfg = &cfg, .t_start = app_now()};
    struct models models;
    struct metrics *metrics = NULL;
    struct pool *pool = NULL;
    const char **labels = NULL;
    size_t nroutes = 0;
    struct api_route *routes = NULL;
    rc = 1;

    if (models_load(&models, &cfg, stdout)) {
        fprintf(stderr, "inspectd serve: %s\n", status_message());
        return 1;
    }
    app.models = &models;
    if (models.nanogan + models.ngcn == 0)
        fprintf(stdout, "warning: no model loaded; /readyz answers 503 until one is\n");

    routes = api_routes_create(&nroutes);
    labels = routes ? malloc(nroutes * sizeof *labels) : NULL;
    if (!labels) {
        fprintf(stderr, "inspectd serve: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < nroutes; i++)
        labels[i] = routes[i].path;
    if (!(metrics = metrics_create(labels, (int)nroutes))) {
        fprintf(stderr, "inspectd serve: out of memory\n");
        goto done;
    }
    app.metrics = metrics;
    struct pool_options po = {.workers = cfg.workers, .capacity = cfg.queue,
                              .max_batch = cfg.max_batch, .batch_wait_ms = cfg.batch_wait_ms};
    if (pool_create(&pool, &po, metrics)) {
        fprintf(stderr, "inspectd serve: %s\n", status_message());
        goto done;
    }
    app.pool = pool;
    struct http_options ho = {.bind = cfg.bind, .port = cfg.port, .threads = cfg.http_threads,
                              .timeout_s = cfg.timeout_s, .max_connections = cfg.max_connections,
                              .max_body = cfg.max_body, .api_key = cfg.api_key,
                              .access_log = cfg.access_log ? stdout : NULL};
    /* app.http is set by http_start before its threads start, so handlers always see it. */
    if (http_start(&app.http, &ho, routes, nroutes, &app, metrics)) {
        fprintf(stderr, "inspectd serve: %s\n", status_message());
        goto done;
    }
    struct http_server *http = app.http;
    fprintf(stdout, "listening bind=%s port=%d url=http://%s%s%s:%d/\n", cfg.bind, http_port(http),
            strchr(cfg.bind, ':') ? "[" : "", cfg.bind, strchr(cfg.bind, ':') ? "]" : "",
            http_port(http));

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stdout, "shutdown signal=%s in_flight=%d: no new connections, finishing work\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", http_in_flight(http));
    atomic_store(&app.shutting_down, 1);
    http_quiesce(http);
    if (!http_wait_idle(http, cfg.shutdown_timeout_s * 1000)) {
        fprintf(stdout, "shutdown: %d requests still in flight after %d s; cancelling searches\n",
                http_in_flight(http), cfg.shutdown_timeout_s);
        pool_cancel(pool);
        /* Cancelled searches stop within one step; their clients get 503. */
        if (!http_wait_idle(http, 30000)) {
            fprintf(stderr, "inspectd serve: requests still in flight; exiting anyway\n");
            fflush(stdout);
            _Exit(1); /* MHD must not be stopped with suspended connections */
        }
    }
    rc = 0;
done:
    http_stop(app.http);
    pool_free(pool);
    metrics_free(metrics);
    free(labels);
    free(routes);
    models_free(&models);
    if (rc == 0)
        fprintf(stdout, "stopped\n");
    return rc;
}
