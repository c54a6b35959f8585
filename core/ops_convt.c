/* ops_convt: the fast transposed convolutions; the scheme is the one described in ops.c, with
 * the roles of image and columns swapped:
 *   forward         cols (cout*kk, B*HWi) = W^T (W is (cin, cout*kk)) x inp, out = col2im(cols)
 *   backward data   dcols = im2col(dout), dinp (cin, B*HWi) = W x dcols
 *   backward weight dW (cin, cout*kk) += inp x dcols^T
 * A 1x1 input without padding (the generator's first layer, 1x1 -> kxk) needs no columns:
 * out[co,b,y,x] = bias[co] + sum_ci W[ci,co,y,x] inp[ci,b] is one product, (B, cout*kk) =
 * inp^T W, and a transpose of k*k-float blocks. */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <string.h>

/* The 1x1-input projection: hout = wout = k. */
static int is_projection(const struct conv_shape *s)
{
    return s->hin == 1 && s->win == 1 && s->pad == 0 && !ops_is_pointwise(s);
}

static double flops(const struct conv_shape *s)
{
    return 2.0 * s->cin * s->cout * s->k * s->k * s->batch * s->hin * s->win;
}

/* (B, cout, kk) <-> (cout, B, kk): dst[b, co, :] = src[co, b, :] when to_batch_major. */
static void swap_blocks(float *dst, const float *src, int B, int cout, int kk, int to_batch_major)
{
    for (int co = 0; co < cout; co++)
        for (int b = 0; b < B; b++) {
            size_t cb = ((size_t)co * B + b) * kk, bc = ((size_t)b * cout + co) * kk;
            if (to_batch_major)
                memcpy(dst + bc, src + cb, (size_t)kk * sizeof *dst);
            else
                memcpy(dst + cb, src + bc, (size_t)kk * sizeof *dst);
        }
}

size_t conv_transpose2d_work_size(const struct conv_shape *s)
{
    return (size_t)s->cout * s->k * s->k * s->batch * s->hin * s->win;
}

/* ---- forward ------------------------------------------------------------------------------- */

static void fwd_images(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int M = s->cout * s->k * s->k, hwi = s->hin * s->win, hwo = s->hout * s->wout;
    const size_t N = (size_t)s->batch * hwi, No = (size_t)s->batch * hwo;
    int b0, b1;
    ops_split(&b0, &b1, s->batch, t, n, 1);
    float *cols = c->work + (size_t)b0 * M * hwi;
    const int cb = ops_chunk_images(M, hwi);
    for (int b = b0; b < b1; b += cb) {
        const int nb = b1 - b < cb ? b1 - b : cb, nc = nb * hwi;
        float *out = c->out + (size_t)b * hwo;
        if (ops_is_pointwise(s)) {
            ops_gemm(1, 0, M, nc, s->cin, c->weight, M, c->inp + (size_t)b * hwi, (int)N, 0.0f,
                     out, (int)No);
            if (c->bias)
                ops_bias_rows(out, No, c->bias, s->cout, (size_t)nc, 0);
            continue;
        }
        ops_gemm(1, 0, M, nc, s->cin, c->weight, M, c->inp + (size_t)b * hwi, (int)N, 0.0f, cols,
                 nc);
        ops_bias_rows(out, No, c->bias, s->cout, (size_t)nb * hwo, 1);
        struct im2col_geom g = ops_convt_geom(s, s->cout, nb, (size_t)nc);
        ops_col2im(out, cols, &g);
    }
}

static void fwd_channels(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int kk = s->k * s->k, M = s->cout * kk, N = s->batch * s->hin * s->win;
    const size_t No = (size_t)s->batch * s->hout * s->wout;
    int c0, c1;
    ops_split(&c0, &c1, s->cout, t, n, 1);
    float *cols = c->work + (size_t)c0 * kk * N, *out = c->out + (size_t)c0 * No;
    ops_gemm(1, 0, (c1 - c0) * kk, N, s->cin, c->weight + (size_t)c0 * kk, M, c->inp, N, 0.0f,
             ops_is_pointwise(s) ? out : cols, N);
    if (ops_is_pointwise(s)) {
        if (c->bias)
            ops_bias_rows(out, No, c->bias + c0, c1 - c0, No, 0);
        return;
    }
    ops_bias_rows(out, No, c->bias ? c->bias + c0 : NULL, c1 - c0, No, 1);
    struct im2col_geom g = ops_convt_geom(s, c1 - c0, s->batch, (size_t)N);
    ops_col2im(out, cols, &g);
}

void conv_transpose2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                              const struct conv_shape *s, float *work)
{
    if (is_projection(s)) {
        const int kk = s->k * s->k, M = s->cout * kk, B = s->batch;
        ops_gemm(1, 0, B, M, s->cin, inp, B, weight, M, 0.0f, work, M); /* (B, cout*kk) */
        swap_blocks(out, work, B, s->cout, kk, 0);
        if (bias)
            ops_bias_rows(out, (size_t)B * kk, bias, s->cout, (size_t)B * kk, 0);
        return;
    }
    struct ops_call c = {
        .s = s, .out = out, .inp = inp, .weight = weight, .bias = bias, .work = work};
    const int nt = ops_plan_threads(flops(s));
    ops_parallel(nt, s->batch >= nt ? fwd_images : fwd_channels, &c);
}

