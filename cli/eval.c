/* cmd_eval: `inspectd eval anogan`, detection quality of a model on labelled images: AUROC,
 * average precision, F1 at the model's stored threshold and time per image, as one JSON line on
 * stdout. --plot DIR adds a score histogram and the ROC curve as PNGs; --scores FILE the
 * per-image scores as CSV. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "dataset.h"
#include "ops.h"
#include "plot.h"
#include "roc.h"
#include "train.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: inspectd eval anogan --model FILE --data PATH --normal A,B [options]\n"
               "  --model FILE        AnoGAN model (.safetensors)\n");
    train_cli_data_usage(f);
    fprintf(f,
            "  --normal A,B        classes that are normal (e.g. 7,8)\n"
            "  --anomalous C,D     classes that are anomalous (default: every other class)\n"
            "  --search MODE       random | encoder (default: the daemon's default for the model)\n"
            "  --iterations K      search steps (default: the daemon's)\n"
            "  --lr LR             search learning rate (default: the daemon's)\n"
            "  --patience N --tol T  early stop (default: the daemon's)\n"
            "  --threshold T       F1 at T instead of the model's calibrated threshold\n"
            "  --batch N           images searched together (default 16)\n"
            "  --threads N         BLAS threads\n"
            "  --precision P       fp32 (default) or bf16 (oneDNN; see docs/benchmarks.md)\n"
            "  --plot DIR          write DIR/histogram.png and DIR/roc.png\n"
            "  --scores FILE       write per-image scores (source index, label, score) as CSV\n"
            "prints {\"auroc\",\"average_precision\",\"f1\",\"ms_per_image\",\"n\",...,\"settings\"}\n");
}

enum {
    O_MODEL = 256, O_NORMAL, O_ANOM, O_SEARCH, O_ITER, O_LR, O_PATIENCE, O_TOL, O_THRESH,
    O_BATCH, O_THREADS, O_PLOT, O_SCORES, O_HELP, O_DATA, O_PRECISION
};

static const struct option options[] = {
    {"model", 1, 0, O_MODEL}, {"normal", 1, 0, O_NORMAL}, {"anomalous", 1, 0, O_ANOM},
    {"search", 1, 0, O_SEARCH}, {"iterations", 1, 0, O_ITER}, {"lr", 1, 0, O_LR},
    {"patience", 1, 0, O_PATIENCE}, {"tol", 1, 0, O_TOL}, {"threshold", 1, 0, O_THRESH},
    {"batch", 1, 0, O_BATCH}, {"threads", 1, 0, O_THREADS}, {"plot", 1, 0, O_PLOT},
    {"scores", 1, 0, O_SCORES}, {"help", 0, 0, O_HELP}, {"data", 1, 0, O_DATA},
    {"split", 1, 0, O_DATA}, {"range", 1, 0, O_DATA}, {"limit", 1, 0, O_DATA},
    {"precision", 1, 0, O_PRECISION}, {0, 0, 0, 0}};

struct eval_args {
    struct dataset_options data;
    const char *model, *normal, *anomalous, *search, *plot, *scores;
    int iterations, patience, batch, threads;
    float lr, tol, threshold;
};

/* True if name is in the comma-separated list. */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        p = q ? q + 1 : p + len;
    }
    return false;
}

static int parse(struct eval_args *a, int argc, char **argv)
{
    a->iterations = a->patience = -1;
    a->batch = 16;
    a->lr = a->tol = -1;
    a->threshold = NAN;
    int o, idx;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", options, &idx)) != -1) {
        int bad = 0;
        switch (o) {
        case O_MODEL: a->model = optarg; break;
        case O_NORMAL: a->normal = optarg; break;
        case O_ANOM: a->anomalous = optarg; break;
        case O_SEARCH: a->search = optarg; bad = anogan_init_parse(optarg) < 0; break;
        case O_ITER: bad = train_cli_int(optarg, 0, 1000000, &a->iterations); break;
        case O_LR: bad = train_cli_float(optarg, 1e-12, 1e6, &a->lr); break;
        case O_PATIENCE: bad = train_cli_int(optarg, 0, 1000000, &a->patience); break;
        case O_TOL: bad = train_cli_float(optarg, 0, 1, &a->tol); break;
        case O_THRESH: bad = train_cli_float(optarg, -1e30, 1e30, &a->threshold); break;
        case O_BATCH: bad = train_cli_int(optarg, 1, 4096, &a->batch); break;
        case O_THREADS: bad = train_cli_int(optarg, 1, 1024, &a->threads); break;
        case O_PLOT: a->plot = optarg; break;
        case O_SCORES: a->scores = optarg; break;
        case O_HELP: usage(stdout); return 0;
        case O_PRECISION: {
            int rc = train_cli_precision("eval", optarg);
            if (rc)
                return rc;
            break;
        }
        case O_DATA:
            if (train_cli_data_option(&a->data, options[idx].name, optarg) < 0)
                return 2;
            break;
        default: usage(stderr); return 2;
        }
        if (bad) {
            fprintf(stderr, "inspectd eval: bad value '%s' for --%s\n", optarg, options[idx].name);
            return 2;
        }
    }
    if (optind < argc || !a->model || !a->data.path || !a->normal) {
        fprintf(stderr, "inspectd eval: --model, --data and --normal are required\n");
        usage(stderr);
        return 2;
    }
    if (a->threads)
        ops_set_threads(a->threads);
    return -1;
}

