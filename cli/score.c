/* cmd_score: `inspectd score`, the anomaly score of PNG files from the command line, one JSON
 * object per image on stdout. Images are searched together in batches of --batch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "anogan.h"
#include "cli.h"
#include "image.h"
#include "ops.h"
#include "common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: inspectd score --model FILE [options] IMAGE.png ...\n"
            "  --model FILE        AnoGAN model (.safetensors)\n"
            "  --iterations N      search steps (default: the model's default, see README)\n"
            "  --search MODE       random | encoder (default: encoder if the model has one)\n"
            "  --lr LR             Adam learning rate of the search\n"
            "  --patience N        early stop after N steps without a relative gain of --tol\n"
            "  --tol T             relative gain that counts as progress (default 1e-3)\n"
            "  --seed S            seed of the random start (default 0); image i uses S+i\n"
            "  --batch N           images searched together (default 16)\n"
            "  --threads N         BLAS threads (default: all cores)\n"
            "  --precision P       fp32 (default) or bf16 (oneDNN; see docs/benchmarks.md)\n"
            "prints {\"file\",\"score\",\"residual\",\"discrimination\",\"iterations\",\"ms\",...}"
            " per image\n");
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Prints s as a JSON string (quotes, backslashes and control characters escaped). */
static void print_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        return -1;
    *out = (float)v;
    return 0;
}

int cmd_score(int argc, char **argv)
{
    const char *model_path = NULL, *search_name = NULL;
    int iterations = -1, patience = -1, batch = 16, threads = 0;
    float lr = -1, tol = 1e-3f;
    unsigned long long seed = 0;
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"iterations", required_argument, 0, 'i'},
        {"search", required_argument, 0, 's'}, {"lr", required_argument, 0, 'l'},
        {"patience", required_argument, 0, 'p'}, {"tol", required_argument, 0, 't'},
        {"seed", required_argument, 0, 'S'}, {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 'T'}, {"precision", required_argument, 0, 'P'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "m:i:s:l:p:t:S:b:T:P:h", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case 'm': model_path = optarg; break;
        case 'i': bad = parse_int(optarg, 0, 1000000, &iterations); break;
        case 's': search_name = optarg; break;
        case 'l': bad = parse_float(optarg, &lr) || !(lr > 0); break;
        case 'p': bad = parse_int(optarg, 0, 1000000, &patience); break;
        case 't': bad = parse_float(optarg, &tol) || !(tol >= 0); break;
        case 'S': seed = strtoull(optarg, NULL, 10); break;
        case 'b': bad = parse_int(optarg, 1, 1024, &batch); break;
        case 'T': bad = parse_int(optarg, 1, 1024, &threads); break;
        case 'P': {
            int rc = train_cli_precision("score", optarg);
            if (rc)
                return rc;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (bad) {
            const char *name = "?";
            for (const struct option *p = opts; p->name; p++)
                if (p->val == o)
                    name = p->name;
            fprintf(stderr, "inspectd score: bad value '%s' for --%s\n", optarg, name);
            return 2;
        }
    }
    if (!model_path || optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (threads)
        ops_set_threads(threads);
    struct anogan *m = NULL;
    if (anogan_load(&m, model_path) != STATUS_OK) {
        fprintf(stderr, "inspectd score: %s\n", status_message());
        return 1;
    }
    struct anogan_search search = anogan_search_default(m);
    if (search_name) {
        int init = anogan_init_parse(search_name);
        if (init < 0) {
            fprintf(stderr, "inspectd score: --search must be random or encoder\n");
            anogan_free(m);
            return 2;
        }
        search.init = (enum anogan_init)init;
    }
    if (iterations >= 0)
        search.iterations = iterations;
    if (lr > 0)
        search.lr = lr;
    if (patience >= 0)
        search.patience = patience;
    search.tol = tol;

    int nfiles = argc - optind, failed = 0;
    size_t isz = anogan_image_size(m);
    float *x = malloc(isz * (size_t)batch * sizeof(float));
    uint64_t *seeds = malloc((size_t)batch * sizeof(uint64_t));
    struct anogan_result *res = malloc((size_t)batch * sizeof *res);
    const char **names = malloc((size_t)batch * sizeof *names);
    struct anogan_ctx *ctx = anogan_ctx_create(m, batch);
    if (!x || !seeds || !res || !names || !ctx) {
        fprintf(stderr, "inspectd score: out of memory\n");
        failed = 1;
        goto done;
    }
    for (int next = 0; next < nfiles;) {
        int B = 0;
        for (; next < nfiles && B < batch; next++) {
            const char *path = argv[optind + next];
            struct image img = {0};
            if (image_load_png(&img, path, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS) != STATUS_OK) {
                fprintf(stderr, "inspectd score: %s\n", status_message());
                failed = 1;
                continue;
            }
            anogan_preprocess(m, &img, x + (size_t)B * isz);
            image_free(&img);
            names[B] = path;
            seeds[B] = seed + (uint64_t)next;
            B++;
        }
        if (B == 0)
            continue;
        double t0 = now_ms();
        if (anogan_score(ctx, x, B, seeds, &search, res, NULL, NULL, NULL) != STATUS_OK) {
            fprintf(stderr, "inspectd score: %s\n", status_message());
            failed = 1;
            continue;
        }
        double ms = (now_ms() - t0) / B;
        for (int b = 0; b < B; b++) {
            printf("{\"file\":");
            print_json_string(names[b]);
            printf(",\"score\":%.9g,\"residual\":%.9g,\"discrimination\":%.9g,\"iterations\":%d,"
                   "\"search\":\"%s\",\"ms\":%.3f",
                   res[b].score, res[b].residual, res[b].discrimination, res[b].iterations,
                   anogan_init_name(search.init), ms);
            if (m->cal.present)
                printf(",\"threshold\":%.9g,\"anomalous\":%s", m->cal.threshold,
                       res[b].score > m->cal.threshold ? "true" : "false");
            printf("}\n");
        }
        fflush(stdout);
    }
done:
    anogan_ctx_free(ctx);
    free(x);
    free(seeds);
    free(res);
    free(names);
    anogan_free(m);
    return failed ? 1 : 0;
}
