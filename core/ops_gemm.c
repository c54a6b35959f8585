/* ops_gemm: the matrix product under every convolution, on the calling thread.
 *
 * Large products go to OpenBLAS (cblas_sgemm). One shape it handles poorly matters most here:
 * batch-1 latent search, where the weight matrix is large (up to 512 x 4096) and the other
 * operand has only N = 16..64 columns (the 4x4 and 8x8 layers). Every weight is then used only N
 * times, so the product is bound by how the weights stream through the cache, and OpenBLAS's
 * repacking of them costs as much as the arithmetic. For that case this file has its own
 * product, on the kernels of ops_gemm_x86.c (AVX-512 or AVX2, chosen per call by cpu_isa()):
 *   C (M, N) = A (M, K) B (K, N), N a multiple of 16 and at most 32 (64 with A transposed), B
 *   not transposed.
 *   - A not transposed (rows of the weight along K): the rows of a register tile (12 x 16 or
 *     12 x 32 for AVX-512, 6 x 16 for AVX2) stream straight from memory.
 *   - A transposed (A = W^T, W (K, M) row-major): with AVX-512, W's rows are themselves vectors
 *     of the product (ops_gemm_avx512_wt) and stream as they are. With AVX2, rows of W are copied,
 *     in their own order, into a packed block of 6-wide column strips (128 rows x 252 columns at
 *     a time, rows a few ahead prefetched), so W is read in row order and exactly once.
 * With ops_set_precision(OPS_PRECISION_BF16) every product goes to oneDNN in bf16 instead
 * (ops_gemm_bf16.c).
 * Threads: none here; the convolutions in ops.c split their work and call this per share. The
 * packing block (AVX2) or the partial sums (AVX-512) live on the caller's stack (128 KB at most;
 * pool threads get 1 MB stacks). */
#include "ops.h"
#include "ops_impl.h"

#include "cpu.h"
#include "status.h"

#include <cblas.h>
#include <string.h>

enum {
    SMALL_N_DIRECT = 32, /* widest B for A not transposed (B must stay in L2 for every tile) */
    SMALL_N_PACKED = 64, /* widest B for A transposed; beyond these OpenBLAS does as well */
    PACK_KC = 128,       /* rows of W per packed block (A transposed) */
    PACK_MC = 252,       /* columns of W per packed block: a multiple of the tile's MR */
    PF_ROWS = 4,         /* packing prefetches this many rows ahead */
};

static int precision = OPS_PRECISION_FP32; /* read and written atomically */

enum status ops_set_precision(enum ops_precision p)
{
    if (p == OPS_PRECISION_BF16) {
        enum status st = ops_bf16_prepare();
        if (st)
            return st;
    }
    __atomic_store_n(&precision, (int)p, __ATOMIC_RELEASE);
    return STATUS_OK;
}

enum ops_precision ops_get_precision(void)
{
    return (enum ops_precision)__atomic_load_n(&precision, __ATOMIC_ACQUIRE);
}

const char *ops_precision_name(enum ops_precision p)
{
    return p == OPS_PRECISION_BF16 ? "bf16" : "fp32";
}

int ops_precision_parse(const char *name)
{
    if (!strcmp(name, "fp32"))
        return OPS_PRECISION_FP32;
    if (!strcmp(name, "bf16"))
        return OPS_PRECISION_BF16;
    return -1;
}

/* ---- the small-N product ------------------------------------------------------------------- */

struct tile {
    ops_tile_fn fn;
    int mr, nr;
};

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

/* The tile for N columns on this CPU, or fn NULL when the small-N product does not apply. */
static struct tile pick_tile(int N)
{
    struct tile t = {NULL, 0, 0};
#if OPS_HAVE_X86_TILES
    switch (cpu_isa()) {
    case CPU_ISA_AVX512:
        if (N % 32 == 0)
            t = (struct tile){ops_tile_avx512_12x32, 12, 32};
        else if (N % 16 == 0)
            t = (struct tile){ops_tile_avx512_12x16, 12, 16};
        break;
    case CPU_ISA_AVX2:
        if (N % 16 == 0)
            t = (struct tile){ops_tile_avx2_6x16, 6, 16};
        break;
    case CPU_ISA_PORTABLE: break;
    }
#else
    (void)N;
#endif
    return t;
}

/* A not transposed: rows of A stream from memory. */
static void small_direct(const struct small_job *j, struct tile t)
{
    for (int m = 0; m < j->M; m += t.mr) {
        int mr = j->M - m < t.mr ? j->M - m : t.mr;
        const float *a = j->A + (size_t)m * j->lda;
        for (int n = 0; n < j->N; n += t.nr)
            t.fn(mr, j->K, a, (size_t)j->lda, 1, j->B + n, (size_t)j->ldb,
                 j->C + (size_t)m * j->ldc + n, (size_t)j->ldc, j->accumulate);
    }
}

#if OPS_HAVE_X86_TILES
/* A = W^T: W read row by row into packed blocks (ops_pack_strips_avx2), then the 6 x 16 tile. */
static void small_packed(const struct small_job *j, struct tile t)
{
    float pack[PACK_KC * PACK_MC + (PACK_MC / OPS_PACK_MR + 1) * 2];
    ASSERT(t.mr == OPS_PACK_MR && PACK_MC % OPS_PACK_MR == 0);
    for (int m0 = 0; m0 < j->M; m0 += PACK_MC) {
        int mc = j->M - m0 < PACK_MC ? j->M - m0 : PACK_MC;
        for (int k0 = 0; k0 < j->K; k0 += PACK_KC) {
            int kc = j->K - k0 < PACK_KC ? j->K - k0 : PACK_KC;
            ops_pack_strips_avx2(pack, j->A, j->lda, k0, kc, m0, mc, PF_ROWS);
            int acc = j->accumulate || k0 > 0;
            for (int s = 0; s * t.mr < mc; s++) {
                int mr = mc - s * t.mr < t.mr ? mc - s * t.mr : t.mr;
                float *c = j->C + (size_t)(m0 + s * t.mr) * j->ldc;
                for (int n = 0; n < j->N; n += t.nr)
                    t.fn(mr, kc, pack + (size_t)s * ops_pack_strip_stride(kc), 1, (size_t)t.mr,
                         j->B + (size_t)k0 * j->ldb + n, (size_t)j->ldb, c + n, (size_t)j->ldc,
                         acc);
            }
        }
    }
}
#endif

void ops_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    ASSERT(beta == 0.0f || beta == 1.0f);
    if (M == 0 || N == 0)
        return;
    if (ops_get_precision() == OPS_PRECISION_BF16 &&
        ops_gemm_bf16(trans_a, trans_b, M, N, K, A, lda, B, ldb, beta, C, ldc))
        return;
    if (!trans_b && K > 0 && N <= (trans_a ? SMALL_N_PACKED : SMALL_N_DIRECT)) {
#if OPS_HAVE_X86_TILES
        if (trans_a && N % 16 == 0 && cpu_isa() == CPU_ISA_AVX512) {
            ops_gemm_avx512_wt(M, N, K, A, lda, B, ldb, C, ldc, beta != 0.0f);
            return;
        }
#endif
        struct tile t = pick_tile(N);
        if (t.fn) {
            struct small_job j = {.M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B,
                                  .ldb = ldb, .accumulate = beta != 0.0f, .C = C, .ldc = ldc};
#if OPS_HAVE_X86_TILES
            if (trans_a)
                small_packed(&j, t);
            else
#endif
                small_direct(&j, t);
            return;
        }
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