static int write_plots(const char *dir, const float *scores, const int *labels, size_t n,
                       float threshold, double auroc, const char *model)
{
    if (mkdir(dir, 0777) && errno != EEXIST) {
        fprintf(stderr, "inspectd eval: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char path[4096], title[128];
    struct image img = {0};
    double *fpr = NULL, *tpr = NULL;
    size_t np;
    snprintf(title, sizeof title, "%.40s SCORES", model);
    enum status st = plot_histogram(&img, scores, labels, n, threshold, title);
    snprintf(path, sizeof path, "%s/histogram.png", dir);
    if (!st)
        st = image_save_png(&img, path);
    image_free(&img);
    if (!st)
        st = roc_curve(&fpr, &tpr, &np, scores, labels, n);
    if (!st) {
        double of = NAN, ot = NAN;
        if (isfinite(threshold)) {
            struct roc_counts c = roc_count_at(scores, labels, n, threshold);
            of = c.fp + c.tn ? (double)c.fp / (double)(c.fp + c.tn) : 0;
            ot = roc_recall(c);
        }
        snprintf(title, sizeof title, "ROC  AUROC %.4f", auroc);
        st = plot_roc(&img, fpr, tpr, np, of, ot, title);
    }
    snprintf(path, sizeof path, "%s/roc.png", dir);
    if (!st)
        st = image_save_png(&img, path);
    image_free(&img);
    free(fpr);
    free(tpr);
    if (st) {
        fprintf(stderr, "inspectd eval: plots: %s\n", status_message());
        return 1;
    }
    fprintf(stderr, "wrote %s/histogram.png and %s/roc.png\n", dir, dir);
    return 0;
}

static void print_result(const struct eval_args *a, const struct anogan *m,
                         const struct dataset *ds, const struct anogan_search *s,
                         const float *scores, const int *labels, double seconds,
                         double mean_iter, float threshold)
{
    size_t n = ds->count, npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += labels[i] != 0;
    double auroc = roc_auroc(scores, labels, n), ap = roc_average_precision(scores, labels, n);
    printf("{\"auroc\":");
    isfinite(auroc) ? printf("%.4f", auroc) : printf("null");
    printf(",\"average_precision\":");
    isfinite(ap) ? printf("%.4f", ap) : printf("null");
    if (isfinite(threshold)) {
        struct roc_counts c = roc_count_at(scores, labels, n, threshold);
        printf(",\"f1\":%.4f,\"precision\":%.4f,\"recall\":%.4f,\"threshold\":%.6g",
               roc_f1(c), roc_precision(c), roc_recall(c), threshold);
    } else {
        printf(",\"f1\":null,\"threshold\":null");
    }
    printf(",\"ms_per_image\":%.3f,\"n\":%zu,\"n_normal\":%zu,\"n_anomalous\":%zu,"
           "\"mean_iterations\":%.2f,\"seconds\":%.3f,\"settings\":{\"model\":",
           1e3 * seconds / (double)n, n, n - npos, npos, mean_iter, seconds);
    train_cli_json_string(stdout, a->model);
    printf(",\"search\":\"%s\",\"iterations\":%d,\"lr\":%g,\"patience\":%d,\"tol\":%g,"
           "\"batch\":%d,\"threads\":%d,\"arithmetic\":\"%s\",\"normal\":",
           anogan_init_name(s->init), s->iterations, s->lr, s->patience, s->tol, a->batch,
           ops_get_threads(), ops_precision_name(ops_get_precision()));
    train_cli_json_string(stdout, a->normal);
    printf(",\"anomalous\":");
    train_cli_json_string(stdout, a->anomalous ? a->anomalous : "(all others)");
    printf(",\"data\":");
    train_cli_json_string(stdout, ds->description);
    printf(",\"threshold_from\":\"%s\"}}\n",
           !isnan(a->threshold) ? "option" : m->cal.present ? "model" : "none");
    fflush(stdout);
}

int cmd_eval_anogan(int argc, char **argv)
{
    struct eval_args a = {0};
    int rc = parse(&a, argc, argv);
    if (rc >= 0)
        return rc;
    rc = 1;
    struct anogan *m = NULL;
    struct dataset ds = {0};
    struct anogan_result *res = NULL;
    float *scores = NULL;
    int *labels = NULL;
    char classes[1024];
    if (anogan_load(&m, a.model)) {
        fprintf(stderr, "inspectd eval: %s\n", status_message());
        goto done;
    }
    struct anogan_search s = anogan_search_default(m);
    if (a.search)
        s.init = (enum anogan_init)anogan_init_parse(a.search);
    if (a.iterations >= 0)
        s.iterations = a.iterations;
    if (a.lr > 0)
        s.lr = a.lr;
    if (a.patience >= 0)
        s.patience = a.patience;
    if (a.tol >= 0)
        s.tol = a.tol;
    if (a.anomalous)
        snprintf(classes, sizeof classes, "%s,%s", a.normal, a.anomalous);
    a.data.classes = a.anomalous ? classes : NULL; /* NULL: every class, the others anomalous */
    if (train_cli_load(&ds, &a.data, m))
        goto done;
    if (!ds.labelled) {
        fprintf(stderr, "inspectd eval: %s has no labels: cannot tell normal from anomalous\n",
                a.data.path);
        goto done;
    }
    for (const char *p = a.normal; *p;) { /* every normal class must exist */
        char name[128];
        size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)(len < 127 ? len : 127), p);
        if (dataset_class_id(&ds, name) < 0) {
            fprintf(stderr, "inspectd eval: no class '%s' in %s\n", name, a.data.path);
            goto done;
        }
        p += len + (p[len] == ',');
    }
    res = malloc(ds.count * sizeof *res);
    scores = malloc(ds.count * sizeof *scores);
    labels = malloc(ds.count * sizeof *labels);
    if (!res || !scores || !labels) {
        fprintf(stderr, "inspectd eval: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < ds.count; i++)
        labels[i] = !in_list(a.normal, ds.class_names[ds.labels[i]]);
    fprintf(stderr, "scoring %zu images (search %s, %d steps, lr %g, batch %d, %s)\n", ds.count,
            anogan_init_name(s.init), s.iterations, s.lr, a.batch,
            ops_precision_name(ops_get_precision()));
    train_cli_catch_signals(&train_cli_cancel);
    double seconds = 0;
    struct train_cli_progress prog;
    train_cli_progress_init(&prog, stderr);
    enum status st = train_score_dataset(res, m, &ds, &s, a.batch, &seconds, &train_cli_cancel,
                                         train_cli_score_progress, &prog);
    train_cli_progress_end(&prog);
    if (st) {
        fprintf(stderr, "inspectd eval: %s\n", status_message());
        goto done;
    }
    double iters = 0;
    for (size_t i = 0; i < ds.count; i++) {
        scores[i] = res[i].score;
        iters += res[i].iterations;
    }
    float threshold = !isnan(a.threshold) ? a.threshold : m->cal.present ? m->cal.threshold : NAN;
    print_result(&a, m, &ds, &s, scores, labels, seconds, iters / (double)ds.count, threshold);
    rc = 0;
    if (a.scores) {
        FILE *f = fopen(a.scores, "w");
        if (!f) {
            perror(a.scores);
            rc = 1;
        } else {
            fprintf(f, "source,class,anomalous,score,residual,discrimination,iterations\n");
            for (size_t i = 0; i < ds.count; i++)
                fprintf(f, "%zu,%s,%d,%.9g,%.9g,%.9g,%d\n", ds.source[i],
                        ds.class_names[ds.labels[i]], labels[i], res[i].score, res[i].residual,
                        res[i].discrimination, res[i].iterations);
            fclose(f);
        }
    }
    if (a.plot && write_plots(a.plot, scores, labels, ds.count, threshold,
                              roc_auroc(scores, labels, ds.count), m->name))
        rc = 1;
done:
    free(res);
    free(scores);
    free(labels);
    dataset_free(&ds);
    anogan_free(m);
    return rc;
}
