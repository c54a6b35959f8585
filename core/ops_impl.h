/* ops_impl: private helpers shared by the ops_*.c files (not part of the public API). */
#ifndef INSPECTD_OPS_IMPL_H
#define INSPECTD_OPS_IMPL_H

#include <stddef.h>

#include "ops.h"
#include "status.h"

/* ---- ops_gemm.c ---------------------------------------------------------------------------- */

/* Row-major C (M,N) = op(A) op(B) + beta C on the calling thread, op(X) = X or X^T as trans_x
 * says; A is (M,K) with row stride lda when not transposed, (K,M) when transposed; likewise B.
 * beta is 0 (C is overwritten, never read) or 1 (accumulate). OpenBLAS (kept single-threaded:
 * ops parallelises above it), or the small-N kernel of ops_gemm.c for the shapes it wins. */
void ops_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* ---- ops_gemm_x86.c: the x86 kernels of the small-N product ---------------------------------- */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define OPS_HAVE_X86_TILES 1
#else
#define OPS_HAVE_X86_TILES 0
#endif

/* c (mr, NR) (+)= sum_k a(i, k) b(k, 0..NR-1), a(i, k) = a[i*a_rs + k*a_cs], b rows ldb apart, c
 * rows ldc apart, mr <= MR; accumulate: add to c instead of overwriting it. */
typedef void (*ops_tile_fn)(int mr, int K, const float *a, size_t a_rs, size_t a_cs,
                            const float *b, size_t ldb, float *c, size_t ldc, int accumulate);
#if OPS_HAVE_X86_TILES
void ops_tile_avx2_6x16(int mr, int K, const float *a, size_t a_rs, size_t a_cs, const float *b,
                        size_t ldb, float *c, size_t ldc, int accumulate);
void ops_tile_avx512_12x16(int mr, int K, const float *a, size_t a_rs, size_t a_cs,
                           const float *b, size_t ldb, float *c, size_t ldc, int accumulate);
void ops_tile_avx512_12x32(int mr, int K, const float *a, size_t a_rs, size_t a_cs,
                           const float *b, size_t ldb, float *c, size_t ldc, int accumulate);
/* The AVX2 path's packing of W^T for the 6 x 16 tile: strips of OPS_PACK_MR columns, each
 * ops_pack_strip_stride(kc) floats (2 of padding for the 8-float copies); pf: rows to prefetch
 * ahead. The block needs (mc / 6 + 1) strips. */
enum { OPS_PACK_MR = 6 };
static inline size_t ops_pack_strip_stride(int kc)
{
    return (size_t)kc * OPS_PACK_MR + 2;
}
void ops_pack_strips_avx2(float *pack, const float *W, int lda, int k0, int kc, int m0, int mc,
                          int pf);
/* C (M, N) (+)= W^T B with W (K, M) row-major (lda), B (K, N) (ldb); N a multiple of 16, at most
 * 64. accumulate: add to C. */
void ops_gemm_avx512_wt(int M, int N, int K, const float *W, int lda, const float *B, int ldb,
                        float *C, int ldc, int accumulate);
#endif

/* ---- ops_gemm_bf16.c: the same product in bf16 through oneDNN ------------------------------ */

/* Loads oneDNN and checks that it has a bf16 kernel for this CPU (once; later calls return the
 * first answer). STATUS_UNSUPPORTED with the reason otherwise. */
enum status ops_bf16_prepare(void);
/* ops_gemm's contract, with A and B rounded to bf16 and the sums kept in fp32. Returns 0 when
 * oneDNN could not run it (the caller then computes in fp32). */
int ops_gemm_bf16(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

/* ---- ops_pool.c ---------------------------------------------------------------------------- */

/* Runs fn(ctx, t, n) for t = 0 .. n-1, t = 0 on the calling thread and the others on the pool's
 * persistent threads, and returns when all have returned. n <= ops_get_threads(). When other
 * callers are busy (ops_busy_begin) the shares run one after the other on fewer threads, so fn
 * must not wait for another share. Callers from several threads at once are served one after
 * the other. */
void ops_parallel(int n, void (*fn)(void *ctx, int t, int n), void *ctx);

/* [*begin, *end) = share t of n of the range [0, count), in whole multiples of `unit`. */
void ops_split(int *begin, int *end, int count, int t, int n, int unit);

/* ---- ops_im2col.c -------------------------------------------------------------------------- */

/* Geometry of an im2col: an image (C, B, H, W) read through k x k windows at stride/pad, giving
 * columns (C*k*k, B*oh*ow). For ConvTranspose2d the "image" is the output and (oh, ow) the input
 * size: the same index map, used in the other direction. cstride: floats between channels of
 * the image (B*H*W for a whole tensor; larger when B is a slice of a bigger batch). ld: floats
 * between rows of the columns (B*oh*ow when dense). */
struct im2col_geom {
    int C, B, H, W;
    int k, stride, pad;
    int oh, ow;
    size_t cstride, ld;
};

/* cols (C*k*k rows, ld apart) = windows of img; zero where a window leaves the image. */
void ops_im2col(float *cols, const float *img, const struct im2col_geom *g);
/* img += the columns scattered back (the adjoint of ops_im2col). img is NOT cleared. */
void ops_col2im(float *img, const float *cols, const struct im2col_geom *g);

/* ---- ops.c: shared by the convolution drivers ------------------------------------------------ */

enum {
    OPS_ROW_UNIT = 6,              /* rows of the small-N kernel's register tile */
    OPS_COLS_BUDGET = 1 << 22,     /* floats of columns per chunk of images (16 MB) */
    OPS_FLOP_PER_THREAD = 1 << 21, /* below this a second thread costs more than it saves */
};

/* Threads worth using for `flop` of work (at most ops_get_threads()). */
int ops_plan_threads(double flop);
/* Images per chunk so that rows x (images * per_image) columns fit OPS_COLS_BUDGET (>= 1). */
int ops_chunk_images(int rows, int per_image);
/* dbias[r] += sum of row r of d (rows, n apart, n floats), summed in double. */
void ops_sum_rows(float *dbias, const float *d, int rows, size_t n);

/* One call of a convolution driver (ops.c, ops_convt.c), handed to its per-thread parts. */
struct ops_call {
    const struct conv_shape *s;
    float *out;        /* out, dinp or dweight */
    float *out2;       /* dbias */
    const float *inp;  /* inp or dout */
    const float *inp2; /* inp for the weight gradients */
    const float *weight, *bias;
    float *work;
};

/* A 1x1 stride-1 convolution, either way round, is a product of the tensor itself: no columns. */
static inline int ops_is_pointwise(const struct conv_shape *s)
{
    return s->k == 1 && s->stride == 1 && s->pad == 0;
}

/* x[r*ld + i] (+)= bias[r] for r < rows, i < n; set: overwrite (bias NULL: zero). */
void ops_bias_rows(float *x, size_t ld, const float *bias, int rows, size_t n, int set);
/* The im2col geometry of a ConvTranspose2d: it scatters into its output through the windows of
 * its input. C channels of B images; ld as in struct im2col_geom. */
struct im2col_geom ops_convt_geom(const struct conv_shape *s, int C, int B, size_t ld);
/* Share t of n of c->work = im2col of c->inp for the whole batch, by channels: of the input for
 * Conv2d, of the output (dout) when transpose. */
void ops_im2col_channels(const struct ops_call *c, int transpose, int t, int n);

#endif
