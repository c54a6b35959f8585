/* pca: principal component analysis of feature vectors, scored by reconstruction error.
 *
 * The model is the mean and the top k eigenvectors of the sample covariance (denominator n - 1,
 * as scikit-learn's PCA.explained_variance_). A vector's anomaly score is how much of it the k
 * components do not explain: |x - mean|^2 - |C (x - mean)|^2, the squared distance from x to the
 * principal subspace (Pearson 1901; the PCA baseline of one-class anomaly detection, e.g. the
 * "PCA-40" of issue 16). This equals scikit-learn's |x - inverse_transform(transform(x))|^2.
 *
 * The covariance is accumulated in double (dsyrk, 256 rows at a time) and decomposed with
 * LAPACK's dsyevr (MRRR, only the k eigenpairs wanted), both from the OpenBLAS the build links;
 * the components are stored in float. Nothing here reads or writes files. */
#ifndef INSPECTD_PCA_H
#define INSPECTD_PCA_H

#include "status.h"

struct pca {
    int dim, k;
    float *mean;       /* (dim), owned */
    float *components; /* (k, dim) orthonormal rows, by decreasing variance, owned. Each row's
                          sign is fixed: its entry of largest magnitude (the first such) is
                          positive, so a fit never depends on LAPACK's arbitrary signs. */
    float *variance;   /* (k) variance along each component (eigenvalue, clamped at 0), owned */
};

/* Fits p to x (n, dim), n >= 2, 1 <= k <= dim (components past the rank of the data span
 * directions of zero variance, still orthonormal). p owns what it allocates; release with
 * pca_free. STATUS_RANGE for sizes out of range, STATUS_NUMERIC for a non-finite input or a
 * failed decomposition, STATUS_NOMEM; p is left empty on failure. */
enum status pca_fit(struct pca *p, const float *x, int n, int dim, int k);

/* Frees what p owns and zeroes it; safe on a zeroed or already freed pca. */
void pca_free(struct pca *p);

/* err (B) = |x_b - mean|^2 - |C (x_b - mean)|^2 for each row of x (B, dim), clamped at 0:
 * the squared L2 error of reconstructing x_b from the k components. Computed in double with
 * plain loops (k * dim per row, a few tens of microseconds for k = 40, dim = 1024, so there is
 * no faster twin to check against them). */
void pca_error(const struct pca *p, const float *x, int B, float *err);

#endif
