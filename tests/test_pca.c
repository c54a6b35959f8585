/* test_pca: the fit against scikit-learn's PCA on a fixed data set (variances, components,
 * reconstruction errors), orthonormal components with descending variances, k = dim, rank-
 * deficient data, the sign convention and the failures.
 *
 * The data is a formula both C and Python evaluate bit for bit (integer hashing, then sums in the
 * same order in double, rounded to float32): 200 rows of dim 12, four latent factors of scales
 * 4, 2.5, 1.5, 1 through fixed loadings, noise 0.1, an offset 0.5 (j mod 3). The expected values
 * were made with Debian bookworm's /usr/bin/python3 (scikit-learn 1.2.1, numpy 1.24.2):
 *     def u(a):
 *         h = (a * 2654435761) & 0xffffffff; h ^= h >> 15
 *         h = (h * 2246822519) & 0xffffffff; h ^= h >> 13
 *         return (h % 2001 - 1000) / 1000.0
 *     def row(i):
 *         z = [sc * u(1000*i + r + 1) for r, sc in enumerate([4.0, 2.5, 1.5, 1.0])]
 *         return [sum(z[r] * u(500000 + 100*r + j) for r in range(4))   # added left to right
 *                 + 0.1 * u(700000 + 50*i + j) + 0.5 * (j % 3) for j in range(12)]
 *     X = float64(float32([row(i) for i in range(200)]))
 *     Q = float64(float32([row(i) for i in range(10)] + [row(i) for i in range(200, 205)]))
 *     p = sklearn.decomposition.PCA(n_components=3, svd_solver='full').fit(X)
 *     p.explained_variance_, p.components_,
 *     ((Q - p.inverse_transform(p.transform(Q)))**2).sum(1)          # all printed with repr */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "pca.h"
#include "testutil.h"

enum { N = 200, DIM = 12, K = 3, NQ = 15 };

static double hash_unit(uint32_t a)
{
    uint32_t h = a * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (double)((int)(h % 2001) - 1000) / 1000.0;
}

static void data_row(float *x, int i)
{
    static const double scale[4] = {4.0, 2.5, 1.5, 1.0};
    double z[4];
    for (int r = 0; r < 4; r++)
        z[r] = scale[r] * hash_unit((uint32_t)(1000 * i + r + 1));
    for (int j = 0; j < DIM; j++) {
        double s = 0;
        for (int r = 0; r < 4; r++)
            s += z[r] * hash_unit((uint32_t)(500000 + 100 * r + j));
        s += 0.1 * hash_unit((uint32_t)(700000 + 50 * i + j)) + 0.5 * (j % 3);
        x[j] = (float)s;
    }
}

