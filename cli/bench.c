/* bench: `inspectd bench`, the speed of the latent search. For each batch size it times
 * whole search steps (G forward, D-features forward, both backward-data passes, Adam on z) and
 * prints milliseconds per image per step, achieved GFLOP/s and peak memory. --json prints the
 * keys the PyTorch peer prints (batch, s_per_step, ms_per_image_step, s_per_image_5000_steps), so
 * scripts/bench-peer.sh can set the two side by side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "anogan.h"
#include "detect.h"
#include <math.h>
#include "cli.h"
#include "clock.h"
#include "common.h"
#include "json_write.h"
#include "options.h"
#include "ops.h"
#include "parse.h"
#include "rng.h"

enum { MAX_BATCHES = 32 };

struct bench_args {
    const char *model, *precision;
    struct batch_list {
        int n, size[MAX_BATCHES];
    } batches;
    int steps, threads;
    bool json;
};

/* --batches 1,5,16,64: batch sizes in [1, 4096]. field: a struct batch_list. */
static enum status parse_batches(void *field, const char *name, const char *value)
{
    struct batch_list *l = field;
    char item[32];
    l->n = 0;
    for (const char *p = value;; p++) {
        size_t len = strcspn(p, ",");
        long long b;
        if (l->n == MAX_BATCHES)
            return status_fail(STATUS_RANGE, "%s: at most %d batch sizes", name, MAX_BATCHES);
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        enum status st = parse_int(&b, name, item, 1, 4096);
        if (st)
            return st;
        l->size[l->n++] = (int)b;
        p += len;
        if (!*p)
            return STATUS_OK;
    }
}

#define A struct bench_args
static const struct cli_option options[] = {
    {"--model", NULL, CLI_ARG, CLI_AT(A, model), .value_name = "FILE",
     .def = "random weights of the seed's size", .help = "AnoGAN model (.safetensors)"},
    {"--batches", NULL, CLI_CUSTOM, CLI_AT(A, batches), .parse = parse_batches,
     .value_name = "B1,B2,...", .def = "1,5,16,64", .help = "batch sizes to time"},
    {"--steps", NULL, CLI_INT, CLI_AT(A, steps), 0, 1, 1000000,
     .def = "about 60 image-steps, at least 5", .help = "timed search steps per batch size"},
    {"--threads", "INSPECTD_THREADS", CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "all cores", .help = "BLAS threads"},
    CLI_PRECISION_OPTION(A, precision, CLI_ARG),
    {"--json", NULL, CLI_FLAG, CLI_AT(A, json),
     .help = "one JSON line per batch size, with the keys of the PyTorch peer"},
};
#undef A

static const struct cli_command bench_command = {
    .name = "bench",
    .usage = "[options]",
    .about = "Times the latent search step per image (G fwd, D fwd, D bwd, G bwd, Adam).\n",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
};

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* dst = seconds per call of `call` over reps calls (after one warm-up call). */
#define TIME_REPS(dst, reps, call)                                                              \
    do {                                                                                        \
        call;                                                                                   \
        double t0_ = clock_now();                                                                   \
        for (int r_ = 0; r_ < (reps); r_++)                                                     \
            call;                                                                               \
        (dst) = (clock_now() - t0_) / (reps);                                                       \
    } while (0)

/* The default score of the model (what POST /score answers with no options): per image at
 * each batch size, split into the AnoGAN part (encoder start or search) and each detector. */
