/* ops_gemm: the matrix product under every convolution, and the thread setting.
 * For now a thin wrapper over OpenBLAS's cblas_sgemm. */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <cblas.h>

void ops_gemm(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    ASSERT(beta == 0.0f || beta == 1.0f);
    if (M == 0 || N == 0)
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

void ops_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}

int ops_get_threads(void)
{
    return openblas_get_num_threads();
}
