/* app: what the handlers share: the settings, the loaded models, the worker pool, the metrics and
 * the HTTP server (for its in-flight count). Built by cli/serve.c; read-only once serving, except
 * for the atomic shutting_down flag. */
#ifndef INSPECTD_APP_H
#define INSPECTD_APP_H

#include <stdatomic.h>

#include "clock.h" /* the handlers time requests with clock_now() */
#include "config.h"

struct models;
struct pool;
struct metrics;
struct http_server;
struct tarpit;
struct mqtt;
struct webhook;

struct app {
    const struct serve_config *cfg;
    const struct models *models;
    struct pool *pool;
    struct metrics *metrics;
    struct http_server *http; /* NULL in tests that call handlers directly */
    struct tarpit *tarpit;    /* holds refusals for a full queue; NULL: they go out at once */
    struct mqtt *mqtt;        /* --mqtt, else NULL */
    struct webhook *webhook;  /* --webhook, else NULL */
    double t_start;           /* clock_now() at start-up */
    atomic_int shutting_down;
    atomic_int warming;       /* models whose warm-up score has not finished (warm.h) */
};

#endif
