/* dirichlet: the Dirichlet maximum-likelihood fit and score of GEOM (Golan & El-Yaniv, "Deep
 * Anomaly Detection Using Geometric Transformations", NeurIPS 2018, section 4).
 *
 * GEOM applies K transforms to an image and asks a classifier which one was applied; for each
 * transform it fits a Dirichlet distribution to the classifier's softmax vectors on normal
 * images, and scores a new image by the fitted log-density of its vectors (up to constants):
 * sum_k (alpha_k - 1) log p_k. dirichlet_score returns the negative, so that higher means more
 * anomalous, as everywhere in inspectd. The fit is Minka's fixed-point iteration, with the
 * digamma and trigamma functions and the inverse digamma it needs. Plain double arithmetic,
 * nothing allocated, nothing shared: safe from any thread. */
#ifndef INSPECTD_DIRICHLET_H
#define INSPECTD_DIRICHLET_H

#include "status.h"

/* psi(x) = d/dx log Gamma(x), x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10,
 * then the asymptotic series (Abramowitz & Stegun 6.3.18) to x^-14; about 1e-15 relative away
 * from the root near 1.4616 (absolute there). NaN for x <= 0 or NaN. */
double dirichlet_digamma(double x);

/* psi'(x), x > 0: psi'(x) = psi'(x + 1) + 1/x^2 up to x >= 10, then A&S 6.4.12 to x^-15.
 * NaN for x <= 0 or NaN. */
double dirichlet_trigamma(double x);

/* The x > 0 with psi(x) = y, by Newton's method from Minka's starting point (Minka 2000/2012,
 * appendix C: exp(y) + 1/2 for y >= -2.22, else -1/(y + gamma)), to full double precision. */
double dirichlet_inv_digamma(double y);

/* alpha (K) = the maximum-likelihood Dirichlet parameters of n probability vectors p (n, K), each
 * summing to 1 (entries clamped to [1e-12, 1] before the log), by Minka's fixed point ("Estimating
 * a Dirichlet distribution", 2000/2012, eq. 9): alpha_k <- inv_digamma(digamma(sum_j alpha_j) +
 * mean_i log p_ik), started from the moment match of eq. 21-23, until no alpha_k changes by more
 * than 1e-10 of itself. iters caps the iterations (a few hundred suffice on typical data; 0 means
 * 10000). STATUS_RANGE for n < 1 or K < 2; STATUS_NUMERIC for a non-finite input, a
 * non-finite or non-positive alpha, or no convergence within iters (the MLE need not exist: n
 * identical vectors push alpha to infinity). alpha holds the last iterate on STATUS_NUMERIC. */
enum status dirichlet_fit(double *alpha, const float *p, int n, int K, int iters);

/* The anomaly score of one probability vector p (K): -sum_k (alpha_k - 1) log p_k, p clamped as
 * in the fit. Higher = less likely under the fitted Dirichlet (the normalising constant, the same
 * for every p, is left out). */
double dirichlet_score(const double *alpha, const float *p, int K);

#endif
