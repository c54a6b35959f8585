/* dirichlet: digamma, trigamma, Minka's fixed-point Dirichlet MLE and GEOM's score; see
 * dirichlet.h. */
#include "dirichlet.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define EULER_GAMMA 0.57721566490153286061
#define P_MIN 1e-12 /* probabilities are clamped to [P_MIN, 1] before the log */

enum {
    ASYMPTOTIC_FROM = 10, /* the series below are used from x >= 10 on */
    NEWTON_STEPS = 100,   /* inverse digamma: a cap; 5-6 steps are the norm (Minka) */
    FIT_ITERS_DEFAULT = 10000,
};

double dirichlet_digamma(double x)
{
    if (!(x > 0))
        return NAN;
    /* psi(x) = psi(x + n) - sum_{i<n} 1/(x + i) (A&S 6.3.6), shifted into the series' range */
    double shift = 0;
    while (x < ASYMPTOTIC_FROM) {
        shift += 1 / x;
        x += 1;
    }
    /* A&S 6.3.18: ln x - 1/(2x) - sum_k B_2k / (2k x^2k), B_2..B_14 = 1/6, -1/30, 1/42, -1/30,
     * 5/66, -691/2730, 7/6; the first term left out is below 5e-17 at x = 10. */
    const double r = 1 / (x * x);
    double series =
        r * (1.0 / 12 -
             r * (1.0 / 120 -
                  r * (1.0 / 252 -
                       r * (1.0 / 240 - r * (1.0 / 132 - r * (691.0 / 32760 - r * (1.0 / 12)))))));
    return log(x) - 0.5 / x - series - shift;
}

double dirichlet_trigamma(double x)
{
    if (!(x > 0))
        return NAN;
    /* psi'(x) = psi'(x + n) + sum_{i<n} 1/(x + i)^2 (A&S 6.4.6) */
    double shift = 0;
    while (x < ASYMPTOTIC_FROM) {
        shift += 1 / (x * x);
        x += 1;
    }
    /* A&S 6.4.12: 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1) */
    const double r = 1 / (x * x);
    double series =
        r * (1.0 / 6 -
             r * (1.0 / 30 -
                  r * (1.0 / 42 -
                       r * (1.0 / 30 - r * (5.0 / 66 - r * (691.0 / 2730 - r * (7.0 / 6)))))));
    return shift + (1 + 0.5 / x + series) / x;
}

double dirichlet_inv_digamma(double y)
{
    if (isnan(y))
        return NAN;
    /* Minka, appendix C: psi(x) ~ log(x - 1/2) for large x, ~ -1/x - gamma for small x */
    double x = y >= -2.22 ? exp(y) + 0.5 : -1 / (y + EULER_GAMMA);
    if (!isfinite(x))
        return x;
    /* Newton on the concave, increasing psi: after the first step the iterates approach the
     * root from below, quadratically. A step that would leave x > 0 is halved instead. */
    for (int i = 0; i < NEWTON_STEPS; i++) {
        double step = (dirichlet_digamma(x) - y) / dirichlet_trigamma(x);
        double next = x - step;
        if (!(next > 0))
            next = x / 2;
        if (fabs(next - x) <= 4 * DBL_EPSILON * next) {
            x = next;
            break;
        }
        x = next;
    }
    return x;
}

static double clamp_p(double p)
{
    return p < P_MIN ? P_MIN : p > 1 ? 1 : p;
}

/* Minka's initial guess, eq. 21-23: alpha = s m with m the mean vector and the precision s from
 * the moments, s = (m_k - E p_k^2) / (E p_k^2 - m_k^2) for each k, averaged in the log over the
 * components where it is defined and positive (1 when none is: the data has no spread). */
static void moment_match(double *alpha, const float *p, int n, int K)
{
    double log_s = 0;
    int used = 0;
    for (int k = 0; k < K; k++) {
        double m = 0, m2 = 0;
        for (int i = 0; i < n; i++) {
            double v = clamp_p(p[(size_t)i * K + k]);
            m += v;
            m2 += v * v;
        }
        m /= n;
        m2 /= n;
        double s = (m - m2) / (m2 - m * m);
        if (isfinite(s) && s > 0) {
            log_s += log(s);
            used++;
        }
        alpha[k] = m;
    }
    double s = used ? exp(log_s / used) : 1.0;
    for (int k = 0; k < K; k++)
        alpha[k] *= s;
}

enum status dirichlet_fit(double *alpha, const float *p, int n, int K, int iters)
{
    if (n < 1 || K < 2)
        return status_fail(STATUS_RANGE, "dirichlet: %d vectors of %d probabilities", n, K);
    if (iters <= 0)
        iters = FIT_ITERS_DEFAULT;
    for (size_t i = 0; i < (size_t)n * K; i++)
        if (!isfinite(p[i]))
            return status_fail(STATUS_NUMERIC, "dirichlet: probability %zu is not finite", i);
    /* the sufficient statistics: mean log p_k (the MLE depends on nothing else) */
    double *mean_log = malloc((size_t)K * sizeof *mean_log);
    if (!mean_log)
        return status_fail(STATUS_NOMEM, "dirichlet: %d statistics", K);
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += log(clamp_p(p[(size_t)i * K + k]));
        mean_log[k] = s / n;
    }
    moment_match(alpha, p, n, K);
    enum status st = STATUS_OK;
    int converged = 0;
    for (int it = 0; it < iters && !converged; it++) {
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += alpha[k];
        const double psi_sum = dirichlet_digamma(sum);
        double change = 0;
        for (int k = 0; k < K; k++) {
            double next = dirichlet_inv_digamma(psi_sum + mean_log[k]);
            if (!(isfinite(next) && next > 0)) {
                st = status_fail(STATUS_NUMERIC, "dirichlet: alpha_%d = %g at iteration %d", k,
                                 next, it);
                goto out;
            }
            double rel = fabs(next - alpha[k]) / next;
            change = rel > change ? rel : change;
            alpha[k] = next;
        }
        converged = change < 1e-10;
    }
    if (!converged)
        st = status_fail(STATUS_NUMERIC,
                         "dirichlet: no convergence in %d iterations (the MLE need not exist: "
                         "vectors without spread)",
                         iters);
out:
    free(mean_log);
    return st;
}

double dirichlet_score(const double *alpha, const float *p, int K)
{
    double s = 0;
    for (int k = 0; k < K; k++)
        s += (alpha[k] - 1) * log(clamp_p(p[k]));
    return -s;
}
