/* test_roc: AUROC, average precision, F1, ROC points and percentiles against hand-worked
 * examples (scikit-learn's documented values) and a brute-force pairwise AUROC with ties. */
#include <math.h>
#include <stdlib.h>

#include "roc.h"
#include "testutil.h"

START_TEST(test_auroc_examples)
{
    /* sklearn.metrics.roc_auc_score doc example: 0.75 */
    float s[] = {0.1f, 0.4f, 0.35f, 0.8f};
    int y[] = {0, 0, 1, 1};
    ck_assert_double_eq_tol(roc_auroc(s, y, 4), 0.75, 1e-12);
    /* perfect, reversed, all tied */
    float p[] = {1, 2, 3, 4};
    int yp[] = {0, 0, 1, 1}, yr[] = {1, 1, 0, 0};
    ck_assert_double_eq_tol(roc_auroc(p, yp, 4), 1.0, 1e-12);
    ck_assert_double_eq_tol(roc_auroc(p, yr, 4), 0.0, 1e-12);
    float t[] = {5, 5, 5, 5};
    ck_assert_double_eq_tol(roc_auroc(t, yp, 4), 0.5, 1e-12);
    /* one tie between a positive and a negative counts one half: pairs (pos 3 vs neg 3) */
    float h[] = {1, 3, 3, 4};
    int yh[] = {0, 0, 1, 1};
    ck_assert_double_eq_tol(roc_auroc(h, yh, 4), (1 + 1 + 0.5 + 1) / 4.0, 1e-12);
    /* one class only: undefined */
    int all[] = {1, 1, 1, 1};
    ck_assert(isnan(roc_auroc(p, all, 4)));
}
END_TEST

START_TEST(test_auroc_bruteforce)
{
    enum { N = 300 };
    float s[N];
    int y[N];
    uint64_t r = 12345;
    for (int i = 0; i < N; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        s[i] = (float)((r >> 33) % 17); /* many ties */
        y[i] = (int)((r >> 20) % 3 == 0);
    }
    double num = 0, pairs = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (y[i] && !y[j]) {
                num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
                pairs++;
            }
    ck_assert_double_eq_tol(roc_auroc(s, y, N), num / pairs, 1e-12);
    /* the ROC curve's trapezoid area is the same number */
    double *fpr, *tpr;
    size_t np;
    ck_assert_int_eq(roc_curve(&fpr, &tpr, &np, s, y, N), STATUS_OK);
    ck_assert_double_eq(fpr[0], 0);
    ck_assert_double_eq(tpr[0], 0);
    ck_assert_double_eq_tol(fpr[np - 1], 1, 1e-12);
    ck_assert_double_eq_tol(tpr[np - 1], 1, 1e-12);
    ck_assert_uint_eq(np, 18); /* 17 distinct scores + the origin */
    double area = 0;
    for (size_t i = 1; i < np; i++) {
        ck_assert(fpr[i] >= fpr[i - 1] && tpr[i] >= tpr[i - 1]);
        area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
    }
    ck_assert_double_eq_tol(area, num / pairs, 1e-9);
    free(fpr);
    free(tpr);
}
END_TEST

START_TEST(test_average_precision)
{
    /* sklearn.metrics.average_precision_score doc example: 0.8333... */
    float s[] = {0.1f, 0.4f, 0.35f, 0.8f};
    int y[] = {0, 0, 1, 1};
    ck_assert_double_eq_tol(roc_average_precision(s, y, 4), 5.0 / 6.0, 1e-12);
    /* all tied: one threshold, precision = positive rate */
    float t[] = {1, 1, 1, 1};
    int yt[] = {0, 1, 0, 1};
    ck_assert_double_eq_tol(roc_average_precision(t, yt, 4), 0.5, 1e-12);
    /* perfect ranking */
    float p[] = {4, 3, 2, 1};
    int yp[] = {1, 1, 0, 0};
    ck_assert_double_eq_tol(roc_average_precision(p, yp, 4), 1.0, 1e-12);
    /* tie group containing a positive and a negative at the top: (R 0.5, P 0.5), (R 1, P 2/3) */
    float g[] = {5, 5, 3, 1};
    int yg[] = {1, 0, 1, 0};
    ck_assert_double_eq_tol(roc_average_precision(g, yg, 4), 0.5 * 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
    int none[] = {0, 0, 0, 0};
    ck_assert(isnan(roc_average_precision(p, none, 4)));
}
END_TEST

START_TEST(test_f1_counts)
{
    float s[] = {0.9f, 0.8f, 0.3f, 0.2f, 0.6f, 0.5f};
    int y[] = {1, 1, 1, 0, 0, 0};
    struct roc_counts c = roc_count_at(s, y, 6, 0.5f); /* > 0.5: 0.9, 0.8, 0.6 */
    ck_assert_uint_eq(c.tp, 2);
    ck_assert_uint_eq(c.fp, 1);
    ck_assert_uint_eq(c.fn, 1);
    ck_assert_uint_eq(c.tn, 2);
    ck_assert_double_eq_tol(roc_f1(c), 2.0 * 2 / (2.0 * 2 + 1 + 1), 1e-12);
    ck_assert_double_eq_tol(roc_precision(c), 2.0 / 3, 1e-12);
    ck_assert_double_eq_tol(roc_recall(c), 2.0 / 3, 1e-12);
    struct roc_counts z = roc_count_at(s, y, 6, 10.0f); /* nothing called anomalous */
    ck_assert_double_eq(roc_f1(z), 0.0);
    ck_assert_double_eq(roc_precision(z), 0.0);
}
END_TEST

START_TEST(test_percentile)
{
    float a[] = {4, 1, 3, 2};
    ck_assert_double_eq_tol(roc_percentile(a, 4, 50), 2.5, 1e-12);
    ck_assert_double_eq_tol(roc_percentile(a, 4, 0), 1, 1e-12);
    ck_assert_double_eq_tol(roc_percentile(a, 4, 100), 4, 1e-12);
    float b[101];
    for (int i = 0; i <= 100; i++)
        b[i] = (float)(100 - i);
    ck_assert_double_eq_tol(roc_percentile(b, 101, 99), 99, 1e-9);
    ck_assert_double_eq_tol(roc_percentile(b, 101, 99.5), 99.5, 1e-9);
    float one[] = {7};
    ck_assert_double_eq(roc_percentile(one, 1, 99), 7);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("roc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_auroc_examples);
    tcase_add_test(tc, test_auroc_bruteforce);
    tcase_add_test(tc, test_average_precision);
    tcase_add_test(tc, test_f1_counts);
    tcase_add_test(tc, test_percentile);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
