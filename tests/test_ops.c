/* test_ops: the kernels of core/ops.h.
 *  - every backward against central finite differences of loss = sum(out * r), r random;
 *  - every fast convolution against its _ref twin (normalised MSE and max relative error), on odd
 *    shapes and on the real generator/discriminator layers, with every instruction set the CPU
 *    has (portable, AVX2, AVX-512 tiles), and in bf16 where oneDNN can run it;
 *  - Adam against a 3-step sequence worked out by hand, the running BatchNorm statistics against
 *    hand values, the shape rules, in-place activations. */
#include "cpu.h"
#include "ops.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

static float *frand(size_t n, uint64_t seed, float scale)
{
    float *p = falloc(n);
    tu_fill_uniform(p, n, seed, scale);
    return p;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* A forward pass under test: recomputes its output from the current inputs, returns sum(out*r). */
typedef double (*loss_fn)(void *ctx);

/* Central differences of loss wrt each x[i] (every `step`-th element), against analytic[i]. */
static void fd_check(const char *what, loss_fn f, void *ctx, float *x, const float *analytic,
                     size_t n, size_t step, float eps, double rtol, double atol)
{
    for (size_t i = 0; i < n; i += step) {
        float x0 = x[i];
        x[i] = x0 + eps;
        double lp = f(ctx);
        x[i] = x0 - eps;
        double lm = f(ctx);
        x[i] = x0;
        double num = (lp - lm) / (2.0 * (double)eps);
        double err = fabs(num - analytic[i]);
        double lim = atol + rtol * fmax(fabs(num), fabs((double)analytic[i]));
        ck_assert_msg(err <= lim, "%s[%zu]: finite difference %.6g, analytic %.6g", what, i, num,
                      (double)analytic[i]);
    }
}

/* ---- shapes -------------------------------------------------------------------------------- */

struct cs {
    int batch, cin, h, w, cout, k, stride, pad;
};

/* Fills s from c; returns 0 when c gives no output for this kind (e.g. k4 p0 on 1x1 for Conv2d). */
static int mk_conv(struct conv_shape *out, struct cs c, int transpose)
{
    struct conv_shape s = {.batch = c.batch, .cin = c.cin, .hin = c.h, .win = c.w,
                           .cout = c.cout, .k = c.k, .stride = c.stride, .pad = c.pad};
    if (transpose)
        conv_transpose2d_shape_infer(&s);
    else
        conv2d_shape_infer(&s);
    *out = s;
    return s.hout > 0 && s.wout > 0;
}

static size_t n_in(const struct conv_shape *s)
{
    return (size_t)s->cin * s->batch * s->hin * s->win;
}

static size_t n_out(const struct conv_shape *s)
{
    return (size_t)s->cout * s->batch * s->hout * s->wout;
}

static size_t n_w(const struct conv_shape *s)
{
    return (size_t)s->cin * s->cout * s->k * s->k;
}

/* Small shapes for finite differences: batch > 1, odd sizes, channel counts off multiples of 8,
 * the generator's first layer (k4 s1 p0 on 1x1) and the k4 s2 p1 layers. */
static const struct cs small_shapes[] = {
    {2, 3, 7, 6, 5, 3, 2, 1}, {3, 2, 8, 8, 3, 4, 2, 1}, {2, 5, 1, 1, 3, 4, 1, 0},
    {1, 4, 5, 7, 2, 1, 1, 0}, {2, 3, 9, 5, 2, 5, 1, 2}, {2, 2, 6, 6, 3, 2, 2, 0},
    {3, 3, 5, 4, 2, 3, 3, 0},
};
#define N_SMALL (sizeof small_shapes / sizeof small_shapes[0])

/* ---- convolution finite differences -------------------------------------------------------- */

struct conv_ctx {
    struct conv_shape s;
    int transpose;
    float *inp, *w, *b, *out, *r;
};

static double conv_loss(void *p)
{
    struct conv_ctx *c = p;
    if (c->transpose)
        conv_transpose2d_forward_ref(c->out, c->inp, c->w, c->b, &c->s);
    else
        conv2d_forward_ref(c->out, c->inp, c->w, c->b, &c->s);
    return dot(c->out, c->r, n_out(&c->s));
}

static void conv_fd(int transpose, int fast)
{
    for (size_t t = 0; t < N_SMALL; t++) {
        struct conv_ctx c = {.transpose = transpose};
        if (!mk_conv(&c.s, small_shapes[t], transpose))
            continue;
        const struct conv_shape *s = &c.s;
        uint64_t seed = 100 * t + 10 * (uint64_t)transpose;
        c.inp = frand(n_in(s), seed + 1, 1.0f);
        c.w = frand(n_w(s), seed + 2, 0.5f);
        c.b = frand((size_t)s->cout, seed + 3, 0.5f);
        c.out = falloc(n_out(s));
        c.r = frand(n_out(s), seed + 4, 1.0f);
        float *dinp = frand(n_in(s), seed + 5, 9.0f); /* garbage: must be overwritten */
        float *dw = frand(n_w(s), seed + 6, 1.0f), *db = frand((size_t)s->cout, seed + 7, 1.0f);
        float *dw0 = falloc(n_w(s)), *db0 = falloc((size_t)s->cout);
        memcpy(dw0, dw, n_w(s) * sizeof *dw);
        memcpy(db0, db, (size_t)s->cout * sizeof *db);
        size_t nwork = transpose ? conv_transpose2d_work_size(s) : conv2d_work_size(s);
        float *work = falloc(nwork);

        if (transpose && fast) {
            conv_transpose2d_backward_data(dinp, c.r, c.w, s, work);
            conv_transpose2d_backward_weight(dw, db, c.r, c.inp, s, work);
        } else if (transpose) {
            conv_transpose2d_backward_data_ref(dinp, c.r, c.w, s);
            conv_transpose2d_backward_weight_ref(dw, db, c.r, c.inp, s);
        } else if (fast) {
            conv2d_backward_data(dinp, c.r, c.w, s, work);
            conv2d_backward_weight(dw, db, c.r, c.inp, s, work);
        } else {
            conv2d_backward_data_ref(dinp, c.r, c.w, s);
            conv2d_backward_weight_ref(dw, db, c.r, c.inp, s);
        }
        /* Weight gradients accumulate: remove what was there before. */
        for (size_t i = 0; i < n_w(s); i++)
            dw[i] -= dw0[i];
        for (int i = 0; i < s->cout; i++)
            db[i] -= db0[i];

        /* The loss is linear in each argument, so central differences are exact up to rounding. */
        fd_check("dinp", conv_loss, &c, c.inp, dinp, n_in(s), 1, 1e-2f, 2e-3, 1e-4);
        fd_check("dweight", conv_loss, &c, c.w, dw, n_w(s), 1, 1e-2f, 2e-3, 1e-4);
        fd_check("dbias", conv_loss, &c, c.b, db, (size_t)s->cout, 1, 1e-2f, 2e-3, 1e-4);

        free(c.inp), free(c.w), free(c.b), free(c.out), free(c.r);
        free(dinp), free(dw), free(db), free(dw0), free(db0), free(work);
    }
}

START_TEST(test_conv2d_backward_ref_fd)
{
    conv_fd(0, 0);
}
END_TEST

START_TEST(test_conv2d_backward_fast_fd)
{
    conv_fd(0, 1);
}
END_TEST

START_TEST(test_conv_transpose2d_backward_ref_fd)
{
    conv_fd(1, 0);
}
END_TEST

START_TEST(test_conv_transpose2d_backward_fast_fd)
{
    conv_fd(1, 1);
}
END_TEST

/* ---- fast against reference ---------------------------------------------------------------- */

static void expect_close(const char *what, const struct cs *c, const float *fast, const float *ref,
                         size_t n)
{
    double peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = fmax(peak, fabs((double)ref[i]));
    double nmse = tu_nmse(fast, ref, n);
    double rel = tu_max_rel_err(fast, ref, n, 1e-3 * peak + 1e-30);
    ck_assert_msg(nmse < 1e-10 && rel < 1e-3,
                  "%s B%d cin%d %dx%d cout%d k%d s%d p%d: nmse %.3g, max rel err %.3g", what,
                  c->batch, c->cin, c->h, c->w, c->cout, c->k, c->stride, c->pad, nmse, rel);
}

/* The three passes of one layer, by the references or by the fast kernels: out = forward(inp),
 * d = backward data(dout), g/gb += backward weight(dout, inp). */
struct passes {
    float *out, *d, *g, *gb;
};

static void run_ref(struct passes p, const struct conv_shape *s, int transpose, const float *inp,
                    const float *w, const float *b, const float *dout)
{
    if (transpose) {
        conv_transpose2d_forward_ref(p.out, inp, w, b, s);
        conv_transpose2d_backward_data_ref(p.d, dout, w, s);
        conv_transpose2d_backward_weight_ref(p.g, p.gb, dout, inp, s);
    } else {
        conv2d_forward_ref(p.out, inp, w, b, s);
        conv2d_backward_data_ref(p.d, dout, w, s);
        conv2d_backward_weight_ref(p.g, p.gb, dout, inp, s);
    }
}

static void run_fast(struct passes p, const struct conv_shape *s, int transpose, const float *inp,
                     const float *w, const float *b, const float *dout, float *work)
{
    if (transpose) {
        conv_transpose2d_forward(p.out, inp, w, b, s, work);
        conv_transpose2d_backward_data(p.d, dout, w, s, work);
        conv_transpose2d_backward_weight(p.g, p.gb, dout, inp, s, work);
    } else {
        conv2d_forward(p.out, inp, w, b, s, work);
        conv2d_backward_data(p.d, dout, w, s, work);
        conv2d_backward_weight(p.g, p.gb, dout, inp, s, work);
    }
}

/* One layer under test: its shape, sizes, random operands and the fast kernels' scratch. */
struct layer {
    struct conv_shape s;
    size_t ni, no, nw, nb; /* floats of input, output, weight, bias */
    float *inp, *w, *b, *dout, *work;
};

/* 0 (nothing allocated) where the shape is not valid. */
static int layer_make(struct layer *l, const struct cs *c, int transpose, uint64_t seed)
{
    if (!mk_conv(&l->s, *c, transpose))
        return 0;
    const struct conv_shape *s = &l->s;
    l->ni = n_in(s), l->no = n_out(s), l->nw = n_w(s), l->nb = (size_t)s->cout;
    l->inp = frand(l->ni, seed + 1, 1.0f), l->w = frand(l->nw, seed + 2, 0.1f);
    l->b = frand(l->nb, seed + 3, 0.5f), l->dout = frand(l->no, seed + 4, 1.0f);
    l->work = falloc(transpose ? conv_transpose2d_work_size(s) : conv2d_work_size(s));
    return 1;
}

static void layer_free(struct layer *l)
{
    free(l->inp), free(l->w), free(l->b), free(l->dout), free(l->work);
}

/* check(shape, transpose, seed) for every shape, as a convolution (seeds from seed, 10 apart)
 * and as a transposed one (seeds from seed + 1000). */
static void both_directions(void (*check)(const struct cs *, int, uint64_t),
                            const struct cs *shapes, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        check(&shapes[i], 0, seed + 10 * i);
        check(&shapes[i], 1, seed + 1000 + 10 * i);
    }
}

