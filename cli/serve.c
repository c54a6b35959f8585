/* serve: `inspectd serve`, the HTTP daemon. Reads the settings (the option table below, into
 * server/config.h's struct serve_config), loads every model (a bad file stops start-up here,
 * before the port opens), starts the worker pool and the HTTP server, then waits for
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish (cancelling searches still
 * running after --shutdown-timeout), and exit 0. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "mqtt.h"
#include "warm.h"
#include "webhook.h"
#include "cli.h"
#include "common.h"
#include "config.h"
#include "gcn.h"
#include "http.h"
#include "metrics.h"
#include "models.h"
#include "ops.h"
#include "options.h"
#include "pool.h"
#include "tarpit.h"

/* --api-key-file: the key is the file's first line. field: serve_config.api_key. */
static enum status read_key_file(void *field, const char *name, const char *path)
{
    char *key = field;
    size_t len = sizeof((struct serve_config *)0)->api_key;
    FILE *f = fopen(path, "r");
    if (!f)
        return status_fail(STATUS_IO, "%s '%s': %s", name, path, strerror(errno));
    bool ok = fgets(key, (int)len, f) != NULL;
    fclose(f);
    if (ok)
        key[strcspn(key, "\r\n")] = 0;
    if (!ok || !key[0])
        return status_fail(STATUS_IO, "%s '%s': the file is empty", name, path);
    return STATUS_OK;
}

