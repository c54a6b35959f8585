/* config: see config.h. Options are one table: flag, environment variable, kind, where the value
 * goes, help. Environment first, then flags, so `--port 9000` beats INSPECTD_PORT. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
        .threads = 1,
        .precision = "fp32",
        .max_body = 8u << 20,
        .max_side = 4096,
        .max_pixels = 16u << 20,
        .max_images = 64,
        .max_batch = 16,
        .batch_wait_ms = 2,
        .max_iterations = 10000,
        .max_graph_nodes = 100000,
        .max_graph_edges = 1000000,
        .timeout_s = 30,
        .shutdown_timeout_s = 30,
        .max_connections = 1024,
        .access_log = true,
        /* Search: the model's measured defaults (anogan_search_default) unless a flag says. */
        .search = {.mode = SEARCH_MODE_AUTO, .iterations = -1, .lr = 0, .patience = -1,
                   .tol = -1, .seed = 0},
    };
    return c;
}

enum opt_kind {
    OPT_STR,    /* char[len] */
    OPT_INT,    /* int in [lo, hi] */
    OPT_SIZE,   /* size_t with K/M/G suffix */
    OPT_FLOAT,  /* float in [lo, hi], finite */
    OPT_U64,    /* uint64_t */
    OPT_BOOL,   /* "1/0/true/false/yes/no"; as a flag without value: true */
    OPT_SEARCH, /* enum search_mode */
    OPT_KEYFILE /* reads the API key from a file */
};

struct opt {
    const char *flag, *env;
    enum opt_kind kind;
    size_t offset, len; /* offsetof in serve_config; len for strings */
    double lo, hi;
    const char *help;
};

#define F(field) offsetof(struct serve_config, field)
#define S(field) F(field), sizeof(((struct serve_config *)0)->field)
static const struct opt opts[] = {
    {"--port", "INSPECTD_PORT", OPT_INT, F(port), 0, 0, 65535, "TCP port (0: any free port)"},
    {"--bind", "INSPECTD_BIND", OPT_STR, S(bind), 0, 0, "address to listen on (0.0.0.0 in docker)"},
    {"--models", "INSPECTD_MODELS", OPT_STR, S(models_dir), 0, 0,
     "folder of *.safetensors models (AnoGAN and GCN)"},
    {"--graph", "INSPECTD_GRAPH", OPT_STR, S(graph_dir), 0, 0, "graph folder for /graph/classify"},
    {"--gcn", "INSPECTD_GCN", OPT_STR, S(gcn_file), 0, 0, "trained GCN for the graph"},
    {"--workers", "INSPECTD_WORKERS", OPT_INT, F(workers), 0, 1, 256, "search threads"},
    {"--queue", "INSPECTD_QUEUE", OPT_INT, F(queue), 0, 1, 1 << 20, "jobs waiting at most (then 503)"},
    {"--http-threads", "INSPECTD_HTTP_THREADS", OPT_INT, F(http_threads), 0, 1, 64,
     "threads reading requests"},
    {"--threads", "INSPECTD_THREADS", OPT_INT, F(threads), 0, 1, 256,
     "kernel threads per search (the workers already run in parallel)"},
    {"--precision", "INSPECTD_PRECISION", OPT_STR, S(precision), 0, 0,
     "arithmetic of the searches: fp32, or bf16 through oneDNN (slower without AMX)"},
    {"--max-body", "INSPECTD_MAX_BODY", OPT_SIZE, F(max_body), 0, 1024, 1u << 30,
     "request body bytes at most (K/M/G suffixes)"},
    {"--max-side", "INSPECTD_MAX_SIDE", OPT_INT, F(max_side), 0, 1, 65535, "image width/height at most"},
    {"--max-pixels", "INSPECTD_MAX_PIXELS", OPT_SIZE, F(max_pixels), 0, 1, 1u << 30,
     "image width*height at most"},
    {"--max-images", "INSPECTD_MAX_IMAGES", OPT_INT, F(max_images), 0, 1, 4096,
     "images per /score/batch request"},
    {"--max-batch", "INSPECTD_MAX_BATCH", OPT_INT, F(max_batch), 0, 1, 1024,
     "images searched together by one worker"},
    {"--batch-wait-ms", "INSPECTD_BATCH_WAIT_MS", OPT_INT, F(batch_wait_ms), 0, 0, 10000,
     "wait for more compatible requests before a search"},
    {"--iterations", "INSPECTD_ITERATIONS", OPT_INT, F(search.iterations), 0, 0, 1e9,
     "default search steps (default: the model's)"},
    {"--max-iterations", "INSPECTD_MAX_ITERATIONS", OPT_INT, F(max_iterations), 0, 0, 1e9,
     "largest iterations a request may ask for"},
    {"--search", "INSPECTD_SEARCH", OPT_SEARCH, F(search.mode), 0, 0, 0,
     "default start: auto (encoder if the model has one), random, encoder"},
    {"--lr", "INSPECTD_LR", OPT_FLOAT, F(search.lr), 0, 1e-8, 10,
     "default Adam learning rate (default: the model's)"},
    {"--patience", "INSPECTD_PATIENCE", OPT_INT, F(search.patience), 0, 0, 1e9,
     "default early-stop window, 0 = off (default: the model's)"},
    {"--tol", "INSPECTD_TOL", OPT_FLOAT, F(search.tol), 0, 0, 1,
     "default early-stop tolerance (default: the model's)"},
    {"--seed", "INSPECTD_SEED", OPT_U64, F(search.seed), 0, 0, 0, "default seed of the random start"},
    {"--max-graph-nodes", "INSPECTD_MAX_GRAPH_NODES", OPT_INT, F(max_graph_nodes), 0, 1, 1e9,
     "nodes per graph request"},
    {"--max-graph-edges", "INSPECTD_MAX_GRAPH_EDGES", OPT_INT, F(max_graph_edges), 0, 0, 1e9,
     "edges per graph request"},
    {"--timeout", "INSPECTD_TIMEOUT", OPT_INT, F(timeout_s), 0, 1, 3600,
     "seconds before an idle or stalled connection is closed"},
    {"--shutdown-timeout", "INSPECTD_SHUTDOWN_TIMEOUT", OPT_INT, F(shutdown_timeout_s), 0, 0, 3600,
     "seconds in-flight work may take after SIGTERM"},
    {"--max-connections", "INSPECTD_MAX_CONNECTIONS", OPT_INT, F(max_connections), 0, 1, 1 << 20,
     "open connections at most"},
    {"--access-log", "INSPECTD_ACCESS_LOG", OPT_BOOL, F(access_log), 0, 0, 0,
     "one line per request on stdout (1/0)"},
    {"--api-key", "INSPECTD_API_KEY", OPT_STR, S(api_key), 0, 0,
     "require 'Authorization: Bearer KEY' (all but /healthz)"},
    {"--api-key-file", "INSPECTD_API_KEY_FILE", OPT_KEYFILE, S(api_key), 0, 0,
     "read the API key from a file (first line)"},
};
#undef F
#undef S
#define NOPTS (sizeof opts / sizeof opts[0])