/* Runs every fast kernel with 1, 2 and 3 threads against one run of the references. */
static void fast_vs_ref(const struct cs *c, int transpose, uint64_t seed)
{
    struct layer l;
    if (!layer_make(&l, c, transpose, seed))
        return;
    const struct conv_shape s = l.s;
    const size_t ni = l.ni, no = l.no, nw = l.nw, nb = l.nb;
    const float *inp = l.inp, *w = l.w, *b = l.b, *dout = l.dout;
    float *work = l.work;
    float *o1 = falloc(no), *o1nb = falloc(no), *d1 = falloc(ni);
    /* Non-zero start for the weight gradients: the kernels must add to it. */
    float *g0 = frand(nw, seed + 7, 0.5f), *gb0 = frand(nb, seed + 8, 0.5f);
    float *g1 = falloc(nw), *gb1 = falloc(nb);
    memcpy(g1, g0, nw * sizeof *g0);
    memcpy(gb1, gb0, nb * sizeof *gb0);
    run_ref((struct passes){o1, d1, g1, gb1}, &s, transpose, inp, w, b, dout);
    if (transpose)
        conv_transpose2d_forward_ref(o1nb, inp, w, NULL, &s);
    else
        conv2d_forward_ref(o1nb, inp, w, NULL, &s);

    float *o2 = falloc(no), *d2 = falloc(ni), *g2 = falloc(nw), *gb2 = falloc(nb);
    const int saved = ops_get_threads();
    for (int run = 0; run < 3 * ((int)cpu_isa_detected() + 1); run++) {
        const int nt = 1 + run % 3;
        const enum cpu_isa isa = (enum cpu_isa)(run / 3);
        ops_set_threads(nt);
        cpu_set_isa_limit(isa);
        tu_fill_uniform(o2, no, seed + 5, 7.0f); /* garbage: must be overwritten */
        tu_fill_uniform(d2, ni, seed + 6, 7.0f);
        memcpy(g2, g0, nw * sizeof *g0);
        memcpy(gb2, gb0, nb * sizeof *gb0);
        char what[64];
        const char *kind = transpose ? "convT" : "conv";
        run_fast((struct passes){o2, d2, g2, gb2}, &s, transpose, inp, w, b, dout, work);
        const char *in = cpu_isa_name(isa);
        snprintf(what, sizeof what, "%s forward (%d threads, %s)", kind, nt, in);
        expect_close(what, c, o2, o1, no);
        snprintf(what, sizeof what, "%s backward data (%d threads, %s)", kind, nt, in);
        expect_close(what, c, d2, d1, ni);
        snprintf(what, sizeof what, "%s backward weight (%d threads, %s)", kind, nt, in);
        expect_close(what, c, g2, g1, nw);
        snprintf(what, sizeof what, "%s backward bias (%d threads, %s)", kind, nt, in);
        expect_close(what, c, gb2, gb1, nb);

        /* No bias: forward must not read it. */
        if (transpose)
            conv_transpose2d_forward(o2, inp, w, NULL, &s, work);
        else
            conv2d_forward(o2, inp, w, NULL, &s, work);
        snprintf(what, sizeof what, "%s forward without bias (%d threads, %s)", kind, nt, in);
        expect_close(what, c, o2, o1nb, no);
    }
    ops_set_threads(saved);
    cpu_set_isa_limit(CPU_ISA_AVX512);

    free(o1), free(o1nb), free(d1), free(g0), free(gb0);
    free(g1), free(gb1), free(o2), free(d2), free(g2), free(gb2);
    layer_free(&l);
}

