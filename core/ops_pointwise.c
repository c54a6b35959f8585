/* ops_pointwise: BatchNorm2d (inference and training), ReLU, LeakyReLU, Tanh and Adam.
 *
 * Every function here is a single pass (or two) over flat arrays; there is no separate _ref twin
 * because these loops ARE the definition. The hot ones (inference BatchNorm and the activations,
 * run at every latent-search step) are written on 4-float vectors (GCC/Clang vector extensions,
 * plain SSE2, no -ffast-math) so that -O2 emits packed code; the scalar tail does the rest.
 * Large calls (a quarter million floats and up: big batches) are split over the kernel threads,
 * by channels for BatchNorm and by aligned ranges for the activations.
 *
 * Sources: BatchNorm: Ioffe & Szegedy 2015, Algorithm 1, with PyTorch's conventions (biased
 * variance to normalise, unbiased variance in the running estimate, momentum 0.1 meaning
 * running = (1 - m) running + m batch). Adam: torch.optim.Adam (1.13), single-tensor path. */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <math.h>
#include <string.h>

typedef float f32x4 __attribute__((vector_size(16)));
typedef int i32x4 __attribute__((vector_size(16)));

static inline f32x4 load4(const float *p)
{
    f32x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store4(float *p, f32x4 v)
{
    memcpy(p, &v, sizeof v);
}

static inline f32x4 splat4(float x)
{
    f32x4 v = {x, x, x, x};
    return v;
}

enum { PAR_MIN_FLOATS = 1 << 18 };

/* One pointwise call, split over threads: body(p, lo, hi) does items [lo, hi) (channels or
 * floats). */
struct pw {
    float *out, *out2, *out3, *out4;
    const float *a, *b, *gamma, *beta, *mean, *var;
    float eps, slope;
    int N;
    size_t count, unit;
    void (*body)(const struct pw *p, size_t lo, size_t hi);
};

static void pw_worker(void *ctx, int t, int n)
{
    const struct pw *p = ctx;
    size_t units = (p->count + p->unit - 1) / p->unit;
    size_t lo = units * (size_t)t / (size_t)n * p->unit;
    size_t hi = t + 1 == n ? p->count : units * (size_t)(t + 1) / (size_t)n * p->unit;
    if (hi > p->count)
        hi = p->count;
    if (lo < hi)
        p->body(p, lo, hi);
}

/* Runs p->body over [0, count) in shares of whole units; `floats` is the size of the work. */
static void pw_run(struct pw *p, size_t count, size_t unit, size_t floats)
{
    p->count = count;
    p->unit = unit;
    int nt = floats >= PAR_MIN_FLOATS ? ops_get_threads() : 1;
    if ((size_t)nt > (count + unit - 1) / unit)
        nt = (int)((count + unit - 1) / unit);
    if (nt <= 1) {
        if (count)
            p->body(p, 0, count);
        return;
    }
    ops_parallel(nt, pw_worker, p);
}

/* out[i] = inp[i] * a + b over n floats (in place allowed). */
static void scale_shift(float *out, const float *inp, float a, float b, size_t n)
{
    const f32x4 va = splat4(a), vb = splat4(b);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        store4(out + i, load4(inp + i) * va + vb);
    for (; i < n; i++)
        out[i] = inp[i] * a + b;
}

/* Sums of x and of x*y over n floats, in float lanes over blocks of 256 and double across
 * blocks, so rows of a few hundred thousand elements keep ~1e-7 relative accuracy. y may be NULL
 * (then only *sx is computed). */
static void row_sums(double *sx, double *sxy, const float *x, const float *y, size_t n)
{
    double tx = 0, txy = 0;
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t i1 = n - i0 < 256 ? n : i0 + 256, i = i0;
        f32x4 ax = splat4(0), axy = splat4(0);
        for (; i + 4 <= i1; i += 4) {
            f32x4 vx = load4(x + i);
            ax += vx;
            if (y)
                axy += vx * load4(y + i);
        }
        double bx = (double)ax[0] + ax[1] + ax[2] + ax[3];
        double bxy = (double)axy[0] + axy[1] + axy[2] + axy[3];
        for (; i < i1; i++) {
            bx += x[i];
            if (y)
                bxy += (double)x[i] * y[i];
        }
        tx += bx;
        txy += bxy;
    }
    *sx = tx;
    if (sxy)
        *sxy = txy;
}

/* ---- BatchNorm2d --------------------------------------------------------------------------- */

/* As PyTorch's CPU kernel: scale = gamma / sqrt(var + eps), shift = beta - mean * scale. */
static void bn_eval_body(const struct pw *p, size_t c0, size_t c1)
{
    for (size_t c = c0; c < c1; c++) {
        float scale = p->gamma[c] / sqrtf(p->var[c] + p->eps);
        float shift = p->beta ? p->beta[c] - p->mean[c] * scale : 0.0f;
        scale_shift(p->out + c * p->N, p->a + c * p->N, scale, shift, (size_t)p->N);
    }
}

void batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                            const float *mean, const float *var, float eps, int C, int N)
{
    struct pw p = {.out = out, .a = inp, .gamma = gamma, .beta = beta, .mean = mean, .var = var,
                   .eps = eps, .N = N, .body = bn_eval_body};
    pw_run(&p, (size_t)C, 1, (size_t)C * N);
}

/* The same map without the shift (beta NULL). */
void batchnorm_backward_eval(float *dinp, const float *dout, const float *gamma, const float *var,
                             float eps, int C, int N)
{
    struct pw p = {.out = dinp, .a = dout, .gamma = gamma, .var = var, .eps = eps, .N = N,
                   .body = bn_eval_body};
    pw_run(&p, (size_t)C, 1, (size_t)C * N);
}

static void bn_train_body(const struct pw *p, size_t c0, size_t c1)
{
    const size_t N = (size_t)p->N;
    for (size_t c = c0; c < c1; c++) {
        const float *x = p->a + c * N;
        float *xh = p->out2 + c * N;
        double sum;
        row_sums(&sum, NULL, x, NULL, N);
        float mean = (float)(sum / (double)N);
        /* Two passes: centre first, then the (biased) variance of the centred row. */
        scale_shift(xh, x, 1.0f, -mean, N);
        double dummy, sq;
        row_sums(&dummy, &sq, xh, xh, N);
        float rstd = (float)(1.0 / sqrt(sq / (double)N + (double)p->eps));
        scale_shift(xh, xh, rstd, 0.0f, N);
        scale_shift(p->out + c * N, xh, p->gamma[c], p->beta[c], N);
        p->out3[c] = mean;
        p->out4[c] = rstd;
    }
}

void batchnorm_forward_train(float *out, float *xhat, float *bmean, float *brstd, const float *inp,
                             const float *gamma, const float *beta, float eps, int C, int N)
{
    ASSERT(N > 0);
    struct pw p = {.out = out, .out2 = xhat, .out3 = bmean, .out4 = brstd, .a = inp,
                   .gamma = gamma, .beta = beta, .eps = eps, .N = N, .body = bn_train_body};
    pw_run(&p, (size_t)C, 1, (size_t)C * N);
}

/* The running variance uses the unbiased batch variance var * N / (N - 1), as PyTorch does; the
 * biased variance is recovered from the cached rstd. With N == 1 (PyTorch refuses to train on
 * that) the correction is skipped rather than divide by zero. */
void batchnorm_update_running(float *run_mean, float *run_var, const float *bmean,
                              const float *brstd, float eps, float momentum, int C, int N)
{
    for (int c = 0; c < C; c++) {
        double r = brstd[c];
        double var = 1.0 / (r * r) - (double)eps;
        if (var < 0)
            var = 0;
        if (N > 1)
            var *= (double)N / (double)(N - 1);
        run_mean[c] = (1.0f - momentum) * run_mean[c] + momentum * bmean[c];
        run_var[c] = (float)((1.0 - (double)momentum) * run_var[c] + (double)momentum * var);
    }
}

/* dxhat = dout * gamma; dinp = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
 * p->a: dout, p->b: xhat, p->var: brstd, p->out2/out3: dgamma/dbeta (may be NULL). */
static void bn_train_back_body(const struct pw *p, size_t c0, size_t c1)
{
    const size_t N = (size_t)p->N;
    for (size_t c = c0; c < c1; c++) {
        const float *dy = p->a + c * N, *xh = p->b + c * N;
        float *dx = p->out + c * N;
        double sum_dy, sum_dy_xh;
        row_sums(&sum_dy, &sum_dy_xh, dy, xh, N);
        float k = p->gamma[c] * p->var[c];
        float mdy = (float)(sum_dy / (double)N), mdyx = (float)(sum_dy_xh / (double)N);
        const f32x4 vk = splat4(k), vm = splat4(mdy), vmx = splat4(mdyx);
        size_t i = 0;
        for (; i + 4 <= N; i += 4)
            store4(dx + i, vk * (load4(dy + i) - vm - load4(xh + i) * vmx));
        for (; i < N; i++)
            dx[i] = k * (dy[i] - mdy - xh[i] * mdyx);
        if (p->out2)
            p->out2[c] += (float)sum_dy_xh;
        if (p->out3)
            p->out3[c] += (float)sum_dy;
    }
}

void batchnorm_backward_train(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *xhat, const float *brstd, const float *gamma, int C,
                              int N)
{
    struct pw p = {.out = dinp, .out2 = dgamma, .out3 = dbeta, .a = dout, .b = xhat,
                   .var = brstd, .gamma = gamma, .N = N, .body = bn_train_back_body};
    pw_run(&p, (size_t)C, 1, (size_t)C * N);
}

/* ---- Activations --------------------------------------------------------------------------- */