const char *search_mode_name(enum search_mode m)
{
    switch (m) {
    case SEARCH_MODE_RANDOM:
        return "random";
    case SEARCH_MODE_ENCODER:
        return "encoder";
    case SEARCH_MODE_AUTO:
        break;
    }
    return "auto";
}

bool search_mode_parse(const char *s, enum search_mode *out)
{
    if (!strcmp(s, "auto"))
        *out = SEARCH_MODE_AUTO;
    else if (!strcmp(s, "random"))
        *out = SEARCH_MODE_RANDOM;
    else if (!strcmp(s, "encoder"))
        *out = SEARCH_MODE_ENCODER;
    else
        return false;
    return true;
}

bool config_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || s[0] == '-')
        return false;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end || v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)v << shift;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on"))
        *out = true;
    else if (!strcasecmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
             !strcasecmp(s, "off"))
        *out = false;
    else
        return false;
    return true;
}

static bool read_key_file(char *dst, size_t len, const char *path, FILE *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(err, "inspectd serve: api key file %s: %s\n", path, strerror(errno));
        return false;
    }
    bool ok = fgets(dst, (int)len, f) != NULL;
    fclose(f);
    if (ok)
        dst[strcspn(dst, "\r\n")] = 0;
    if (!ok || !dst[0]) {
        fprintf(err, "inspectd serve: api key file %s is empty\n", path);
        return false;
    }
    return true;
}

/* Stores value into the option's field; false (message written) when it does not parse. */
static bool apply(struct serve_config *cfg, const struct opt *o, const char *value, const char *from,
                  FILE *err)
{
    char *field = (char *)cfg + o->offset;
    char *end;
    switch (o->kind) {
    case OPT_STR:
        if (strlen(value) >= o->len)
            goto bad;
        memcpy(field, value, strlen(value) + 1);
        return true;
    case OPT_KEYFILE:
        return read_key_file(field, o->len, value, err);
    case OPT_INT: {
        errno = 0;
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < o->lo || v > o->hi)
            goto bad;
        *(int *)field = (int)v;
        return true;
    }
    case OPT_SIZE: {
        size_t v;
        if (!config_parse_size(value, &v) || v < o->lo || v > o->hi)
            goto bad;
        *(size_t *)field = v;
        return true;
    }
    case OPT_FLOAT: {
        errno = 0;
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v) || v < o->lo || v > o->hi)
            goto bad;
        *(float *)field = (float)v;
        return true;
    }
    case OPT_U64: {
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (end == value || *end || errno || value[0] == '-')
            goto bad;
        *(uint64_t *)field = v;
        return true;
    }
    case OPT_BOOL:
        if (!parse_bool(value, (bool *)field))
            goto bad;
        return true;
    case OPT_SEARCH:
        if (!search_mode_parse(value, (enum search_mode *)field))
            goto bad;
        return true;
    }
bad:
    if (o->kind == OPT_INT || o->kind == OPT_FLOAT || o->kind == OPT_SIZE)
        fprintf(err, "inspectd serve: %s '%s': expected a number in [%g, %g]\n", from, value, o->lo,
                o->hi);
    else
        fprintf(err, "inspectd serve: %s: bad value '%s'\n", from, value);
    return false;
}