/* Odd shapes, plus reduced-width copies of the network layers at batch 3. */
static const struct cs odd_conv[] = {
    {2, 3, 7, 6, 5, 3, 2, 1},   {3, 2, 8, 8, 3, 4, 2, 1},  {2, 5, 1, 1, 3, 4, 1, 0},
    {1, 4, 5, 7, 2, 1, 1, 0},   {2, 3, 9, 5, 2, 5, 1, 2},  {2, 2, 6, 6, 3, 2, 2, 0},
    {3, 3, 5, 4, 2, 3, 3, 0},   {3, 1, 16, 16, 9, 4, 2, 1}, {3, 9, 8, 8, 17, 4, 2, 1},
    {3, 17, 4, 4, 33, 4, 2, 1}, {5, 7, 3, 3, 6, 1, 1, 0},  {4, 12, 2, 2, 10, 4, 1, 0},
    {3, 20, 1, 1, 24, 4, 1, 0}, {2, 6, 11, 13, 7, 3, 1, 1}, {2, 3, 4, 4, 5, 1, 2, 0},
    /* 16..64 output columns with ragged row and depth counts (the small-N GEMM path). */
    {1, 70, 4, 4, 9, 4, 2, 1},  {2, 5, 8, 8, 100, 4, 2, 1}, {1, 3, 4, 4, 5, 1, 1, 0},
    {4, 130, 2, 2, 7, 4, 1, 0}, {1, 33, 8, 8, 67, 3, 1, 1},
};

START_TEST(test_conv2d_fast_vs_ref_odd)
{
    for (size_t i = 0; i < sizeof odd_conv / sizeof odd_conv[0]; i++)
        fast_vs_ref(&odd_conv[i], 0, 1000 + 10 * i);
}
END_TEST

START_TEST(test_conv_transpose2d_fast_vs_ref_odd)
{
    for (size_t i = 0; i < sizeof odd_conv / sizeof odd_conv[0]; i++)
        fast_vs_ref(&odd_conv[i], 1, 2000 + 10 * i);
}
END_TEST

/* Big enough for 2 and 3 threads: split by channels (batch < threads, ragged counts), by images
 * (uneven shares), pointwise, the 1x1-input projection, and batches whose columns exceed one
 * chunk (OPS_COLS_BUDGET, 4M floats), so a thread loops over chunks of images. */
START_TEST(test_threaded_fast_vs_ref)
{
    static const struct cs shapes[] = {
        {1, 45, 16, 16, 70, 4, 2, 1}, {2, 45, 8, 8, 70, 4, 2, 1},  {5, 40, 8, 8, 70, 4, 2, 1},
        {2, 300, 8, 8, 200, 1, 1, 0}, {3, 20, 1, 1, 512, 4, 1, 0}, {5, 64, 64, 64, 2, 4, 2, 1},
        {5, 2, 32, 32, 64, 4, 2, 1},
    };
    both_directions(fast_vs_ref, shapes, sizeof shapes / sizeof shapes[0], 5000);
}
END_TEST

/* The real layers (AnoGAN seed: latent 20, width 64, 64x64x1), batch 1 and 2. */
START_TEST(test_network_layers_fast_vs_ref)
{
    static const struct cs gen[] = {
        {2, 20, 1, 1, 512, 4, 1, 0},  {1, 512, 4, 4, 256, 4, 2, 1}, {1, 256, 8, 8, 128, 4, 2, 1},
        {1, 128, 16, 16, 64, 4, 2, 1}, {2, 64, 32, 32, 1, 4, 2, 1},
    };
    static const struct cs disc[] = {
        {2, 1, 64, 64, 64, 4, 2, 1},   {1, 64, 32, 32, 128, 4, 2, 1},
        {1, 128, 16, 16, 256, 4, 2, 1}, {2, 256, 8, 8, 512, 4, 2, 1},
    };
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++)
        fast_vs_ref(&gen[i], 1, 3000 + 10 * i);
    for (size_t i = 0; i < sizeof disc / sizeof disc[0]; i++)
        fast_vs_ref(&disc[i], 0, 4000 + 10 * i);
}
END_TEST

