/* config: the settings of `inspectd serve` and their built-in defaults. The command line and
 * the environment that set them are cli/serve.c's option table. The search settings are the
 * layer a request's own fields go over (anogan_search_resolve). */
#ifndef INSPECTD_CONFIG_H
#define INSPECTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "anogan.h"

struct serve_config {
    char bind[64];
    int port;                 /* 0 = any free port (printed at start-up) */
    char models_dir[1024];    /* "" = look beside the binary, then ./models */
    char graph_dir[1024];     /* "" = no graph */
    char gcn_file[1024];      /* "" = GCN from the models directory, if any */
    int workers;              /* search threads (default: number of cores) */
    int queue;                /* jobs waiting at most; a full queue answers 503 */
    int http_threads;         /* libmicrohttpd threads accepting and reading requests */
    int threads;              /* kernel threads of a lone search (default: cores; lent, ops_busy_begin) */
    char precision[8];        /* "fp32" (default) or "bf16": arithmetic of the products */
    size_t max_body;          /* bytes per request body */
    int max_side;             /* decoded image width/height at most */
    size_t max_pixels;        /* decoded width*height at most */
    int max_images;           /* images per /score/batch request */
    int max_batch;            /* images searched together by one worker */
    int batch_wait_ms;        /* how long a worker waits for more compatible jobs */
    int max_iterations;       /* largest "iterations" a request may ask for */
    int max_graph_nodes;      /* nodes in a request's graph or node list */
    int max_graph_edges;      /* edges in a request's graph */
    int timeout_s;            /* idle / slow connection timeout */
    int shutdown_timeout_s;   /* grace for in-flight work on SIGTERM before searches are cancelled */
    int max_connections;
    int refusal_delay_ms;     /* a 503 for a full queue is held this long before it is sent */
    bool access_log;
    char api_key[256];        /* "" = no access control */
    /* Publishing verdicts (mqtt.h, webhook.h): off while mqtt_url / webhook_urls are "". */
    char mqtt_url[256];
    char mqtt_topic[256];     /* "" = inspectd/{line}/{station}/result */
    char mqtt_line[64];       /* "" = "line" */
    char mqtt_instance[64];   /* "" = the host name */
    char mqtt_username[128], mqtt_password[128], mqtt_cafile[1024];
    int mqtt_outbox;
    char webhook_urls[2048];
    int webhook_timeout_ms, webhook_retries, webhook_outbox;
    struct anogan_search_layer search; /* what a request gets for the fields it leaves out */
};

/* The built-in defaults. */
struct serve_config config_defaults(void);

/* One line per setting, "config key=value", the API key shown only as set/unset. */
void config_print(const struct serve_config *cfg, FILE *f);

#endif
