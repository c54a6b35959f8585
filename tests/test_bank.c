/* test_bank: the memory bank's fast scoring against its loop-by-loop twin (both metrics, k in
 * {1, 3, 5}, shapes that cross the GEMM blocks), hand-worked distances, exact zeros for queries
 * that are bank rows, batch against one at a time; the k-center coreset's defining properties
 * (distinct rows, the seeded first row, farthest-point radii, better coverage than random
 * subsets on clustered data), the same picks as its twin for every thread count, and bank_build's
 * contracts. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bank.h"
#include "ops.h"
#include "rng.h"
#include "testutil.h"

static float *alloc_floats(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* x (count, dim): rows around `groups` centres N(0, 1) with spread `spread` (the cluster of row
 * i, if asked for, in label[i]); groups 0: plain N(0, 1). */
static void fill_clusters(float *x, int *label, int count, int dim, int groups, float spread,
                          uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    if (groups == 0) {
        rng_fill_normal(&r, x, (size_t)count * dim, 0, 1);
        return;
    }
    float *centres = alloc_floats((size_t)groups * dim);
    rng_fill_normal(&r, centres, (size_t)groups * dim, 0, 1);
    for (int i = 0; i < count; i++) {
        int g = i % groups; /* every cluster the same size, interleaved */
        if (label)
            label[i] = g;
        for (int j = 0; j < dim; j++)
            x[(size_t)i * dim + j] = centres[(size_t)g * dim + j] + spread * rng_normal(&r);
    }
    free(centres);
}

static void score_fast(const struct bank *b, const float *q, int B, float *scores)
{
    float *work = alloc_floats(bank_work_size(b, B));
    bank_score(b, q, B, scores, work);
    free(work);
}

START_TEST(test_score_matches_ref)
{
    static const struct {
        int n, dim, B;
    } shapes[] = {
        {1, 5, 3},       /* one row: every k > 1 is skipped */
        {7, 1, 4},       /* dim 1 */
        {50, 300, 1},    /* one query: the GEMV path */
        {300, 64, 17},   /* a small batch */
        {1100, 37, 300}, /* crosses the row block (1024) and the query block (256) */
    };
    static const int ks[] = {1, 3, 5};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s].n, dim = shapes[s].dim, B = shapes[s].B;
        float *rows = alloc_floats((size_t)n * dim), *q = alloc_floats((size_t)B * dim);
        float *fast = alloc_floats((size_t)B), *ref = alloc_floats((size_t)B);
        fill_clusters(rows, NULL, n, dim, 0, 0, 10 + s);
        fill_clusters(q, NULL, B, dim, 0, 0, 20 + s);
        /* some queries are bank rows (k = 1 scores 0), one is scaled (cosine: 0 as well) */
        if (B > 2) {
            memcpy(q, rows + (size_t)(n - 1) * dim, (size_t)dim * sizeof *q);
            for (int j = 0; j < dim; j++)
                q[(size_t)dim + j] = 3 * rows[j];
        }
        for (int metric = BANK_METRIC_L2; metric <= BANK_METRIC_COSINE; metric++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                if (ks[ki] > n)
                    continue;
                struct bank b;
                ck_assert_int_eq(bank_from_rows(&b, rows, n, dim, metric, ks[ki]), STATUS_OK);
                score_fast(&b, q, B, fast);
                bank_score_ref(&b, q, B, ref);
                double err = tu_max_rel_err(fast, ref, (size_t)B, 1e-7);
                ck_assert_msg(err <= 1e-6, "n %d dim %d B %d metric %d k %d: error %g", n, dim, B,
                              metric, ks[ki], err);
                if (B > 2 && ks[ki] == 1) {
                    if (metric == BANK_METRIC_L2) {
                        ck_assert_float_eq(fast[0], 0);
                    } else { /* 0 up to the rounding of the stored normalised rows */
                        ck_assert_float_eq_tol(fast[0], 0, 1e-6f);
                        ck_assert_float_eq_tol(fast[1], 0, 1e-6f);
                    }
                }
                bank_free(&b);
            }
        free(rows);
        free(q);
        free(fast);
        free(ref);
    }
}
END_TEST

