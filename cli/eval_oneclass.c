/* eval oneclass: the one-class benchmark (Deep SVDD / GEOM protocol): each class normal in turn,
 * every other class anomalous. For each class it trains a model on the class's images with the
 * same phases as `inspectd train anogan` (cli/pipeline.c), scores every test image with every
 * part, and reports the AUROC of each part, of the fused score, and of two baselines computed
 * here on the same split: PCA with 40 components (squared reconstruction error) and the
 * Euclidean distance to the nearest training image (1-NN), both on the raw pixels in [0, 1].
 *
 * Protocols, chosen by what --data holds:
 *  - one IDX pair (shared/datasets/mnist): train on the class's images of the first half, test
 *    on every image of the second half;
 *  - a train and a test pair (Fashion-MNIST): train on the first --train-limit (2000) images of
 *    the class in the training split, test on all test images. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bank.h"
#include "cli.h"
#include "clock.h"
#include "common.h"
#include "dataset.h"
#include "idx.h"
#include "options.h"
#include "ops.h"
#include "pca.h"
#include "pipeline.h"
#include "roc.h"
#include "train.h"

struct oc_args {
    const char *data, *classes, *models, *scores, *precision, *init;
    size_t train_limit, test_limit;
    bool train_limit_set, json, retrain_parts, epochs_set, encoder_epochs_set;
    int threads, epochs, encoder_epochs, pca_components;
    uint64_t seed;
    float holdout;
    struct pipeline_recipe recipe;
};

#define A struct oc_args
static const struct cli_option options[] = {
    {"--data", NULL, CLI_ARG, CLI_AT(A, data), .value_name = "PATH", .required = true,
     .help = "a folder with one labelled IDX pair (first half trains, second half tests) or a "
             "train and a test pair (Fashion-MNIST: train-*, t10k-*)"},
    {"--class", NULL, CLI_ARG, CLI_AT(A, classes), .value_name = "K", .required = true,
     .help = "the normal class, a comma-separated list, or all"},
    {"--train-limit", NULL, CLI_SIZE, CLI_AT(A, train_limit), CLI_SET(A, train_limit_set), 1,
     1 << 30, .value_name = "N", .def = "2000 with a train/test pair, all with halves",
     .help = "train on the first N images of the class"},
    {"--test-limit", NULL, CLI_SIZE, CLI_AT(A, test_limit), 0, 1, 1 << 30, .value_name = "N",
     .def = "all", .help = "test on the first N test images only (a quick check, not the protocol)"},
    {"--json", NULL, CLI_FLAG, CLI_AT(A, json),
     .help = "one JSON line per class on stdout instead of the table"},
    {"--models", NULL, CLI_ARG, CLI_AT(A, models), .value_name = "DIR",
     .help = "keep each class's model as DIR/<data>-class-K.safetensors, and use a model found "
             "there instead of training it"},
    {"--retrain-parts", NULL, CLI_FLAG, CLI_AT(A, retrain_parts),
     .help = "with --models: keep a found model's GAN and encoder, train its detectors again"},
    {"--scores", NULL, CLI_ARG, CLI_AT(A, scores), .value_name = "DIR",
     .help = "write DIR/<data>-class-K.csv: every part's score for each held-out and test image"},
    {"--epochs", NULL, CLI_INT, CLI_AT(A, epochs), CLI_SET(A, epochs_set), 1, 1000000,
     .def = "by data size (train anogan's)", .help = "GAN epochs"},
    {"--encoder-epochs", NULL, CLI_INT, CLI_AT(A, encoder_epochs),
     CLI_SET(A, encoder_epochs_set), 0, 1000000, .def = "by data size",
     .help = "encoder epochs (0: none)"},
    {"--holdout", NULL, CLI_FLOAT, CLI_AT(A, holdout), 0, 0.01, 0.9, .value_name = "F",
     .help = "share of the class's training images held out (early stopping, standardisation, "
             "threshold)"},
    {"--pca", NULL, CLI_INT, CLI_AT(A, pca_components), 0, 1, 1000,
     .help = "components of the PCA baseline"},
    {"--seed", NULL, CLI_U64, CLI_AT(A, seed), .help = "training and hold-out choice"},
    {"--threads", "INSPECTD_THREADS", CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "all cores", .help = "BLAS threads"},
    CLI_PRECISION_OPTION(A, precision, CLI_ARG),
    CLI_RECIPE_OPTIONS(A, recipe),
};
#undef A

static const struct cli_command oneclass_command = {
    .name = "eval oneclass",
    .usage = "--data PATH --class K|all [options]",
    .about = "Trains a model per normal class as `inspectd train anogan` does, and reports the\n"
             "AUROC of every detector, of the fused score and of PCA and 1-NN baselines on the\n"
             "same split, with the time of each phase.\n",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
    .footer = "--json prints {\"class\",\"auroc\":{\"fused\",\"anogan\",\"transform\",\"knn\",...,"
              "\"pca40\",\"nn1\"},\"seconds\":{...}} per class\n",
};

/* The data the protocol needs, loaded once for every class. */
struct protocol {
    bool halves;            /* one pair split in halves, else train/test pairs */
    char name[64];          /* base name of --data, for file names */
    struct anogan_config arch; /* the models' architecture and preprocessing */
    struct anogan_config raw;  /* raw pixels in [0, 1] at the images' own size */
    struct dataset test, test_raw;
};

