/* ops_gemm: the matrix product under every convolution, on the calling thread.
 *
 * Large products go to OpenBLAS (cblas_sgemm). One shape it handles poorly matters most here:
 * batch-1 latent search, where the weight matrix is large (up to 512 x 4096) and the other
 * operand has only N = 16..64 columns (the 4x4 and 8x8 layers). Every weight is then used only N
 * times, so the product is bound by how the weights stream through the cache, and OpenBLAS's
 * repacking of them costs as much as the arithmetic (10-20 GFLOP/s on a Zen 3 core). For that
 * case this file has its own AVX2/FMA kernel (chosen at run time by CPU feature):
 *   C (M, N) = A (M, K) B (K, N), N a multiple of 16 and at most 32 (64 with A transposed), B
 *   not transposed:
 *   a 6 x 16 register tile, 6 rows of A broadcast against 16 columns of B.
 *   - A not transposed (rows of the weight along K): the 6 rows stream straight from memory.
 *   - A transposed (A = W^T, W (K, M) row-major): rows of W are copied, in their own order,
 *     into a packed block of 6-wide column strips (128 rows x 252 columns at a time, rows a
 *     few ahead prefetched), so W is read in row order and exactly once.
 * Threads: none here; the convolutions in ops.c split their work and call this per share. The
 * packing block lives on the caller's stack (129 KB; pool threads get 1 MB stacks). */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <cblas.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_KERNEL 1
#include <immintrin.h>
#else
#define HAVE_AVX2_KERNEL 0
#endif

enum {
    SMALL_N_DIRECT = 32, /* widest B for A not transposed (B must stay in L2 for every tile) */
    SMALL_N_PACKED = 64, /* widest B for A transposed; beyond these OpenBLAS does as well */
    MR = 6,            /* rows of the register tile */
    NR = 16,           /* columns of the register tile (two 8-float vectors) */
    PACK_KC = 128,     /* rows of W per packed block (A transposed) */
    PACK_MC = 252,     /* columns of W per packed block: a multiple of MR */
    PF_ROWS = 4,       /* packing prefetches this many rows ahead */
};

/* ---- the AVX2 kernel ----------------------------------------------------------------------- */

#if HAVE_AVX2_KERNEL
/* c (mr, 16) (+)= sum_k a(i, k) b(k, 0..15), a(i, k) = a[i*a_rs + k*a_cs], b rows ldb apart,
 * c rows ldc apart; mr <= 6 (rows past mr are computed from row 0 and dropped). */
__attribute__((target("avx2,fma"))) static void kernel_6x16(int mr, int K, const float *a,
                                                            size_t a_rs, size_t a_cs,
                                                            const float *b, size_t ldb, float *c,
                                                            size_t ldc, int accumulate)
{
    const float *a0 = a, *a1 = a + (mr > 1 ? a_rs : 0), *a2 = a + (mr > 2 ? 2 * a_rs : 0);
    const float *a3 = a + (mr > 3 ? 3 * a_rs : 0), *a4 = a + (mr > 4 ? 4 * a_rs : 0);
    const float *a5 = a + (mr > 5 ? 5 * a_rs : 0);
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < K; k++, b += ldb) {
        const size_t o = (size_t)k * a_cs;
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x = _mm256_broadcast_ss(a0 + o);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + o);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + o);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + o);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + o);
        c40 = _mm256_fmadd_ps(x, b0, c40);
        c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + o);
        c50 = _mm256_fmadd_ps(x, b0, c50);
        c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    const __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                               {c30, c31}, {c40, c41}, {c50, c51}};
    for (int i = 0; i < mr; i++) {
        float *ci = c + (size_t)i * ldc;
        __m256 lo = acc[i][0], hi = acc[i][1];
        if (accumulate) {
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(ci));
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(ci + 8));
        }
        _mm256_storeu_ps(ci, lo);
        _mm256_storeu_ps(ci + 8, hi);
    }
}
#endif

/* ---- the small-N product, one share of rows ------------------------------------------------ */