START_TEST(test_score_by_hand)
{
    /* L2: rows (0,0), (3,4), (6,8); the query (3,0) is 3, 4 and sqrt(9 + 64) away */
    const float rows[] = {0, 0, 3, 4, 6, 8}, q[] = {3, 0};
    const double far = sqrt(73.0);
    float s;
    for (int k = 1; k <= 3; k++) {
        struct bank b;
        ck_assert_int_eq(bank_from_rows(&b, rows, 3, 2, BANK_METRIC_L2, k), STATUS_OK);
        ck_assert_float_eq_tol(b.sqnorm[1], 25, 1e-6f);
        const double want = k == 1 ? 3 : k == 2 ? 3.5 : (3 + 4 + far) / 3;
        score_fast(&b, q, 1, &s);
        ck_assert_double_eq_tol(s, want, 1e-6);
        bank_score_ref(&b, q, 1, &s);
        ck_assert_double_eq_tol(s, want, 1e-6);
        bank_free(&b);
    }
    /* cosine: rows (1,0), (0,2), (1,1), stored normalised; query (2,0): cos 1, 0, 1/sqrt 2 */
    const float crows[] = {1, 0, 0, 2, 1, 1}, cq[] = {2, 0, 0, 0};
    struct bank c;
    ck_assert_int_eq(bank_from_rows(&c, crows, 3, 2, BANK_METRIC_COSINE, 2), STATUS_OK);
    ck_assert_float_eq_tol(c.x[3], 1, 1e-7f); /* (0, 2) -> (0, 1) */
    ck_assert_float_eq_tol(c.x[4], (float)M_SQRT1_2, 1e-7f);
    for (int i = 0; i < 3; i++)
        ck_assert_float_eq_tol(c.sqnorm[i], 1, 1e-6f);
    float cs[2];
    score_fast(&c, cq, 2, cs);
    ck_assert_double_eq_tol(cs[0], (0 + (1 - M_SQRT1_2)) / 2, 1e-6);
    ck_assert_double_eq_tol(cs[1], 1, 1e-6); /* a zero query: distance 1 to everything */
    bank_score_ref(&c, cq, 2, cs);
    ck_assert_double_eq_tol(cs[0], (0 + (1 - M_SQRT1_2)) / 2, 1e-6);
    ck_assert_double_eq_tol(cs[1], 1, 1e-6);
    /* a NaN in, a NaN out */
    const float nq[] = {NAN, 1};
    score_fast(&c, nq, 1, cs);
    ck_assert(isnan(cs[0]));
    bank_score_ref(&c, nq, 1, cs);
    ck_assert(isnan(cs[0]));
    bank_free(&c);
}
END_TEST

START_TEST(test_duplicate_scores_zero)
{
    /* Rows far from the origin relative to their spread: |q|^2 + |x|^2 - 2 q.x in float has an
     * error of ~1e-7 * 4e6 here, so a bank row would score ~0.5 without the exact recompute. */
    enum { N = 200, D = 512 };
    float *rows = alloc_floats((size_t)N * D), s[N];
    fill_clusters(rows, NULL, N, D, 0, 0, 5);
    for (size_t i = 0; i < (size_t)N * D; i++)
        rows[i] += 100;
    struct bank b;
    ck_assert_int_eq(bank_from_rows(&b, rows, N, D, BANK_METRIC_L2, 1), STATUS_OK);
    score_fast(&b, rows, N, s);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(s[i], 0);
    score_fast(&b, rows + (size_t)7 * D, 1, s);
    ck_assert_float_eq(s[0], 0);
    bank_free(&b);
    free(rows);
}
END_TEST

