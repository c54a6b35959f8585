/* config: the settings of `inspectd serve`, from flags with environment-variable equivalents
 * (a flag wins over its variable), and the default search settings a request gets when it names
 * none. Settings defaults live in config_defaults() in config.c; search defaults in core (below). */
#ifndef INSPECTD_CONFIG_H
#define INSPECTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum search_mode {
    SEARCH_MODE_AUTO,    /* encoder start when the model has an encoder, else random */
    SEARCH_MODE_RANDOM,  /* z0 ~ N(0,1) from the request's seed */
    SEARCH_MODE_ENCODER, /* z0 = E(x), then refinement steps */
};

/* What a request gets for every search field it leaves out. A negative (or zero lr) field means
 * "the model's default": anogan_search_default() in core/anogan.c, the one place where the
 * measured defaults live, shared with `inspectd score`. A flag overrides it for every model. */
struct search_defaults {
    enum search_mode mode;
    int iterations;  /* Adam steps (after the encoder start, refinement steps); -1 = model default */
    float lr;        /* Adam learning rate on z; 0 = model default */
    int patience;    /* early stop window in steps (0 = off); -1 = model default */
    float tol;       /* relative improvement that resets the window; < 0 = model default */
    uint64_t seed;   /* seed of the random start */
};

struct serve_config {
    char bind[64];
    int port;                 /* 0 = any free port (printed at start-up) */
    char models_dir[1024];    /* "" = look beside the binary, then ./models */
    char graph_dir[1024];     /* "" = no graph */
    char gcn_file[1024];      /* "" = GCN from the models directory, if any */
    int workers;              /* search threads (default: number of cores) */
    int queue;                /* jobs waiting at most; a full queue answers 503 */
    int http_threads;         /* libmicrohttpd threads accepting and reading requests */
    int threads;              /* BLAS threads per search (default 1: the workers give parallelism) */
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
    bool access_log;
    char api_key[256];        /* "" = no access control */
    struct search_defaults search;
};

/* The built-in defaults (flags and environment not applied). */
struct serve_config config_defaults(void);

/* Applies environment variables then flags (argv[0] is the subcommand name). Returns 0 on
 * success, 1 when --help was printed, -1 on a usage error (message written to err). */
int config_parse(struct serve_config *cfg, int argc, char **argv, FILE *err);

/* Prints the options (for --help). */
void config_usage(FILE *f);

/* One line per setting, "config key=value", the API key shown only as set/unset. */
void config_print(const struct serve_config *cfg, FILE *f);

/* "auto", "random", "encoder"; parse returns false for anything else. */
const char *search_mode_name(enum search_mode m);
bool search_mode_parse(const char *s, enum search_mode *out);

/* Parses "1048576", "512K", "8M", "1G" (binary units). */
bool config_parse_size(const char *s, size_t *out);

#endif