struct small_job {
    int M, N, K;
    const float *A;
    int lda;
    const float *B;
    int ldb;
    int accumulate;
    float *C;
    int ldc;
};

#if HAVE_AVX2_KERNEL
/* A not transposed: rows of A stream from memory. */
static void small_direct(const struct small_job *j)
{
    for (int m = 0; m < j->M; m += MR) {
        int mr = j->M - m < MR ? j->M - m : MR;
        const float *a = j->A + (size_t)m * j->lda;
        for (int n = 0; n < j->N; n += NR)
            kernel_6x16(mr, j->K, a, (size_t)j->lda, 1, j->B + n, (size_t)j->ldb,
                        j->C + (size_t)m * j->ldc + n, (size_t)j->ldc, j->accumulate);
    }
}

/* Floats between strips in a packed block: MR per row of the strip, plus 2 so that an 8-float
 * store of the last row stays inside the strip. */
static size_t strip_stride(int kc)
{
    return (size_t)kc * MR + 2;
}

/* Copies W[k0 .. k0+kc, m0 .. m0+mc) (W = A^T, row-major, lda) into pack as strips of MR
 * columns: pack[s*strip_stride(kc) + k*MR + i] = W[k0 + k, m0 + s*MR + i], zero past mc. Row by
 * row, so W streams in memory order; a full strip moves as one 8-float load and store (its 2
 * extra floats land where the next row of the strip, or the padding, goes). */
__attribute__((target("avx2,fma"))) static void pack_strips(float *pack, const float *W, int lda,
                                                            int k0, int kc, int m0, int mc)
{
    const size_t ss = strip_stride(kc);
    const int full = mc / MR, last = mc - full * MR;
    /* The 8-float load of a full strip reads 2 floats past it: only safe while those are in
     * the block's columns. */
    const int vec = mc - full * MR >= 2 ? full : full - 1;
    for (int k = 0; k < kc; k++) {
        const float *src = W + (size_t)(k0 + k) * lda + m0;
        float *dst = pack + (size_t)k * MR;
        if (k + PF_ROWS < kc) /* the rows a few ahead: W's rows are far apart */
            for (int i = 0; i < mc; i += 16)
                __builtin_prefetch(src + (size_t)PF_ROWS * lda + i);
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

/* A = W^T: W read row by row into packed blocks. */
static void small_packed(const struct small_job *j)
{
    float pack[PACK_KC * PACK_MC + (PACK_MC / MR + 1) * 2];
    for (int m0 = 0; m0 < j->M; m0 += PACK_MC) {
        int mc = j->M - m0 < PACK_MC ? j->M - m0 : PACK_MC;
        for (int k0 = 0; k0 < j->K; k0 += PACK_KC) {
            int kc = j->K - k0 < PACK_KC ? j->K - k0 : PACK_KC;
            pack_strips(pack, j->A, j->lda, k0, kc, m0, mc);
            int acc = j->accumulate || k0 > 0;
            for (int s = 0; s * MR < mc; s++) {
                int mr = mc - s * MR < MR ? mc - s * MR : MR;
                float *c = j->C + (size_t)(m0 + s * MR) * j->ldc;
                for (int n = 0; n < j->N; n += NR)
                    kernel_6x16(mr, kc, pack + (size_t)s * strip_stride(kc), 1, MR,
                                j->B + (size_t)k0 * j->ldb + n, (size_t)j->ldb, c + n,
                                (size_t)j->ldc, acc);
            }
        }
    }
}

static int have_avx2(void)
{
    /* computed once; workers may race to compute it, so the cache is read and written atomically */
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

void ops_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    ASSERT(beta == 0.0f || beta == 1.0f);
    if (M == 0 || N == 0)
        return;
#if HAVE_AVX2_KERNEL
    if (!trans_b && N % NR == 0 && N <= (trans_a ? SMALL_N_PACKED : SMALL_N_DIRECT) && K > 0 &&
        have_avx2()) {
        struct small_job j = {.M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                              .accumulate = beta != 0.0f, .C = C, .ldc = ldc};
        if (trans_a)
            small_packed(&j);
        else
            small_direct(&j);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