static int load_protocol(struct protocol *p, const struct oc_args *a)
{
    /* a folder with one pair answers both splits with it (idx_find_pair): halves then */
    char img[4096], lab[4096], img_tr[4096], lab_tr[4096];
    p->halves = idx_find_pair(a->data, "test", img, sizeof img, lab, sizeof lab) != STATUS_OK ||
                idx_find_pair(a->data, "train", img_tr, sizeof img_tr, lab_tr, sizeof lab_tr) !=
                    STATUS_OK ||
                !strcmp(img, img_tr);
    const char *base = strrchr(a->data, '/');
    base = base && base[1] ? base + 1 : a->data;
    snprintf(p->name, sizeof p->name, "%s", base);
    char *slash = strchr(p->name, '/');
    if (slash)
        *slash = 0;
    p->arch = anogan_config_seed();
    p->arch.mean = p->arch.std = 0.5f;
    struct anogan shell = {.cfg = p->arch};
    struct dataset_options o = {.path = a->data, .split = p->halves ? NULL : "test",
                                .limit = a->test_limit};
    if (p->halves)
        dataset_parse_range(&o.range, "50%:");
    if (cli_load_data(&p->test, &o, &shell))
        return 1;
    if (!p->test.labelled) {
        fprintf(stderr, "inspectd eval oneclass: %s has no labels\n", a->data);
        return 1;
    }
    /* the baselines see the pixels as scikit-learn does: the images' own size, in [0, 1] (a
     * bicubic resize to the same size is the identity) */
    p->raw = p->arch;
    p->raw.mean = 0;
    p->raw.std = 1;
    bool square = p->test.min_w == p->test.max_w && p->test.min_h == p->test.max_h &&
                  p->test.min_w == p->test.min_h;
    p->raw.image_size = square ? p->test.min_w : 32;
    shell.cfg = p->raw;
    return cli_load_data(&p->test_raw, &o, &shell);
}

static void free_protocol(struct protocol *p)
{
    dataset_free(&p->test);
    dataset_free(&p->test_raw);
}

/* One class's results. */
struct oc_result {
    const char *cls;
    size_t ntrain, nhold, ntest;
    double auroc[DETECT_NPARTS], fused, pca, nn1;
    bool has[DETECT_NPARTS], reused;
    struct pipeline_times t;
    double score_s, baseline_s;
};

static int train_or_load(struct anogan **m, const struct oc_args *a, const struct protocol *p,
                         const char *cls, const struct dataset *train, const struct dataset *hold,
                         struct oc_result *r, struct cli_progress *prog)
{
    char path[4200] = "";
    if (a->models)
        snprintf(path, sizeof path, "%s/%s-class-%s.safetensors", a->models, p->name, cls);
    struct stat sb;
    struct train_state state;
    train_state_init(&state, a->seed);
    struct train_config cfg = train_config_default();
    cfg.seed = a->seed;
    cfg.checkpoint_every = 0;
    cfg.epochs = a->epochs_set ? a->epochs : 0;
    cfg.encoder_epochs = a->encoder_epochs_set ? a->encoder_epochs : -1;
    char what[200];
    snprintf(what, sizeof what, "%zu held out of class %s of %s", hold->count, cls, p->name);
    struct pipeline pl = {.cfg = &cfg,
                          .parts = pipeline_recipe_has_parts(&a->recipe) ? &a->recipe.parts : NULL,
                          .percentile = 99, .what = what, .cmd = "eval oneclass", .prog = prog};
    int rc = 1;
    if (path[0] && stat(path, &sb) == 0) {
        if (anogan_load(m, path)) {
            fprintf(stderr, "inspectd eval oneclass: %s\n", status_message());
            goto done;
        }
        r->reused = true;
        fprintf(stderr, "class %s: model %s%s\n", cls, path,
                a->retrain_parts ? " (its detectors trained again)" : "");
        if (!a->retrain_parts) {
            rc = 0;
            goto done;
        }
        state.phase = TRAIN_PHASE_DONE;
    } else if (pipeline_new_model(m, &p->arch, a->seed, a->init)) {
        goto done;
    }
    if (pipeline_run(*m, &state, train, hold, &pl, &r->t))
        goto done;
    snprintf((*m)->name, sizeof (*m)->name, "%.40s-class-%.16s", p->name, cls);
    snprintf((*m)->trained, sizeof (*m)->trained,
             "inspectd eval oneclass: %zu images of class %s of %.100s, %d GAN epochs, %d encoder "
             "epochs, seed %llu", train->count, cls, a->data, cfg.epochs, cfg.encoder_epochs,
             (unsigned long long)a->seed);
    if (path[0] && anogan_save(*m, path)) {
        fprintf(stderr, "inspectd eval oneclass: %s\n", status_message());
        goto done;
    }
    rc = 0;
done:
    train_state_free(&state);
    return rc;
}

