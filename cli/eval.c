/* eval: `inspectd eval anogan`, detection quality of a model on labelled images: AUROC, average
 * precision, F1 at the model's stored threshold and time per image, as one JSON line on stdout.
 * --plot DIR adds a score histogram and the ROC curve as PNGs; --scores FILE the per-image
 * scores as CSV. The search is resolved as the daemon resolves a request's
 * (anogan_search_resolve), so eval measures what the daemon serves. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "common.h"
#include "dataset.h"
#include "options.h"
#include "ops.h"
#include "plot.h"
#include "roc.h"
#include "train.h"

struct eval_args {
    struct dataset_options data;
    const char *model, *normal, *anomalous, *plot, *scores, *precision;
    struct anogan_search_layer search;
    int batch, threads;
    float threshold;
};

#define A struct eval_args
static const struct cli_option options[] = {
    {"--model", NULL, CLI_ARG, CLI_AT(A, model), .value_name = "FILE", .required = true,
     .help = "AnoGAN model (.safetensors)"},
    CLI_DATA_OPTIONS(A, data),
    {"--normal", NULL, CLI_ARG, CLI_AT(A, normal), .value_name = "A,B", .required = true,
     .help = "classes that are normal (e.g. 7,8)"},
    {"--anomalous", NULL, CLI_ARG, CLI_AT(A, anomalous), .value_name = "C,D",
     .def = "every other class", .help = "classes that are anomalous"},
    CLI_SEARCH_OPTIONS(A, search),
    {"--threshold", NULL, CLI_FLOAT, CLI_AT(A, threshold), 0, -1e30, 1e30, .value_name = "T",
     .def = "the model's calibrated threshold", .help = "F1 at T"},
    {"--batch", NULL, CLI_INT, CLI_AT(A, batch), 0, 1, 4096, .help = "images searched together"},
    {"--threads", "INSPECTD_THREADS", CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "all cores", .help = "BLAS threads"},
    CLI_PRECISION_OPTION(A, precision, CLI_ARG),
    {"--plot", NULL, CLI_ARG, CLI_AT(A, plot), .value_name = "DIR",
     .help = "write DIR/histogram.png and DIR/roc.png"},
    {"--scores", NULL, CLI_ARG, CLI_AT(A, scores), .value_name = "FILE",
     .help = "write per-image scores (source index, label, fused score, AnoGAN pieces, each "
             "detector) as CSV"},
};
#undef A

static const struct cli_command eval_command = {
    .name = "eval anogan",
    .usage = "--model FILE --data PATH --normal A,B [options]",
    .about = "Scores every selected image as POST /score would with the same settings; the\n"
             "random start of image i (its index in the source, in file order) is seeded by i,\n"
             "as `inspectd score --seed 0` seeds the i-th file it is given.\n",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
    .footer = "prints {\"auroc\",\"average_precision\",\"f1\",\"ms_per_image\",\"n\",...,"
              "\"settings\"}\n",
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
    json_fput_string(stdout, a->model);
    printf(",\"search\":\"%s\",\"iterations\":%d,\"lr\":%g,\"patience\":%d,\"tol\":%g,"
           "\"batch\":%d,\"threads\":%d,\"arithmetic\":\"%s\",\"normal\":",
           anogan_init_name(s->init), s->iterations, s->lr, s->patience, s->tol, a->batch,
           ops_get_threads(), ops_precision_name(ops_get_precision()));
    json_fput_string(stdout, a->normal);
    printf(",\"anomalous\":");
    json_fput_string(stdout, a->anomalous ? a->anomalous : "(all others)");
    printf(",\"data\":");
    json_fput_string(stdout, ds->description);
    printf(",\"threshold_from\":\"%s\"}}\n",
           !isnan(a->threshold) ? "option" : m->cal.present ? "model" : "none");
    fflush(stdout);
}

int cmd_eval_anogan(int argc, char **argv)
{
    struct eval_args a = {.batch = 16, .threshold = NAN};
    switch (cli_parse(&eval_command, &a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    if (cli_set_compute("eval", a.threads, a.precision))
        return 1;
    int rc = 1;
    struct anogan *m = NULL;
    struct dataset ds = {0};
    struct detect_result *res = NULL;
    float *scores = NULL;
    int *labels = NULL;
    char classes[1024];
    if (anogan_load(&m, a.model)) {
        fprintf(stderr, "inspectd eval: %s\n", status_message());
        goto done;
    }
    struct anogan_search s;
    if (anogan_search_resolve(&s, NULL, m, &a.search, NULL)) {
        fprintf(stderr, "inspectd eval: %s\n", status_message());
        goto done;
    }
    if (a.anomalous)
        snprintf(classes, sizeof classes, "%s,%s", a.normal, a.anomalous);
    a.data.classes = a.anomalous ? classes : NULL; /* NULL: every class, the others anomalous */
    if (cli_load_data(&ds, &a.data, m))
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
    cli_catch_signals(&cli_cancel);
    double seconds = 0;
    struct cli_progress prog;
    cli_progress_init(&prog, stderr);
    enum status st = train_score_dataset(res, m, &ds, &s, a.batch, &seconds, &cli_cancel,
                                         cli_score_progress, &prog);
    cli_progress_end(&prog);
    if (st) {
        fprintf(stderr, "inspectd eval: %s\n", status_message());
        goto done;
    }
    double iters = 0;
    for (size_t i = 0; i < ds.count; i++) {
        scores[i] = res[i].score;
        iters += res[i].gan.iterations;
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
            fprintf(f, "source,class,anomalous,score,residual,discrimination,iterations");
            for (int p = 0; p < DETECT_NPARTS; p++)
                if (detect_has_part(m, (enum detect_part)p))
                    fprintf(f, ",%s", detect_part_name((enum detect_part)p));
            fputc('\n', f);
            for (size_t i = 0; i < ds.count; i++) {
                fprintf(f, "%zu,%s,%d,%.9g,%.9g,%.9g,%d", ds.source[i],
                        ds.class_names[ds.labels[i]], labels[i], res[i].score, res[i].gan.residual,
                        res[i].gan.discrimination, res[i].gan.iterations);
                for (int p = 0; p < DETECT_NPARTS; p++)
                    if (detect_has_part(m, (enum detect_part)p))
                        fprintf(f, ",%.9g", res[i].part[p]);
                fputc('\n', f);
            }
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
