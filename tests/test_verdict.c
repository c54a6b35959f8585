/* test_verdict: the line's verdict from a score and a band (core/verdict.c): the rule at the
 * band's ends, a zero-width band equals the old score > threshold, NaN is NOT_DECIDABLE, and the
 * band from held-out scores follows the documented quantile rule. */
#include <math.h>

#include "testutil.h"
#include "verdict.h"

START_TEST(test_verdict_rule)
{
    ck_assert_int_eq(verdict_evaluate(0.5f, 1.0f, 2.0f), VERDICT_OK);
    ck_assert_int_eq(verdict_evaluate(1.0f, 1.0f, 2.0f), VERDICT_OK); /* low inclusive */
    ck_assert_int_eq(verdict_evaluate(1.5f, 1.0f, 2.0f), VERDICT_NOT_DECIDABLE);
    ck_assert_int_eq(verdict_evaluate(2.0f, 1.0f, 2.0f), VERDICT_NOT_DECIDABLE);
    ck_assert_int_eq(verdict_evaluate(2.01f, 1.0f, 2.0f), VERDICT_NOT_OK);
    ck_assert_int_eq(verdict_evaluate(NAN, 1.0f, 2.0f), VERDICT_NOT_DECIDABLE);
    ck_assert_str_eq(verdict_name(VERDICT_OK), "OK");
    ck_assert_str_eq(verdict_name(VERDICT_NOT_OK), "NOT_OK");
    ck_assert_str_eq(verdict_name(VERDICT_NOT_DECIDABLE), "NOT_DECIDABLE");
}
END_TEST

START_TEST(test_verdict_zero_band_is_threshold)
{
    float t = 3.25f;
    for (int i = -100; i <= 100; i++) {
        float s = t + (float)i * 0.01f;
        ck_assert_int_eq(verdict_evaluate(s, t, t), s > t ? VERDICT_NOT_OK : VERDICT_OK);
    }
}
END_TEST

START_TEST(test_verdict_band_quantiles)
{
    float s[101];
    for (int i = 0; i <= 100; i++)
        s[i] = (float)(100 - i); /* 0..100, unsorted: percentile q is q */
    float lo, hi;
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 99, 99), STATUS_OK);
    ck_assert_float_eq_tol(lo, 98, 1e-4);
    ck_assert_float_eq_tol(hi, 100, 1e-4);
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 95, 95), STATUS_OK);
    ck_assert_float_eq_tol(lo, 90, 1e-4);
    ck_assert_float_eq_tol(hi, 100, 1e-4);
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 100, 100), STATUS_OK);
    ck_assert_float_eq_tol(lo, 100, 1e-4); /* p100: no band */
    ck_assert_float_eq_tol(hi, 100, 1e-4);
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 40, 40), STATUS_OK);
    ck_assert_float_eq_tol(lo, 0, 1e-4); /* p - (100 - p) < 0: the minimum */
    ck_assert(verdict_band_valid(lo, hi, 40));
    ck_assert(!verdict_band_valid(41, 50, 40));
    ck_assert(!verdict_band_valid(30, 39, 40));
    ck_assert(!verdict_band_valid(NAN, 50, 40));
    ck_assert(!verdict_band_valid(30, INFINITY, 40));
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("verdict");
    TCase *t = tcase_create("verdict");
    tcase_add_test(t, test_verdict_rule);
    tcase_add_test(t, test_verdict_zero_band_is_threshold);
    tcase_add_test(t, test_verdict_band_quantiles);
    suite_add_tcase(s, t);
    return tu_main(s, argc, argv);
}
