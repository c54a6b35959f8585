/* gcn: `inspectd train gcn`, `inspectd eval gcn` and `inspectd bench gcn`.
 *
 * train: trains the two-layer GCN on a graph folder (core/gcn.h), one or several seeds, prints
 *        each epoch on stderr (a one-line progress bar on a terminal, log lines otherwise), saves
 *        the run with the best validation accuracy, and prints one JSON line on stdout.
 * eval:  accuracy of a saved model on a graph folder's splits, one JSON line.
 * bench: seconds per training epoch and peak memory, on a folder or a synthetic random graph.
 * Exit status: 0 ok, 1 runtime failure, 2 usage error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "common.h"
#include "gcn.h"
#include "json_write.h"
#include "options.h"
#include "parse.h"

static long peak_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1; /* KiB on Linux */
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

static void warn_report(const char *dir, const struct graph_report *r)
{
    if (r->self_loops)
        fprintf(stderr, "inspectd: %s/edges.tsv:%lld: %lld self loop(s) dropped (A + I adds each "
                        "node's own)\n", dir, (long long)r->first_self_loop_line,
                (long long)r->self_loops);
    if (r->duplicate_edges)
        fprintf(stderr, "inspectd: %s/edges.tsv:%lld: %lld duplicate edge(s) kept once\n", dir,
                (long long)r->first_duplicate_line, (long long)r->duplicate_edges);
    if (r->isolated_nodes)
        fprintf(stderr, "inspectd: %s: %d isolated node(s) (first: %d), classified from their "
                        "own features\n", dir, r->isolated_nodes, r->first_isolated_node);
    if (r->featureless_nodes)
        fprintf(stderr, "inspectd: %s/features.svm:%d: %d node(s) without features (first: node "
                        "%d)\n", dir, r->first_featureless_node + 1, r->featureless_nodes,
                r->first_featureless_node);
}

static struct graph *load_graph(const char *dir)
{
    struct graph *g = NULL;
    struct graph_report rep;
    if (graph_load(&g, &rep, dir) != STATUS_OK) {
        fprintf(stderr, "inspectd: %s\n", status_message());
        return NULL;
    }
    warn_report(dir, &rep);
    return g;
}

/* ---- train ---------------------------------------------------------------------------------- */

struct progress {
    int tty, quiet, run, runs, epochs;
};