#define C struct serve_config
static const struct cli_option options[] = {
    {"--port", "INSPECTD_PORT", CLI_INT, CLI_AT(C, port), 0, 0, 65535,
     .help = "TCP port (0: any free port)"},
    {"--bind", "INSPECTD_BIND", CLI_STR, CLI_AT(C, bind), .value_name = "ADDRESS",
     .help = "address to listen on (0.0.0.0 in docker)"},
    {"--models", "INSPECTD_MODELS", CLI_STR, CLI_AT(C, models_dir), .value_name = "DIR",
     .def = "beside the binary, then ./models",
     .help = "folder of *.safetensors models (AnoGAN and GCN)"},
    {"--graph", "INSPECTD_GRAPH", CLI_STR, CLI_AT(C, graph_dir), .value_name = "DIR",
     .help = "graph folder for /graph/classify"},
    {"--gcn", "INSPECTD_GCN", CLI_STR, CLI_AT(C, gcn_file), .value_name = "FILE",
     .help = "trained GCN for the graph"},
    {"--workers", "INSPECTD_WORKERS", CLI_INT, CLI_AT(C, workers), 0, 1, 256,
     .def = "the number of cores", .help = "search threads"},
    {"--queue", "INSPECTD_QUEUE", CLI_INT, CLI_AT(C, queue), 0, 1, 1 << 20,
     .help = "jobs waiting at most (then 503)"},
    {"--http-threads", "INSPECTD_HTTP_THREADS", CLI_INT, CLI_AT(C, http_threads), 0, 1, 64,
     .help = "threads reading requests"},
    {"--threads", "INSPECTD_THREADS", CLI_INT, CLI_AT(C, threads), 0, 1, 256,
     .def = "the number of cores",
     .help = "kernel threads of a search running alone; each other busy worker takes one back, "
             "so a full house runs one thread per worker (1: never split a search)"},
    CLI_PRECISION_OPTION(C, precision, CLI_STR),
    {"--max-body", "INSPECTD_MAX_BODY", CLI_SIZE, CLI_AT(C, max_body), 0, 1024, 1u << 30,
     .help = "request body bytes at most"},
    {"--max-side", "INSPECTD_MAX_SIDE", CLI_INT, CLI_AT(C, max_side), 0, 1, 65535,
     .help = "image width/height at most"},
    {"--max-pixels", "INSPECTD_MAX_PIXELS", CLI_SIZE, CLI_AT(C, max_pixels), 0, 1, 1u << 30,
     .value_name = "N", .help = "image width*height at most"},
    {"--max-images", "INSPECTD_MAX_IMAGES", CLI_INT, CLI_AT(C, max_images), 0, 1, 4096,
     .help = "images per /score/batch request"},
    {"--max-batch", "INSPECTD_MAX_BATCH", CLI_INT, CLI_AT(C, max_batch), 0, 1, 1024,
     .help = "images searched together by one worker; each costs the worker about 6 MB of "
             "scratch memory, kept for reuse"},
    {"--batch-wait-ms", "INSPECTD_BATCH_WAIT_MS", CLI_INT, CLI_AT(C, batch_wait_ms), 0, 0, 10000,
     .help = "wait for more compatible requests before a search"},
    CLI_SEARCH_OPTIONS(C, search),
    CLI_SEED_OPTION(C, search),
    {"--max-iterations", "INSPECTD_MAX_ITERATIONS", CLI_INT, CLI_AT(C, max_iterations), 0, 0, 1e9,
     .help = "largest iterations a request may ask for"},
    {"--max-graph-nodes", "INSPECTD_MAX_GRAPH_NODES", CLI_INT, CLI_AT(C, max_graph_nodes), 0, 1,
     1e9, .help = "nodes per graph request"},
    {"--max-graph-edges", "INSPECTD_MAX_GRAPH_EDGES", CLI_INT, CLI_AT(C, max_graph_edges), 0, 0,
     1e9, .help = "edges per graph request"},
    {"--timeout", "INSPECTD_TIMEOUT", CLI_INT, CLI_AT(C, timeout_s), 0, 1, 3600,
     .value_name = "SECONDS", .help = "seconds before an idle or stalled connection is closed"},
    {"--shutdown-timeout", "INSPECTD_SHUTDOWN_TIMEOUT", CLI_INT, CLI_AT(C, shutdown_timeout_s), 0,
     0, 3600, .value_name = "SECONDS", .help = "seconds in-flight work may take after SIGTERM"},
    {"--max-connections", "INSPECTD_MAX_CONNECTIONS", CLI_INT, CLI_AT(C, max_connections), 0, 1,
     1 << 20, .help = "open connections at most"},
    {"--refusal-delay-ms", "INSPECTD_REFUSAL_DELAY_MS", CLI_INT, CLI_AT(C, refusal_delay_ms), 0, 0,
     60000,
     .help = "hold a 503 for a full queue this long before sending it, so that clients "
             "that retry at once cannot starve the searches (0: at once)"},
    {"--access-log", "INSPECTD_ACCESS_LOG", CLI_BOOL, CLI_AT(C, access_log),
     .help = "one line per request on stdout"},
    {"--api-key", "INSPECTD_API_KEY", CLI_STR, CLI_AT(C, api_key), .value_name = "KEY",
     .help = "require 'Authorization: Bearer KEY' (all but /healthz)"},
    {"--mqtt", "INSPECTD_MQTT", CLI_STR, CLI_AT(C, mqtt_url), .value_name = "URL",
     .help = "publish every verdict to this MQTT broker: mqtt://HOST[:PORT] or mqtts://..."},
    {"--mqtt-topic", "INSPECTD_MQTT_TOPIC", CLI_STR, CLI_AT(C, mqtt_topic),
     .value_name = "TEMPLATE",
     .help = "verdict topic; {line} {station} {instance} are filled in (default "
             "inspectd/{line}/{station}/result)"},
    {"--mqtt-line", "INSPECTD_MQTT_LINE", CLI_STR, CLI_AT(C, mqtt_line), .value_name = "NAME",
     .help = "{line} in the topic (default line)"},
    {"--mqtt-instance", "INSPECTD_MQTT_INSTANCE", CLI_STR, CLI_AT(C, mqtt_instance),
     .value_name = "NAME",
     .help = "client id and status topic inspectd/NAME/status (default: the host name)"},
    {"--mqtt-username", "INSPECTD_MQTT_USERNAME", CLI_STR, CLI_AT(C, mqtt_username),
     .value_name = "USER", .help = "MQTT user name"},
    {"--mqtt-password", "INSPECTD_MQTT_PASSWORD", CLI_STR, CLI_AT(C, mqtt_password),
     .value_name = "PASSWORD", .help = "MQTT password (prefer the environment variable)"},
    {"--mqtt-cafile", "INSPECTD_MQTT_CAFILE", CLI_STR, CLI_AT(C, mqtt_cafile),
     .value_name = "FILE", .help = "CA certificate for mqtts:// (default: the system's)"},
    {"--mqtt-outbox", "INSPECTD_MQTT_OUTBOX", CLI_INT, CLI_AT(C, mqtt_outbox), 0, 1, 1 << 20,
     .value_name = "N", .help = "verdicts held while the broker is away; beyond, dropped"},
    {"--webhook", "INSPECTD_WEBHOOK", CLI_STR, CLI_AT(C, webhook_urls), .value_name = "URLS",
     .help = "POST every verdict's JSON to these comma-separated http(s) URLs"},
    {"--webhook-timeout-ms", "INSPECTD_WEBHOOK_TIMEOUT_MS", CLI_INT,
     CLI_AT(C, webhook_timeout_ms), 0, 10, 600000, .value_name = "MS",
     .help = "timeout of each webhook POST"},
    {"--webhook-retries", "INSPECTD_WEBHOOK_RETRIES", CLI_INT, CLI_AT(C, webhook_retries), 0, 0,
     10, .value_name = "N", .help = "retries of a failed webhook POST (backoff from 200 ms)"},
    {"--webhook-outbox", "INSPECTD_WEBHOOK_OUTBOX", CLI_INT, CLI_AT(C, webhook_outbox), 0, 1,
     1 << 20, .value_name = "N", .help = "verdicts held for the webhooks; beyond, dropped"},
    {"--api-key-file", "INSPECTD_API_KEY_FILE", CLI_CUSTOM, CLI_AT(C, api_key),
     .parse = read_key_file, .value_name = "FILE",
     .help = "read the API key from a file (first line)"},
};
#undef C