int config_parse(struct serve_config *cfg, int argc, char **argv, FILE *err)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(opts[i].env);
        if (v && v[0] && !apply(cfg, &opts[i], v, opts[i].env, err))
            return -1;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            config_usage(stdout);
            return 1;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct opt *o = NULL;
        for (size_t i = 0; i < NOPTS; i++)
            if (strlen(opts[i].flag) == name_len && !strncmp(opts[i].flag, arg, name_len))
                o = &opts[i];
        if (!o) {
            fprintf(err, "inspectd serve: unknown option '%s' (see --help)\n", arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        bool b;
        if (!value && o->kind == OPT_BOOL) /* "--access-log", "--access-log 0", "--access-log=0" */
            value = a + 1 < argc && parse_bool(argv[a + 1], &b) ? argv[++a] : "1";
        if (!value) {
            if (a + 1 >= argc) {
                fprintf(err, "inspectd serve: %s needs a value\n", o->flag);
                return -1;
            }
            value = argv[++a];
        }
        if (!apply(cfg, o, value, o->flag, err))
            return -1;
    }
    return 0;
}

/* An option's built-in default as text ("" when there is nothing to show). */
static void default_text(char *buf, size_t len, const struct serve_config *d, const struct opt *o)
{
    const char *field = (const char *)d + o->offset;
    buf[0] = 0;
    switch (o->kind) {
    case OPT_STR:
        if (field[0])
            snprintf(buf, len, "%s", field);
        break;
    case OPT_INT:
        if (*(const int *)field >= 0)
            snprintf(buf, len, "%d", *(const int *)field);
        break;
    case OPT_SIZE:
        snprintf(buf, len, "%zu", *(const size_t *)field);
        break;
    case OPT_FLOAT:
        if (*(const float *)field > 0)
            snprintf(buf, len, "%g", (double)*(const float *)field);
        break;
    case OPT_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)field);
        break;
    case OPT_BOOL:
        snprintf(buf, len, "%d", *(const bool *)field);
        break;
    case OPT_SEARCH:
        snprintf(buf, len, "%s", search_mode_name(*(const enum search_mode *)field));
        break;
    case OPT_KEYFILE:
        break;
    }
}

void config_usage(FILE *f)
{
    fprintf(f, "usage: inspectd serve [options]\n\n"
               "Serves AnoGAN scoring (POST /score, /score/batch), GCN node classes\n"
               "(POST /graph/classify), /models, /healthz, /readyz, /metrics and the web console.\n"
               "Every option can also be set by its environment variable; a flag wins.\n\n");
    struct serve_config d = config_defaults();
    for (size_t i = 0; i < NOPTS; i++) {
        char def[64];
        default_text(def, sizeof def, &d, &opts[i]);
        fprintf(f, "  %-20s %-27s %s%s%s%s\n", opts[i].flag, opts[i].env, opts[i].help,
                def[0] ? " [" : "", def, def[0] ? "]" : "");
    }
}

void config_print(const struct serve_config *c, FILE *f)
{
    char it[32] = "model", lr[32] = "model", pat[32] = "model", tol[32] = "model";
    if (c->search.iterations >= 0)
        snprintf(it, sizeof it, "%d", c->search.iterations);
    if (c->search.lr > 0)
        snprintf(lr, sizeof lr, "%g", (double)c->search.lr);
    if (c->search.patience >= 0)
        snprintf(pat, sizeof pat, "%d", c->search.patience);
    if (c->search.tol >= 0)
        snprintf(tol, sizeof tol, "%g", (double)c->search.tol);
    fprintf(f,
            "config bind=%s port=%d models=%s graph=%s gcn=%s\n"
            "config workers=%d queue=%d http_threads=%d threads=%d precision=%s timeout_s=%d "
            "shutdown_timeout_s=%d max_connections=%d\n"
            "config max_body=%zu max_side=%d max_pixels=%zu max_images=%d max_batch=%d "
            "batch_wait_ms=%d max_iterations=%d max_graph_nodes=%d max_graph_edges=%d\n"
            "config search=%s iterations=%s lr=%s patience=%s tol=%s seed=%llu\n"
            "config api_key=%s access_log=%s\n",
            c->bind, c->port, c->models_dir[0] ? c->models_dir : "(default)",
            c->graph_dir[0] ? c->graph_dir : "(none)", c->gcn_file[0] ? c->gcn_file : "(none)",
            c->workers, c->queue, c->http_threads, c->threads, c->precision, c->timeout_s,
            c->shutdown_timeout_s,
            c->max_connections, c->max_body, c->max_side, c->max_pixels, c->max_images,
            c->max_batch, c->batch_wait_ms, c->max_iterations, c->max_graph_nodes,
            c->max_graph_edges, search_mode_name(c->search.mode), it, lr, pat, tol,
            (unsigned long long)c->search.seed,
            c->api_key[0] ? "set" : "none", c->access_log ? "on" : "off");
}
