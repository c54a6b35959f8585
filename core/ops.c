/* ops: the fast convolutions, as im2col/col2im (ops_im2col.c) around matrix products
 * (ops_gemm.c), split over the kernel threads (ops_pool.c).
 *
 * Activations are (C, B, H, W), so the columns of a batch form one matrix (C*k*k, B*oh*ow):
 *   Conv2d forward         out (cout, B*HWo)  = W (cout, cin*kk) x cols (cin*kk, B*HWo)
 *          backward data   dcols              = W^T x dout,  dinp = col2im(dcols)
 *          backward weight dW (cout, cin*kk) += dout x cols^T
 *   ConvTranspose2d fwd    cols (cout*kk, B*HWi) = W^T (W is (cin, cout*kk)) x inp, out = col2im
 *          backward data   dcols = im2col(dout), dinp (cin, B*HWi) = W x dcols
 *          backward weight dW (cin, cout*kk) += inp x dcols^T
 * Work is shared between threads by images when the batch has at least one per thread (each
 * thread then runs the whole layer on its images, in chunks whose columns stay in cache), and
 * otherwise by channels (rows of the products, and the im2col/col2im rows of those channels).
 * A 1x1 stride-1 convolution needs no columns; a transposed convolution of a 1x1 input without
 * padding (the generator's first layer) is one product and a block transpose. */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <string.h>

/* ---- small helpers ------------------------------------------------------------------------- */

void ops_bias_rows(float *x, size_t ld, const float *bias, int rows, size_t n, int set)
{
    for (int r = 0; r < rows; r++) {
        float *xr = x + (size_t)r * ld, b = bias ? bias[r] : 0.0f;
        if (set)
            for (size_t i = 0; i < n; i++)
                xr[i] = b;
        else
            for (size_t i = 0; i < n; i++)
                xr[i] += b;
    }
}

void ops_sum_rows(float *dbias, const float *d, int rows, size_t n)
{
    for (int r = 0; r < rows; r++) {
        const float *dr = d + (size_t)r * n;
        double acc = 0;
        for (size_t i = 0; i < n; i++)
            acc += dr[i];
        dbias[r] += (float)acc;
    }
}

/* Conv2d reads its input through the windows of its output. */
static struct im2col_geom conv_geom(const struct conv_shape *s, int C, int B, size_t ld)
{
    return (struct im2col_geom){.C = C, .B = B, .H = s->hin, .W = s->win, .k = s->k,
                                .stride = s->stride, .pad = s->pad, .oh = s->hout,
                                .ow = s->wout, .cstride = (size_t)s->batch * s->hin * s->win,
                                .ld = ld};
}

struct im2col_geom ops_convt_geom(const struct conv_shape *s, int C, int B, size_t ld)
{
    return (struct im2col_geom){.C = C, .B = B, .H = s->hout, .W = s->wout, .k = s->k,
                                .stride = s->stride, .pad = s->pad, .oh = s->hin, .ow = s->win,
                                .cstride = (size_t)s->batch * s->hout * s->wout, .ld = ld};
}

static double flops(const struct conv_shape *s)
{
    return 2.0 * s->cout * s->cin * s->k * s->k * s->batch * s->hout * s->wout;
}

int ops_plan_threads(double flop)
{
    int nt = ops_get_threads();
    while (nt > 1 && flop / nt < OPS_FLOP_PER_THREAD)
        nt--;
    return nt;
}

int ops_chunk_images(int rows, int per_image)
{
    long n = OPS_COLS_BUDGET / ((long)rows * per_image);
    return n < 1 ? 1 : n > 1 << 20 ? 1 << 20 : (int)n;
}

