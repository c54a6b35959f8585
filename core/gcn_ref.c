/* gcn_ref: the naive twins of the GCN kernels (the definitions, loop by loop, accumulated in
 * double where the loop order allows, one thread, no allocation) The fast
 * kernels in gcn_kernels.c and gcn_dense.c are tested against these. */
#include "gcn_impl.h"

#include <string.h>

/* ---- Naive twins ---------------------------------------------------------------------------- */

void gcn_spmm_ref(float *out, const struct csr *a, const float *vals, const float *b, int w)
{
    const float *v = vals ? vals : a->val;
    for (int i = 0; i < a->nrows; i++)
        for (int j = 0; j < w; j++) {
            double s = 0;
            for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++)
                s += (double)v[k] * b[(size_t)a->col[k] * w + j];
            out[(size_t)i * w + j] = (float)s;
        }
}

void gcn_spmm_t_acc_ref(float *out, const struct csr *a, const float *vals, const float *b, int w)
{
    const float *v = vals ? vals : a->val;
    for (int i = 0; i < a->nrows; i++)
        for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++)
            for (int j = 0; j < w; j++)
                out[(size_t)a->col[k] * w + j] += v[k] * b[(size_t)i * w + j];
}

void gcn_mm_ref(float *out, const float *x, const float *w, int n, int h, int c)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (int k = 0; k < h; k++)
                s += (double)x[(size_t)i * h + k] * w[(size_t)k * c + j];
            out[(size_t)i * c + j] = (float)s;
        }
}

void gcn_mm_nt_ref(float *out, const float *d, const float *w, int n, int h, int c)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < h; k++) {
            double s = 0;
            for (int j = 0; j < c; j++)
                s += (double)d[(size_t)i * c + j] * w[(size_t)k * c + j];
            out[(size_t)i * h + k] = (float)s;
        }
}

void gcn_mm_tn_acc_ref(float *out, const float *x, const float *d, int n, int h, int c)
{
    for (int k = 0; k < h; k++)
        for (int j = 0; j < c; j++) {
            double s = out[(size_t)k * c + j];
            for (int i = 0; i < n; i++)
                s += (double)x[(size_t)i * h + k] * d[(size_t)i * c + j];
            out[(size_t)k * c + j] = (float)s;
        }
}