START_TEST(test_batch_equals_single)
{
    enum { N = 400, D = 96, B = 300 };
    float *rows = alloc_floats((size_t)N * D), *q = alloc_floats((size_t)B * D);
    float batch[B], one[B];
    fill_clusters(rows, NULL, N, D, 8, 0.3f, 1);
    fill_clusters(q, NULL, B, D, 8, 0.3f, 1); /* the same centres: near neighbours exist */
    for (int metric = BANK_METRIC_L2; metric <= BANK_METRIC_COSINE; metric++) {
        struct bank b;
        ck_assert_int_eq(bank_from_rows(&b, rows, N, D, metric, 3), STATUS_OK);
        float *work = alloc_floats(bank_work_size(&b, B));
        bank_score(&b, q, B, batch, work);
        for (int i = 0; i < B; i++)
            bank_score(&b, q + (size_t)i * D, 1, one + i, work); /* a larger work is fine */
        ck_assert_double_le(tu_max_rel_err(batch, one, B, 1e-7), 1e-6);
        /* the same inputs give the same scores */
        bank_score(&b, q, B, one, work);
        ck_assert_mem_eq(batch, one, sizeof batch);
        free(work);
        bank_free(&b);
    }
    free(rows);
    free(q);
}
END_TEST

/* ---- the coreset ----------------------------------------------------------------------------- */

/* |x_i - x_j| in double (rows normalised first for cosine) */
static double dist(const float *x, int dim, int i, int j, enum bank_metric metric)
{
    const float *a = x + (size_t)i * dim, *b = x + (size_t)j * dim;
    double na = 0, nb = 0, s = 0;
    for (int c = 0; c < dim; c++) {
        na += (double)a[c] * a[c];
        nb += (double)b[c] * b[c];
    }
    double wa = metric == BANK_METRIC_L2 ? 1 : 1 / sqrt(na);
    double wb = metric == BANK_METRIC_L2 ? 1 : 1 / sqrt(nb);
    for (int c = 0; c < dim; c++) {
        double d = wa * a[c] - wb * b[c];
        s += d * d;
    }
    return sqrt(s);
}

/* The k-center objective: the largest distance from a row to its nearest centre. */
static double cover_radius(const float *x, int count, int dim, const int *centres, int m,
                           enum bank_metric metric)
{
    double worst = 0;
    for (int i = 0; i < count; i++) {
        double best = INFINITY;
        for (int c = 0; c < m; c++) {
            double d = dist(x, dim, i, centres[c], metric);
            best = d < best ? d : best;
        }
        worst = best > worst ? best : worst;
    }
    return worst;
}

START_TEST(test_coreset_properties)
{
    enum { COUNT = 600, D = 32, G = 12 };
    float *x = alloc_floats((size_t)COUNT * D);
    int label[COUNT], chosen[COUNT], seen[COUNT];
    fill_clusters(x, label, COUNT, D, G, 0.05f, 3);
    for (int metric = BANK_METRIC_L2; metric <= BANK_METRIC_COSINE; metric++) {
        const uint64_t seed = 42 + (uint64_t)metric;
        /* m = G: one centre per cluster, as far-apart clusters each get one before any gets two */
        ck_assert_int_eq(bank_coreset(chosen, x, COUNT, D, G, metric, seed), STATUS_OK);
        struct rng r;
        rng_seed(&r, seed);
        ck_assert_int_eq(chosen[0], (int)rng_below(&r, COUNT));
        memset(seen, 0, sizeof seen);
        for (int c = 0; c < G; c++) {
            ck_assert(chosen[c] >= 0 && chosen[c] < COUNT);
            ck_assert_msg(!seen[label[chosen[c]]], "cluster %d chosen twice", label[chosen[c]]);
            seen[label[chosen[c]]] = 1;
        }
        /* better coverage than any of 20 random subsets of the same size */
        const double greedy = cover_radius(x, COUNT, D, chosen, G, metric);
        int perm[COUNT];
        for (int t = 0; t < 20; t++) {
            for (int i = 0; i < COUNT; i++)
                perm[i] = i;
            rng_shuffle(&r, perm, COUNT);
            ck_assert_double_lt(greedy, cover_radius(x, COUNT, D, perm, G, metric));
        }
        /* m = 60 > G: distinct rows, and farthest-point traversal's invariant: each pick was the
         * farthest row, so the final radius is at most the distance between any two picks */
        enum { M = 60 };
        ck_assert_int_eq(bank_coreset(chosen, x, COUNT, D, M, metric, seed), STATUS_OK);
        memset(seen, 0, sizeof seen);
        for (int c = 0; c < M; c++) {
            ck_assert(!seen[chosen[c]]);
            seen[chosen[c]] = 1;
        }
        const double radius = cover_radius(x, COUNT, D, chosen, M, metric);
        for (int a = 0; a < M; a++)
            for (int b = a + 1; b < M; b++)
                ck_assert_double_le(radius, dist(x, D, chosen[a], chosen[b], metric) * (1 + 1e-6));
        /* m = count: every row, once */
        ck_assert_int_eq(bank_coreset(chosen, x, COUNT, D, COUNT, metric, seed), STATUS_OK);
        memset(seen, 0, sizeof seen);
        for (int c = 0; c < COUNT; c++) {
            ck_assert(!seen[chosen[c]]);
            seen[chosen[c]] = 1;
        }
    }
    free(x);
}
END_TEST

