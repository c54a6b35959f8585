/* test_dirichlet: digamma and trigamma against scipy.special and their identities, the inverse
 * digamma, Minka's fixed-point fit against a numpy/scipy implementation of the same iteration and
 * against samples of known Dirichlet distributions, and GEOM's score on hand-worked cases.
 *
 * The expected values were made with Debian bookworm's /usr/bin/python3 (numpy 1.24.2, scipy
 * 1.10.1):
 *   - digamma/trigamma: float(scipy.special.digamma(x)), float(scipy.special.polygamma(1, x)),
 *     printed with repr.
 *   - the fit: the probability vectors of fit_data below (printed with "%.9g" from float32),
 *     made by
 *       def u(a):            # the same integer hash as hash_unit() in test_pca.c
 *           h = (a * 2654435761) & 0xffffffff; h ^= h >> 15
 *           h = (h * 2246822519) & 0xffffffff; h ^= h >> 13
 *           return (h % 2001 - 1000) / 1000.0
 *       e = [exp(1.5 * u(97*i + 13*k + 5)) * (k + 1) for k in range(4)]  (e[1] = 0 for i = 5)
 *       p_i = float32(e / sum(e)), i = 0..11
 *     then L = mean(log(clip(float64(P), 1e-12, 1)), axis 0), alpha = ones(4), and Minka's fixed
 *     point alpha_k <- inv_psi(digamma(sum alpha) + L_k), inv_psi by Newton with
 *     scipy.special.polygamma(1, .) from Minka's start, until the largest relative change was
 *     below 1e-15 (106 iterations); digamma(alpha) - digamma(sum alpha) - L was then below
 *     1e-15. */
#include <math.h>
#include <stdlib.h>

#include "dirichlet.h"
#include "rng.h"
#include "testutil.h"

static void assert_rel(double got, double want, double tol)
{
    double err = fabs(got - want) / fabs(want);
    ck_assert_msg(err <= tol, "got %.17g, want %.17g (relative error %.3g > %.3g)", got, want, err,
                  tol);
}