/* The baselines on raw pixels: PCA reconstruction error and 1-NN distance to the training
 * images (train: the class's training images, all of them). */
static int baselines(struct oc_result *r, const struct oc_args *a, const struct dataset *train,
                     const struct dataset *test, const int *labels, float *scores)
{
    int n = (int)train->count, dim = (int)train->image_floats;
    struct pca pc = {0};
    struct bank b = {0};
    int k = a->pca_components < n - 1 ? a->pca_components : n - 1;
    if (pca_fit(&pc, train->x, n, dim, k)) {
        fprintf(stderr, "inspectd eval oneclass: PCA: %s\n", status_message());
        return 1;
    }
    pca_error(&pc, test->x, (int)test->count, scores);
    r->pca = roc_auroc(scores, labels, test->count);
    pca_free(&pc);
    if (bank_build(&b, train->x, n, dim, BANK_METRIC_L2, 1, 0, 0)) {
        fprintf(stderr, "inspectd eval oneclass: 1-NN: %s\n", status_message());
        return 1;
    }
    enum { CHUNK = 256 };
    float *work = malloc(bank_work_size(&b, CHUNK) * sizeof(float));
    if (!work) {
        bank_free(&b);
        fprintf(stderr, "inspectd eval oneclass: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < test->count; i += CHUNK) {
        int B = test->count - i < CHUNK ? (int)(test->count - i) : CHUNK;
        bank_score(&b, test->x + i * test->image_floats, B, scores + i, work);
    }
    r->nn1 = roc_auroc(scores, labels, test->count);
    free(work);
    bank_free(&b);
    return 0;
}

static void write_scores_csv(FILE *f, const char *split, const struct detect_result *res,
                             const int *labels, size_t n, const struct anogan *m)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s,%d,%.9g", split, labels ? labels[i] : 0, res[i].score);
        for (int p = 0; p < DETECT_NPARTS; p++)
            if (detect_has_part(m, (enum detect_part)p))
                fprintf(f, ",%.9g", res[i].part[p]);
        fputc('\n', f);
    }
}

