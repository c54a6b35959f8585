/* ops_im2col: the window gather (im2col) and its adjoint scatter-add (col2im) that turn a
 * convolution into a matrix product, over the (C, B, H, W) layout. Row (c, ky, kx) of the
 * columns holds, for every image b and output position (oy, ox), the pixel
 * (c, b, oy*stride - pad + ky, ox*stride - pad + kx), or 0 outside the image. */
#include "ops_impl.h"

#include <string.h>

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
    const size_t hw = (size_t)g->H * g->W;
    for (int c = 0; c < g->C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                float *dst = cols + ((size_t)(c * k + ky) * k + kx) * g->ld;
                const int shift = kx - g->pad; /* ix = ox*s + shift >= 0 on [lo, hi) */
                int lo, hi;
                valid_range(&lo, &hi, kx, g->W, ow, s, g->pad);
                for (int b = 0; b < g->B; b++) {
                    const float *src = img + (size_t)c * g->cstride + (size_t)b * hw;
                    for (int oy = 0; oy < g->oh; oy++, dst += ow) {
                        int iy = oy * s - g->pad + ky;
                        if (iy < 0 || iy >= g->H) {
                            memset(dst, 0, (size_t)ow * sizeof *dst);
                            continue;
                        }
                        const float *row = src + (size_t)iy * g->W;
                        for (int ox = 0; ox < lo; ox++)
                            dst[ox] = 0.0f;
                        if (s == 1 && hi > lo)
                            memcpy(dst + lo, row + lo + shift, (size_t)(hi - lo) * sizeof *dst);
                        else if (s == 2)
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] = row[2 * ox + shift];
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
    const size_t hw = (size_t)g->H * g->W;
    for (int c = 0; c < g->C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *src = cols + ((size_t)(c * k + ky) * k + kx) * g->ld;
                const int shift = kx - g->pad;
                int lo, hi;
                valid_range(&lo, &hi, kx, g->W, ow, s, g->pad);
                for (int b = 0; b < g->B; b++) {
                    float *dst = img + (size_t)c * g->cstride + (size_t)b * hw;
                    for (int oy = 0; oy < g->oh; oy++, src += ow) {
                        int iy = oy * s - g->pad + ky;
                        if (iy < 0 || iy >= g->H)
                            continue;
                        float *row = dst + (size_t)iy * g->W;
                        if (s == 2)
                            for (int ox = lo; ox < hi; ox++)
                                row[2 * ox + shift] += src[ox];
                        else
                            for (int ox = lo; ox < hi; ox++)
                                row[ox * s + shift] += src[ox];
                    }
                }
            }
}
