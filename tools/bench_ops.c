/* bench_ops: times the fast convolutions on the AnoGAN seed's layer shapes (generator: ConvT
 * 20->512->256->128->64->1, discriminator: Conv 1->64->128->256->512), forward and backward-data,
 * the passes of one latent-search step, and prints GFLOP/s per layer and the step total.
 *
 *   bench_ops [--batch B] [--threads T] [--min-ms MS]
 *
 * Each figure is the best of several timed rounds (the machine is shared; the best round is the
 * one least disturbed). A developer tool, not a test. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct layer {
    const char *name;
    int transpose;
    int cin, hin, cout, k, stride, pad;
};

static const struct layer layers[] = {
    {"G1 convT 20->512 1->4", 1, 20, 1, 512, 4, 1, 0},
    {"G2 convT 512->256 4->8", 1, 512, 4, 256, 4, 2, 1},
    {"G3 convT 256->128 8->16", 1, 256, 8, 128, 4, 2, 1},
    {"G4 convT 128->64 16->32", 1, 128, 16, 64, 4, 2, 1},
    {"G5 convT 64->1 32->64", 1, 64, 32, 1, 4, 2, 1},
    {"D1 conv 1->64 64->32", 0, 1, 64, 64, 4, 2, 1},
    {"D2 conv 64->128 32->16", 0, 64, 32, 128, 4, 2, 1},
    {"D3 conv 128->256 16->8", 0, 128, 16, 256, 4, 2, 1},
    {"D4 conv 256->512 8->4", 0, 256, 8, 512, 4, 2, 1},
};
#define N_LAYERS (sizeof layers / sizeof layers[0])

/* With one thread, CPU time of the process: on a shared machine it leaves out the time other
 * jobs held the core (caches they disturb still count). With more threads, wall time. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(bench_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *buf(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_ops: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    return p;
}

/* Best seconds per call of one pass (0: forward, 1: backward data). */
static double time_pass(const struct layer *l, const struct conv_shape *s, int pass,
                        double min_s)
{
    size_t nin = (size_t)s->cin * s->batch * s->hin * s->win;
    size_t nout = (size_t)s->cout * s->batch * s->hout * s->wout;
    size_t nw = (size_t)s->cin * s->cout * s->k * s->k;
    size_t nwork = l->transpose ? conv_transpose2d_work_size(s) : conv2d_work_size(s);
    float *inp = buf(nin), *out = buf(nout), *w = buf(nw), *b = buf((size_t)s->cout);
    float *work = buf(nwork);
    double best = 1e30;
    for (int round = 0; round < 7; round++) {
        int reps = 0;
        double t0 = now_s(), t;
        do {
            if (l->transpose && pass == 0)
                conv_transpose2d_forward(out, inp, w, b, s, work);
            else if (l->transpose)
                conv_transpose2d_backward_data(inp, out, w, s, work);
            else if (pass == 0)
                conv2d_forward(out, inp, w, b, s, work);
            else
                conv2d_backward_data(inp, out, w, s, work);
            reps++;
            t = now_s() - t0;
        } while (t < min_s);
        if (t / reps < best)
            best = t / reps;
    }
    free(inp), free(out), free(w), free(b), free(work);
    return best;
}

int main(int argc, char **argv)
{
    int batch = 1, threads = 1;
    double min_ms = 30;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc)
            min_ms = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_ops [--batch B] [--threads T] [--min-ms MS]\n");
            return 2;
        }
    }
    if (batch < 1 || threads < 1) {
        fprintf(stderr, "bench_ops: batch and threads must be >= 1\n");
        return 2;
    }
    ops_set_threads(threads);
    if (threads == 1)
        bench_clock = CLOCK_PROCESS_CPUTIME_ID;
    printf("batch %d, threads %d (best of 7 rounds of >= %.0f ms, %s time)\n", batch, threads,
           min_ms, threads == 1 ? "CPU" : "wall");
    printf("%-26s %10s %9s %9s %10s %9s\n", "layer", "MFLOP/img", "fwd ms", "fwd GF/s",
           "bwd-d ms", "bwd GF/s");
    double total_s = 0, total_flop = 0;
    for (size_t i = 0; i < N_LAYERS; i++) {
        const struct layer *l = &layers[i];
        struct conv_shape s = {.batch = batch, .cin = l->cin, .hin = l->hin, .win = l->hin,
                               .cout = l->cout, .k = l->k, .stride = l->stride, .pad = l->pad};
        if (l->transpose)
            conv_transpose2d_shape_infer(&s);
        else
            conv2d_shape_infer(&s);
        int hw = l->transpose ? s.hin * s.win : s.hout * s.wout;
        double flop = 2.0 * s.cin * s.cout * s.k * s.k * hw * batch;
        double tf = time_pass(l, &s, 0, min_ms * 1e-3);
        double tb = time_pass(l, &s, 1, min_ms * 1e-3);
        printf("%-26s %10.1f %9.3f %9.1f %10.3f %9.1f\n", l->name, flop / batch * 1e-6, tf * 1e3,
               flop / tf * 1e-9, tb * 1e3, flop / tb * 1e-9);
        total_s += tf + tb;
        total_flop += 2 * flop;
    }
    printf("step (all forward + backward-data): %.3f ms per batch, %.3f ms per image, %.1f GF/s\n",
           total_s * 1e3, total_s * 1e3 / batch, total_flop / total_s * 1e-9);
    return 0;
}
