/* ops_pointwise: BatchNorm2d (inference and training), ReLU, LeakyReLU, Tanh and Adam.
 *
 * Every function here is a single pass (or two) over flat arrays; there is no separate _ref twin
 * because these loops ARE the definition. The hot ones (inference BatchNorm and the activations,
 * run at every latent-search step) are written on 4-float vectors (GCC/Clang vector extensions,
 * plain SSE2, no -ffast-math) so that -O2 emits packed code; the scalar tail does the rest.
 *
 * Sources: BatchNorm: Ioffe & Szegedy 2015, Algorithm 1, with PyTorch's conventions (biased
 * variance to normalise, unbiased variance in the running estimate, momentum 0.1 meaning
 * running = (1 - m) running + m batch). Adam: torch.optim.Adam (1.13), single-tensor path. */
#include "ops.h"

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
void batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                            const float *mean, const float *var, float eps, int C, int N)
{
    for (int c = 0; c < C; c++) {
        float scale = gamma[c] / sqrtf(var[c] + eps);
        float shift = beta[c] - mean[c] * scale;
        scale_shift(out + (size_t)c * N, inp + (size_t)c * N, scale, shift, (size_t)N);
    }
}

void batchnorm_backward_eval(float *dinp, const float *dout, const float *gamma, const float *var,
                             float eps, int C, int N)
{
    for (int c = 0; c < C; c++) {
        float scale = gamma[c] / sqrtf(var[c] + eps);
        scale_shift(dinp + (size_t)c * N, dout + (size_t)c * N, scale, 0.0f, (size_t)N);
    }
}

void batchnorm_forward_train(float *out, float *xhat, float *bmean, float *brstd, const float *inp,
                             const float *gamma, const float *beta, float eps, int C, int N)
{
    ASSERT(N > 0);
    for (int c = 0; c < C; c++) {
        const float *x = inp + (size_t)c * N;
        float *xh = xhat + (size_t)c * N;
        double sum;
        row_sums(&sum, NULL, x, NULL, (size_t)N);
        float mean = (float)(sum / N);
        /* Two passes: centre first, then the (biased) variance of the centred row. */
        scale_shift(xh, x, 1.0f, -mean, (size_t)N);
        double dummy, sq;
        row_sums(&dummy, &sq, xh, xh, (size_t)N);
        float rstd = (float)(1.0 / sqrt(sq / N + (double)eps));
        scale_shift(xh, xh, rstd, 0.0f, (size_t)N);
        scale_shift(out + (size_t)c * N, xh, gamma[c], beta[c], (size_t)N);
        bmean[c] = mean;
        brstd[c] = rstd;
    }
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

/* dxhat = dout * gamma; dinp = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). */
void batchnorm_backward_train(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *xhat, const float *brstd, const float *gamma, int C,
                              int N)
{
    for (int c = 0; c < C; c++) {
        const float *dy = dout + (size_t)c * N, *xh = xhat + (size_t)c * N;
        float *dx = dinp + (size_t)c * N;
        double sum_dy, sum_dy_xh;
        row_sums(&sum_dy, &sum_dy_xh, dy, xh, (size_t)N);
        float k = gamma[c] * brstd[c];
        float mdy = (float)(sum_dy / N), mdyx = (float)(sum_dy_xh / N);
        const f32x4 vk = splat4(k), vm = splat4(mdy), vmx = splat4(mdyx);
        size_t i = 0;
        for (; i + 4 <= (size_t)N; i += 4)
            store4(dx + i, vk * (load4(dy + i) - vm - load4(xh + i) * vmx));
        for (; i < (size_t)N; i++)
            dx[i] = k * (dy[i] - mdy - xh[i] * mdyx);
        if (dgamma)
            dgamma[c] += (float)sum_dy_xh;
        if (dbeta)
            dbeta[c] += (float)sum_dy;
    }
}

/* ---- Activations --------------------------------------------------------------------------- */

/* Lane select: m ? a : b, m a comparison result (all ones or all zeros per lane). */
static inline f32x4 select4(i32x4 m, f32x4 a, f32x4 b)
{
    return (f32x4)(((i32x4)a & m) | ((i32x4)b & ~m));
}

void relu_forward(float *out, const float *inp, size_t n)
{
    const f32x4 zero = splat4(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 x = load4(inp + i);
        store4(out + i, select4(x > zero, x, zero));
    }
    for (; i < n; i++)
        out[i] = inp[i] > 0 ? inp[i] : 0.0f;
}

void relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    const f32x4 zero = splat4(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        store4(dinp + i, select4(load4(out + i) > zero, load4(dout + i), zero));
    for (; i < n; i++)
        dinp[i] = out[i] > 0 ? dout[i] : 0.0f;
}

void leaky_relu_forward(float *out, const float *inp, float slope, size_t n)
{
    const f32x4 zero = splat4(0), vs = splat4(slope);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 x = load4(inp + i);
        store4(out + i, select4(x > zero, x, x * vs));
    }
    for (; i < n; i++)
        out[i] = inp[i] > 0 ? inp[i] : inp[i] * slope;
}

void leaky_relu_backward(float *dinp, const float *dout, const float *out, float slope, size_t n)
{
    const f32x4 zero = splat4(0), vs = splat4(slope);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 g = load4(dout + i);
        store4(dinp + i, select4(load4(out + i) > zero, g, g * vs));
    }
    for (; i < n; i++)
        dinp[i] = out[i] > 0 ? dout[i] : dout[i] * slope;
}

void tanh_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(inp[i]);
}

void tanh_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    const f32x4 one = splat4(1.0f);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 y = load4(out + i);
        store4(dinp + i, load4(dout + i) * (one - y * y));
    }
    for (; i < n; i++)
        dinp[i] = dout[i] * (1.0f - out[i] * out[i]);
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
