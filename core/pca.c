/* pca: covariance by dsyrk, top-k eigenpairs by LAPACK's dsyevr; see pca.h. */
#include "pca.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_ROWS = 256 }; /* rows centred into double per dsyrk call */

/* LAPACK's dsyevr (reference LAPACK 3.x, in Debian's libopenblas). No lapack.h in the build, so
 * the Fortran interface is declared here: every argument by reference, and gfortran's hidden
 * lengths of the three character arguments at the end. */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
                    const int *lda, const double *vl, const double *vu, const int *il,
                    const int *iu, const double *abstol, int *m, double *w, double *z,
                    const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t jobz_len, size_t range_len,
                    size_t uplo_len);

void pca_free(struct pca *p)
{
    free(p->mean);
    free(p->components);
    free(p->variance);
    memset(p, 0, sizeof *p);
}

/* cov (dim, dim), upper triangle in row-major (the lower in LAPACK's column-major) =
 * (x - mean)^T (x - mean) / (n - 1), mean (dim) the column means; in double throughout. */
static enum status covariance(double *cov, double *mean, const float *x, int n, int dim)
{
    for (int j = 0; j < dim; j++)
        mean[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            mean[j] += x[(size_t)i * dim + j];
    for (int j = 0; j < dim; j++) {
        if (!isfinite(mean[j]))
            return status_fail(STATUS_NUMERIC, "pca: column %d of the data is not finite", j);
        mean[j] /= n;
    }
    double *chunk = malloc((size_t)CHUNK_ROWS * dim * sizeof *chunk);
    if (!chunk)
        return status_fail(STATUS_NOMEM, "pca: %d x %d doubles", CHUNK_ROWS, dim);
    memset(cov, 0, (size_t)dim * dim * sizeof *cov);
    for (int r0 = 0; r0 < n; r0 += CHUNK_ROWS) {
        const int rows = n - r0 < CHUNK_ROWS ? n - r0 : CHUNK_ROWS;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < dim; j++)
                chunk[(size_t)i * dim + j] = x[(size_t)(r0 + i) * dim + j] - mean[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, rows, 1.0 / (n - 1), chunk, dim,
                    1.0, cov, dim);
    }
    free(chunk);
    return STATUS_OK;
}

/* The k largest eigenpairs of the symmetric cov (dim, dim) (lower triangle, column-major):
 * w (k) ascending, z (dim, k) column-major, column j the eigenvector of w[j]. cov is destroyed. */
static enum status top_eigen(double *w, double *z, double *cov, int dim, int k)
{
    const int il = dim - k + 1, iu = dim;
    const double none = 0, abstol = 0; /* vl, vu unused with range 'I'; 0: LAPACK's default */
    int m = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0;
    int *isuppz = malloc((size_t)2 * k * sizeof *isuppz);
    /* dsyevr's eigenvalues w need room for all dim even when fewer are asked for */
    double *wall = malloc((size_t)dim * sizeof *wall);
    double *work = NULL;
    int *iwork = NULL;
    enum status st = STATUS_OK;
    if (!isuppz || !wall) {
        st = status_fail(STATUS_NOMEM, "pca: eigen-decomposition of %d x %d", dim, dim);
        goto out;
    }
    dsyevr_("V", "I", "L", &dim, cov, &dim, &none, &none, &il, &iu, &abstol, &m, wall, z, &dim,
            isuppz, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1, 1);
    if (info != 0) {
        st = status_fail(STATUS_NUMERIC, "pca: dsyevr workspace query failed (info %d)", info);
        goto out;
    }
    lwork = (int)work_query;
    liwork = iwork_query;
    work = malloc((size_t)lwork * sizeof *work);
    iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        st = status_fail(STATUS_NOMEM, "pca: dsyevr workspace (%d doubles)", lwork);
        goto out;
    }
    dsyevr_("V", "I", "L", &dim, cov, &dim, &none, &none, &il, &iu, &abstol, &m, wall, z, &dim,
            isuppz, work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || m != k) {
        st = status_fail(STATUS_NUMERIC, "pca: dsyevr failed (info %d, %d of %d eigenpairs)", info,
                         m, k);
        goto out;
    }
    memcpy(w, wall, (size_t)k * sizeof *w);
out:
    free(isuppz);
    free(wall);
    free(work);
    free(iwork);
    return st;
}

enum status pca_fit(struct pca *p, const float *x, int n, int dim, int k)
{
    memset(p, 0, sizeof *p);
    if (n < 2 || dim < 1 || k < 1 || k > dim)
        return status_fail(STATUS_RANGE, "pca: %d components of %d rows of %d", k, n, dim);
    double *mean = malloc((size_t)dim * sizeof *mean);
    double *cov = malloc((size_t)dim * dim * sizeof *cov);
    double *w = malloc((size_t)k * sizeof *w);
    double *z = malloc((size_t)dim * k * sizeof *z);
    p->mean = malloc((size_t)dim * sizeof *p->mean);
    p->components = malloc((size_t)k * dim * sizeof *p->components);
    p->variance = malloc((size_t)k * sizeof *p->variance);
    enum status st = STATUS_OK;
    if (!mean || !cov || !w || !z || !p->mean || !p->components || !p->variance) {
        st = status_fail(STATUS_NOMEM, "pca: %d x %d covariance", dim, dim);
        goto out;
    }
    st = covariance(cov, mean, x, n, dim);
    if (st)
        goto out;
    st = top_eigen(w, z, cov, dim, k);
    if (st)
        goto out;
    p->dim = dim;
    p->k = k;
    for (int j = 0; j < dim; j++)
        p->mean[j] = (float)mean[j];
    for (int r = 0; r < k; r++) {
        const double *v = z + (size_t)(k - 1 - r) * dim; /* dsyevr: ascending; ours: descending */
        int big = 0;
        for (int j = 1; j < dim; j++)
            if (fabs(v[j]) > fabs(v[big]))
                big = j;
        const double sign = v[big] < 0 ? -1.0 : 1.0;
        for (int j = 0; j < dim; j++)
            p->components[(size_t)r * dim + j] = (float)(sign * v[j]);
        p->variance[r] = w[k - 1 - r] > 0 ? (float)w[k - 1 - r] : 0.0f;
    }
out:
    free(mean);
    free(cov);
    free(w);
    free(z);
    if (st)
        pca_free(p);
    return st;
}

void pca_error(const struct pca *p, const float *x, int B, float *err)
{
    const int dim = p->dim;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * dim;
        double total = 0, explained = 0;
        for (int j = 0; j < dim; j++) {
            double d = (double)xb[j] - p->mean[j];
            total += d * d;
        }
        for (int r = 0; r < p->k; r++) {
            const float *c = p->components + (size_t)r * dim;
            /* four partial sums: the additions are not one dependent chain */
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int j = 0;
            for (; j + 4 <= dim; j += 4) {
                s0 += (double)c[j] * ((double)xb[j] - p->mean[j]);
                s1 += (double)c[j + 1] * ((double)xb[j + 1] - p->mean[j + 1]);
                s2 += (double)c[j + 2] * ((double)xb[j + 2] - p->mean[j + 2]);
                s3 += (double)c[j + 3] * ((double)xb[j + 3] - p->mean[j + 3]);
            }
            for (; j < dim; j++)
                s0 += (double)c[j] * ((double)xb[j] - p->mean[j]);
            double proj = (s0 + s1) + (s2 + s3);
            explained += proj * proj;
        }
        double e = total - explained;
        err[b] = e > 0 ? (float)e : 0.0f;
    }
}