START_TEST(test_digamma_trigamma_scipy)
{
    static const struct {
        double x, psi, psi1;
    } cases[] = {
        {1e-06, -1000000.57721402, 1000000000001.645},
        {0.001, -1000.5755719318103, 1000001.6425331959},
        {0.1, -10.423754940411076, 101.43329915079275},
        {0.5, -1.9635100260214235, 4.93480220054468},
        {1.0, -0.5772156649015329, 1.6449340668482266},
        {2.0, 0.42278433509846713, 0.6449340668482266},
        {3.7, 1.1671535393615113, 0.31003785767003833},
        {9.99, 2.250700372831201, 0.10527695014824176},
        {10.0, 2.251752589066721, 0.10516633568168576},
        {10.5, 2.3030010342976865, 0.09991695605912673},
        {25.0, 3.198742512851974, 0.04081066325722558},
        {100.0, 4.600161852738088, 0.010050166663333573},
        {1000.0, 6.907255195648812, 0.001000500166666633},
        {1000000.0, 13.81551005796419, 1.0000005000001667e-06},
        {10000000000.0, 23.025850929890456, 1.00000000005e-10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_rel(dirichlet_digamma(cases[i].x), cases[i].psi, 1e-12);
        assert_rel(dirichlet_trigamma(cases[i].x), cases[i].psi1, 1e-12);
    }
    /* outside the domain */
    ck_assert(isnan(dirichlet_digamma(0)));
    ck_assert(isnan(dirichlet_digamma(-1.5)));
    ck_assert(isnan(dirichlet_trigamma(0)));
    ck_assert(isnan(dirichlet_digamma(NAN)));
}
END_TEST

START_TEST(test_digamma_identities)
{
    /* x from 1e-5 to 1e5, across the switch to the series at 10 */
    for (double x = 1e-5; x < 1e5; x *= 1.37) {
        /* recurrences, A&S 6.3.5 and 6.4.6 */
        double psi = dirichlet_digamma(x), psi1 = dirichlet_trigamma(x);
        ck_assert_double_eq_tol(dirichlet_digamma(x + 1) - psi, 1 / x, 1e-13 * (1 / x + fabs(psi)));
        ck_assert_double_eq_tol(psi1 - dirichlet_trigamma(x + 1), 1 / (x * x), 1e-13 * psi1);
        /* duplication, A&S 6.3.8: psi(2x) = psi(x)/2 + psi(x + 1/2)/2 + ln 2 */
        double dup = 0.5 * psi + 0.5 * dirichlet_digamma(x + 0.5) + log(2.0);
        ck_assert_double_eq_tol(dirichlet_digamma(2 * x), dup, 1e-13 * (1 + fabs(psi)));
        /* the derivative: psi' against a central difference of psi */
        double h = 1e-4 * x;
        double fd = (dirichlet_digamma(x + h) - dirichlet_digamma(x - h)) / (2 * h);
        ck_assert_double_eq_tol(fd, psi1, 1e-6 * psi1);
    }
    /* reflection, A&S 6.3.7: psi(1 - x) - psi(x) = pi cot(pi x) */
    for (double x = 0.05; x < 1; x += 0.1) {
        double want = M_PI / tan(M_PI * x);
        ck_assert_double_eq_tol(dirichlet_digamma(1 - x) - dirichlet_digamma(x), want,
                                1e-13 * (1 + fabs(want)));
    }
}
END_TEST

START_TEST(test_inv_digamma)
{
    const double xs[] = {1e-6, 1e-3, 0.05, 0.5, 1.0, 1.4616321449683622, 2, 7.5, 100, 1e5, 1e9};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        assert_rel(dirichlet_inv_digamma(dirichlet_digamma(xs[i])), xs[i], 1e-13);
    /* psi's range is the whole line */
    for (double y = -50; y <= 50; y += 0.5) {
        double x = dirichlet_inv_digamma(y);
        ck_assert(x > 0);
        ck_assert_double_eq_tol(dirichlet_digamma(x), y, 1e-13 * (1 + fabs(y)));
    }
}
END_TEST

/* ---- the fit ------------------------------------------------------------------------------- */

enum { FIT_N = 12, FIT_K = 4 };

static const float fit_data[FIT_N][FIT_K] = {
    {0.0364900865f, 0.0452945977f, 0.488408864f, 0.429806441f},
    {0.0835017115f, 0.274791956f, 0.577656507f, 0.0640498325f},
    {0.167360514f, 0.0526569113f, 0.525191307f, 0.25479126f},
    {0.356578469f, 0.328882813f, 0.231288671f, 0.0832500458f},
    {0.0729595795f, 0.350918055f, 0.192100346f, 0.384022027f},
    {0.0233069342f, 0.0f, 0.327295423f, 0.649397671f}, /* 0: clamped to 1e-12 before the log */
    {0.00950736739f, 0.021763064f, 0.421230137f, 0.547499418f},
    {0.164824292f, 0.207374677f, 0.182088405f, 0.445712626f},
    {0.0189521872f, 0.163623258f, 0.41552037f, 0.401904196f},
    {0.142366782f, 0.0595641509f, 0.166503936f, 0.631565154f},
    {0.14861238f, 0.251260102f, 0.159087405f, 0.441040099f},
    {0.439455926f, 0.109255001f, 0.194736958f, 0.2565521f},
};

START_TEST(test_fit_scipy)
{
    static const double want[FIT_K] = {0.7263007412014773, 0.36137415028916237, 1.5955568890799698,
                                       1.7023476599082041};
    double alpha[FIT_K];
    ck_assert_int_eq(dirichlet_fit(alpha, &fit_data[0][0], FIT_N, FIT_K, 0), STATUS_OK);
    for (int k = 0; k < FIT_K; k++)
        assert_rel(alpha[k], want[k], 1e-8);
    /* the MLE's stationarity (Minka eq. 8): psi(alpha_k) - psi(sum alpha) = mean log p_k */
    double sum = 0;
    for (int k = 0; k < FIT_K; k++)
        sum += alpha[k];
    for (int k = 0; k < FIT_K; k++) {
        double mean_log = 0;
        for (int i = 0; i < FIT_N; i++)
            mean_log += log(fit_data[i][k] > 1e-12f ? fit_data[i][k] : 1e-12);
        mean_log /= FIT_N;
        ck_assert_double_eq_tol(dirichlet_digamma(alpha[k]) - dirichlet_digamma(sum), mean_log,
                                1e-9);
    }
}
END_TEST

static double normal_d(struct rng *r)
{
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    return sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2); /* 1 - u1 in (0, 1] */
}

/* Gamma(a, 1) by Marsaglia & Tsang, "A simple method for generating gamma variables" (ACM TOMS
 * 26(3), 2000), with their boost U^(1/a) for a < 1. */
static double gamma_draw(struct rng *r, double a)
{
    if (a < 1)
        return gamma_draw(r, a + 1) * pow(1 - rng_uniform(r), 1 / a);
    const double d = a - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = normal_d(r), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = 1 - rng_uniform(r);
        if (u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v;
    }
}

