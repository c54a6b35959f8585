/* cmd_bench: `inspectd bench`, the speed of the latent search. For each batch size it times
 * whole search steps (G forward, D-features forward, both backward-data passes, Adam on z) and
 * prints milliseconds per image per step, achieved GFLOP/s and peak memory. --json prints the
 * keys the PyTorch peer prints (batch, s_per_step, ms_per_image_step, s_per_image_5000_steps), so
 * scripts/bench-peer.sh can set the two side by side. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "anogan.h"
#include "cli.h"
#include "ops.h"
#include "rng.h"
#include "common.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static void usage(FILE *f)
{
    fprintf(f, "usage: inspectd bench [--model FILE] [--batches 1,5,16,64] [--steps N]\n"
               "                      [--threads N] [--precision fp32|bf16] [--json]\n"
               "  times the latent search step per image (random weights without --model)\n");
}

int cmd_bench(int argc, char **argv)
{
    const char *model_path = NULL, *batches = "1,5,16,64";
    int json = 0, threads = 0, steps_arg = 0;
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"batches", required_argument, 0, 'b'},
        {"steps", required_argument, 0, 's'}, {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'}, {"precision", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "m:b:s:t:P:jh", opts, NULL)) != -1) {
        switch (o) {
        case 'm': model_path = optarg; break;
        case 'b': batches = optarg; break;
        case 's': steps_arg = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'j': json = 1; break;
        case 'P': {
            int rc = train_cli_precision("bench", optarg);
            if (rc)
                return rc;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (threads > 0)
        ops_set_threads(threads);
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
    train_cli_describe_compute(compute, sizeof compute);
    if (!json)
        printf("%s\nlatent search step (G fwd, D fwd, D bwd, G bwd, Adam), %d BLAS threads, "
               "%.3f GFLOP per image-step\n%6s %12s %14s %10s %10s\n",
               compute, ops_get_threads(), flops / 1e9, "batch", "s/step", "ms/image-step",
               "GFLOP/s", "peak MB");
    char *list = strdup(batches);
    int rc = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        int B = atoi(tok);
        if (B < 1 || B > 4096) {
            fprintf(stderr, "inspectd bench: bad batch '%s'\n", tok);
            rc = 2;
            break;
        }
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
        int steps = steps_arg > 0 ? steps_arg : (60 / B > 5 ? 60 / B : 5);
        /* time two searches that differ only in their step count, so the fixed cost (features
         * of x, the start, the final score) cancels out */
        s.iterations = 1;
        double t0 = now_s();
        anogan_score(c, x, B, seeds, &s, res, NULL, NULL, NULL);
        double t1 = now_s();
        s.iterations = 1 + steps;
        anogan_score(c, x, B, seeds, &s, res, NULL, NULL, NULL);
        double t2 = now_s();
        double per_step = ((t2 - t1) - (t1 - t0)) / steps;
        if (per_step <= 0) /* timer noise on tiny runs: fall back to the plain average */
            per_step = (t2 - t1) / (1 + steps);
        double ms_img = 1e3 * per_step / B;
        if (json)
            printf("{\"batch\":%d,\"s_per_step\":%.6f,\"ms_per_image_step\":%.4f,"
                   "\"s_per_image_5000_steps\":%.3f,\"gflops\":%.2f,\"peak_rss_mb\":%.1f,"
                   "\"threads\":%d,\"arithmetic\":\"%s\"}\n",
                   B, per_step, ms_img, 5000 * per_step / B, flops * B / per_step / 1e9,
                   peak_rss_mb(), ops_get_threads(), ops_precision_name(ops_get_precision()));
        else
            printf("%6d %12.5f %14.3f %10.1f %10.1f\n", B, per_step, ms_img,
                   flops * B / per_step / 1e9, peak_rss_mb());
        fflush(stdout);
        free(x);
        free(seeds);
        free(res);
        anogan_ctx_free(c);
    }
    free(list);
    anogan_free(m);
    return rc;
}
