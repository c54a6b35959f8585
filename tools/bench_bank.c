/* bench_bank: times the memory bank on the sizes the detector uses: bank_score of one query and
 * of a batch against an n x dim bank, and the greedy k-center coreset of a larger set.
 *
 *   bench_bank [--rows N] [--dim D] [--batch B] [--k K] [--metric l2|cosine]
 *              [--coreset-from C] [--coreset-to M] [--clusters G] [--threads T]
 *
 * Defaults: a 1000 x 8192 bank, batch 256, k 1, L2; coreset 6000 -> 1000. The features are
 * G Gaussian clusters (G = 0: plain Gaussian noise, where no distance bound helps the coreset).
 * Scoring figures are the best of several rounds (the machine is shared); the coreset runs once.
 * A developer tool, not a test. */
#include "args.h"
#include "bank.h"
#include "clock.h"
#include "ops.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *alloc_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_bank: out of memory\n");
        exit(1);
    }
    return p;
}

/* x (count, dim): groups Gaussian clusters of spread 0.3 around unit-scale centres; groups = 0:
 * N(0, 1) everywhere. */
static void fill_features(float *x, int count, int dim, int groups, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    if (groups <= 0) {
        rng_fill_normal(&r, x, (size_t)count * dim, 0, 1);
        return;
    }
    float *centres = alloc_floats((size_t)groups * dim);
    rng_fill_normal(&r, centres, (size_t)groups * dim, 0, 1);
    for (int i = 0; i < count; i++) {
        const float *c = centres + (size_t)rng_below(&r, (uint64_t)groups) * dim;
        for (int j = 0; j < dim; j++)
            x[(size_t)i * dim + j] = c[j] + 0.3f * rng_normal(&r);
    }
    free(centres);
}

/* Best milliseconds per call of bank_score on B queries over `rounds` rounds. */
static double time_score(const struct bank *b, const float *q, int B, int rounds)
{
    float *scores = alloc_floats((size_t)B), *work = alloc_floats(bank_work_size(b, B));
    double best = 1e30;
    for (int i = 0; i < rounds; i++) {
        double t0 = clock_now();
        bank_score(b, q, B, scores, work);
        double ms = (clock_now() - t0) * 1e3;
        best = ms < best ? ms : best;
    }
    free(scores);
    free(work);
    return best;
}

int main(int argc, char **argv)
{
    int rows = 1000, dim = 8192, batch = 256, k = 1, from = 6000, to = 1000, groups = 20;
    int threads = 0;
    ops_blas_reexec(argv); /* OpenBLAS's kernels for this CPU, as the daemon does */
    enum bank_metric metric = BANK_METRIC_L2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_bank: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--rows"))
            rows = (int)args_int("bench_bank", a, v, 1, 10000000);
        else if (!strcmp(a, "--dim"))
            dim = (int)args_int("bench_bank", a, v, 1, 1048576);
        else if (!strcmp(a, "--batch"))
            batch = (int)args_int("bench_bank", a, v, 1, 1048576);
        else if (!strcmp(a, "--k"))
            k = (int)args_int("bench_bank", a, v, 1, 1024);
        else if (!strcmp(a, "--coreset-from"))
            from = (int)args_int("bench_bank", a, v, 1, 10000000);
        else if (!strcmp(a, "--coreset-to"))
            to = (int)args_int("bench_bank", a, v, 1, 10000000);
        else if (!strcmp(a, "--clusters"))
            groups = (int)args_int("bench_bank", a, v, 0, 1048576);
        else if (!strcmp(a, "--threads"))
            threads = (int)args_int("bench_bank", a, v, 0, 64);
        else if (!strcmp(a, "--metric") && (!strcmp(v, "l2") || !strcmp(v, "cosine")))
            metric = !strcmp(v, "l2") ? BANK_METRIC_L2 : BANK_METRIC_COSINE;
        else {
            fprintf(stderr, "bench_bank: unknown option %s %s\n", a, v);
            return 2;
        }
    }
    if (threads > 0)
        ops_set_threads(threads);
    char blas[256];
    ops_blas_describe(blas, sizeof blas);
    printf("%s; %d threads for the coreset\n", blas, ops_get_threads());

    float *feats = alloc_floats((size_t)rows * dim), *q = alloc_floats((size_t)batch * dim);
    fill_features(feats, rows, dim, groups, 1);
    fill_features(q, batch, dim, groups, 2);
    struct bank b;
    if (bank_from_rows(&b, feats, rows, dim, metric, k)) {
        fprintf(stderr, "bench_bank: %s\n", status_message());
        return 1;
    }
    printf("bank %d x %d, k %d, %s\n", rows, dim, k, metric == BANK_METRIC_L2 ? "l2" : "cosine");
    printf("  score B=1:   %8.3f ms per query\n", time_score(&b, q, 1, 50));
    double ms = time_score(&b, q, batch, 5);
    printf("  score B=%-3d: %8.3f ms per batch, %.3f ms per query\n", batch, ms, ms / batch);
    bank_free(&b);
    free(feats);
    free(q);

    if (from > 0 && to > 0) {
        float *x = alloc_floats((size_t)from * dim);
        int *chosen = malloc((size_t)to * sizeof *chosen);
        fill_features(x, from, dim, groups, 3);
        double t0 = clock_now();
        if (!chosen || bank_coreset(chosen, x, from, dim, to, metric, 7)) {
            fprintf(stderr, "bench_bank: coreset: %s\n", status_message());
            return 1;
        }
        printf("coreset %d x %d -> %d (%d clusters): %.2f s\n", from, dim, to, groups,
               clock_now() - t0);
        free(x);
        free(chosen);
    }
    return 0;
}