static int bench_default_score(struct anogan *m, const struct bench_args *a)
{
    const struct detect *d = m->det;
    struct anogan_search s = anogan_search_default(m);
    if (!a->json)
        printf("\ndefault score (%s start, %d steps) in ms per image: the whole score, then its "
               "parts timed alone\n%6s %8s %8s %10s %8s %11s %14s\n",
               anogan_init_name(s.init), s.iterations, "batch", "score", "anogan", "transform",
               "knn", "knn_pixels", "knn_transform");
    for (int k = 0; k < a->batches.n; k++) {
        int B = a->batches.size[k];
        size_t isz = anogan_image_size(m);
        float *x = malloc(isz * (size_t)B * sizeof(float));
        float *pooled = malloc(isz / 4 * (size_t)B * sizeof(float));
        float *feats = malloc((size_t)B * anogan_feature_size(m) * sizeof(float));
        float *dist = malloc((size_t)B * sizeof(float));
        uint64_t *seeds = calloc((size_t)B, sizeof(uint64_t));
        struct detect_result *res = malloc((size_t)B * sizeof *res);
        struct anogan_result *gres = malloc((size_t)B * sizeof *gres);
        struct geom_result *tres = malloc((size_t)B * sizeof *tres);
        struct detect_ctx *dc = detect_ctx_create(m, B);
        struct anogan_ctx *ac = anogan_ctx_create(m, B);
        struct geom_ctx *gc = d && d->geom ? geom_ctx_create(d->geom, B) : NULL;
        size_t work = 1;
        const struct bank *banks[3] = {d ? &d->knn : NULL, d ? &d->knn_pixels : NULL,
                                       d ? &d->knn_transform : NULL};
        for (int i = 0; i < 3; i++)
            if (banks[i] && banks[i]->n && bank_work_size(banks[i], B) > work)
                work = bank_work_size(banks[i], B);
        float *wk = malloc(work * sizeof(float));
        if (!x || !pooled || !feats || !dist || !seeds || !res || !gres || !tres || !dc || !ac ||
            !wk || (d && d->geom && !gc)) {
            fprintf(stderr, "inspectd bench: out of memory at batch %d\n", B);
            return 1;
        }
        struct rng r;
        rng_seed(&r, (uint64_t)B + 1000);
        rng_fill_uniform(&r, x, isz * (size_t)B, -1.0f, 1.0f);
        detect_pool_input(pooled, x, B, m->cfg.channels, m->cfg.image_size);
        anogan_features(ac, x, B, feats);
        int reps = 200 / B > 3 ? 200 / B : 3;
        double t[6] = {0};
        for (int i = 0; i < 6; i++)
            t[i] = NAN;
        TIME_REPS(t[0], reps, detect_score(dc, x, B, seeds, &s, res, NULL, NULL, NULL));
        TIME_REPS(t[1], reps, anogan_score(ac, x, B, seeds, &s, gres, NULL, NULL, NULL));
        if (gc)
            TIME_REPS(t[2], reps, geom_score(gc, pooled, B, tres, NULL, NULL));
        const float *q[3] = {feats, pooled, NULL};
        for (int i = 0; i < 3; i++)
            if (banks[i] && banks[i]->n && q[i])
                TIME_REPS(t[3 + i], reps, bank_score(banks[i], q[i], B, dist, wk));
        if (banks[2] && banks[2]->n && gc) { /* the classifier's features are its own pass */
            float *tf = malloc((size_t)B * (size_t)geom_feature_size(d->geom) * sizeof(float));
            geom_score(gc, pooled, B, tres, NULL, tf);
            TIME_REPS(t[5], reps, bank_score(banks[2], tf, B, dist, wk));
            free(tf);
        }
        if (a->json) {
            printf("{\"default_score\":{\"batch\":%d,\"ms_per_image\":%.4f,\"anogan\":%.4f", B,
                   1e3 * t[0] / B, 1e3 * t[1] / B);
            const char *names[4] = {"transform", "knn", "knn_pixels", "knn_transform"};
            for (int i = 0; i < 4; i++)
                if (!isnan(t[2 + i]))
                    printf(",\"%s\":%.4f", names[i], 1e3 * t[2 + i] / B);
            printf(",\"threads\":%d}}\n", ops_get_threads());
        } else {
            static const int width[6] = {8, 8, 10, 8, 11, 14};
            printf("%6d", B);
            for (int i = 0; i < 6; i++) {
                if (isnan(t[i]))
                    printf(" %*s", width[i], "-");
                else
                    printf(" %*.3f", width[i], 1e3 * t[i] / B);
            }
            printf("\n");
        }
        fflush(stdout);
        free(x), free(pooled), free(feats), free(dist), free(seeds), free(res), free(gres);
        free(tres), free(wk);
        detect_ctx_free(dc);
        anogan_ctx_free(ac);
        geom_ctx_free(gc);
    }
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    struct bench_args a = {.batches = {4, {1, 5, 16, 64}}};
    switch (cli_parse(&bench_command, &a, argc, argv, NULL, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    if (cli_set_compute("bench", a.threads, a.precision))
        return 1;
    const char *model_path = a.model;
    const bool json = a.json;
    struct anogan *m = NULL;
    enum status st;
    if (model_path) {
        st = anogan_load(&m, model_path);
    } else {
        struct anogan_config cfg = anogan_config_seed();
        st = anogan_create(&m, &cfg, 0);
    }
    if (st) {
        fprintf(stderr, "inspectd bench: %s\n", status_message());
        return 1;
    }
    /* per image and step: G and D-features forward, and the same again backward (data only) */
    double flops = 2 * (net_forward_flops(&m->g) + net_forward_flops(&m->d_feat));
    char compute[512];
    cli_describe_compute(compute, sizeof compute);
    if (!json)
        printf("%s\nlatent search step (G fwd, D fwd, D bwd, G bwd, Adam), %d BLAS threads, "
               "%.3f GFLOP per image-step\n%6s %12s %14s %10s %10s\n",
               compute, ops_get_threads(), flops / 1e9, "batch", "s/step", "ms/image-step",
               "GFLOP/s", "peak MB");
    int rc = 0;
    for (int k = 0; k < a.batches.n; k++) {
        int B = a.batches.size[k];
        size_t isz = anogan_image_size(m);
        float *x = malloc(isz * (size_t)B * sizeof(float));
        uint64_t *seeds = malloc((size_t)B * sizeof(uint64_t));
        struct anogan_result *res = malloc((size_t)B * sizeof *res);
        struct anogan_ctx *c = anogan_ctx_create(m, B);
        if (!x || !seeds || !res || !c) {
            fprintf(stderr, "inspectd bench: out of memory at batch %d\n", B);
            rc = 1;
            free(x), free(seeds), free(res), anogan_ctx_free(c);
            break;
        }
        struct rng r;
        rng_seed(&r, (uint64_t)B);
        rng_fill_normal(&r, x, isz * (size_t)B, 0.0f, 1.0f);
        for (int b = 0; b < B; b++)
            seeds[b] = (uint64_t)b;
        struct anogan_search s = anogan_search_seed();
        /* warm-up (3 steps), then about 60 image-steps and at least 5 steps, as the peer does */
        s.iterations = 3;
        anogan_score(c, x, B, seeds, &s, res, NULL, NULL, NULL);
        int steps = a.steps > 0 ? a.steps : (60 / B > 5 ? 60 / B : 5);
        /* time two searches that differ only in their step count, so the fixed cost (features
         * of x, the start, the final score) cancels out */
        s.iterations = 1;
        double t0 = clock_now();
        anogan_score(c, x, B, seeds, &s, res, NULL, NULL, NULL);
        double t1 = clock_now();
        s.iterations = 1 + steps;
        anogan_score(c, x, B, seeds, &s, res, NULL, NULL, NULL);
        double t2 = clock_now();
        double per_step = ((t2 - t1) - (t1 - t0)) / steps;
        if (per_step <= 0) /* timer noise on tiny runs: fall back to the plain average */
            per_step = (t2 - t1) / (1 + steps);
        double ms_img = 1e3 * per_step / B;
        if (json) {
            struct json_writer w;
            json_writer_init(&w);
            json_object_begin(&w);
            json_kv_int(&w, "batch", B);
            json_kv_fixed(&w, "s_per_step", per_step, 6);
            json_kv_fixed(&w, "ms_per_image_step", ms_img, 4);
            json_kv_fixed(&w, "s_per_image_5000_steps", 5000 * per_step / B, 3);
            json_kv_fixed(&w, "gflops", flops * B / per_step / 1e9, 2);
            json_kv_fixed(&w, "peak_rss_mb", peak_rss_mb(), 1);
            json_kv_int(&w, "threads", ops_get_threads());
            json_kv_string(&w, "arithmetic", ops_precision_name(ops_get_precision()));
            json_object_end(&w);
            cli_print_json(&w);
        } else {
            printf("%6d %12.5f %14.3f %10.1f %10.1f\n", B, per_step, ms_img,
                   flops * B / per_step / 1e9, peak_rss_mb());
        }
        fflush(stdout);
        free(x);
        free(seeds);
        free(res);
        anogan_ctx_free(c);
    }
    if (rc == 0)
        rc = bench_default_score(m, &a);
    anogan_free(m);
    return rc;
}
