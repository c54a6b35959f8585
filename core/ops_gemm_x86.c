/* ops_gemm_x86: the x86 kernels of the small-N product (ops_gemm.c), each compiled for its own
 * target so one binary runs on any x86-64 CPU: register tiles, and for AVX-512 a whole product
 * with the weights streamed.
 *
 * A tile computes c (mr, NR) (+)= sum_k a(i, k) b(k, 0..NR-1) with a(i, k) = a[i*a_rs + k*a_cs]:
 * MR rows of A broadcast against NR columns of B, the MR x NR accumulators in registers.
 *   AVX2 + FMA:  6 x 16 (12 of the 16 ymm registers)
 *   AVX-512:    12 x 16 and 12 x 32 (12 or 24 of the 32 zmm registers; 12 independent sums
 *               at least, so the two FMA units never wait on a result)
 * Rows past mr (mr < MR) read row 0 and are not stored. b: rows ldb apart; c: rows ldc apart. */
#include "ops_impl.h"

#if OPS_HAVE_X86_TILES
#include <immintrin.h>

#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define ROWS12(X) ROWS6(X) X(6) X(7) X(8) X(9) X(10) X(11)
/* the row pointers, rows past mr aliased to row 0 */
#define ROW_PTR(i) const float *a##i = a + (mr > i ? (size_t)i * a_rs : 0);

