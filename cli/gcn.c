/* cmd_gcn: `inspectd train gcn`, `inspectd eval gcn` and `inspectd bench gcn`.
 *
 * train: trains the two-layer GCN on a graph folder (core/gcn.h), one or several seeds, prints
 *        each epoch on stderr (a one-line progress bar on a terminal, log lines otherwise), saves
 *        the run with the best validation accuracy, and prints one JSON line on stdout.
 * eval:  accuracy of a saved model on a graph folder's splits, one JSON line.
 * bench: seconds per training epoch and peak memory, on a folder or a synthetic random graph.
 * Exit status: 0 ok, 1 runtime failure, 2 usage error. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gcn.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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

/* Parses a number option; 0 on a malformed value. */
static int parse_num(double *out, const char *s)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == 0 && isfinite(*out);
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

static void train_usage(FILE *f)
{
    fprintf(f, "usage: inspectd train gcn --data DIR --out FILE.safetensors [options]\n"
               "  --hidden N         hidden units (default 16)\n"
               "  --dropout P        dropout rate on features and hidden layer (default 0.5)\n"
               "  --weight-decay W   L2 on the first layer, W * sum(W0^2) / 2 (default 5e-4)\n"
               "  --lr LR            Adam learning rate (default 0.01)\n"
               "  --epochs N         at most N epochs (default 200)\n"
               "  --patience K       stop when the validation loss exceeds the mean of the last\n"
               "                     K (default 10; 0 = never)\n"
               "  --seed S           first seed (default 0)\n"
               "  --runs N           train N seeds S..S+N-1, keep the best on validation\n"
               "  --threads N        threads for the large products (default: CPUs, at most 8)\n"
               "  --quiet            no per-epoch output\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_train_gcn(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", 1, 0, 'd'},   {"out", 1, 0, 'o'},          {"hidden", 1, 0, 'H'},
        {"dropout", 1, 0, 'p'}, {"weight-decay", 1, 0, 'w'}, {"lr", 1, 0, 'l'},
        {"epochs", 1, 0, 'e'}, {"patience", 1, 0, 'P'},     {"seed", 1, 0, 's'},
        {"runs", 1, 0, 'r'},   {"threads", 1, 0, 't'},      {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    struct gcn_train_config cfg;
    const char *data = NULL, *out = NULL;
    int runs = 1, threads = default_threads(), quiet = 0, c;
    double v;
    gcn_train_config_default(&cfg);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd' || c == 'o' || c == 'q' || c == 'h') {
            data = c == 'd' ? optarg : data;
            out = c == 'o' ? optarg : out;
            quiet |= c == 'q';
            if (c == 'h') {
                train_usage(stdout);
                return 0;
            }
            continue;
        }
        if (c == '?' || !parse_num(&v, optarg)) {
            if (c != '?')
                fprintf(stderr, "inspectd: train gcn: bad number '%s'\n", optarg);
            train_usage(stderr);
            return 2;
        }
        switch (c) {
        case 'H': cfg.hidden = (int)v; break;
        case 'p': cfg.dropout = (float)v; break;
        case 'w': cfg.weight_decay = (float)v; break;
        case 'l': cfg.lr = (float)v; break;
        case 'e': cfg.epochs = (int)v; break;
        case 'P': cfg.patience = (int)v; break;
        case 's': cfg.seed = (uint64_t)v; break;
        case 'r': runs = (int)v; break;
        case 't': threads = (int)v; break;
        }
    }
    if (!data || !out || optind != argc || runs < 1 || threads < 1) {
        train_usage(stderr);
        return 2;
    }
    gcn_set_threads(threads);
    struct graph *g = load_graph(data);
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
    printf("{\"dataset\":\"%s\",\"out\":\"%s\",\"test_accuracy\":%.4f,\"val_accuracy\":%.4f,"
           "\"epochs\":%d,\"seconds\":%.4f,\"runs\":%d,\"test_accuracy_mean\":%.4f,"
           "\"test_accuracy_min\":%.4f,\"test_accuracy_max\":%.4f,\"seconds_per_run_median\":%.4f,"
           "\"seconds_total\":%.4f,\"threads\":%d}\n",
           g->name, out, best_res.test_acc, best_res.val_acc, best_res.epochs, best_res.seconds,
           runs, acc_sum / runs, acc_min, acc_max, secs[runs / 2], total, threads);
    rc = 0;
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

static void print_acc(const char *key, double a, int last)
{
    if (isnan(a))
        printf("\"%s\":null%s", key, last ? "" : ",");
    else
        printf("\"%s\":%.4f%s", key, a, last ? "" : ",");
}