void ops_im2col_channels(const struct ops_call *c, int transpose, int t, int n)
{
    const struct conv_shape *s = c->s;
    const int C = transpose ? s->cout : s->cin, kk = s->k * s->k;
    const size_t N = (size_t)s->batch * (transpose ? s->hin * s->win : s->hout * s->wout);
    const size_t img = (size_t)s->batch * (transpose ? s->hout * s->wout : s->hin * s->win);
    int c0, c1;
    ops_split(&c0, &c1, C, t, n, 1);
    struct im2col_geom g =
        transpose ? ops_convt_geom(s, c1 - c0, s->batch, N) : conv_geom(s, c1 - c0, s->batch, N);
    ops_im2col(c->work + (size_t)c0 * kk * N, c->inp + (size_t)c0 * img, &g);
}

/* ---- Conv2d -------------------------------------------------------------------------------- */

size_t conv2d_work_size(const struct conv_shape *s)
{
    return (size_t)s->cin * s->k * s->k * s->batch * s->hout * s->wout;
}

static void conv_fwd_images(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int K = s->cin * s->k * s->k, hwo = s->hout * s->wout, hwi = s->hin * s->win;
    const size_t N = (size_t)s->batch * hwo;
    int b0, b1;
    ops_split(&b0, &b1, s->batch, t, n, 1);
    float *cols = c->work + (size_t)b0 * K * hwo; /* this thread's part of the work */
    const int cb = ops_chunk_images(K, hwo);
    for (int b = b0; b < b1; b += cb) {
        const int nb = b1 - b < cb ? b1 - b : cb, nc = nb * hwo;
        if (ops_is_pointwise(s)) {
            ops_gemm(0, 0, s->cout, nc, K, c->weight, K, c->inp + (size_t)b * hwi, (int)N, 0.0f,
                     c->out + (size_t)b * hwo, (int)N);
        } else {
            struct im2col_geom g = conv_geom(s, s->cin, nb, (size_t)nc);
            ops_im2col(cols, c->inp + (size_t)b * hwi, &g);
            ops_gemm(0, 0, s->cout, nc, K, c->weight, K, cols, nc, 0.0f,
                     c->out + (size_t)b * hwo, (int)N);
        }
        if (c->bias)
            ops_bias_rows(c->out + (size_t)b * hwo, N, c->bias, s->cout, (size_t)nc, 0);
    }
}

static void conv_fwd_im2col(void *ctx, int t, int n)
{
    ops_im2col_channels(ctx, 0, t, n);
}

static void conv_fwd_rows(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int K = s->cin * s->k * s->k, N = s->batch * s->hout * s->wout;
    int r0, r1;
    ops_split(&r0, &r1, s->cout, t, n, OPS_ROW_UNIT);
    const float *cols = ops_is_pointwise(s) ? c->inp : c->work;
    ops_gemm(0, 0, r1 - r0, N, K, c->weight + (size_t)r0 * K, K, cols, N, 0.0f,
             c->out + (size_t)r0 * N, N);
    if (c->bias)
        ops_bias_rows(c->out + (size_t)r0 * N, (size_t)N, c->bias + r0, r1 - r0, (size_t)N, 0);
}

void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                    const struct conv_shape *s, float *work)
{
    struct ops_call c = {
        .s = s, .out = out, .inp = inp, .weight = weight, .bias = bias, .work = work};
    const int nt = ops_plan_threads(flops(s));
    if (s->batch >= nt) {
        ops_parallel(nt, conv_fwd_images, &c);
        return;
    }
    if (!ops_is_pointwise(s))
        ops_parallel(nt, conv_fwd_im2col, &c);
    ops_parallel(nt, conv_fwd_rows, &c);
}

