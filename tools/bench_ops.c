/* bench_ops: times the fast convolutions on the AnoGAN seed's layer shapes (generator: ConvT
 * 20->512->256->128->64->1, discriminator: Conv 1->64->128->256->512), forward and backward-data,
 * the passes of one latent-search step, and prints GFLOP/s per layer and the step total.
 *
 *   bench_ops [--batch B] [--threads T] [--min-ms MS] [--isa portable|avx2|avx512]
 *             [--precision fp32|bf16]
 *
 * Each figure is the best of several timed rounds (the machine is shared; the best round is the
 * one least disturbed). A developer tool, not a test. */
#include "args.h"
#include "clock.h"
#include "cpu.h"
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

/* Process CPU seconds (all threads): beside the wall clock, it shows how busy the threads were. */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct timing {
    double wall, cpu; /* seconds per call, best round of each */
};

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

/* Best seconds per call of run(ctx) over 7 rounds of at least min_s each, by wall clock and by
 * the process's CPU time (all threads). On a shared machine the CPU time leaves out the time
 * other jobs held the cores; CPU time / threads is then what an idle machine would show if the
 * threads scale perfectly (they wait on a condition variable, so idle waiting is not counted). */
static struct timing best_of(void (*run)(void *ctx), void *ctx, double min_s)
{
    struct timing best = {1e30, 1e30};
    for (int round = 0; round < 7; round++) {
        int reps = 0;
        double t0 = clock_now(), c0 = cpu_s(), t;
        do {
            run(ctx);
            reps++;
            t = clock_since(t0);
        } while (t < min_s);
        double c = cpu_s() - c0;
        if (t / reps < best.wall)
            best.wall = t / reps;
        if (c / reps < best.cpu)
            best.cpu = c / reps;
    }
    return best;
}

struct pass {
    const struct layer *l;
    const struct conv_shape *s;
    int pass; /* 0: forward, 1: backward data */
    float *inp, *out, *w, *b, *work;
};

static void run_pass(void *ctx)
{
    const struct pass *p = ctx;
    if (p->l->transpose && p->pass == 0)
        conv_transpose2d_forward(p->out, p->inp, p->w, p->b, p->s, p->work);
    else if (p->l->transpose)
        conv_transpose2d_backward_data(p->inp, p->out, p->w, p->s, p->work);
    else if (p->pass == 0)
        conv2d_forward(p->out, p->inp, p->w, p->b, p->s, p->work);
    else
        conv2d_backward_data(p->inp, p->out, p->w, p->s, p->work);
}

/* Best seconds per call of one pass (0: forward, 1: backward data). */
static struct timing time_pass(const struct layer *l, const struct conv_shape *s, int pass,
                               double min_s)
{
    size_t nin = (size_t)s->cin * s->batch * s->hin * s->win;
    size_t nout = (size_t)s->cout * s->batch * s->hout * s->wout;
    size_t nw = (size_t)s->cin * s->cout * s->k * s->k;
    size_t nwork = l->transpose ? conv_transpose2d_work_size(s) : conv2d_work_size(s);
    struct pass p = {l, s, pass, buf(nin), buf(nout), buf(nw), buf((size_t)s->cout), buf(nwork)};
    struct timing best = best_of(run_pass, &p, min_s);
    free(p.inp), free(p.out), free(p.w), free(p.b), free(p.work);
    return best;
}

/* The elementwise work of one step: every BatchNorm (inference form) and activation of G and D,
 * forward and backward, on the (C, B*H*W) outputs of the layers above. */
static const struct {
    int c, hw, bn, act; /* act: 0 relu, 1 leaky relu, 2 tanh */
} outs[] = {{512, 16, 1, 0},  {256, 64, 1, 0}, {128, 256, 1, 0}, {64, 1024, 1, 0},
            {1, 4096, 0, 2},  {64, 1024, 0, 1}, {128, 256, 1, 1}, {256, 64, 1, 1},
            {512, 16, 1, 1}};

struct pointwise {
    int batch;
    float *x, *g, *p, *v;
};

static void run_pointwise(void *ctx)
{
    const struct pointwise *c = ctx;
    float *x = c->x, *g = c->g, *p = c->p, *v = c->v;
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        int N = outs[i].hw * c->batch, C = outs[i].c;
        size_t n = (size_t)C * N;
        if (outs[i].bn)
            batchnorm_forward_eval(x, x, p, p, p, v, 1e-5f, C, N);
        if (outs[i].act == 0) {
            relu_forward(x, x, n);
            relu_backward(g, g, x, n);
        } else if (outs[i].act == 1) {
            leaky_relu_forward(x, x, 0.2f, n);
            leaky_relu_backward(g, g, x, 0.2f, n);
        } else {
            tanh_forward(x, x, n);
            tanh_backward(g, g, x, n);
        }
        if (outs[i].bn)
            batchnorm_backward_eval(g, g, p, v, 1e-5f, C, N);
    }
}