/* ---- backward ------------------------------------------------------------------------------ */

static void bwd_data_images(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int M = s->cout * s->k * s->k, hwi = s->hin * s->win, hwo = s->hout * s->wout;
    const size_t N = (size_t)s->batch * hwi;
    int b0, b1;
    ops_split(&b0, &b1, s->batch, t, n, 1);
    float *dcols = c->work + (size_t)b0 * M * hwi;
    const int cb = ops_chunk_images(M, hwi);
    for (int b = b0; b < b1; b += cb) {
        const int nb = b1 - b < cb ? b1 - b : cb, nc = nb * hwi;
        const float *cols = c->inp + (size_t)b * hwo;
        int ldc = (int)N;
        if (!ops_is_pointwise(s)) {
            struct im2col_geom g = ops_convt_geom(s, s->cout, nb, (size_t)nc);
            ops_im2col(dcols, c->inp + (size_t)b * hwo, &g);
            cols = dcols;
            ldc = nc;
        }
        ops_gemm(0, 0, s->cin, nc, M, c->weight, M, cols, ldc, 0.0f, c->out + (size_t)b * hwi,
                 (int)N);
    }
}

static void dbias_rows(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const size_t No = (size_t)s->batch * s->hout * s->wout;
    int c0, c1;
    ops_split(&c0, &c1, s->cout, t, n, 1);
    ops_sum_rows(c->out2 + c0, c->inp + (size_t)c0 * No, c1 - c0, No);
}

static void im2col_dout(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    ops_im2col_channels(c, 1, t, n);
    if (c->out2) /* the weight gradient's call also wants dbias, by the same channels */
        dbias_rows(ctx, t, n);
}

static void bwd_data_rows(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int M = s->cout * s->k * s->k, N = s->batch * s->hin * s->win;
    int r0, r1;
    ops_split(&r0, &r1, s->cin, t, n, OPS_ROW_UNIT);
    ops_gemm(0, 0, r1 - r0, N, M, c->weight + (size_t)r0 * M, M,
             ops_is_pointwise(s) ? c->inp : c->work, N, 0.0f, c->out + (size_t)r0 * N, N);
}

void conv_transpose2d_backward_data(float *dinp, const float *dout, const float *weight,
                                    const struct conv_shape *s, float *work)
{
    if (is_projection(s)) {
        const int kk = s->k * s->k, M = s->cout * kk, B = s->batch;
        swap_blocks(work, dout, B, s->cout, kk, 1); /* (B, cout*kk) */
        ops_gemm(0, 1, s->cin, B, M, weight, M, work, M, 0.0f, dinp, B);
        return;
    }
    struct ops_call c = {.s = s, .out = dinp, .inp = dout, .weight = weight, .work = work};
    const int nt = ops_plan_threads(flops(s));
    if (s->batch >= nt) {
        ops_parallel(nt, bwd_data_images, &c);
        return;
    }
    if (!ops_is_pointwise(s))
        ops_parallel(nt, im2col_dout, &c);
    ops_parallel(nt, bwd_data_rows, &c);
}

static void bwd_weight_rows(void *ctx, int t, int n)
{
    const struct ops_call *c = ctx;
    const struct conv_shape *s = c->s;
    const int M = s->cout * s->k * s->k, N = s->batch * s->hin * s->win;
    int r0, r1;
    ops_split(&r0, &r1, s->cin, t, n, 1);
    ops_gemm(0, 1, r1 - r0, M, N, c->inp2 + (size_t)r0 * N, N,
             ops_is_pointwise(s) ? c->inp : c->work, N, 1.0f, c->out + (size_t)r0 * M, M);
}

void conv_transpose2d_backward_weight(float *dweight, float *dbias, const float *dout,
                                      const float *inp, const struct conv_shape *s, float *work)
{
    if (is_projection(s)) {
        const int kk = s->k * s->k, M = s->cout * kk, B = s->batch;
        swap_blocks(work, dout, B, s->cout, kk, 1);
        ops_gemm(0, 0, s->cin, M, B, inp, B, work, M, 1.0f, dweight, M);
        if (dbias)
            ops_sum_rows(dbias, dout, s->cout, (size_t)B * kk);
        return;
    }
    struct ops_call c = {
        .s = s, .out = dweight, .out2 = dbias, .inp = dout, .inp2 = inp, .work = work};
    const int nt = ops_plan_threads(flops(s));
    if (ops_is_pointwise(s)) {
        if (dbias)
            ops_parallel(nt, dbias_rows, &c);
    } else {
        ops_parallel(nt, im2col_dout, &c);
    }
    ops_parallel(nt, bwd_weight_rows, &c);
}
