/* ops_impl: private helpers shared by the ops_*.c files (not part of the public API). */
#ifndef INSPECTD_OPS_IMPL_H
#define INSPECTD_OPS_IMPL_H

#include <stddef.h>

/* Row-major C (M,N) = op(A) op(B) + beta C, op(X) = X or X^T as trans_x says; A is (M,K) with
 * row stride lda when not transposed, (K,M) when transposed; likewise B. beta is 0 (C is
 * overwritten, never read) or 1 (accumulate). Dispatches to OpenBLAS or to the small-N kernel
 * of ops_gemm.c; uses ops_get_threads() threads. */
void ops_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* Geometry of an im2col: an image (C, B, H, W) read through k x k windows at stride/pad, giving
 * columns (C*k*k, B*oh*ow). For ConvTranspose2d the "image" is the output and (oh, ow) the input
 * size: the same index map, used in the other direction. */
struct im2col_geom {
    int C, B, H, W;
    int k, stride, pad;
    int oh, ow;
};

/* cols (C*k*k, B*oh*ow) = windows of img (C,B,H,W); zero where a window leaves the image. */
void ops_im2col(float *cols, const float *img, const struct im2col_geom *g);
/* img (C,B,H,W) += the columns scattered back (the adjoint of ops_im2col). img is NOT cleared. */
void ops_col2im(float *img, const float *cols, const struct im2col_geom *g);

#endif
