/* ops_ref: the naive reference convolutions, written loop by loop from PyTorch's definitions
 * (torch.nn.Conv2d, torch.nn.ConvTranspose2d), plus the shape rules. Slow on purpose: these are
 * the definition the fast kernels in ops.c are tested against. Sums are accumulated in double so
 * that the reference is the more accurate side of every comparison.
 *
 * Index maps (layout (C, B, H, W), weights in PyTorch's layouts):
 *   Conv2d:          out[co,b,oy,ox] = bias[co] + sum_{ci,ky,kx} w[co,ci,ky,kx] *
 *                                      inp[ci,b, oy*s - p + ky, ox*s - p + kx]   (zero outside)
 *   ConvTranspose2d: out[co,b, iy*s - p + ky, ix*s - p + kx] += w[ci,co,ky,kx] * inp[ci,b,iy,ix]
 *                    (the adjoint of Conv2d's data map), plus bias[co]. */
#include "ops.h"

#include "status.h"


void conv2d_shape_infer(struct conv_shape *s)
{
    ASSERT(s->k > 0 && s->stride > 0 && s->pad >= 0);
    s->hout = (s->hin + 2 * s->pad - s->k) / s->stride + 1;
    s->wout = (s->win + 2 * s->pad - s->k) / s->stride + 1;
}

void conv_transpose2d_shape_infer(struct conv_shape *s)
{
    ASSERT(s->k > 0 && s->stride > 0 && s->pad >= 0);
    s->hout = (s->hin - 1) * s->stride - 2 * s->pad + s->k;
    s->wout = (s->win - 1) * s->stride - 2 * s->pad + s->k;
}

/* Offset of element (c, b, y, x) in a (C, B, H, W) tensor. */
static size_t at4(int c, int b, int y, int x, int B, int H, int W)
{
    return (((size_t)c * B + b) * H + y) * W + x;
}

/* Offset of weight element (i, j, ky, kx) in an (I, J, k, k) tensor. */
static size_t atw(int i, int j, int ky, int kx, int J, int k)
{
    return (((size_t)i * J + j) * k + ky) * k + kx;
}

/* ---- Conv2d -------------------------------------------------------------------------------- */

void conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        const struct conv_shape *s)
{
    const int B = s->batch, k = s->k;
    for (int co = 0; co < s->cout; co++)
        for (int b = 0; b < B; b++)
            for (int oy = 0; oy < s->hout; oy++)
                for (int ox = 0; ox < s->wout; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < s->cin; ci++)
                        for (int ky = 0; ky < k; ky++) {
                            int iy = oy * s->stride - s->pad + ky;
                            if (iy < 0 || iy >= s->hin)
                                continue;
                            for (int kx = 0; kx < k; kx++) {
                                int ix = ox * s->stride - s->pad + kx;
                                if (ix < 0 || ix >= s->win)
                                    continue;
                                acc += (double)weight[atw(co, ci, ky, kx, s->cin, k)] *
                                       inp[at4(ci, b, iy, ix, B, s->hin, s->win)];
                            }
                        }
                    out[at4(co, b, oy, ox, B, s->hout, s->wout)] = (float)acc;
                }
}

/* out[ci,b,iy,ix] = bias[ci] + sum over every (co, oy, ox, ky, kx) that read (iy, ix) of
 * w[co,ci,ky,kx] * from[co,b,oy,ox]: Conv2d's data map run backwards (bias may be NULL). With
 * from = dout it is Conv2d's data gradient; through conv_shape_mirror, ConvTranspose2d's
 * forward. */
static void conv2d_adjoint_ref(float *out, const float *from, const float *weight,
                               const float *bias, const struct conv_shape *s)
{
    const int B = s->batch, k = s->k;
    for (int ci = 0; ci < s->cin; ci++)
        for (int b = 0; b < B; b++)
            for (int iy = 0; iy < s->hin; iy++)
                for (int ix = 0; ix < s->win; ix++) {
                    double acc = bias ? bias[ci] : 0.0;
                    for (int co = 0; co < s->cout; co++)
                        for (int ky = 0; ky < k; ky++) {
                            int ny = iy + s->pad - ky; /* = oy * stride */
                            if (ny < 0 || ny % s->stride != 0 || ny / s->stride >= s->hout)
                                continue;
                            for (int kx = 0; kx < k; kx++) {
                                int nx = ix + s->pad - kx;
                                if (nx < 0 || nx % s->stride != 0 || nx / s->stride >= s->wout)
                                    continue;
                                acc += (double)weight[atw(co, ci, ky, kx, s->cin, k)] *
                                       from[at4(co, b, ny / s->stride, nx / s->stride, B, s->hout,
                                                s->wout)];
                            }
                        }
                    out[at4(ci, b, iy, ix, B, s->hin, s->win)] = (float)acc;
                }
}