/* p (n, K) drawn from Dirichlet(alpha): normalised Gamma(alpha_k) draws. */
static void dirichlet_draw(float *p, const double *alpha, int n, int K, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        double g[8], s = 0;
        ck_assert(K <= 8);
        for (int k = 0; k < K; k++)
            s += g[k] = gamma_draw(&r, alpha[k]);
        for (int k = 0; k < K; k++)
            p[(size_t)i * K + k] = (float)(g[k] / s);
    }
}

START_TEST(test_fit_recovers_samples)
{
    enum { N = 20000 };
    /* a spread-out one, and a GEOM-like one (one transform recognised, the others rarely) */
    static const double truth[][5] = {{0.5, 1.0, 2.0, 5.0, 0}, {30.0, 1.5, 0.8, 0.6, 2.5}};
    static const int Ks[] = {4, 5};
    float *p = malloc((size_t)N * 5 * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (int c = 0; c < 2; c++) {
        double alpha[5];
        dirichlet_draw(p, truth[c], N, Ks[c], 100 + (uint64_t)c);
        ck_assert_int_eq(dirichlet_fit(alpha, p, N, Ks[c], 0), STATUS_OK);
        for (int k = 0; k < Ks[c]; k++)
            ck_assert_msg(fabs(alpha[k] / truth[c][k] - 1) < 0.04,
                          "case %d: alpha_%d = %g, drawn with %g", c, k, alpha[k], truth[c][k]);
    }
    free(p);
}
END_TEST

START_TEST(test_fit_failures)
{
    double alpha[FIT_K];
    /* no spread: the likelihood grows without bound as alpha does, so there is no MLE */
    float same[5][FIT_K];
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < FIT_K; k++)
            same[i][k] = fit_data[0][k];
    ck_assert_int_eq(dirichlet_fit(alpha, &same[0][0], 5, FIT_K, 0), STATUS_NUMERIC);
    /* too few iterations to converge */
    ck_assert_int_eq(dirichlet_fit(alpha, &fit_data[0][0], FIT_N, FIT_K, 2), STATUS_NUMERIC);
    /* non-finite input, bad sizes */
    float bad[FIT_N][FIT_K];
    for (int i = 0; i < FIT_N; i++)
        for (int k = 0; k < FIT_K; k++)
            bad[i][k] = fit_data[i][k];
    bad[3][2] = NAN;
    ck_assert_int_eq(dirichlet_fit(alpha, &bad[0][0], FIT_N, FIT_K, 0), STATUS_NUMERIC);
    ck_assert_int_eq(dirichlet_fit(alpha, &fit_data[0][0], 0, FIT_K, 0), STATUS_RANGE);
    ck_assert_int_eq(dirichlet_fit(alpha, &fit_data[0][0], FIT_N, 1, 0), STATUS_RANGE);
}
END_TEST

START_TEST(test_score_by_hand)
{
    /* -(2 ln 1/2 - 1/2 ln 1/4 + 0 ln 1/4) = 2 ln 2 - ln 2 = ln 2 */
    const double a3[] = {3, 0.5, 1};
    const float p3[] = {0.5f, 0.25f, 0.25f};
    ck_assert_double_eq_tol(dirichlet_score(a3, p3, 3), log(2.0), 1e-15);
    /* a zero probability is clamped to 1e-12: -(1 ln 1 + 1 ln 1e-12) = 12 ln 10 */
    const double a2[] = {2, 2};
    const float p2[] = {1, 0};
    ck_assert_double_eq_tol(dirichlet_score(a2, p2, 2), 12 * log(10.0), 1e-12);
    /* alpha all 1 is the uniform density: every vector scores 0 */
    const double ones[] = {1, 1, 1};
    ck_assert_double_eq(dirichlet_score(ones, p3, 3), 0);
    /* under the fitted alpha, the data's typical vectors score below an unusual one */
    double alpha[FIT_K];
    ck_assert_int_eq(dirichlet_fit(alpha, &fit_data[0][0], FIT_N, FIT_K, 0), STATUS_OK);
    const float odd[FIT_K] = {0.97f, 0.01f, 0.01f, 0.01f};
    double mean = 0;
    for (int i = 0; i < FIT_N; i++)
        mean += dirichlet_score(alpha, fit_data[i], FIT_K) / FIT_N;
    ck_assert(dirichlet_score(alpha, odd, FIT_K) > mean);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dirichlet");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_digamma_trigamma_scipy);
    tcase_add_test(tc, test_digamma_identities);
    tcase_add_test(tc, test_inv_digamma);
    tcase_add_test(tc, test_fit_scipy);
    tcase_add_test(tc, test_fit_recovers_samples);
    tcase_add_test(tc, test_fit_failures);
    tcase_add_test(tc, test_score_by_hand);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
