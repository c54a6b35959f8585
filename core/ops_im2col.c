/* ops_im2col: the window gather (im2col) and its adjoint scatter-add (col2im) that turn a
 * convolution into a matrix product, over the (C, B, H, W) layout. Row (c, ky, kx) of the
 * columns holds, for every image b and output position (oy, ox), the pixel
 * (c, b, oy*stride - pad + ky, ox*stride - pad + kx), or 0 outside the image. */
#include "ops_impl.h"

#include "cpu.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if OPS_HAVE_X86_TILES
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#endif

/* Stride 2 (every k4 s2 p1 layer): dst[ox] = row[2*ox + shift] for ox in [lo, hi), W the row's
 * length. Four outputs from two 4-float loads and one shuffle while the loads stay in the row. */
static void gather_s2(float *dst, const float *row, int lo, int hi, int shift, int W)
{
    int ox = lo;
#if defined(__SSE2__)
    for (; ox + 4 <= hi && 2 * ox + shift + 8 <= W; ox += 4) {
        const float *r = row + 2 * ox + shift;
        _mm_storeu_ps(dst + ox, _mm_shuffle_ps(_mm_loadu_ps(r), _mm_loadu_ps(r + 4),
                                               _MM_SHUFFLE(2, 0, 2, 0)));
    }
#else
    (void)W;
#endif
    for (; ox < hi; ox++)
        dst[ox] = row[2 * ox + shift];
}

/* Stride 2 adjoint: row[2*ox + shift] += src[ox]; the vector form adds 0 to the odd places. */
static void scatter_add_s2(float *row, const float *src, int lo, int hi, int shift, int W)
{
    int ox = lo;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps();
    for (; ox + 4 <= hi && 2 * ox + shift + 8 <= W; ox += 4) {
        float *r = row + 2 * ox + shift;
        __m128 v = _mm_loadu_ps(src + ox);
        _mm_storeu_ps(r, _mm_add_ps(_mm_loadu_ps(r), _mm_unpacklo_ps(v, zero)));
        _mm_storeu_ps(r + 4, _mm_add_ps(_mm_loadu_ps(r + 4), _mm_unpackhi_ps(v, zero)));
    }
#else
    (void)W;
#endif
    for (; ox < hi; ox++)
        row[2 * ox + shift] += src[ox];
}

#if OPS_HAVE_X86_TILES
/* The same two with AVX-512, 16 outputs at a time: the 2n - 1 inputs they need come in through
 * two masked loads (masked-off lanes are never read, so rows end exactly), one two-source
 * permute takes the even ones, and the adjoint interleaves 16 values with zeros. */
static const int even_idx[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
static const int lo_idx[16] = {0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16};
static const int hi_idx[16] = {8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16};

static inline AVX512 __mmask16 first_n(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

static AVX512 void gather_s2_avx512(float *dst, const float *row, int lo, int hi, int shift)
{
    const __m512i idx = _mm512_loadu_si512(even_idx);
    for (int ox = lo; ox < hi; ox += 16) {
        const int n = hi - ox < 16 ? hi - ox : 16, need = 2 * n - 1;
        const float *r = row + 2 * ox + shift;
        const __m512 a = _mm512_maskz_loadu_ps(first_n(need), r);
        const __m512 b = _mm512_maskz_loadu_ps(first_n(need - 16), r + 16);
        _mm512_mask_storeu_ps(dst + ox, first_n(n), _mm512_permutex2var_ps(a, idx, b));
    }
}

static AVX512 void scatter_add_s2_avx512(float *row, const float *src, int lo, int hi, int shift)
{
    const __m512i il = _mm512_loadu_si512(lo_idx), ih = _mm512_loadu_si512(hi_idx);
    const __m512 zero = _mm512_setzero_ps();
    for (int ox = lo; ox < hi; ox += 16) {
        const int n = hi - ox < 16 ? hi - ox : 16, need = 2 * n - 1;
        float *r = row + 2 * ox + shift;
        const __m512 v = _mm512_maskz_loadu_ps(first_n(n), src + ox);
        const __mmask16 m0 = first_n(need), m1 = first_n(need - 16);
        _mm512_mask_storeu_ps(r, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, r),
                                                   _mm512_permutex2var_ps(v, il, zero)));
        _mm512_mask_storeu_ps(r + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, r + 16),
                                                        _mm512_permutex2var_ps(v, ih, zero)));
    }
}
#endif

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
#if OPS_HAVE_X86_TILES
    const int wide = s == 2 && cpu_isa() == CPU_ISA_AVX512;
#endif
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
#if OPS_HAVE_X86_TILES
                        else if (wide)
                            gather_s2_avx512(dst, row, lo, hi, shift);
#endif
                        else if (s == 2)
                            gather_s2(dst, row, lo, hi, shift, g->W);
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
#if OPS_HAVE_X86_TILES
    const int wide = s == 2 && cpu_isa() == CPU_ISA_AVX512;
#endif
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
#if OPS_HAVE_X86_TILES
                        if (wide)
                            scatter_add_s2_avx512(row, src, lo, hi, shift);
                        else
#endif
                        if (s == 2)
                            scatter_add_s2(row, src, lo, hi, shift, g->W);
                        else
                            for (int ox = lo; ox < hi; ox++)
                                row[ox * s + shift] += src[ox];
                    }
                }
            }
}