/* Lane select: m ? a : b, m a comparison result (all ones or all zeros per lane). */
static inline f32x4 select4(i32x4 m, f32x4 a, f32x4 b)
{
    return (f32x4)(((i32x4)a & m) | ((i32x4)b & ~m));
}

static void relu_forward_body(const struct pw *p, size_t lo, size_t hi)
{
    float *out = p->out + lo;
    const float *inp = p->a + lo;
    const size_t n = hi - lo;
    const f32x4 zero = splat4(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 x = load4(inp + i);
        store4(out + i, select4(x > zero, x, zero));
    }
    for (; i < n; i++)
        out[i] = inp[i] > 0 ? inp[i] : 0.0f;
}

void relu_forward(float *out, const float *inp, size_t n)
{
    struct pw q = {.out = out, .a = inp, .body = relu_forward_body};
    pw_run(&q, n, 16, n);
}

static void relu_backward_body(const struct pw *p, size_t lo, size_t hi)
{
    float *dinp = p->out + lo;
    const float *dout = p->a + lo, *out = p->b + lo;
    const size_t n = hi - lo;
    const f32x4 zero = splat4(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        store4(dinp + i, select4(load4(out + i) > zero, load4(dout + i), zero));
    for (; i < n; i++)
        dinp[i] = out[i] > 0 ? dout[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    struct pw q = {.out = dinp, .a = dout, .b = out, .body = relu_backward_body};
    pw_run(&q, n, 16, n);
}

static void leaky_relu_forward_body(const struct pw *p, size_t lo, size_t hi)
{
    float *out = p->out + lo;
    const float *inp = p->a + lo;
    const float slope = p->slope;
    const size_t n = hi - lo;
    const f32x4 zero = splat4(0), vs = splat4(slope);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 x = load4(inp + i);
        store4(out + i, select4(x > zero, x, x * vs));
    }
    for (; i < n; i++)
        out[i] = inp[i] > 0 ? inp[i] : inp[i] * slope;
}

void leaky_relu_forward(float *out, const float *inp, float slope, size_t n)
{
    struct pw q = {.out = out, .a = inp, .slope = slope, .body = leaky_relu_forward_body};
    pw_run(&q, n, 16, n);
}

static void leaky_relu_backward_body(const struct pw *p, size_t lo, size_t hi)
{
    float *dinp = p->out + lo;
    const float *dout = p->a + lo, *out = p->b + lo;
    const float slope = p->slope;
    const size_t n = hi - lo;
    const f32x4 zero = splat4(0), vs = splat4(slope);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 g = load4(dout + i);
        store4(dinp + i, select4(load4(out + i) > zero, g, g * vs));
    }
    for (; i < n; i++)
        dinp[i] = out[i] > 0 ? dout[i] : dout[i] * slope;
}

void leaky_relu_backward(float *dinp, const float *dout, const float *out, float slope, size_t n)
{
    struct pw q = {.out = dinp, .a = dout, .b = out, .slope = slope, .body = leaky_relu_backward_body};
    pw_run(&q, n, 16, n);
}

static void tanh_forward_body(const struct pw *p, size_t lo, size_t hi)
{
    float *out = p->out + lo;
    const float *inp = p->a + lo;
    const size_t n = hi - lo;
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(inp[i]);
}

void tanh_forward(float *out, const float *inp, size_t n)
{
    struct pw q = {.out = out, .a = inp, .body = tanh_forward_body};
    pw_run(&q, n, 16, n);
}

static void tanh_backward_body(const struct pw *p, size_t lo, size_t hi)
{
    float *dinp = p->out + lo;
    const float *dout = p->a + lo, *out = p->b + lo;
    const size_t n = hi - lo;
    const f32x4 one = splat4(1.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 y = load4(out + i);
        store4(dinp + i, load4(dout + i) * (one - y * y));
    }
    for (; i < n; i++)
        dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
}

void tanh_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    struct pw q = {.out = dinp, .a = dout, .b = out, .body = tanh_backward_body};
    pw_run(&q, n, 16, n);
}

/* ---- Adam ---------------------------------------------------------------------------------- */

/* torch.optim.Adam, single-tensor path: g += wd * p; m = b1 m + (1 - b1) g;
 * v = b2 v + (1 - b2) g^2; step = lr / (1 - b1^t); denom = sqrt(v) / sqrt(1 - b2^t) + eps;
 * p -= step * m / denom. The bias corrections are computed in double as Python does, then used
 * as float scalars as the tensor ops do. */
void adam_step(float *param, const float *grad, float *m, float *v, size_t n,
               const struct adam_config *cfg, int t)
{
    ASSERT(t >= 1);
    const float b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps, wd = cfg->weight_decay;
    const float step = (float)((double)cfg->lr / (1.0 - pow((double)b1, t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow((double)b2, t));
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        if (wd != 0.0f)
            g += wd * param[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        param[i] -= step * m[i] / denom; /* addcdiv: (value * m) / denom */
    }
}