static double dot_fd(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* C C^T = I within tol, and variances descending and >= 0. */
static void assert_orthonormal(const struct pca *p, double tol)
{
    for (int a = 0; a < p->k; a++) {
        for (int b = 0; b < p->k; b++) {
            double d = dot_fd(p->components + (size_t)a * p->dim,
                              p->components + (size_t)b * p->dim, p->dim);
            ck_assert_msg(fabs(d - (a == b)) <= tol, "c%d . c%d = %.9g", a, b, d);
        }
        ck_assert(p->variance[a] >= 0);
        if (a > 0)
            ck_assert(p->variance[a] <= p->variance[a - 1]);
    }
}

/* Each component's entry of largest magnitude is positive. */
static void assert_signs(const struct pca *p)
{
    for (int r = 0; r < p->k; r++) {
        const float *c = p->components + (size_t)r * p->dim;
        int big = 0;
        for (int j = 1; j < p->dim; j++)
            if (fabsf(c[j]) > fabsf(c[big]))
                big = j;
        ck_assert(c[big] > 0);
    }
}

START_TEST(test_sklearn)
{
    static const double want_var[K] = {20.52960452868731, 4.912319644728233, 2.9563230041747075};
    static const double want_comp[K][DIM] = {
        {0.1397614168067673, 0.4683089775726108, -0.5281702994880202, 0.1756869697350824,
         0.30161009352182755, 0.0645182950394092, -0.21902206325419418, 0.17861667105295198,
         0.0658335801146426, 0.2546610252808026, 0.17676887125095772, 0.41938562339543983},
        {-0.03870070070576558, 0.06069795545597199, -0.0394168019576929, -0.09272172402585628,
         0.032014640381089324, 0.34202465938933224, 0.13654382753638833, 0.37959336726468185,
         -0.5560467833837613, -0.5093947077045272, -0.24958096731256582, 0.270118886146857},
        {-0.4509426439690362, -0.5549124087116974, -0.36036922605854443, -0.11805241657886373,
         0.2708249662453539, 0.13058258340897952, -0.26025324608496886, 0.08399541496575823,
         -0.21615559040707638, 0.3219697911343575, -0.09503082690348541, -0.14253771207637073}};
    static const float want_err[NQ] = {
        1.6048054376609149f,  0.30385004183286457f, 0.42112487047997915f, 0.39201777564283635f,
        1.0238429286916244f,  0.58111309430389f,    0.39116683761773496f, 0.04962565880500832f,
        1.552188258560037f,   0.04441789908910143f, 4.370541288217044f,   0.030446589061431918f,
        0.10722666580157186f, 0.311088082045373f,   0.03184148668354238f};
    float *x = malloc((size_t)N * DIM * sizeof *x), q[NQ * DIM], err[NQ];
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < N; i++)
        data_row(x + (size_t)i * DIM, i);
    for (int i = 0; i < NQ; i++)
        data_row(q + (size_t)i * DIM, i < 10 ? i : 200 + (i - 10));
    struct pca p;
    ck_assert_int_eq(pca_fit(&p, x, N, DIM, K), STATUS_OK);
    ck_assert_int_eq(p.dim, DIM);
    ck_assert_int_eq(p.k, K);
    assert_orthonormal(&p, 1e-6);
    assert_signs(&p);
    for (int r = 0; r < K; r++) {
        ck_assert_double_eq_tol(p.variance[r], want_var[r], 1e-6 * want_var[r]);
        /* the same direction (sklearn's signs follow another rule: compare up to sign) */
        double d = 0;
        for (int j = 0; j < DIM; j++)
            d += p.components[r * DIM + j] * want_comp[r][j];
        ck_assert_double_eq_tol(fabs(d), 1.0, 1e-6);
    }
    /* the mean is the column mean */
    for (int j = 0; j < DIM; j++) {
        double m = 0;
        for (int i = 0; i < N; i++)
            m += x[(size_t)i * DIM + j];
        ck_assert_double_eq_tol(p.mean[j], m / N, 1e-6);
    }
    /* |d|^2 - |C d|^2 cancels where little is left unexplained: the float components (orthonormal
     * to ~1e-7) then cost up to ~1e-7 |d|^2, so the bound is relative to |d|^2 as well */
    pca_error(&p, q, NQ, err);
    for (int i = 0; i < NQ; i++) {
        double total = 0;
        for (int j = 0; j < DIM; j++) {
            double d = (double)q[i * DIM + j] - p.mean[j];
            total += d * d;
        }
        ck_assert_msg(fabs(err[i] - want_err[i]) <= 1e-6 * want_err[i] + 1e-6 * total,
                      "row %d: error %.9g, sklearn %.9g, |x - mean|^2 %.6g", i, err[i], want_err[i],
                      total);
    }
    /* the variance along each component is the variance of the projections */
    for (int r = 0; r < K; r++) {
        double s = 0;
        for (int i = 0; i < N; i++) {
            double proj = 0;
            for (int j = 0; j < DIM; j++)
                proj += p.components[r * DIM + j] * ((double)x[(size_t)i * DIM + j] - p.mean[j]);
            s += proj * proj;
        }
        ck_assert_double_eq_tol(s / (N - 1), p.variance[r], 1e-5 * p.variance[r]);
    }
    pca_free(&p);
    pca_free(&p); /* twice is harmless */
    free(x);
}
END_TEST

START_TEST(test_full_rank_reconstructs)
{
    /* k = dim: the components span everything, so nothing is left unexplained */
    float *x = malloc((size_t)N * DIM * sizeof *x), err[N];
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < N; i++)
        data_row(x + (size_t)i * DIM, i);
    struct pca p;
    ck_assert_int_eq(pca_fit(&p, x, N, DIM, DIM), STATUS_OK);
    assert_orthonormal(&p, 1e-6);
    assert_signs(&p);
    pca_error(&p, x, N, err);
    for (int i = 0; i < N; i++) {
        double total = 0;
        for (int j = 0; j < DIM; j++) {
            double d = (double)x[(size_t)i * DIM + j] - p.mean[j];
            total += d * d;
        }
        ck_assert_double_le(err[i], 1e-5 * total + 1e-7);
    }
    pca_free(&p);
    free(x);
}
END_TEST