static void conv_bwd_data_images(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int K = s->cin * s->k * s->k, hwo = s->hout * s->wout, hwi = s->hin * s->win;
    const size_t N = (size_t)s->batch * hwo, Ni = (size_t)s->batch * hwi;
    int b0, b1;
    ops_split(&b0, &b1, s->batch, t, n, 1);
    float *dcols = c->work + (size_t)b0 * K * hwo;
    const int cb = ops_chunk_images(K, hwo);
    for (int b = b0; b < b1; b += cb) {
        const int nb = b1 - b < cb ? b1 - b : cb, nc = nb * hwo;
        if (ops_is_pointwise(s)) {
            ops_gemm(1, 0, K, nc, s->cout, c->weight, K, c->inp + (size_t)b * hwo, (int)N, 0.0f,
                     c->out + (size_t)b * hwi, (int)Ni);
            continue;
        }
        ops_gemm(1, 0, K, nc, s->cout, c->weight, K, c->inp + (size_t)b * hwo, (int)N, 0.0f,
                 dcols, nc);
        ops_bias_rows(c->out + (size_t)b * hwi, Ni, NULL, s->cin, (size_t)nb * hwi, 1);
        struct im2col_geom g = conv_geom(s, s->cin, nb, (size_t)nc);
        ops_col2im(c->out + (size_t)b * hwi, dcols, &g);
    }
}

static void conv_bwd_data_channels(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int kk = s->k * s->k, K = s->cin * kk, N = s->batch * s->hout * s->wout;
    const size_t Ni = (size_t)s->batch * s->hin * s->win;
    int c0, c1;
    ops_split(&c0, &c1, s->cin, t, n, 1);
    if (ops_is_pointwise(s)) {
        ops_gemm(1, 0, c1 - c0, N, s->cout, c->weight + c0, K, c->inp, N, 0.0f,
                 c->out + (size_t)c0 * Ni, N);
        return;
    }
    float *dcols = c->work + (size_t)c0 * kk * N;
    ops_gemm(1, 0, (c1 - c0) * kk, N, s->cout, c->weight + (size_t)c0 * kk, K, c->inp, N, 0.0f,
             dcols, N);
    memset(c->out + (size_t)c0 * Ni, 0, (size_t)(c1 - c0) * Ni * sizeof(float));
    struct im2col_geom g = conv_geom(s, c1 - c0, s->batch, (size_t)N);
    ops_col2im(c->out + (size_t)c0 * Ni, dcols, &g);
}

void conv2d_backward_data(float *dinp, const float *dout, const float *weight,
                          const struct conv_shape *s, float *work)
{
    struct ops_call c = {.s = s, .out = dinp, .inp = dout, .weight = weight, .work = work};
    const int nt = ops_plan_threads(flops(s));
    ops_parallel(nt, s->batch >= nt ? conv_bwd_data_images : conv_bwd_data_channels, &c);
}

static void conv_bwd_weight_rows(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int K = s->cin * s->k * s->k, N = s->batch * s->hout * s->wout;
    int r0, r1;
    ops_split(&r0, &r1, s->cout, t, n, 1);
    const float *cols = ops_is_pointwise(s) ? c->inp2 : c->work;
    ops_gemm(0, 1, r1 - r0, K, N, c->inp + (size_t)r0 * N, N, cols, N, 1.0f,
             c->out + (size_t)r0 * K, K);
    if (c->out2)
        ops_sum_rows(c->out2 + r0, c->inp + (size_t)r0 * N, r1 - r0, (size_t)N);
}

static void conv_bwd_weight_im2col(void *ctx, int t, int n)
{
    struct ops_call c = *(const struct ops_call *)ctx;
    c.inp = c.inp2; /* the columns are of the forward input */
    ops_im2col_channels(&c, 0, t, n);
}

void conv2d_backward_weight(float *dweight, float *dbias, const float *dout, const float *inp,
                            const struct conv_shape *s, float *work)
{
    struct ops_call c = {
        .s = s, .out = dweight, .out2 = dbias, .inp = dout, .inp2 = inp, .work = work};
    const int nt = ops_plan_threads(flops(s));
    if (!ops_is_pointwise(s))
        ops_parallel(nt, conv_bwd_weight_im2col, &c);
    ops_parallel(nt, conv_bwd_weight_rows, &c);
}
