/* ops: the fast convolutions, as im2col/col2im around one matrix product per call.
 *
 * Activations are (C, B, H, W), so the columns of a whole batch form one matrix (C*k*k, B*oh*ow)
 * and one GEMM (ops_gemm.c) covers the batch:
 *   Conv2d forward         out (cout, B*HWo)  = W (cout, cin*kk) x cols (cin*kk, B*HWo)
 *          backward data   dcols              = W^T x dout,  dinp = col2im(dcols)
 *          backward weight dW (cout, cin*kk) += dout x cols^T
 *   ConvTranspose2d fwd    cols (cout*kk, B*HWi) = W^T (W is (cin, cout*kk)) x inp, out = col2im
 *          backward data   dcols = im2col(dout), dinp (cin, B*HWi) = W x dcols
 *          backward weight dW (cin, cout*kk) += inp x dcols^T
 * A 1x1 convolution at stride 1 without padding needs no columns: the GEMM reads the input. */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <string.h>

/* ---- im2col / col2im ----------------------------------------------------------------------- */

/* Output columns ox in [*lo, *hi) read image column ox*stride - pad + kx inside [0, W). */
static void valid_range(int *lo, int *hi, int kx, int W, int ow, int stride, int pad)
{
    int first = pad - kx; /* ox*stride >= first */
    int l = first > 0 ? (first + stride - 1) / stride : 0;
    int last = W - 1 + pad - kx; /* ox*stride <= last */
    int h = last < 0 ? 0 : last / stride + 1;
    if (h > ow)
        h = ow;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

void ops_im2col(float *cols, const float *img, const struct im2col_geom *g)
{
    const int k = g->k, s = g->stride, ow = g->ow;
    const size_t hw = (size_t)g->H * g->W, ncol = (size_t)g->B * g->oh * ow;
    for (int c = 0; c < g->C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *dst = cols + ((size_t)(c * k + ky) * k + kx) * ncol;
                int lo, hi;
                valid_range(&lo, &hi, kx, g->W, ow, s, g->pad);
                for (int b = 0; b < g->B; b++) {
                    const float *src = img + ((size_t)c * g->B + b) * hw;
                    for (int oy = 0; oy < g->oh; oy++, dst += ow) {
                        int iy = oy * s - g->pad + ky;
                        if (iy < 0 || iy >= g->H) {
                            memset(dst, 0, (size_t)ow * sizeof *dst);
                            continue;
                        }
                        /* ix = ox*s + shift >= 0 for ox in [lo, hi). */
                        const float *row = src + (size_t)iy * g->W;
                        const int shift = kx - g->pad;
                        for (int ox = 0; ox < lo; ox++)
                            dst[ox] = 0.0f;
                        if (s == 1 && hi > lo)
                            memcpy(dst + lo, row + lo + shift, (size_t)(hi - lo) * sizeof *dst);
                        else if (s != 1)
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] = row[ox * s + shift];
                        for (int ox = hi; ox < ow; ox++)
                            dst[ox] = 0.0f;
                    }
                }
            }
}

void ops_col2im(float *img, const float *cols, const struct im2col_geom *g)
{
    const int k = g->k, s = g->stride, ow = g->ow;
    const size_t hw = (size_t)g->H * g->W, ncol = (size_t)g->B * g->oh * ow;
    for (int c = 0; c < g->C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *src = cols + ((size_t)(c * k + ky) * k + kx) * ncol;
                int lo, hi;
                valid_range(&lo, &hi, kx, g->W, ow, s, g->pad);
                for (int b = 0; b < g->B; b++) {
                    float *dst = img + ((size_t)c * g->B + b) * hw;
                    for (int oy = 0; oy < g->oh; oy++, src += ow) {
                        int iy = oy * s - g->pad + ky;
                        if (iy < 0 || iy >= g->H)
                            continue;
                        float *row = dst + (size_t)iy * g->W;
                        const int shift = kx - g->pad;
                        for (int ox = lo; ox < hi; ox++)
                            row[ox * s + shift] += src[ox];
                    }
                }
            }
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* x (rows, n) += bias[row]. */
static void add_bias(float *x, const float *bias, int rows, size_t n)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * n, b = bias[r];
        for (size_t i = 0; i < n; i++)
            xr[i] += b;
    }
}

/* x (rows, n) = bias[row]. */
static void fill_bias(float *x, const float *bias, int rows, size_t n)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * n, b = bias[r];
        for (size_t i = 0; i < n; i++)
            xr[i] = b;
    }
}

/* dbias[row] += sum of the row of d (rows, n). */
static void sum_rows(float *dbias, const float *d, int rows, size_t n)
{
    for (int r = 0; r < rows; r++) {
        const float *dr = d + (size_t)r * n;
        double acc = 0;
        for (size_t i = 0; i < n; i++)
            acc += dr[i];
        dbias[r] += (float)acc;
    }
}

static int is_pointwise(const struct conv_shape *s)
{
    return s->k == 1 && s->stride == 1 && s->pad == 0;
}