static int run_class(const struct oc_args *a, const struct protocol *p, const char *cls,
                     struct oc_result *r, struct cli_progress *prog)
{
    memset(r, 0, sizeof *r);
    r->cls = cls;
    struct dataset_options o = {.path = a->data, .split = p->halves ? NULL : "train",
                                .classes = cls};
    if (p->halves)
        dataset_parse_range(&o.range, "0:50%");
    o.limit = a->train_limit_set ? a->train_limit : p->halves ? 0 : 2000;
    struct anogan shell = {.cfg = p->arch}, shell_raw = {.cfg = p->raw};
    struct dataset all = {0}, train = {0}, hold = {0}, all_raw = {0};
    struct anogan *m = NULL;
    struct detect_result *res = NULL, *hres = NULL;
    float *scores = NULL;
    int *labels = NULL, rc = 1;
    fprintf(stderr, "\n== class %s\n", cls);
    if (cli_load_data(&all, &o, &shell) || cli_load_data(&all_raw, &o, &shell_raw))
        goto done;
    if (dataset_split(&train, &hold, &all, a->holdout, a->seed)) {
        fprintf(stderr, "inspectd eval oneclass: %s\n", status_message());
        goto done;
    }
    r->ntrain = train.count;
    r->nhold = hold.count;
    r->ntest = p->test.count;
    if (train_or_load(&m, a, p, cls, &train, &hold, r, prog))
        goto done;
    size_t n = p->test.count;
    res = malloc(n * sizeof *res);
    hres = malloc(hold.count * sizeof *hres);
    scores = malloc(n * sizeof *scores);
    labels = malloc(n * sizeof *labels);
    if (!res || !hres || !scores || !labels) {
        fprintf(stderr, "inspectd eval oneclass: out of memory\n");
        goto done;
    }
    int ci = dataset_class_id(&p->test, cls);
    for (size_t i = 0; i < n; i++)
        labels[i] = p->test.labels[i] != ci;
    struct anogan_search search = anogan_search_default(m);
    double t0 = clock_now();
    if (train_score_dataset(res, m, &p->test, &search, 32, NULL, &cli_cancel, cli_score_progress,
                            prog)) {
        cli_progress_end(prog);
        fprintf(stderr, "inspectd eval oneclass: %s\n", status_message());
        goto done;
    }
    cli_progress_end(prog);
    r->score_s = clock_now() - t0;
    for (int q = 0; q < DETECT_NPARTS; q++) {
        if (!(r->has[q] = detect_has_part(m, (enum detect_part)q)))
            continue;
        for (size_t i = 0; i < n; i++)
            scores[i] = res[i].part[q];
        r->auroc[q] = roc_auroc(scores, labels, n);
    }
    for (size_t i = 0; i < n; i++)
        scores[i] = res[i].score;
    r->fused = roc_auroc(scores, labels, n);
    t0 = clock_now();
    if (baselines(r, a, &all_raw, &p->test_raw, labels, scores))
        goto done;
    r->baseline_s = clock_now() - t0;
    if (a->scores) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s-class-%s.csv", a->scores, p->name, cls);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            goto done;
        }
        if (train_score_dataset(hres, m, &hold, &search, 32, NULL, &cli_cancel, NULL, NULL)) {
            fclose(f);
            fprintf(stderr, "inspectd eval oneclass: %s\n", status_message());
            goto done;
        }
        fprintf(f, "split,label,score");
        for (int q = 0; q < DETECT_NPARTS; q++)
            if (r->has[q])
                fprintf(f, ",%s", detect_part_name((enum detect_part)q));
        fputc('\n', f);
        write_scores_csv(f, "ho", hres, NULL, hold.count, m);
        write_scores_csv(f, "te", res, labels, n, m);
        fclose(f);
    }
    rc = 0;
done:
    free(res);
    free(hres);
    free(scores);
    free(labels);
    anogan_free(m);
    dataset_free(&all);
    dataset_free(&all_raw);
    dataset_free(&train);
    dataset_free(&hold);
    return rc;
}

static void print_json(const struct oc_result *r, const struct protocol *p)
{
    printf("{\"data\":\"%s\",\"class\":", p->name);
    json_fput_string(stdout, r->cls);
    printf(",\"train\":%zu,\"holdout\":%zu,\"test\":%zu,\"auroc\":{\"fused\":%.4f", r->ntrain,
           r->nhold, r->ntest, r->fused);
    for (int q = 0; q < DETECT_NPARTS; q++)
        if (r->has[q])
            printf(",\"%s\":%.4f", detect_part_name((enum detect_part)q), r->auroc[q]);
    printf(",\"pca40\":%.4f,\"nn1\":%.4f},\"seconds\":{\"gan\":%.1f,\"encoder\":%.1f,"
           "\"transform\":%.1f,\"memory\":%.1f,\"fusion\":%.1f,\"calibration\":%.1f,"
           "\"training\":%.1f,\"scoring\":%.1f,\"baselines\":%.1f},\"reused\":%s}\n",
           r->pca, r->nn1, r->t.gan, r->t.encoder, r->t.transform, r->t.memory, r->t.fusion,
           r->t.calibration, pipeline_total(&r->t), r->score_s, r->baseline_s,
           r->reused ? "true" : "false");
    fflush(stdout);
}