START_TEST(test_rank_deficient)
{
    /* rank 3 in dim 10 (plus an offset); k = 5 asks for two directions of zero variance */
    enum { RN = 40, RD = 10, RK = 5 };
    float x[RN * RD], err[RN];
    for (int i = 0; i < RN; i++)
        for (int j = 0; j < RD; j++) {
            double s = 1.0 + 0.1 * j;
            for (int r = 0; r < 3; r++)
                s += hash_unit((uint32_t)(10 * i + r)) * hash_unit((uint32_t)(90000 + 10 * r + j));
            x[i * RD + j] = (float)s;
        }
    struct pca p;
    ck_assert_int_eq(pca_fit(&p, x, RN, RD, RK), STATUS_OK);
    assert_orthonormal(&p, 1e-6);
    assert_signs(&p);
    ck_assert(p.variance[2] > 1e-3);
    ck_assert_double_le(p.variance[3], 1e-6 * p.variance[0]);
    ck_assert_double_le(p.variance[4], 1e-6 * p.variance[0]);
    /* every row lies in the span: error ~0 */
    pca_error(&p, x, RN, err);
    for (int i = 0; i < RN; i++)
        ck_assert_double_le(err[i], 1e-5);
    /* mean + 2 e, e a unit vector orthogonal to all five components: error 4 */
    double e[RD];
    for (int j = 0; j < RD; j++)
        e[j] = hash_unit((uint32_t)(123 + j));
    for (int pass = 0; pass < 2; pass++) /* Gram-Schmidt twice, for accuracy */
        for (int r = 0; r < RK; r++) {
            double d = 0;
            for (int j = 0; j < RD; j++)
                d += e[j] * p.components[r * RD + j];
            for (int j = 0; j < RD; j++)
                e[j] -= d * p.components[r * RD + j];
        }
    double norm = 0;
    for (int j = 0; j < RD; j++)
        norm += e[j] * e[j];
    float off[RD], off_err;
    for (int j = 0; j < RD; j++)
        off[j] = (float)(p.mean[j] + 2 * e[j] / sqrt(norm));
    pca_error(&p, off, 1, &off_err);
    ck_assert_double_eq_tol(off_err, 4.0, 1e-5);
    pca_free(&p);
}
END_TEST

START_TEST(test_one_dimension)
{
    /* dim 1: the component is [1], the variance the sample variance (n - 1), the error 0 */
    const float x[] = {1, 2, 4, 7, 11};
    float err[5];
    struct pca p;
    ck_assert_int_eq(pca_fit(&p, x, 5, 1, 1), STATUS_OK);
    ck_assert_float_eq_tol(p.mean[0], 5.0f, 1e-6f);
    ck_assert_float_eq_tol(p.components[0], 1.0f, 1e-7f);
    ck_assert_float_eq_tol(p.variance[0], (16 + 9 + 1 + 4 + 36) / 4.0f, 1e-5f);
    pca_error(&p, x, 5, err);
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq_tol(err[i], 0, 1e-5f);
    pca_free(&p);
}
END_TEST

START_TEST(test_failures)
{
    float x[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1};
    struct pca p;
    ck_assert_int_eq(pca_fit(&p, x, 1, 3, 1), STATUS_RANGE); /* one row: no covariance */
    ck_assert_ptr_null(p.mean);
    ck_assert_int_eq(pca_fit(&p, x, 4, 3, 0), STATUS_RANGE);
    ck_assert_int_eq(pca_fit(&p, x, 4, 3, 4), STATUS_RANGE);
    x[5] = NAN;
    ck_assert_int_eq(pca_fit(&p, x, 4, 3, 2), STATUS_NUMERIC);
    ck_assert_ptr_null(p.components);
    x[5] = INFINITY;
    ck_assert_int_eq(pca_fit(&p, x, 4, 3, 2), STATUS_NUMERIC);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pca");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sklearn);
    tcase_add_test(tc, test_full_rank_reconstructs);
    tcase_add_test(tc, test_rank_deficient);
    tcase_add_test(tc, test_one_dimension);
    tcase_add_test(tc, test_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