/* Core lending (ops_busy_begin): a caller that shares the cores with another busy one runs the
 * same shares of the work one after the other, so every pass gives the same bits as alone. */
static void busy_vs_alone(const struct cs *c, int transpose, uint64_t seed)
{
    struct layer l;
    if (!layer_make(&l, c, transpose, seed))
        return;
    const size_t ni = l.ni, no = l.no, nw = l.nw, nb = l.nb;
    struct passes p[2] = {{falloc(no), falloc(ni), falloc(nw), falloc(nb)},
                          {falloc(no), falloc(ni), falloc(nw), falloc(nb)}};
    ops_set_threads(2);
    for (int busy = 0; busy < 2; busy++) {
        memset(p[busy].g, 0, nw * sizeof(float));
        memset(p[busy].gb, 0, nb * sizeof(float));
        ops_busy_begin(); /* this caller */
        if (busy)
            ops_busy_begin(); /* and another one, which takes a thread back */
        run_fast(p[busy], &l.s, transpose, l.inp, l.w, l.b, l.dout, l.work);
        ops_busy_end();
        if (busy)
            ops_busy_end();
    }
    const float *alone[] = {p[0].out, p[0].d, p[0].g, p[0].gb};
    const float *shared[] = {p[1].out, p[1].d, p[1].g, p[1].gb};
    const size_t n[] = {no, ni, nw, nb};
    const char *pass[] = {"forward", "backward data", "backward weight", "backward bias"};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(memcmp(alone[i], shared[i], n[i] * sizeof(float)) == 0,
                      "%s %s B%d cin%d %dx%d cout%d: busy and alone differ",
                      transpose ? "convT" : "conv", pass[i], c->batch, c->cin, c->h, c->w,
                      c->cout);
    ops_set_threads(1);
    for (int i = 0; i < 2; i++)
        free(p[i].out), free(p[i].d), free(p[i].g), free(p[i].gb);
    layer_free(&l);
}

/* Shapes where OpenBLAS's sums depend on how the product is cut (the seed's middle layers, with
 * one and two images), and a projection. */
START_TEST(test_busy_same_bits)
{
    static const struct cs shapes[] = {
        {1, 64, 32, 32, 128, 4, 2, 1}, {2, 1, 64, 64, 64, 4, 2, 1}, {2, 128, 16, 16, 256, 4, 2, 1},
        {1, 20, 1, 1, 512, 4, 1, 0},
    };
    both_directions(busy_vs_alone, shapes, sizeof shapes / sizeof shapes[0], 7000);
}
END_TEST

/* ---- bf16 products ------------------------------------------------------------------------- */

/* Turns bf16 on; 0 (and prints why) where this machine cannot run it. */
static int bf16_on(void)
{
    if (ops_set_precision(OPS_PRECISION_BF16)) {
        printf("SKIP: bf16: %s\n", status_message());
        return 0;
    }
    printf("bf16 products: %s\n", ops_bf16_backend());
    return 1;
}

/* Every pass of one layer in bf16 against the fp32 references. bf16 keeps 8 bits of mantissa
 * (relative rounding error <= 2^-9 per operand), sums stay fp32: the normalised MSE of a product
 * of random operands lands near 1e-6. It must be below 1e-4, and above 1e-12: a bf16 run that
 * matched fp32 to the last bit would mean the products never went through bf16. */
static void bf16_vs_ref(const struct cs *c, int transpose, uint64_t seed)
{
    struct layer l;
    if (!layer_make(&l, c, transpose, seed))
        return;
    float *o1 = falloc(l.no), *d1 = falloc(l.ni), *g1 = falloc(l.nw), *gb1 = falloc(l.nb);
    float *o2 = falloc(l.no), *d2 = falloc(l.ni), *g2 = falloc(l.nw), *gb2 = falloc(l.nb);
    ck_assert_int_eq(ops_set_precision(OPS_PRECISION_FP32), STATUS_OK);
    run_ref((struct passes){o1, d1, g1, gb1}, &l.s, transpose, l.inp, l.w, l.b, l.dout);
    ck_assert_int_eq(ops_set_precision(OPS_PRECISION_BF16), STATUS_OK);
    for (int nt = 1; nt <= 2; nt++) {
        ops_set_threads(nt);
        memset(g2, 0, l.nw * sizeof *g2);
        memset(gb2, 0, l.nb * sizeof *gb2);
        run_fast((struct passes){o2, d2, g2, gb2}, &l.s, transpose, l.inp, l.w, l.b, l.dout,
                 l.work);
        const float *got[] = {o2, d2, g2}, *want[] = {o1, d1, g1};
        const size_t n[] = {l.no, l.ni, l.nw};
        const char *pass[] = {"forward", "backward data", "backward weight"};
        for (int i = 0; i < 3; i++) {
            double e = tu_nmse(got[i], want[i], n[i]);
            ck_assert_msg(e < 1e-4 && e > 1e-12,
                          "bf16 %s %s B%d cin%d %dx%d cout%d (%d threads): nmse %.3g",
                          transpose ? "convT" : "conv", pass[i], c->batch, c->cin, c->h, c->w,
                          c->cout, nt, e);
        }
    }
    ops_set_threads(1);
    ck_assert_int_eq(ops_set_precision(OPS_PRECISION_FP32), STATUS_OK);
    free(o1), free(d1), free(g1), free(gb1), free(o2), free(d2), free(g2), free(gb2);
    layer_free(&l);
}

START_TEST(test_bf16_network_layers)
{
    if (!bf16_on())
        return;
    static const struct cs gen[] = {
        {2, 20, 1, 1, 512, 4, 1, 0}, {1, 512, 4, 4, 256, 4, 2, 1}, {2, 128, 16, 16, 64, 4, 2, 1},
    };
    static const struct cs disc[] = {
        {2, 1, 64, 64, 64, 4, 2, 1}, {1, 128, 16, 16, 256, 4, 2, 1}, {2, 256, 8, 8, 512, 4, 2, 1},
    };
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++)
        bf16_vs_ref(&gen[i], 1, 7000 + 10 * i);
    for (size_t i = 0; i < sizeof disc / sizeof disc[0]; i++)
        bf16_vs_ref(&disc[i], 0, 8000 + 10 * i);
}
END_TEST