START_TEST(test_coreset_matches_ref)
{
    /* clustered data (where the triangle-inequality test skips most rows), plain noise (where it
     * skips none), duplicated rows (zero distances and radii), all for 1, 2 and 3 threads */
    enum { COUNT = 500, D = 40, M = 80 };
    float *x = alloc_floats((size_t)COUNT * D);
    int want[M], got[M];
    for (int data = 0; data < 3; data++) {
        fill_clusters(x, NULL, COUNT, D, data == 1 ? 0 : 7, 0.2f, 9 + (uint64_t)data);
        if (data == 2)
            for (int i = 1; i < COUNT; i += 2) /* every odd row a copy of the row before */
                memcpy(x + (size_t)i * D, x + (size_t)(i - 1) * D, D * sizeof *x);
        for (int metric = BANK_METRIC_L2; metric <= BANK_METRIC_COSINE; metric++) {
            ck_assert_int_eq(bank_coreset_ref(want, x, COUNT, D, M, metric, 5), STATUS_OK);
            for (int t = 1; t <= 3; t++) {
                ops_set_threads(t);
                ck_assert_int_eq(bank_coreset(got, x, COUNT, D, M, metric, 5), STATUS_OK);
                for (int c = 0; c < M; c++)
                    ck_assert_msg(got[c] == want[c],
                                  "data %d metric %d threads %d: pick %d is %d, "
                                  "the reference's %d",
                                  data, metric, t, c, got[c], want[c]);
            }
        }
    }
    ops_set_threads(2);
    free(x);
}
END_TEST

START_TEST(test_coreset_failures)
{
    float x[4 * 3] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    int chosen[5];
    ck_assert_int_eq(bank_coreset(chosen, x, 4, 3, 5, BANK_METRIC_L2, 1), STATUS_RANGE);
    ck_assert_int_eq(bank_coreset(chosen, x, 4, 3, 0, BANK_METRIC_L2, 1), STATUS_RANGE);
    ck_assert_int_eq(bank_coreset(chosen, x, 0, 3, 1, BANK_METRIC_L2, 1), STATUS_RANGE);
    x[7] = NAN;
    ck_assert_int_eq(bank_coreset(chosen, x, 4, 3, 2, BANK_METRIC_L2, 1), STATUS_NUMERIC);
    ck_assert_int_eq(bank_coreset_ref(chosen, x, 4, 3, 2, BANK_METRIC_L2, 1), STATUS_NUMERIC);
}
END_TEST

/* ---- building ------------------------------------------------------------------------------- */