static int on_epoch(const struct gcn_epoch *e, void *user)
{
    const struct progress *p = user;
    if (p->quiet)
        return 0;
    char run[32] = "";
    if (p->runs > 1)
        snprintf(run, sizeof run, "run %d/%d ", p->run + 1, p->runs);
    if (p->tty) {
        char bar[21];
        int fill = (int)(20.0 * e->epoch / p->epochs);
        for (int i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = 0;
        fprintf(stderr, "\r%s[%s] epoch %3d/%d  loss %.4f acc %.3f  val loss %.4f acc %.3f ",
                run, bar, e->epoch, p->epochs, e->train_loss, e->train_acc, e->val_loss,
                e->val_acc);
    } else {
        fprintf(stderr, "%sepoch %d train_loss %.4f train_acc %.4f val_loss %.4f val_acc %.4f\n",
                run, e->epoch, e->train_loss, e->train_acc, e->val_loss, e->val_acc);
    }
    return 0;
}

struct gcn_train_args {
    const char *data, *out;
    struct gcn_train_config cfg;
    int runs, threads;
    bool quiet;
};

#define A struct gcn_train_args
static const struct cli_option train_options[] = {
    {"--data", NULL, CLI_ARG, CLI_AT(A, data), .value_name = "DIR", .required = true,
     .help = "graph folder (features.svm, edges.tsv, ...)"},
    {"--out", NULL, CLI_ARG, CLI_AT(A, out), .value_name = "FILE", .required = true,
     .help = "the trained model (.safetensors)"},
    {"--hidden", NULL, CLI_INT, CLI_AT(A, cfg.hidden), 0, 1, 1 << 20, .help = "hidden units"},
    {"--dropout", NULL, CLI_FLOAT, CLI_AT(A, cfg.dropout), 0, 0, 0.999, .value_name = "P",
     .help = "dropout rate on features and hidden layer"},
    {"--weight-decay", NULL, CLI_FLOAT, CLI_AT(A, cfg.weight_decay), 0, 0, 1e6,
     .value_name = "W", .help = "L2 on the first layer, W * sum(W0^2) / 2"},
    {"--lr", NULL, CLI_FLOAT, CLI_AT(A, cfg.lr), 0, 1e-8, 10, .value_name = "LR",
     .help = "Adam learning rate"},
    {"--epochs", NULL, CLI_INT, CLI_AT(A, cfg.epochs), 0, 1, 1000000, .help = "at most N epochs"},
    {"--patience", NULL, CLI_INT, CLI_AT(A, cfg.patience), 0, 0, 1000000, .value_name = "K",
     .help = "stop when the validation loss exceeds the mean of the last K (0: never)"},
    {"--seed", NULL, CLI_U64, CLI_AT(A, cfg.seed), .value_name = "S", .help = "first seed"},
    {"--runs", NULL, CLI_INT, CLI_AT(A, runs), 0, 1, 100000,
     .help = "train N seeds S..S+N-1, keep the best on validation"},
    {"--threads", NULL, CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "CPUs, at most 8", .help = "threads for the large products"},
    {"--quiet", NULL, CLI_FLAG, CLI_AT(A, quiet), .help = "no per-epoch output"},
};
#undef A

static const struct cli_command train_command = {
    .name = "train gcn",
    .usage = "--data DIR --out FILE.safetensors [options]",
    .options = train_options,
    .noptions = sizeof train_options / sizeof train_options[0],
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_train_gcn(int argc, char **argv)
{
    struct gcn_train_args a = {.runs = 1, .threads = default_threads()};
    gcn_train_config_default(&a.cfg);
    switch (cli_parse(&train_command, &a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    struct gcn_train_config cfg = a.cfg;
    const char *out = a.out;
    const int runs = a.runs, threads = a.threads, quiet = a.quiet;
    gcn_set_threads(threads);
    struct graph *g = load_graph(a.data);
    if (!g)
        return 1;
    struct progress prog = {isatty(STDERR_FILENO), quiet, 0, runs, cfg.epochs};
    struct gcn *best = NULL;
    struct gcn_train_result best_res = {0};
    double *acc = calloc((size_t)runs, sizeof *acc), *secs = calloc((size_t)runs, sizeof *secs);
    double acc_sum = 0, acc_min = INFINITY, acc_max = -INFINITY, total = 0;
    int rc = 1;
    const uint64_t seed0 = cfg.seed;
    if (!acc || !secs)
        goto done;
    for (int r = 0; r < runs; r++) {
        struct gcn *m = NULL;
        struct gcn_train_result res;
        cfg.seed = seed0 + (uint64_t)r;
        prog.run = r;
        if (gcn_train(&m, &res, g, &cfg, on_epoch, &prog) != STATUS_OK) {
            fprintf(stderr, "%sinspectd: %s\n", prog.tty && !quiet ? "\n" : "", status_message());
            goto done;
        }
        if (prog.tty && !quiet)
            fprintf(stderr, "\n");
        fprintf(stderr, "run %d: seed %llu: %d epochs, %.3f s, val acc %.4f, test acc %.4f\n",
                r + 1, (unsigned long long)cfg.seed, res.epochs,
                res.seconds, res.val_acc, res.test_acc);
        acc[r] = res.test_acc;
        secs[r] = res.seconds;
        acc_sum += res.test_acc;
        acc_min = fmin(acc_min, res.test_acc);
        acc_max = fmax(acc_max, res.test_acc);
        total += res.seconds;
        /* Keep the run that does best on validation: choosing on test would leak the test set. */
        if (!best || res.val_acc > best_res.val_acc) {
            gcn_free(best);
            best = m;
            best_res = res;
            snprintf(best->info.trained_by, sizeof best->info.trained_by,
                     "inspectd %s train gcn --hidden %d --dropout %g --weight-decay %g --lr %g "
                     "--epochs %d --patience %d --seed %llu", INSPECTD_VERSION, cfg.hidden,
                     cfg.dropout, cfg.weight_decay, cfg.lr, cfg.epochs, cfg.patience,
                     (unsigned long long)cfg.seed);
        } else {
            gcn_free(m);
        }
    }
    if (gcn_save(best, out) != STATUS_OK) {
        fprintf(stderr, "inspectd: %s\n", status_message());
        goto done;
    }
    qsort(secs, (size_t)runs, sizeof *secs, cmp_double);
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "dataset", g->name);
    json_kv_string(&w, "out", out);
    json_kv_fixed(&w, "test_accuracy", best_res.test_acc, 4);
    json_kv_fixed(&w, "val_accuracy", best_res.val_acc, 4);
    json_kv_int(&w, "epochs", best_res.epochs);
    json_kv_fixed(&w, "seconds", best_res.seconds, 4);
    json_kv_int(&w, "runs", runs);
    json_kv_fixed(&w, "test_accuracy_mean", acc_sum / runs, 4);
    json_kv_fixed(&w, "test_accuracy_min", acc_min, 4);
    json_kv_fixed(&w, "test_accuracy_max", acc_max, 4);
    json_kv_fixed(&w, "seconds_per_run_median", secs[runs / 2], 4);
    json_kv_fixed(&w, "seconds_total", total, 4);
    json_kv_int(&w, "threads", threads);
    json_object_end(&w);
    rc = cli_print_json(&w);
done:
    free(acc);
    free(secs);
    gcn_free(best);
    graph_free(g);
    return rc;
}

/* ---- eval ----------------------------------------------------------------------------------- */

static double split_accuracy(const struct gcn_cache *c, const struct graph *g,
                             const int32_t *nodes, int n)
{
    int ok = 0;
    for (int k = 0; k < n; k++)
        ok += c->pred[nodes[k]] == g->labels[nodes[k]];
    return n ? (double)ok / n : NAN;
}

struct gcn_eval_args {
    const char *model, *data;
    int threads;
};

#define A struct gcn_eval_args
static const struct cli_option eval_options[] = {
    {"--model", NULL, CLI_ARG, CLI_AT(A, model), .value_name = "FILE", .required = true,
     .help = "trained GCN (.safetensors)"},
    {"--data", NULL, CLI_ARG, CLI_AT(A, data), .value_name = "DIR", .required = true,
     .help = "graph folder with its splits"},
    {"--threads", NULL, CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "CPUs, at most 8", .help = "threads for the large products"},
};
#undef A

static const struct cli_command eval_command = {
    .name = "eval gcn",
    .usage = "--model FILE.safetensors --data DIR [--threads N]",
    .options = eval_options,
    .noptions = sizeof eval_options / sizeof eval_options[0],
};

int cmd_eval_gcn(int argc, char **argv)
{
    struct gcn_eval_args a = {.threads = default_threads()};
    switch (cli_parse(&eval_command, &a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    const char *model = a.model, *data = a.data;
    const int threads = a.threads;
    gcn_set_threads(threads);
    struct gcn *m = NULL;
    struct gcn_cache *cache = NULL;
    int rc = 1;
    const double t0 = clock_now();
    struct graph *g = load_graph(data);
    if (!g)
        return 1;
    if (gcn_load(&m, model) != STATUS_OK || gcn_cache_create(&cache, m, g) != STATUS_OK) {
        fprintf(stderr, "inspectd: %s\n", status_message());
        goto done;
    }
    if (g->nclasses > m->nclasses) {
        fprintf(stderr, "inspectd: %s has labels up to %d, the model has %d classes\n", data,
                g->nclasses - 1, m->nclasses);
        goto done;
    }
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "model", model);
    json_kv_string(&w, "sha256", m->info.sha256);
    json_kv_string(&w, "trained_on", m->info.dataset);
    json_kv_string(&w, "dataset", g->name);
    json_kv_int(&w, "nodes", g->nnodes);
    json_kv_int(&w, "classes", m->nclasses);
    /* accuracies: null for an empty split */
    json_kv_fixed(&w, "train_accuracy", split_accuracy(cache, g, g->train, g->ntrain), 4);
    json_kv_fixed(&w, "val_accuracy", split_accuracy(cache, g, g->val, g->nval), 4);
    json_kv_fixed(&w, "test_accuracy", split_accuracy(cache, g, g->test, g->ntest), 4);
    json_kv_fixed(&w, "seconds", clock_since(t0), 4);
    json_object_end(&w);
    rc = cli_print_json(&w);
done:
    gcn_cache_free(cache);
    gcn_free(m);
    graph_free(g);
    return rc;
}

/* ---- bench ---------------------------------------------------------------------------------- */

/* A random graph: `edges` uniform node pairs (self loops and repeats are dropped by the builder),
 * `features` columns of which each node has min(16, features) random ones (value 1 before
 * row normalisation), 7 random classes, 10% of the nodes training, 10% validation. */
static struct graph *synthetic_graph(int n, int64_t ne, int f, uint64_t seed)
{
    struct rng r;
    struct graph *g = NULL;
    const int per = f < 16 ? f : 16;
    int64_t *rowptr = malloc(((size_t)n + 1) * sizeof *rowptr);
    int32_t *col = malloc((size_t)n * per * sizeof *col);
    float *val = malloc((size_t)n * per * sizeof *val);
    int32_t *pairs = malloc((size_t)(ne > 0 ? ne : 1) * 2 * sizeof *pairs);
    rng_seed(&r, seed);
    if (!rowptr || !col || !val || !pairs) {
        fprintf(stderr, "inspectd: synthetic graph: out of memory\n");
        goto done;
    }
    for (int i = 0; i <= n; i++)
        rowptr[i] = (int64_t)i * per;
    for (int i = 0; i < n; i++) {
        /* per distinct columns: a random start and stride through the columns. */
        int start = (int)rng_below(&r, (uint64_t)f), stride = f / per;
        for (int j = 0; j < per; j++) {
            col[(size_t)i * per + j] = (int32_t)((start + (int64_t)j * stride) % f);
            val[(size_t)i * per + j] = 1.0f;
        }
    }
    for (int64_t e = 0; e < 2 * ne; e++)
        pairs[e] = (int32_t)rng_below(&r, (uint64_t)n);
    if (graph_from_arrays(&g, NULL, n, f, rowptr, col, val, pairs, ne, "synthetic") !=
        STATUS_OK) {
        fprintf(stderr, "inspectd: %s\n", status_message());
        goto done;
    }
    free(col), col = NULL;
    free(val), val = NULL;
    free(pairs), pairs = NULL;
    int32_t *perm = malloc((size_t)n * sizeof *perm);
    g->train = malloc((size_t)(n / 10 + 1) * sizeof *g->train);
    g->val = malloc((size_t)(n / 10 + 1) * sizeof *g->val);
    if (!perm || !g->train || !g->val) {
        free(perm);
        graph_free(g);
        g = NULL;
        fprintf(stderr, "inspectd: synthetic graph: out of memory\n");
        goto done;
    }
    g->nclasses = 7;
    for (int i = 0; i < n; i++) {
        g->labels[i] = (int32_t)rng_below(&r, 7);
        perm[i] = i;
    }
    rng_shuffle(&r, perm, (size_t)n);
    for (int k = 0; k < n / 10; k++) {
        g->train[g->ntrain++] = perm[k];
        g->is_train[perm[k]] = 1;
        g->val[g->nval++] = perm[n / 10 + k];
    }
    free(perm);
done:
    free(rowptr);
    free(col);
    free(val);
    free(pairs);
    return g;
}

struct bench_times {
    double last, *epoch, *step; /* per epoch: whole epoch, training step alone */
    int n;
};

static int time_epoch(const struct gcn_epoch *e, void *user)
{
    struct bench_times *t = user;
    t->step[t->n] = e->step_seconds;
    t->epoch[t->n++] = e->seconds - t->last;
    t->last = e->seconds;
    return 0;
}

struct gcn_bench_args {
    const char *data;
    struct synthetic {
        bool set;
        long long nodes, edges, features;
    } synthetic;
    int hidden, epochs, threads;
    bool json;
};

/* --synthetic NODES,EDGES,FEATURES. field: a struct synthetic. */
static enum status parse_synthetic(void *field, const char *name, const char *value)
{
    struct synthetic *s = field;
    long long *dst[3] = {&s->nodes, &s->edges, &s->features};
    const long long lo[3] = {2, 0, 1}, hi[3] = {GRAPH_MAX_NODES, 1LL << 31, GRAPH_MAX_FEATURES};
    const char *p = value;
    for (int k = 0; k < 3; k++) {
        char item[32];
        size_t len = strcspn(p, ",");
        if ((k < 2) != (p[len] == ','))
            return status_fail(STATUS_RANGE, "%s '%.40s': expected NODES,EDGES,FEATURES", name,
                               value);
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        enum status st = parse_int(dst[k], name, item, lo[k], hi[k]);
        if (st)
            return st;
        p += len + 1;
    }
    s->set = true;
    return STATUS_OK;
}

#define A struct gcn_bench_args
static const struct cli_option bench_options[] = {
    {"--data", NULL, CLI_ARG, CLI_AT(A, data), .value_name = "DIR",
     .help = "graph folder (or --synthetic)"},
    {"--synthetic", NULL, CLI_CUSTOM, CLI_AT(A, synthetic), .parse = parse_synthetic,
     .value_name = "NODES,EDGES,FEATURES", .help = "a random graph of this size (or --data)"},
    {"--hidden", NULL, CLI_INT, CLI_AT(A, hidden), 0, 1, 1 << 20, .help = "hidden units"},
    {"--epochs", NULL, CLI_INT, CLI_AT(A, epochs), 0, 1, 1000000,
     .def = "200 on a folder, 5 synthetic", .help = "training epochs timed"},
    {"--threads", NULL, CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "CPUs, at most 8", .help = "threads for the large products"},
    {"--json", NULL, CLI_FLAG, CLI_AT(A, json), .help = "one JSON line"},
};
#undef A

static const struct cli_command bench_command = {
    .name = "bench gcn",
    .usage = "(--data DIR | --synthetic NODES,EDGES,FEATURES) [options]",
    .about = "Times full-batch training epochs (forward, backward, Adam, validation).\n",
    .options = bench_options,
    .noptions = sizeof bench_options / sizeof bench_options[0],
};

int cmd_bench_gcn(int argc, char **argv)
{
    struct gcn_bench_args a = {.hidden = 32, .epochs = -1, .threads = default_threads()};
    switch (cli_parse(&bench_command, &a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    if (!a.data == !a.synthetic.set) {
        fprintf(stderr, "inspectd bench gcn: give one of --data and --synthetic (see inspectd "
                        "bench gcn --help)\n");
        return 2;
    }
    const bool synth = a.synthetic.set;
    const long long sn = a.synthetic.nodes, se = a.synthetic.edges, sf = a.synthetic.features;
    const int hidden = a.hidden, threads = a.threads, json = a.json;
    const int epochs = a.epochs > 0 ? a.epochs : synth ? 5 : 200;
    const char *data = a.data;
    gcn_set_threads(threads);
    const double t0 = clock_now();
    struct graph *g = synth ? synthetic_graph((int)sn, se, (int)sf, 1) : load_graph(data);
    if (!g)
        return 1;
    const double build = clock_now() - t0;
    struct gcn_train_config cfg;
    struct gcn_train_result res;
    struct gcn *m = NULL;
    struct bench_times bt = {0, calloc((size_t)epochs, sizeof(double)),
                             calloc((size_t)epochs, sizeof(double)), 0};
    gcn_train_config_default(&cfg);
    cfg.hidden = hidden;
    cfg.epochs = epochs;
    cfg.patience = 0; /* every epoch runs */
    if (!bt.epoch || !bt.step || gcn_train(&m, &res, g, &cfg, time_epoch, &bt) != STATUS_OK) {
        fprintf(stderr, "inspectd: %s\n", bt.epoch && bt.step ? status_message() : "out of memory");
        free(bt.epoch);
        free(bt.step);
        graph_free(g);
        return 1;
    }
    qsort(bt.epoch, (size_t)bt.n, sizeof *bt.epoch, cmp_double);
    qsort(bt.step, (size_t)bt.n, sizeof *bt.step, cmp_double);
    const double median = bt.epoch[bt.n / 2], mean = res.seconds / res.epochs;
    const double step = bt.step[bt.n / 2];
    const long rss = peak_rss_kib();
    if (json) {
        struct json_writer w;
        json_writer_init(&w);
        json_object_begin(&w);
        json_kv_string(&w, "graph", g->name);
        json_kv_int(&w, "nodes", g->nnodes);
        json_kv_int(&w, "edges", (long long)g->nedges);
        json_kv_int(&w, "features", g->nfeatures);
        json_kv_int(&w, "hidden", hidden);
        json_kv_int(&w, "classes", g->nclasses);
        json_kv_int(&w, "threads", threads);
        json_kv_int(&w, "epochs", res.epochs);
        json_kv_fixed(&w, "seconds_per_step_median", step, 6);
        json_kv_fixed(&w, "seconds_per_epoch_median", median, 6);
        json_kv_fixed(&w, "seconds_per_epoch_mean", mean, 6);
        json_kv_fixed(&w, "seconds_total", res.seconds, 4);
        json_kv_fixed(&w, "build_seconds", build, 3);
        json_kv_fixed(&w, "test_accuracy", isnan(res.test_acc) ? -1.0 : res.test_acc, 4);
        json_kv_fixed(&w, "peak_rss_mib", rss / 1024.0, 1);
        json_object_end(&w);
        cli_print_json(&w);
    } else {
        printf("%s: %d nodes, %lld edges, %d features, hidden %d, %d threads\n"
               "  graph built in %.3f s\n"
               "  %d epochs in %.4f s: %.6f s per epoch (median %.6f), of which the training\n"
               "  step (forward, backward, Adam) %.6f s (median), the rest validation\n"
               "  peak memory %.1f MiB\n",
               g->name, g->nnodes, (long long)g->nedges, g->nfeatures, hidden, threads, build,
               res.epochs, res.seconds, mean, median, step, rss / 1024.0);
    }
    free(bt.epoch);
    free(bt.step);
    gcn_free(m);
    graph_free(g);
    return 0;
}