/* Small integers are exact in bf16, and their sums exact in fp32: the bf16 path must then give
 * the fp32 answer to the bit, including the accumulating weight gradient (dweight +=). This
 * pins the conversion (no rounding of exact values, no scaling) and the accumulate flag. */
static float *ints(size_t n, uint64_t seed)
{
    float *p = frand(n, seed, 3.49f);
    for (size_t i = 0; i < n; i++)
        p[i] = roundf(p[i]);
    return p;
}

START_TEST(test_bf16_exact_on_integers)
{
    if (!bf16_on())
        return;
    const struct cs c = {2, 6, 8, 8, 5, 4, 2, 1};
    for (int transpose = 0; transpose <= 1; transpose++) {
        struct conv_shape s;
        ck_assert(mk_conv(&s, c, transpose));
        const size_t ni = n_in(&s), no = n_out(&s), nw = n_w(&s), nb = (size_t)s.cout;
        float *inp = ints(ni, 11), *w = ints(nw, 12), *b = ints(nb, 13), *dout = ints(no, 14);
        float *g1 = ints(nw, 15), *gb1 = ints(nb, 16), *g2 = falloc(nw), *gb2 = falloc(nb);
        float *o1 = falloc(no), *o2 = falloc(no), *d1 = falloc(ni), *d2 = falloc(ni);
        float *work = falloc(transpose ? conv_transpose2d_work_size(&s) : conv2d_work_size(&s));
        memcpy(g2, g1, nw * sizeof *g1);
        memcpy(gb2, gb1, nb * sizeof *gb1);
        ck_assert_int_eq(ops_set_precision(OPS_PRECISION_FP32), STATUS_OK);
        run_ref((struct passes){o1, d1, g1, gb1}, &s, transpose, inp, w, b, dout);
        ck_assert_int_eq(ops_set_precision(OPS_PRECISION_BF16), STATUS_OK);
        run_fast((struct passes){o2, d2, g2, gb2}, &s, transpose, inp, w, b, dout, work);
        ck_assert_int_eq(ops_set_precision(OPS_PRECISION_FP32), STATUS_OK);
        ck_assert_mem_eq(o1, o2, no * sizeof *o1);
        ck_assert_mem_eq(d1, d2, ni * sizeof *d1);
        ck_assert_mem_eq(g1, g2, nw * sizeof *g1);
        ck_assert_mem_eq(gb1, gb2, nb * sizeof *gb1);
        free(inp), free(w), free(b), free(dout), free(g1), free(gb1), free(g2), free(gb2);
        free(o1), free(o2), free(d1), free(d2), free(work);
    }
}
END_TEST

START_TEST(test_precision_names)
{
    ck_assert_int_eq(ops_precision_parse("fp32"), OPS_PRECISION_FP32);
    ck_assert_int_eq(ops_precision_parse("bf16"), OPS_PRECISION_BF16);
    ck_assert_int_eq(ops_precision_parse("fp16"), -1);
    ck_assert_str_eq(ops_precision_name(OPS_PRECISION_BF16), "bf16");
    /* a refused bf16 leaves the precision as it was */
    ck_assert_int_eq(ops_set_precision(OPS_PRECISION_FP32), STATUS_OK);
    if (ops_set_precision(OPS_PRECISION_BF16) != STATUS_OK) {
        ck_assert_int_eq(ops_get_precision(), OPS_PRECISION_FP32);
        ck_assert(strlen(ops_bf16_backend()) > 0);
    }
    ck_assert_int_eq(ops_set_precision(OPS_PRECISION_FP32), STATUS_OK);
    ck_assert_int_eq(ops_get_precision(), OPS_PRECISION_FP32);
    for (int i = CPU_ISA_PORTABLE; i <= CPU_ISA_AVX512; i++)
        ck_assert_int_eq(cpu_isa_parse(cpu_isa_name((enum cpu_isa)i)), i);
    ck_assert_int_eq(cpu_isa_parse("sse"), -1);
}
END_TEST

/* The OpenBLAS kernel advice: never over the user's OPENBLAS_CORETYPE, and when given, a core of
 * the CPU's own instruction set. And this binary runs the kernels the daemon runs: tu_main
 * restarts it as cli/main.c restarts the daemon, so no advice is left unheeded. (The daemon's
 * own restart is checked end to end by integration.sh: its compute line.) */
START_TEST(test_blas_core_advice)
{
    const char *core = ops_blas_core();
    char line[160];
    ops_blas_describe(line, sizeof line);
    printf("kernels of this test binary: %s\n", line);
    /* the restart's OPENBLAS_CORETYPE is ours, not the user's: ask as if it were not set */
    char *ours = getenv("INSPECTD_BLAS_FALLBACK") && getenv("OPENBLAS_CORETYPE")
                     ? strdup(getenv("OPENBLAS_CORETYPE"))
                     : NULL;
    if (ours)
        unsetenv("OPENBLAS_CORETYPE");
    const char *advice = getenv("OPENBLAS_CORETYPE") ? NULL : ops_blas_core_advice();
    ck_assert_msg(advice == NULL, "OpenBLAS runs its generic %s kernels where %s would do: the "
                  "test binary did not restart as the daemon does", core, advice);
    if (ours)
        setenv("OPENBLAS_CORETYPE", ours, 1);
    free(ours);
    advice = ops_blas_core_advice();
    printf("OpenBLAS core %s, advice %s, CPU %s\n", core, advice ? advice : "(none)",
           cpu_isa_name(cpu_isa_detected()));
    ck_assert(strlen(core) > 0);
    if (advice)
        ck_assert_str_eq(advice, cpu_isa_detected() == CPU_ISA_AVX512 ? "SkylakeX" : "Haswell");
    if (cpu_isa_detected() == CPU_ISA_PORTABLE)
        ck_assert_ptr_null(advice);
    setenv("OPENBLAS_CORETYPE", "Prescott", 1);
    ck_assert_ptr_null(ops_blas_core_advice());
    unsetenv("OPENBLAS_CORETYPE");
    ck_assert_msg(strstr(line, core) && !strncmp(line, "OpenBLAS", 8), "describe: %s", line);
}
END_TEST