void conv2d_backward_data_ref(float *dinp, const float *dout, const float *weight,
                              const struct conv_shape *s)
{
    conv2d_adjoint_ref(dinp, dout, weight, NULL, s);
}

void conv2d_backward_weight_ref(float *dweight, float *dbias, const float *dout, const float *inp,
                                const struct conv_shape *s)
{
    const int B = s->batch, k = s->k;
    for (int co = 0; co < s->cout; co++) {
        for (int ci = 0; ci < s->cin; ci++)
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    double acc = 0.0;
                    for (int b = 0; b < B; b++)
                        for (int oy = 0; oy < s->hout; oy++) {
                            int iy = oy * s->stride - s->pad + ky;
                            if (iy < 0 || iy >= s->hin)
                                continue;
                            for (int ox = 0; ox < s->wout; ox++) {
                                int ix = ox * s->stride - s->pad + kx;
                                if (ix < 0 || ix >= s->win)
                                    continue;
                                acc += (double)dout[at4(co, b, oy, ox, B, s->hout, s->wout)] *
                                       inp[at4(ci, b, iy, ix, B, s->hin, s->win)];
                            }
                        }
                    dweight[atw(co, ci, ky, kx, s->cin, k)] += (float)acc;
                }
        if (dbias) {
            double acc = 0.0;
            for (int b = 0; b < B; b++)
                for (int oy = 0; oy < s->hout; oy++)
                    for (int ox = 0; ox < s->wout; ox++)
                        acc += dout[at4(co, b, oy, ox, B, s->hout, s->wout)];
            dbias[co] += (float)acc;
        }
    }
}

/* ---- ConvTranspose2d ----------------------------------------------------------------------- */

/* ConvTranspose2d is the adjoint of Conv2d's data map (torch.nn.ConvTranspose2d: "the gradient
 * of Conv2d with respect to its input"), and its weight (cin, cout, k, k) is laid out as that
 * Conv2d's (cout', cin', k, k). So each of its maps is a Conv2d map of the mirrored shape: the
 * Conv2d from this layer's output (cin' = cout, hin' = hout) to its input. The sums run in the
 * same order as the loops written out for the transposed layer would. */
static struct conv_shape conv_shape_mirror(const struct conv_shape *s)
{
    return (struct conv_shape){.batch = s->batch,
                               .cin = s->cout,
                               .hin = s->hout,
                               .win = s->wout,
                               .cout = s->cin,
                               .hout = s->hin,
                               .wout = s->win,
                               .k = s->k,
                               .stride = s->stride,
                               .pad = s->pad};
}

/* out[co,b,oy,ox] = bias + sum over every (ci, iy, ix, ky, kx) that lands on (oy, ox). */
void conv_transpose2d_forward_ref(float *out, const float *inp, const float *weight,
                                  const float *bias, const struct conv_shape *s)
{
    const struct conv_shape m = conv_shape_mirror(s);
    conv2d_adjoint_ref(out, inp, weight, bias, &m);
}

/* The data gradient of a transposed convolution is the plain convolution of dout. */
void conv_transpose2d_backward_data_ref(float *dinp, const float *dout, const float *weight,
                                        const struct conv_shape *s)
{
    const struct conv_shape m = conv_shape_mirror(s);
    conv2d_forward_ref(dinp, dout, weight, NULL, &m);
}

/* dweight[ci,co,ky,kx] += sum of inp[ci,b,iy,ix] * dout[co,b,oy,ox]: the mirrored Conv2d's weight
 * gradient with inp in the role of its dout; dbias (cout) sums dout. */
void conv_transpose2d_backward_weight_ref(float *dweight, float *dbias, const float *dout,
                                          const float *inp, const struct conv_shape *s)
{
    const struct conv_shape m = conv_shape_mirror(s);
    conv2d_backward_weight_ref(dweight, NULL, inp, dout, &m);
    if (dbias)
        for (int co = 0; co < s->cout; co++) {
            double acc = 0.0;
            size_t n = (size_t)s->batch * s->hout * s->wout;
            for (size_t i = 0; i < n; i++)
                acc += dout[(size_t)co * n + i];
            dbias[co] += (float)acc;
        }
}