const struct cli_command serve_command = {
    .name = "serve",
    .usage = "[options]",
    .about = "Serves AnoGAN scoring (POST /score, /score/batch), GCN node classes\n"
             "(POST /graph/classify), /models, /healthz, /readyz, /metrics and the web console.\n"
             "Every option can also be set by its environment variable; a flag wins. The search\n"
             "options set what a request gets for the fields it leaves out.\n",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
};

int cmd_serve(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct serve_config cfg = config_defaults();
    switch (cli_parse(&serve_command, &cfg, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK:
        break;
    case CLI_PARSED_HELP:
        return 0;
    case CLI_PARSED_USAGE:
        return 2;
    }
    config_print(&cfg, stdout);
    ops_set_threads(cfg.threads);
    gcn_set_threads(cfg.threads);
    int rc;
    if ((rc = cli_set_precision("serve", cfg.precision)))
        return rc;
    char compute[512];
    cli_describe_compute(compute, sizeof compute);
    fprintf(stdout, "%s\n", compute);

    /* Signals are taken by sigwait below; every thread started from here on inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct app app = {.cfg = &cfg, .t_start = clock_now()};
    struct models models;
    struct metrics *metrics = NULL;
    struct pool *pool = NULL;
    struct tarpit *tarpit = NULL;
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
    struct pool_options po = {.workers = cfg.workers,
                              .capacity = cfg.queue,
                              .max_batch = cfg.max_batch,
                              .batch_wait_ms = cfg.batch_wait_ms};
    if (pool_create(&pool, &po, metrics)) {
        fprintf(stderr, "inspectd serve: %s\n", status_message());
        goto done;
    }
    app.pool = pool;
    if (cfg.refusal_delay_ms > 0 &&
        tarpit_create(&tarpit, cfg.refusal_delay_ms, cfg.max_connections)) {
        fprintf(stderr, "inspectd serve: %s\n", status_message());
        goto done;
    }
    app.tarpit = tarpit;
    if (cfg.mqtt_url[0]) {
        struct mqtt_options mo = {.url = cfg.mqtt_url, .topic = cfg.mqtt_topic,
                                  .line = cfg.mqtt_line, .instance = cfg.mqtt_instance,
                                  .username = cfg.mqtt_username, .password = cfg.mqtt_password,
                                  .cafile = cfg.mqtt_cafile, .outbox = cfg.mqtt_outbox};
        if (mqtt_create(&app.mqtt, &mo, metrics)) {
            fprintf(stderr, "inspectd serve: %s\n", status_message());
            goto done;
        }
    }
    if (cfg.webhook_urls[0]) {
        struct webhook_options wo = {.urls = cfg.webhook_urls, .timeout_ms = cfg.webhook_timeout_ms,
                                     .retries = cfg.webhook_retries, .outbox = cfg.webhook_outbox};
        if (webhook_create(&app.webhook, &wo, metrics)) {
            fprintf(stderr, "inspectd serve: %s\n", status_message());
            goto done;
        }
    }
    warm_start(&app); /* GET /v2/health/ready answers 503 until these scores are done */
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
    tarpit_free(tarpit); /* resumes what it holds; http_wait_idle saw those finish */
    http_stop(app.http);
    pool_free(pool);
    mqtt_free(app.mqtt);       /* after the last answer: flushes, then "offline" */
    webhook_free(app.webhook);
    metrics_free(metrics);
    free(labels);
    free(routes);
    models_free(&models);
    if (rc == 0)
        fprintf(stdout, "stopped\n");
    return rc;
}