START_TEST(test_shape_infer)
{
    struct conv_shape s = {.batch = 1, .cin = 1, .hin = 64, .win = 64, .k = 4, .stride = 2,
                           .pad = 1};
    conv2d_shape_infer(&s);
    ck_assert_int_eq(s.hout, 32);
    ck_assert_int_eq(s.wout, 32);
    s = (struct conv_shape){.batch = 1, .hin = 7, .win = 6, .k = 3, .stride = 2, .pad = 1};
    conv2d_shape_infer(&s);
    ck_assert_int_eq(s.hout, 4);
    ck_assert_int_eq(s.wout, 3);
    s = (struct conv_shape){.batch = 1, .hin = 1, .win = 1, .k = 4, .stride = 1, .pad = 0};
    conv_transpose2d_shape_infer(&s);
    ck_assert_int_eq(s.hout, 4);
    ck_assert_int_eq(s.wout, 4);
    s = (struct conv_shape){.batch = 1, .hin = 32, .win = 5, .k = 4, .stride = 2, .pad = 1};
    conv_transpose2d_shape_infer(&s);
    ck_assert_int_eq(s.hout, 64);
    ck_assert_int_eq(s.wout, 10);
}
END_TEST

/* ---- BatchNorm ----------------------------------------------------------------------------- */

struct bn_ctx {
    int C, N, train;
    float *inp, *gamma, *beta, *mean, *var, *out, *xhat, *bmean, *brstd, *r;
};

static double bn_loss(void *p)
{
    struct bn_ctx *c = p;
    if (c->train)
        batchnorm_forward_train(c->out, c->xhat, c->bmean, c->brstd, c->inp, c->gamma, c->beta,
                                1e-5f, c->C, c->N);
    else
        batchnorm_forward_eval(c->out, c->inp, c->gamma, c->beta, c->mean, c->var, 1e-5f, c->C,
                               c->N);
    return dot(c->out, c->r, (size_t)c->C * c->N);
}

static void bn_fd(int train)
{
    /* (C, N): N = B*H*W; 2x3x3 = 18, a 1x1 batch of 3, a row that is not a multiple of 4. */
    static const int dims[][2] = {{3, 18}, {5, 3}, {2, 37}};
    for (size_t t = 0; t < 3; t++) {
        int C = dims[t][0], N = dims[t][1];
        size_t n = (size_t)C * N;
        struct bn_ctx c = {.C = C, .N = N, .train = train};
        c.inp = frand(n, 50 + t, 2.0f);
        c.gamma = frand((size_t)C, 51 + t, 1.0f);
        c.beta = frand((size_t)C, 52 + t, 1.0f);
        c.mean = frand((size_t)C, 53 + t, 0.5f);
        c.var = frand((size_t)C, 54 + t, 0.5f);
        for (int i = 0; i < C; i++)
            c.var[i] += 1.0f; /* positive */
        c.out = falloc(n), c.xhat = falloc(n), c.bmean = falloc((size_t)C);
        c.brstd = falloc((size_t)C);
        c.r = frand(n, 55 + t, 1.0f);
        float *dinp = frand(n, 56 + t, 9.0f);
        float *dg = frand((size_t)C, 57 + t, 1.0f), *dbt = frand((size_t)C, 58 + t, 1.0f);
        float dg0[8], db0[8];
        memcpy(dg0, dg, (size_t)C * sizeof *dg);
        memcpy(db0, dbt, (size_t)C * sizeof *dbt);

        bn_loss(&c);
        if (train) {
            batchnorm_backward_train(dinp, dg, dbt, c.r, c.xhat, c.brstd, c.gamma, C, N);
            for (int i = 0; i < C; i++)
                dg[i] -= dg0[i], dbt[i] -= db0[i];
            fd_check("bn train dinp", bn_loss, &c, c.inp, dinp, n, 1, 1e-2f, 5e-3, 2e-4);
            fd_check("bn dgamma", bn_loss, &c, c.gamma, dg, (size_t)C, 1, 1e-2f, 5e-3, 2e-4);
            fd_check("bn dbeta", bn_loss, &c, c.beta, dbt, (size_t)C, 1, 1e-2f, 5e-3, 2e-4);
            /* Normalised rows: mean 0 and biased variance 1 (gamma, beta aside). */
            for (int ch = 0; ch < C; ch++) {
                double m = 0, v = 0;
                for (int i = 0; i < N; i++)
                    m += c.xhat[(size_t)ch * N + i];
                for (int i = 0; i < N; i++)
                    v += pow(c.xhat[(size_t)ch * N + i] - m / N, 2);
                ck_assert_double_lt(fabs(m / N), 1e-6);
                ck_assert_double_lt(fabs(v / N - 1.0), 1e-3);
            }
        } else {
            batchnorm_backward_eval(dinp, c.r, c.gamma, c.var, 1e-5f, C, N);
            fd_check("bn eval dinp", bn_loss, &c, c.inp, dinp, n, 1, 1e-2f, 2e-3, 1e-4);
        }
        free(c.inp), free(c.gamma), free(c.beta), free(c.mean), free(c.var), free(c.out);
        free(c.xhat), free(c.bmean), free(c.brstd), free(c.r), free(dinp), free(dg), free(dbt);
    }
}

START_TEST(test_batchnorm_train_fd)
{
    bn_fd(1);
}
END_TEST

START_TEST(test_batchnorm_eval_fd)
{
    bn_fd(0);
}
END_TEST

/* Channel 0: x = {1, 2, 3, 6}: mean 3, biased variance 14/4, unbiased 14/3. Channel 1:
 * x = {-1, -1, 1, 1}: mean 0, biased variance 1, unbiased 4/3. Running stats start at (0.5, 2)
 * and (0, 1); momentum 0.1: mean 0.9*0.5 + 0.1*3 = 0.75, var 0.9*2 + 0.1*14/3 = 2.2666667;
 * mean 0, var 0.9 + 0.1*4/3 = 1.0333333. Eval output of x = 3 with those: (3 - 0.75) /
 * sqrt(2.2666667 + 1e-5) * 2 + 1. */