/* Conv2d reads the input image through the windows of its output. */
static struct im2col_geom conv_geom(const struct conv_shape *s)
{
    return (struct im2col_geom){.C = s->cin, .B = s->batch, .H = s->hin, .W = s->win, .k = s->k,
                                .stride = s->stride, .pad = s->pad, .oh = s->hout,
                                .ow = s->wout};
}

/* ConvTranspose2d scatters into its output image through the windows of its input. */
static struct im2col_geom convt_geom(const struct conv_shape *s)
{
    return (struct im2col_geom){.C = s->cout, .B = s->batch, .H = s->hout, .W = s->wout,
                                .k = s->k, .stride = s->stride, .pad = s->pad, .oh = s->hin,
                                .ow = s->win};
}

/* ---- Conv2d -------------------------------------------------------------------------------- */

size_t conv2d_work_size(const struct conv_shape *s)
{
    return (size_t)s->cin * s->k * s->k * s->batch * s->hout * s->wout;
}

void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                    const struct conv_shape *s, float *work)
{
    const int K = s->cin * s->k * s->k, N = s->batch * s->hout * s->wout;
    const float *cols = inp;
    if (!is_pointwise(s)) {
        struct im2col_geom g = conv_geom(s);
        ops_im2col(work, inp, &g);
        cols = work;
    }
    ops_gemm(0, 0, s->cout, N, K, weight, K, cols, N, 0.0f, out, N);
    if (bias)
        add_bias(out, bias, s->cout, (size_t)N);
}

void conv2d_backward_data(float *dinp, const float *dout, const float *weight,
                          const struct conv_shape *s, float *work)
{
    const int K = s->cin * s->k * s->k, N = s->batch * s->hout * s->wout;
    if (is_pointwise(s)) {
        ops_gemm(1, 0, K, N, s->cout, weight, K, dout, N, 0.0f, dinp, N);
        return;
    }
    ops_gemm(1, 0, K, N, s->cout, weight, K, dout, N, 0.0f, work, N);
    memset(dinp, 0, (size_t)s->cin * s->batch * s->hin * s->win * sizeof *dinp);
    struct im2col_geom g = conv_geom(s);
    ops_col2im(dinp, work, &g);
}

void conv2d_backward_weight(float *dweight, float *dbias, const float *dout, const float *inp,
                            const struct conv_shape *s, float *work)
{
    const int K = s->cin * s->k * s->k, N = s->batch * s->hout * s->wout;
    const float *cols = inp;
    if (!is_pointwise(s)) {
        struct im2col_geom g = conv_geom(s);
        ops_im2col(work, inp, &g);
        cols = work;
    }
    ops_gemm(0, 1, s->cout, K, N, dout, N, cols, N, 1.0f, dweight, K);
    if (dbias)
        sum_rows(dbias, dout, s->cout, (size_t)N);
}

/* ---- ConvTranspose2d ----------------------------------------------------------------------- */

size_t conv_transpose2d_work_size(const struct conv_shape *s)
{
    return (size_t)s->cout * s->k * s->k * s->batch * s->hin * s->win;
}

void conv_transpose2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                              const struct conv_shape *s, float *work)
{
    const int M = s->cout * s->k * s->k, N = s->batch * s->hin * s->win;
    const size_t nout = (size_t)s->batch * s->hout * s->wout;
    if (is_pointwise(s)) {
        ops_gemm(1, 0, M, N, s->cin, weight, M, inp, N, 0.0f, out, N);
        if (bias)
            add_bias(out, bias, s->cout, nout);
        return;
    }
    ops_gemm(1, 0, M, N, s->cin, weight, M, inp, N, 0.0f, work, N);
    if (bias)
        fill_bias(out, bias, s->cout, nout);
    else
        memset(out, 0, (size_t)s->cout * nout * sizeof *out);
    struct im2col_geom g = convt_geom(s);
    ops_col2im(out, work, &g);
}

void conv_transpose2d_backward_data(float *dinp, const float *dout, const float *weight,
                                    const struct conv_shape *s, float *work)
{
    const int K = s->cout * s->k * s->k, N = s->batch * s->hin * s->win;
    const float *dcols = dout;
    if (!is_pointwise(s)) {
        struct im2col_geom g = convt_geom(s);
        ops_im2col(work, dout, &g);
        dcols = work;
    }
    ops_gemm(0, 0, s->cin, N, K, weight, K, dcols, N, 0.0f, dinp, N);
}

void conv_transpose2d_backward_weight(float *dweight, float *dbias, const float *dout,
                                      const float *inp, const struct conv_shape *s, float *work)
{
    const int K = s->cout * s->k * s->k, N = s->batch * s->hin * s->win;
    const float *dcols = dout;
    if (!is_pointwise(s)) {
        struct im2col_geom g = convt_geom(s);
        ops_im2col(work, dout, &g);
        dcols = work;
    }
    ops_gemm(0, 1, s->cin, K, N, inp, N, dcols, N, 1.0f, dweight, K);
    if (dbias)
        sum_rows(dbias, dout, s->cout, (size_t)s->batch * s->hout * s->wout);
}