START_TEST(test_build)
{
    enum { COUNT = 300, D = 24 };
    float *x = alloc_floats((size_t)COUNT * D);
    fill_clusters(x, NULL, COUNT, D, 5, 0.3f, 11);
    struct bank a, b;
    /* max_size >= count, or 0: every row, as given */
    const int keep_all[] = {0, COUNT, COUNT + 1};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(bank_build(&a, x, COUNT, D, BANK_METRIC_L2, 3, keep_all[i], 1), STATUS_OK);
        ck_assert_int_eq(a.n, COUNT);
        ck_assert_int_eq(a.dim, D);
        ck_assert_int_eq(a.k, 3);
        ck_assert_mem_eq(a.x, x, (size_t)COUNT * D * sizeof *x);
        bank_free(&a);
    }
    /* a coreset: the rows bank_coreset picks, in its order; the same seed, the same bank */
    int chosen[50];
    ck_assert_int_eq(bank_coreset(chosen, x, COUNT, D, 50, BANK_METRIC_COSINE, 8), STATUS_OK);
    ck_assert_int_eq(bank_build(&a, x, COUNT, D, BANK_METRIC_COSINE, 1, 50, 8), STATUS_OK);
    ck_assert_int_eq(bank_build(&b, x, COUNT, D, BANK_METRIC_COSINE, 1, 50, 8), STATUS_OK);
    ck_assert_int_eq(a.n, 50);
    ck_assert_mem_eq(a.x, b.x, (size_t)50 * D * sizeof *a.x);
    for (int i = 0; i < 50; i++) {
        ck_assert_float_eq_tol(a.sqnorm[i], 1, 1e-6f); /* cosine rows stored normalised */
        const float *src = x + (size_t)chosen[i] * D;
        double n2 = 0;
        for (int j = 0; j < D; j++)
            n2 += (double)src[j] * src[j];
        for (int j = 0; j < D; j++)
            ck_assert_float_eq_tol(a.x[(size_t)i * D + j], src[j] / sqrt(n2), 1e-6f);
    }
    bank_free(&a);
    bank_free(&b);
    bank_free(&b); /* twice is harmless */
    /* the seed moves the start */
    ck_assert_int_eq(bank_build(&a, x, COUNT, D, BANK_METRIC_L2, 1, 50, 8), STATUS_OK);
    ck_assert_int_eq(bank_build(&b, x, COUNT, D, BANK_METRIC_L2, 1, 50, 9), STATUS_OK);
    ck_assert(memcmp(a.x, b.x, (size_t)50 * D * sizeof *a.x) != 0);
    bank_free(&a);
    bank_free(&b);
    /* the failures leave an empty bank */
    ck_assert_int_eq(bank_build(&a, x, COUNT, D, BANK_METRIC_L2, 0, 0, 1), STATUS_RANGE);
    ck_assert_ptr_null(a.x);
    ck_assert_int_eq(bank_build(&a, x, COUNT, D, BANK_METRIC_L2, 51, 50, 1), STATUS_RANGE);
    ck_assert_int_eq(bank_from_rows(&a, x, 3, D, BANK_METRIC_L2, 4), STATUS_RANGE);
    ck_assert_int_eq(bank_from_rows(&a, x, 0, D, BANK_METRIC_L2, 1), STATUS_RANGE);
    ck_assert_int_eq(bank_from_rows(&a, x, 3, D, (enum bank_metric)7, 1), STATUS_RANGE);
    x[5] = INFINITY;
    ck_assert_int_eq(bank_from_rows(&a, x, 3, D, BANK_METRIC_L2, 1), STATUS_NUMERIC);
    ck_assert_ptr_null(a.x);
    ck_assert_int_eq(bank_build(&a, x, COUNT, D, BANK_METRIC_L2, 1, 50, 1), STATUS_NUMERIC);
    free(x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bank");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_score_matches_ref);
    tcase_add_test(tc, test_score_by_hand);
    tcase_add_test(tc, test_duplicate_scores_zero);
    tcase_add_test(tc, test_batch_equals_single);
    tcase_add_test(tc, test_coreset_properties);
    tcase_add_test(tc, test_coreset_matches_ref);
    tcase_add_test(tc, test_coreset_failures);
    tcase_add_test(tc, test_build);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
