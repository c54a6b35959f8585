/* score: `inspectd score`, the anomaly score of PNG files from the command line, one JSON object
 * per image on stdout. Images are searched together in batches of --batch. The search is
 * resolved as the daemon resolves a request's (anogan_search_resolve, the flags in the place of
 * the request's fields), and image i of the command line starts from seed + i, so an image
 * scores here as `POST /score?seed=...` scores it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anogan.h"
#include "detect.h"
#include "cli.h"
#include "clock.h"
#include "common.h"
#include "image.h"
#include "options.h"
#include "ops.h"

struct score_args {
    const char *model, *precision;
    struct anogan_search_layer search;
    int batch, threads;
};

#define A struct score_args
static const struct cli_option options[] = {
    {"--model", NULL, CLI_ARG, CLI_AT(A, model), .value_name = "FILE", .required = true,
     .help = "AnoGAN model (.safetensors)"},
    CLI_SEARCH_OPTIONS(A, search),
    CLI_SEED_OPTION(A, search),
    {"--batch", NULL, CLI_INT, CLI_AT(A, batch), 0, 1, 1024, .help = "images searched together"},
    {"--threads", "INSPECTD_THREADS", CLI_INT, CLI_AT(A, threads), 0, 1, 1024,
     .def = "all cores", .help = "BLAS threads"},
    CLI_PRECISION_OPTION(A, precision, CLI_ARG),
};
#undef A

static const struct cli_command score_command = {
    .name = "score",
    .usage = "--model FILE [options] IMAGE.png ...",
    .about = "Scores each image as POST /score would with the same settings; image i of the\n"
             "command line starts its random search from seed + i.\n",
    .options = options,
    .noptions = sizeof options / sizeof options[0],
    .positionals = -1,
    .footer = "prints {\"file\",\"score\",\"residual\",\"discrimination\",\"iterations\","
              "\"search\",\"ms\",...} per image\n",
};

int cmd_score(int argc, char **argv)
{
    struct score_args a = {.batch = 16};
    int nfiles = 0;
    switch (cli_parse(&score_command, &a, argc, argv, &nfiles, stderr)) {
    case CLI_PARSED_OK: break;
    case CLI_PARSED_HELP: return 0;
    case CLI_PARSED_USAGE: return 2;
    }
    if (nfiles == 0) {
        fprintf(stderr, "inspectd score: no image given (see inspectd score --help)\n");
        return 2;
    }
    if (cli_set_compute("score", a.threads, a.precision))
        return 1;
    struct anogan *m = NULL;
    if (anogan_load(&m, a.model) != STATUS_OK) {
        fprintf(stderr, "inspectd score: %s\n", status_message());
        return 1;
    }
    struct anogan_search search;
    uint64_t seed;
    if (anogan_search_resolve(&search, &seed, m, &a.search, NULL)) {
        fprintf(stderr, "inspectd score: %s\n", status_message());
        anogan_free(m);
        return 1;
    }
    int batch = a.batch, failed = 0;
    size_t isz = anogan_image_size(m);
    float *x = malloc(isz * (size_t)batch * sizeof(float));
    uint64_t *seeds = malloc((size_t)batch * sizeof(uint64_t));
    struct detect_result *res = malloc((size_t)batch * sizeof *res);
    const char **names = malloc((size_t)batch * sizeof *names);
    struct detect_ctx *ctx = detect_ctx_create(m, batch);
    if (!x || !seeds || !res || !names || !ctx) {
        fprintf(stderr, "inspectd score: out of memory\n");
        failed = 1;
        goto done;
    }
    for (int next = 0; next < nfiles;) {
        int B = 0;
        for (; next < nfiles && B < batch; next++) {
            const char *path = argv[1 + next];
            struct image img = {0};
            if (image_load_png(&img, path, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS) != STATUS_OK) {
                fprintf(stderr, "inspectd score: %s\n", status_message());
                failed = 1;
                continue;
            }
            enum status ps = anogan_preprocess(m, &img, x + (size_t)B * isz);
            image_free(&img);
            if (ps != STATUS_OK) {
                fprintf(stderr, "inspectd score: %s: %s\n", path, status_message());
                failed = 1;
                continue;
            }
            names[B] = path;
            seeds[B] = seed + (uint64_t)next;
            B++;
        }
        if (B == 0)
            continue;
        double t0 = clock_now() * 1e3;
        if (detect_score(ctx, x, B, seeds, &search, res, NULL, NULL, NULL) != STATUS_OK) {
            fprintf(stderr, "inspectd score: %s\n", status_message());
            failed = 1;
            continue;
        }
        double ms = (clock_now() * 1e3 - t0) / B;
        for (int b = 0; b < B; b++) {
            printf("{\"file\":");
            json_fput_string(stdout, names[b]);
            printf(",\"score\":%.9g,\"scores\":{", res[b].score);
            for (int p = 0, first = 1; p < DETECT_NPARTS; p++)
                if (detect_has_part(m, (enum detect_part)p)) {
                    printf("%s\"%s\":%.9g", first ? "" : ",",
                           detect_part_name((enum detect_part)p), res[b].part[p]);
                    first = 0;
                }
            printf("},\"residual\":%.9g,\"discrimination\":%.9g,\"iterations\":%d,"
                   "\"search\":\"%s\",\"ms\":%.3f",
                   res[b].gan.residual, res[b].gan.discrimination, res[b].gan.iterations,
                   anogan_init_name(search.init), ms);
            if (m->cal.present)
                printf(",\"threshold\":%.9g,\"anomalous\":%s", m->cal.threshold,
                       res[b].score > m->cal.threshold ? "true" : "false");
            printf("}\n");
        }
        fflush(stdout);
    }
done:
    detect_ctx_free(ctx);
    free(x);
    free(seeds);
    free(res);
    free(names);
    anogan_free(m);
    return failed ? 1 : 0;
}