/* Best seconds per step of the elementwise work. */
static struct timing time_pointwise(int batch, double min_s)
{
    const size_t nmax = (size_t)64 * 1024 * batch;
    struct pointwise c = {batch, buf(nmax), buf(nmax), buf(512), buf(512)};
    for (int i = 0; i < 512; i++)
        c.v[i] = 1.0f + 0.5f * c.p[i];
    struct timing best = best_of(run_pointwise, &c, min_s);
    free(c.x), free(c.g), free(c.p), free(c.v);
    return best;
}

int main(int argc, char **argv)
{
    ops_blas_reexec(argv);
    int batch = 1, threads = 1;
    double min_ms = 30;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = (int)args_int("bench_ops", argv[i], argv[i + 1], 1, 4096), i++;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)args_int("bench_ops", argv[i], argv[i + 1], 1, 64), i++;
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc)
            min_ms = args_float("bench_ops", argv[i], argv[i + 1], 0, 1e6), i++;
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc && cpu_isa_parse(argv[i + 1]) >= 0)
            cpu_set_isa_limit((enum cpu_isa)cpu_isa_parse(argv[++i]));
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc &&
                 ops_precision_parse(argv[i + 1]) >= 0) {
            if (ops_set_precision((enum ops_precision)ops_precision_parse(argv[++i]))) {
                fprintf(stderr, "bench_ops: %s\n", status_message());
                return 1;
            }
        } else {
            fprintf(stderr, "usage: bench_ops [--batch B] [--threads T] [--min-ms MS] "
                            "[--isa portable|avx2|avx512] [--precision fp32|bf16]\n");
            return 2;
        }
    }
    if (batch < 1 || threads < 1) {
        fprintf(stderr, "bench_ops: batch and threads must be >= 1\n");
        return 2;
    }
    ops_set_threads(threads);
    char blas[160];
    ops_blas_describe(blas, sizeof blas);
    printf("%s\n", blas);
    printf("batch %d, threads %d, kernels %s, %s%s%s (best of 7 rounds of >= %.0f ms); GF/s by "
           "wall clock, and by CPU time / threads\n",
           batch, threads, cpu_isa_name(cpu_isa()), ops_precision_name(ops_get_precision()),
           ops_get_precision() == OPS_PRECISION_BF16 ? ": " : "",
           ops_get_precision() == OPS_PRECISION_BF16 ? ops_bf16_backend() : "", min_ms);
    printf("%-26s %9s | %9s %7s %7s | %9s %7s %7s\n", "layer", "MFLOP/img", "fwd ms", "GF/s",
           "cpu/T", "bwd-d ms", "GF/s", "cpu/T");
    double wall = 0, cpu = 0, total_flop = 0;
    for (size_t i = 0; i < N_LAYERS; i++) {
        const struct layer *l = &layers[i];
        struct conv_shape s = {.batch = batch, .cin = l->cin, .hin = l->hin, .win = l->hin,
                               .cout = l->cout, .k = l->k, .stride = l->stride, .pad = l->pad};
        if (l->transpose)
            conv_transpose2d_shape_infer(&s);
        else
            conv2d_shape_infer(&s);
        int hw = l->transpose ? s.hin * s.win : s.hout * s.wout;
        double flop = 2.0 * s.cin * s.cout * s.k * s.k * hw * batch, g = flop * 1e-9;
        struct timing f = time_pass(l, &s, 0, min_ms * 1e-3);
        struct timing b = time_pass(l, &s, 1, min_ms * 1e-3);
        printf("%-26s %9.1f | %9.3f %7.1f %7.1f | %9.3f %7.1f %7.1f\n", l->name, flop / batch * 1e-6,
               f.wall * 1e3, g / f.wall, g / f.cpu * threads, b.wall * 1e3, g / b.wall,
               g / b.cpu * threads);
        wall += f.wall + b.wall;
        cpu += f.cpu + b.cpu;
        total_flop += 2 * flop;
    }
    printf("convolutions of a step (every layer forward + backward-data), per image: %.3f ms wall "
           "(%.1f GF/s); CPU time / threads %.3f ms (%.1f GF/s)\n",
           wall * 1e3 / batch, total_flop / wall * 1e-9, cpu / threads * 1e3 / batch,
           total_flop / cpu * threads * 1e-9);
    struct timing pw = time_pointwise(batch, min_ms * 1e-3);
    printf("BatchNorm + activations of a step (forward + backward), per image: %.3f ms wall, "
           "CPU time / threads %.3f ms\n",
           pw.wall * 1e3 / batch, pw.cpu / threads * 1e3 / batch);
    return 0;
}