START_TEST(test_batchnorm_running_hand)
{
    const float x[8] = {1, 2, 3, 6, -1, -1, 1, 1}, gamma[2] = {2, 1}, beta[2] = {1, 0};
    float out[8], xhat[8], bmean[2], brstd[2];
    float rmean[2] = {0.5f, 0.0f}, rvar[2] = {2.0f, 1.0f};
    batchnorm_forward_train(out, xhat, bmean, brstd, x, gamma, beta, 1e-5f, 2, 4);
    ck_assert_float_eq_tol(bmean[0], 3.0f, 1e-6f);
    ck_assert_float_eq_tol(brstd[0], (float)(1 / sqrt(3.5 + 1e-5)), 1e-6f);
    ck_assert_float_eq_tol(out[3], (float)(3 / sqrt(3.5 + 1e-5) * 2 + 1), 1e-5f);
    batchnorm_update_running(rmean, rvar, bmean, brstd, 1e-5f, 0.1f, 2, 4);
    ck_assert_float_eq_tol(rmean[0], 0.75f, 1e-6f);
    ck_assert_float_eq_tol(rvar[0], 2.2666667f, 2e-6f);
    ck_assert_float_eq_tol(rmean[1], 0.0f, 1e-7f);
    ck_assert_float_eq_tol(rvar[1], 1.0333333f, 2e-6f);

    const float in1[1] = {3.0f};
    float o1[1];
    batchnorm_forward_eval(o1, in1, gamma, beta, rmean, rvar, 1e-5f, 1, 1);
    ck_assert_float_eq_tol(o1[0], (float)(2.25 / sqrt(2.2666667 + 1e-5) * 2 + 1), 1e-5f);
}
END_TEST

/* ---- activations --------------------------------------------------------------------------- */

enum act { ACT_RELU, ACT_LEAKY, ACT_TANH };

struct act_ctx {
    enum act a;
    size_t n;
    float *inp, *out, *r;
};

static void act_forward(enum act a, float *out, const float *inp, size_t n)
{
    if (a == ACT_RELU)
        relu_forward(out, inp, n);
    else if (a == ACT_LEAKY)
        leaky_relu_forward(out, inp, 0.2f, n);
    else
        tanh_forward(out, inp, n);
}

static double act_loss(void *p)
{
    struct act_ctx *c = p;
    act_forward(c->a, c->out, c->inp, c->n);
    return dot(c->out, c->r, c->n);
}

static void act_fd(enum act a)
{
    const size_t n = 23; /* not a multiple of the vector width */
    struct act_ctx c = {.a = a, .n = n, .inp = frand(n, 70 + a, 2.0f), .out = falloc(n),
                        .r = frand(n, 71 + a, 1.0f)};
    /* Keep inputs away from the kink at 0 (further than the step). */
    for (size_t i = 0; i < n; i++)
        if (fabsf(c.inp[i]) < 0.1f)
            c.inp[i] += c.inp[i] < 0 ? -0.1f : 0.1f;
    float *dinp = frand(n, 72, 9.0f);
    act_forward(a, c.out, c.inp, n);
    if (a == ACT_RELU)
        relu_backward(dinp, c.r, c.out, n);
    else if (a == ACT_LEAKY)
        leaky_relu_backward(dinp, c.r, c.out, 0.2f, n);
    else
        tanh_backward(dinp, c.r, c.out, n);
    fd_check("activation dinp", act_loss, &c, c.inp, dinp, n, 1, 1e-2f, 3e-3, 1e-4);

    /* In place gives the same numbers as out of place. */
    float *y = falloc(n), *g = falloc(n);
    memcpy(y, c.inp, n * sizeof *y);
    act_forward(a, y, y, n);
    act_forward(a, c.out, c.inp, n);
    ck_assert_mem_eq(y, c.out, n * sizeof *y);
    memcpy(g, c.r, n * sizeof *g);
    if (a == ACT_RELU)
        relu_backward(g, g, c.out, n);
    else if (a == ACT_LEAKY)
        leaky_relu_backward(g, g, c.out, 0.2f, n);
    else
        tanh_backward(g, g, c.out, n);
    ck_assert_mem_eq(g, dinp, n * sizeof *g);
    free(c.inp), free(c.out), free(c.r), free(dinp), free(y), free(g);
}

START_TEST(test_relu_fd)
{
    act_fd(ACT_RELU);
}
END_TEST

START_TEST(test_leaky_relu_fd)
{
    act_fd(ACT_LEAKY);
}
END_TEST

START_TEST(test_tanh_fd)
{
    act_fd(ACT_TANH);
}
END_TEST

START_TEST(test_activation_values)
{
    const float x[6] = {-2.0f, -0.5f, 0.0f, 0.25f, 1.0f, 3.0f};
    float y[6];
    relu_forward(y, x, 6);
    ck_assert_float_eq(y[0], 0.0f);
    ck_assert_float_eq(y[2], 0.0f);
    ck_assert_float_eq(y[5], 3.0f);
    leaky_relu_forward(y, x, 0.2f, 6);
    ck_assert_float_eq_tol(y[0], -0.4f, 1e-7f);
    ck_assert_float_eq(y[4], 1.0f);
    tanh_forward(y, x, 6);
    ck_assert_float_eq_tol(y[1], (float)tanh(-0.5), 1e-7f);
}
END_TEST

/* Large calls are split over threads; every element must come out exactly as with one thread
 * (BatchNorm's sums are per channel and channels are never split). */