static void print_table(const struct oc_result *rs, int n, const struct protocol *p)
{
    bool has[DETECT_NPARTS] = {false};
    for (int i = 0; i < n; i++)
        for (int q = 0; q < DETECT_NPARTS; q++)
            has[q] |= rs[i].has[q];
    printf("\n%s, one class normal in turn (AUROC)\n%-7s %7s", p->name, "class", "fused");
    for (int q = 0; q < DETECT_NPARTS; q++)
        if (has[q])
            printf(" %13s", detect_part_name((enum detect_part)q));
    printf(" %7s %7s %9s\n", "pca40", "nn1", "train s");
    double mean_f = 0, mean_p[DETECT_NPARTS] = {0}, mean_pca = 0, mean_nn = 0;
    for (int i = 0; i < n; i++) {
        const struct oc_result *r = &rs[i];
        printf("%-7s %7.4f", r->cls, r->fused);
        for (int q = 0; q < DETECT_NPARTS; q++)
            if (has[q])
                printf(" %13.4f", r->auroc[q]);
        printf(" %7.4f %7.4f %9.0f%s\n", r->pca, r->nn1, pipeline_total(&r->t),
               r->fused < fmax(r->pca, r->nn1) ? "  below a baseline" : "");
        mean_f += r->fused / n;
        for (int q = 0; q < DETECT_NPARTS; q++)
            mean_p[q] += r->auroc[q] / n;
        mean_pca += r->pca / n;
        mean_nn += r->nn1 / n;
    }
    if (n > 1) {
        printf("%-7s %7.4f", "mean", mean_f);
        for (int q = 0; q < DETECT_NPARTS; q++)
            if (has[q])
                printf(" %13.4f", mean_p[q]);
        printf(" %7.4f %7.4f\n", mean_pca, mean_nn);
    }
}

/* The classes to run: "all" is every class of the test data, in numeric order when the names
 * are numbers. names points into p or into list (a copy of --class the caller frees). */
static int class_list(const char **names, int max, char *list, const struct protocol *p)
{
    int n = 0;
    if (!strcmp(list, "all")) {
        for (int i = 0; i < p->test.nclasses && n < max; i++)
            names[n++] = p->test.class_names[i];
        for (int i = 1; i < n; i++) /* insertion sort by number, then by name */
            for (int j = i; j > 0 && (atof(names[j - 1]) > atof(names[j]) ||
                                      (atof(names[j - 1]) == atof(names[j]) &&
                                       strcmp(names[j - 1], names[j]) > 0));
                 j--) {
                const char *t = names[j];
                names[j] = names[j - 1];
                names[j - 1] = t;
            }
        return n;
    }
    for (char *s = strtok(list, ","); s && n < max; s = strtok(NULL, ","))
        names[n++] = s;
    return n;
}

/* mkdir -p: 0, or -1 with errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = buf + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(buf, 0755) && errno != EEXIST)
                return -1;
            if (!(*s = c))
                return 0;
        }
    }
}

int cmd_eval_oneclass(int argc, char **argv)
{
    struct oc_args a = {0};
    a.holdout = 0.1f;
    a.pca_components = 40;
    a.init = "pytorch";
    pipeline_recipe_init(&a.recipe);
    switch (cli_parse(&oneclass_command, &a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    if (pipeline_recipe_finish(&a.recipe, oneclass_command.name))
        return 2;
    if (a.retrain_parts && !a.models) {
        fprintf(stderr, "inspectd eval oneclass: --retrain-parts needs --models\n");
        return 2;
    }
    if (cli_set_compute("eval oneclass", a.threads, a.precision))
        return 1;
    const char *dirs[2] = {a.models, a.scores};
    for (int i = 0; i < 2; i++)
        if (dirs[i] && make_dirs(dirs[i])) {
            perror(dirs[i]);
            return 1;
        }
    struct protocol p = {0};
    if (load_protocol(&p, &a)) {
        free_protocol(&p);
        return 1;
    }
    char *list = strdup(a.classes);
    const char *names[DATASET_MAX_CLASSES];
    int n = list ? class_list(names, DATASET_MAX_CLASSES, list, &p) : 0;
    struct oc_result *rs = calloc((size_t)(n ? n : 1), sizeof *rs);
    int rc = list && rs && n > 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "inspectd eval oneclass: no class to run\n");
    fprintf(stderr, "%s: %s protocol, %zu test images, classes:", p.name,
            p.halves ? "halves" : "train/test", p.test.count);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %s", names[i]);
    fputc('\n', stderr);
    struct cli_progress prog;
    cli_progress_init(&prog, stderr);
    cli_catch_signals(&cli_cancel);
    int done = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (dataset_class_id(&p.test, names[i]) < 0) {
            fprintf(stderr, "inspectd eval oneclass: class %s is not in %s\n", names[i], a.data);
            rc = 1;
            break;
        }
        if (run_class(&a, &p, names[i], &rs[i], &prog)) {
            rc = 1;
            break;
        }
        done++;
        fprintf(stderr, "class %s: fused %.4f (pca40 %.4f, nn1 %.4f), trained in %.0f s, scored "
                "in %.0f s\n", names[i], rs[i].fused, rs[i].pca, rs[i].nn1,
                pipeline_total(&rs[i].t), rs[i].score_s);
        if (a.json)
            print_json(&rs[i], &p);
    }
    if (!a.json && done)
        print_table(rs, done, &p);
    free(rs);
    free(list);
    free_protocol(&p);
    return rc;
}