__attribute__((target("avx2,fma"))) void ops_tile_avx2_6x16(int mr, int K, const float *a,
                                                            size_t a_rs, size_t a_cs,
                                                            const float *b, size_t ldb, float *c,
                                                            size_t ldc, int accumulate)
{
    ROWS6(ROW_PTR)
#define Z2(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = c##i##0;
    ROWS6(Z2)
    for (int k = 0; k < K; k++, b += ldb) {
        const size_t o = (size_t)k * a_cs;
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#define FMA2(i)                                                                               \
    {                                                                                         \
        const __m256 x = _mm256_broadcast_ss(a##i + o);                                       \
        c##i##0 = _mm256_fmadd_ps(x, b0, c##i##0);                                            \
        c##i##1 = _mm256_fmadd_ps(x, b1, c##i##1);                                            \
    }
        ROWS6(FMA2)
    }
#define ST2(i)                                                                                \
    if (mr > i) {                                                                             \
        float *ci = c + (size_t)i * ldc;                                                      \
        if (accumulate) {                                                                     \
            c##i##0 = _mm256_add_ps(c##i##0, _mm256_loadu_ps(ci));                            \
            c##i##1 = _mm256_add_ps(c##i##1, _mm256_loadu_ps(ci + 8));                        \
        }                                                                                     \
        _mm256_storeu_ps(ci, c##i##0);                                                        \
        _mm256_storeu_ps(ci + 8, c##i##1);                                                    \
    }
    ROWS6(ST2)
}

/* Strips of 6 columns of W[k0 .. k0+kc, m0 .. m0+mc) for the 6 x 16 tile: pack[s*stride + k*6 + i]
 * = W[k0 + k, m0 + 6s + i], zero past mc, stride = ops_pack_strip_stride(kc). Row by row, so W
 * streams in memory order, rows pf ahead prefetched; a full strip moves as one 8-float load and
 * store (its 2 extra floats land where the next row of the strip, or the padding, goes). */
__attribute__((target("avx2,fma"))) void ops_pack_strips_avx2(float *pack, const float *W,
                                                               int lda, int k0, int kc, int m0,
                                                               int mc, int pf)
{
    const int MR = OPS_PACK_MR;
    const size_t ss = ops_pack_strip_stride(kc);
    const int full = mc / MR, last = mc - full * MR;
    /* The 8-float load of a full strip reads 2 floats past it: only safe while those are in
     * the block's columns. */
    const int vec = mc - full * MR >= 2 ? full : full - 1;
    for (int k = 0; k < kc; k++) {
        const float *src = W + (size_t)(k0 + k) * lda + m0;
        float *dst = pack + (size_t)k * MR;
        if (k + pf < kc) /* the rows a few ahead: W's rows are far apart */
            for (int i = 0; i < mc; i += 16)
                __builtin_prefetch(src + (size_t)pf * lda + i);
        int s = 0;
        for (; s < vec; s++)
            _mm256_storeu_ps(dst + s * ss, _mm256_loadu_ps(src + s * MR));
        for (; s < full; s++)
            for (int i = 0; i < MR; i++)
                dst[s * ss + i] = src[s * MR + i];
        if (last) {
            for (int i = 0; i < last; i++)
                dst[full * ss + i] = src[full * MR + i];
            for (int i = last; i < MR; i++)
                dst[full * ss + i] = 0.0f;
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) void
ops_tile_avx512_12x16(int mr, int K, const float *a, size_t a_rs, size_t a_cs, const float *b,
                      size_t ldb, float *c, size_t ldc, int accumulate)
{
    ROWS12(ROW_PTR)
#define Z1(i) __m512 c##i = _mm512_setzero_ps();
    ROWS12(Z1)
    for (int k = 0; k < K; k++, b += ldb) {
        const size_t o = (size_t)k * a_cs;
        const __m512 b0 = _mm512_loadu_ps(b);
#define FMA1(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a##i[o]), b0, c##i);
        ROWS12(FMA1)
    }
#define ST1(i)                                                                                \
    if (mr > i) {                                                                             \
        float *ci = c + (size_t)i * ldc;                                                      \
        if (accumulate)                                                                       \
            c##i = _mm512_add_ps(c##i, _mm512_loadu_ps(ci));                                  \
        _mm512_storeu_ps(ci, c##i);                                                           \
    }
    ROWS12(ST1)
}

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) void
ops_tile_avx512_12x32(int mr, int K, const float *a, size_t a_rs, size_t a_cs, const float *b,
                      size_t ldb, float *c, size_t ldc, int accumulate)
{
    ROWS12(ROW_PTR)
#define Z4(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = c##i##0;
    ROWS12(Z4)
    for (int k = 0; k < K; k++, b += ldb) {
        const size_t o = (size_t)k * a_cs;
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#define FMA4(i)                                                                               \
    {                                                                                         \
        const __m512 x = _mm512_set1_ps(a##i[o]);                                             \
        c##i##0 = _mm512_fmadd_ps(x, b0, c##i##0);                                            \
        c##i##1 = _mm512_fmadd_ps(x, b1, c##i##1);                                            \
    }
        ROWS12(FMA4)
    }
#define ST4(i)                                                                                \
    if (mr > i) {                                                                             \
        float *ci = c + (size_t)i * ldc;                                                      \
        if (accumulate) {                                                                     \
            c##i##0 = _mm512_add_ps(c##i##0, _mm512_loadu_ps(ci));                            \
            c##i##1 = _mm512_add_ps(c##i##1, _mm512_loadu_ps(ci + 16));                       \
        }                                                                                     \
        _mm512_storeu_ps(ci, c##i##0);                                                        \
        _mm512_storeu_ps(ci + 16, c##i##1);                                                   \
    }
    ROWS12(ST4)
}
/* C (M, N) (+)= W^T B, W (K, M) row-major: the transposed product streamed, for AVX-512.
 * Rather than copying W into strips (the AVX2 path), 16 columns of W at a time are one vector:
 * for each row k, C^T's 16 x 16 block gains W[k, m..m+15] x B[k, n] for 16 broadcast n. W is then
 * read in its own row order, a chunk of KC rows at a time across a superblock of columns (KC
 * sequential streams, which the hardware prefetches), and exactly once. The 16 x 16 sums of each
 * block wait in `part` between chunks (at most PART floats: MB x N), then go to C transposed. */
enum { WT_KC = 16, WT_PART = 32768 };

__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))) void
ops_gemm_avx512_wt(int M, int N, int K, const float *W, int lda, const float *B, int ldb,
                   float *C, int ldc, int accumulate)
{
    float part[WT_PART] __attribute__((aligned(64))); /* 128 KB: pool threads have 1 MB stacks */
    const int MB = WT_PART / N / 16 * 16;              /* N <= 64: at least 512 columns */
#define ROWS16(X) ROWS12(X) X(12) X(13) X(14) X(15)
    for (int m0 = 0; m0 < M; m0 += MB) {
        const int m1 = M - m0 < MB ? M : m0 + MB;
        for (int k0 = 0; k0 < K; k0 += WT_KC) {
            const int kc = K - k0 < WT_KC ? K - k0 : WT_KC;
            for (int m = m0; m < m1; m += 16) {
                const __mmask16 mask = m1 - m >= 16 ? 0xffff : (__mmask16)((1u << (m1 - m)) - 1);
                for (int n = 0; n < N; n += 16) {
                    float *p = part + (size_t)(m - m0) * N + (size_t)n * 16;
#define WT_LOAD(i) __m512 c##i = k0 ? _mm512_load_ps(p + 16 * i) : _mm512_setzero_ps();
                    ROWS16(WT_LOAD)
                    const float *w = W + (size_t)k0 * lda + m, *b = B + (size_t)k0 * ldb + n;
                    for (int k = 0; k < kc; k++, w += lda, b += ldb) {
                        const __m512 x = _mm512_maskz_loadu_ps(mask, w);
#define WT_FMA(i) c##i = _mm512_fmadd_ps(x, _mm512_set1_ps(b[i]), c##i);
                        ROWS16(WT_FMA)
                    }
#define WT_STORE(i) _mm512_store_ps(p + 16 * i, c##i);
                    ROWS16(WT_STORE)
                }
            }
        }
        /* part holds, per block of 16 columns m and 16 n, sums[n][m]: C[m][n] */
        for (int m = m0; m < m1; m += 16)
            for (int n = 0; n < N; n += 16) {
                const float *p = part + (size_t)(m - m0) * N + (size_t)n * 16;
                for (int r = 0; r < 16 && m + r < m1; r++) {
                    float *c = C + (size_t)(m + r) * ldc + n;
                    for (int i = 0; i < 16; i++)
                        c[i] = accumulate ? c[i] + p[16 * i + r] : p[16 * i + r];
                }
            }
    }
}
#endif