START_TEST(test_pointwise_threads_identical)
{
    const int C = 7, N = 40003; /* 280k floats, over the threshold; ragged everywhere */
    const size_t n = (size_t)C * N;
    float *x = frand(n, 90, 2.0f), *dy = frand(n, 91, 1.0f);
    float *gamma = frand((size_t)C, 92, 1.0f), *beta = frand((size_t)C, 93, 1.0f);
    float *mean = frand((size_t)C, 94, 0.5f), *var = frand((size_t)C, 95, 0.5f);
    for (int c = 0; c < C; c++)
        var[c] += 1.0f;
    float *res[2][10];
    const int saved = ops_get_threads();
    for (int r = 0; r < 2; r++) {
        ops_set_threads(r == 0 ? 1 : 3);
        for (int k = 0; k < 10; k++)
            res[r][k] = falloc(n);
        float *bm = falloc((size_t)C), *br = falloc((size_t)C);
        float *dg = falloc((size_t)C), *db = falloc((size_t)C);
        batchnorm_forward_eval(res[r][0], x, gamma, beta, mean, var, 1e-5f, C, N);
        batchnorm_backward_eval(res[r][1], dy, gamma, var, 1e-5f, C, N);
        batchnorm_forward_train(res[r][2], res[r][3], bm, br, x, gamma, beta, 1e-5f, C, N);
        batchnorm_backward_train(res[r][4], dg, db, dy, res[r][3], br, gamma, C, N);
        memcpy(res[r][4] + n - 2 * C, dg, (size_t)C * sizeof *dg); /* compare them too */
        memcpy(res[r][4] + n - C, db, (size_t)C * sizeof *db);
        relu_forward(res[r][5], x, n);
        relu_backward(res[r][6], dy, x, n);
        leaky_relu_forward(res[r][7], x, 0.2f, n);
        leaky_relu_backward(res[r][8], dy, x, 0.2f, n);
        tanh_forward(res[r][9], x, n);
        tanh_backward(res[r][9], res[r][9], x, n); /* in place, after the forward */
        free(bm), free(br), free(dg), free(db);
    }
    ops_set_threads(saved);
    for (int k = 0; k < 10; k++) {
        ck_assert_msg(memcmp(res[0][k], res[1][k], n * sizeof(float)) == 0,
                      "pointwise result %d differs between 1 and 3 threads", k);
        free(res[0][k]), free(res[1][k]);
    }
    free(x), free(dy), free(gamma), free(beta), free(mean), free(var);
}
END_TEST

/* ---- Adam ---------------------------------------------------------------------------------- */

/* lr 0.1, betas (0.9, 0.999), eps 1e-8, parameter 1.0, gradients 0.5, -0.2, 0.1 (worked in
 * double from torch.optim.Adam's update, independently of the code under test):
 *  t=1: m = 0.05,   v = 2.5e-4;      mhat = 0.5,       sqrt(vhat) = 0.5        -> p = 0.9
 *  t=2: m = 0.025,  v = 2.8975e-4;   mhat = 0.025/0.19, sqrt(v/0.001999)        -> p = 0.86543942
 *  t=3: m = 0.0325, v = 2.9946025e-4; mhat = 0.0325/0.271, sqrt(v/0.002997001)  -> p = 0.82750024
 * With weight_decay 0.5 the gradient first gains 0.5 * p (g = 1.0, 0.25, 0.50847012):
 *  p = 0.9, 0.81694025, 0.73108770. */
START_TEST(test_adam_three_steps)
{
    struct adam_config cfg = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                              .weight_decay = 0.0f};
    const float grads[3] = {0.5f, -0.2f, 0.1f};
    const double want[3] = {0.9, 0.8654394181, 0.8275002408};
    float p = 1.0f, m = 0.0f, v = 0.0f;
    for (int t = 1; t <= 3; t++) {
        adam_step(&p, &grads[t - 1], &m, &v, 1, &cfg, t);
        ck_assert_msg(fabs(p - want[t - 1]) < 2e-6, "step %d: %.9g, want %.9g", t, p,
                      want[t - 1]);
    }

    cfg.weight_decay = 0.5f;
    const double want_wd[3] = {0.9, 0.8169402487, 0.7310876969};
    float q[2] = {1.0f, 1.0f}, mq[2] = {0}, vq[2] = {0};
    for (int t = 1; t <= 3; t++) {
        float g[2] = {grads[t - 1], grads[t - 1]};
        adam_step(q, g, mq, vq, 2, &cfg, t);
        ck_assert_msg(fabs(q[0] - want_wd[t - 1]) < 2e-6, "wd step %d: %.9g, want %.9g", t, q[0],
                      want_wd[t - 1]);
        ck_assert_float_eq(q[0], q[1]);
    }
}
END_TEST

START_TEST(test_threads)
{
    ops_set_threads(1);
    ck_assert_int_eq(ops_get_threads(), 1);
    ops_set_threads(0); /* clamped to 1 */
    ck_assert_int_eq(ops_get_threads(), 1);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("ops");
    TCase *fd = tcase_create("finite_differences");
    tcase_add_test(fd, test_conv2d_backward_ref_fd);
    tcase_add_test(fd, test_conv2d_backward_fast_fd);
    tcase_add_test(fd, test_conv_transpose2d_backward_ref_fd);
    tcase_add_test(fd, test_conv_transpose2d_backward_fast_fd);
    tcase_add_test(fd, test_batchnorm_train_fd);
    tcase_add_test(fd, test_batchnorm_eval_fd);
    tcase_add_test(fd, test_relu_fd);
    tcase_add_test(fd, test_leaky_relu_fd);
    tcase_add_test(fd, test_tanh_fd);
    suite_add_tcase(s, fd);
    TCase *cmp = tcase_create("fast_vs_ref");
    tcase_set_timeout(cmp, 600); /* the reference loops on the real layers, slower under ASan */
    tcase_add_test(cmp, test_conv2d_fast_vs_ref_odd);
    tcase_add_test(cmp, test_conv_transpose2d_fast_vs_ref_odd);
    tcase_add_test(cmp, test_threaded_fast_vs_ref);
    tcase_add_test(cmp, test_network_layers_fast_vs_ref);
    tcase_add_test(cmp, test_busy_same_bits);
    tcase_add_test(cmp, test_bf16_network_layers);
    tcase_add_test(cmp, test_bf16_exact_on_integers);
    suite_add_tcase(s, cmp);
    TCase *val = tcase_create("values");
    tcase_add_test(val, test_shape_infer);
    tcase_add_test(val, test_batchnorm_running_hand);
    tcase_add_test(val, test_activation_values);
    tcase_add_test(val, test_pointwise_threads_identical);
    tcase_add_test(val, test_adam_three_steps);
    tcase_add_test(val, test_threads);
    tcase_add_test(val, test_precision_names);
    tcase_add_test(val, test_blas_core_advice);
    suite_add_tcase(s, val);
    return tu_main(s, argc, argv);
}