int cmd_eval_gcn(int argc, char **argv)
{
    static const struct option opts[] = {{"model", 1, 0, 'm'}, {"data", 1, 0, 'd'},
                                         {"threads", 1, 0, 't'}, {0, 0, 0, 0}};
    const char *model = NULL, *data = NULL;
    int c, threads = default_threads();
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'm')
            model = optarg;
        else if (c == 'd')
            data = optarg;
        else if (c == 't')
            threads = atoi(optarg);
        else
            break;
    }
    if (!model || !data || optind != argc || threads < 1) {
        fprintf(stderr, "usage: inspectd eval gcn --model FILE.safetensors --data DIR "
                        "[--threads N]\n");
        return 2;
    }
    gcn_set_threads(threads);
    struct gcn *m = NULL;
    struct gcn_cache *cache = NULL;
    int rc = 1;
    const double t0 = now_seconds();
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
    printf("{\"model\":\"%s\",\"sha256\":\"%s\",\"trained_on\":\"%s\",\"dataset\":\"%s\","
           "\"nodes\":%d,\"classes\":%d,", model, m->info.sha256, m->info.dataset, g->name,
           g->nnodes, m->nclasses);
    print_acc("train_accuracy", split_accuracy(cache, g, g->train, g->ntrain), 0);
    print_acc("val_accuracy", split_accuracy(cache, g, g->val, g->nval), 0);
    print_acc("test_accuracy", split_accuracy(cache, g, g->test, g->ntest), 0);
    printf("\"seconds\":%.4f}\n", now_seconds() - t0);
    rc = 0;
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

int cmd_bench_gcn(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", 1, 0, 'd'},   {"synthetic", 1, 0, 'S'}, {"hidden", 1, 0, 'H'},
        {"epochs", 1, 0, 'e'}, {"threads", 1, 0, 't'},   {"json", 0, 0, 'j'},
        {0, 0, 0, 0}};
    const char *data = NULL, *synth = NULL;
    int hidden = 32, epochs = -1, threads = default_threads(), json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'S': synth = optarg; break;
        case 'H': hidden = atoi(optarg); break;
        case 'e': epochs = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'j': json = 1; break;
        default: goto usage;
        }
    }
    long long sn = 0, se = 0, sf = 0;
    if (optind != argc || !data == !synth || hidden < 1 || threads < 1 ||
        (synth && (sscanf(synth, "%lld,%lld,%lld", &sn, &se, &sf) != 3 || sn < 2 ||
                   sn > GRAPH_MAX_NODES || se < 0 || se > ((long long)1 << 31) || sf < 1 ||
                   sf > GRAPH_MAX_FEATURES)))
        goto usage;
    if (epochs < 0)
        epochs = synth ? 5 : 200;
    if (epochs < 1)
        goto usage;
    gcn_set_threads(threads);
    const double t0 = now_seconds();
    struct graph *g = synth ? synthetic_graph((int)sn, se, (int)sf, 1) : load_graph(data);
    if (!g)
        return 1;
    const double build = now_seconds() - t0;
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
    if (json)
        printf("{\"graph\":\"%s\",\"nodes\":%d,\"edges\":%lld,\"features\":%d,\"hidden\":%d,"
               "\"classes\":%d,\"threads\":%d,\"epochs\":%d,\"seconds_per_step_median\":%.6f,"
               "\"seconds_per_epoch_median\":%.6f,\"seconds_per_epoch_mean\":%.6f,"
               "\"seconds_total\":%.4f,\"build_seconds\":%.3f,\"test_accuracy\":%.4f,"
               "\"peak_rss_mib\":%.1f}\n",
               g->name, g->nnodes, (long long)g->nedges, g->nfeatures, hidden, g->nclasses,
               threads, res.epochs, step, median, mean, res.seconds, build,
               isnan(res.test_acc) ? -1.0 : res.test_acc, rss / 1024.0);
    else
        printf("%s: %d nodes, %lld edges, %d features, hidden %d, %d threads\n"
               "  graph built in %.3f s\n"
               "  %d epochs in %.4f s: %.6f s per epoch (median %.6f), of which the training\n"
               "  step (forward, backward, Adam) %.6f s (median), the rest validation\n"
               "  peak memory %.1f MiB\n",
               g->name, g->nnodes, (long long)g->nedges, g->nfeatures, hidden, threads, build,
               res.epochs, res.seconds, mean, median, step, rss / 1024.0);
    free(bt.epoch);
    free(bt.step);
    gcn_free(m);
    graph_free(g);
    return 0;
usage:
    fprintf(stderr, "usage: inspectd bench gcn (--data DIR | --synthetic NODES,EDGES,FEATURES)\n"
                    "         [--hidden N (default 32)] [--epochs N (default 200 on a folder, "
                    "5 synthetic)]\n         [--threads N] [--json]\n"
                    "  times full-batch training epochs (forward, backward, Adam, validation)\n");
    return 2;
}
