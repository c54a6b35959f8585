/* roc: ranking metrics of an anomaly score against binary labels (1 = anomalous = positive).
 *
 * A higher score means "more anomalous". Equal scores are handled as scikit-learn does: AUROC is
 * the Mann-Whitney U statistic with mid-ranks (a tie between a positive and a negative counts
 * one half), average precision sums precision at each DISTINCT threshold weighted by the recall
 * gained there (sklearn.metrics.average_precision_score), and the ROC curve has one point per
 * distinct score. Nothing here allocates except roc_curve. */
#ifndef INSPECTD_ROC_H
#define INSPECTD_ROC_H

#include <stddef.h>

#include "status.h"

/* Area under the ROC curve of scores[n] against labels[n] (nonzero = positive). NaN if either
 * class is empty. Sorts a copy; STATUS-free: returns NaN on allocation failure too. */
double roc_auroc(const float *scores, const int *labels, size_t n);

/* Average precision (area under the precision-recall curve, step-wise, no interpolation).
 * NaN if there is no positive. */
double roc_average_precision(const float *scores, const int *labels, size_t n);

/* Confusion counts when score > threshold is called anomalous. */
struct roc_counts {
    size_t tp, fp, tn, fn;
};
struct roc_counts roc_count_at(const float *scores, const int *labels, size_t n, float threshold);
/* F1 = 2 tp / (2 tp + fp + fn); 0 when the denominator is 0. */
double roc_f1(struct roc_counts c);
double roc_precision(struct roc_counts c); /* tp / (tp + fp), 0 if none called anomalous */
double roc_recall(struct roc_counts c);    /* tp / (tp + fn), 0 if no positive */

/* ROC points from (0,0) to (1,1): one per distinct score, highest threshold first, plus the
 * origin. *fpr and *tpr receive malloc'd arrays of *npoints doubles (caller frees both). */
enum status roc_curve(double **fpr, double **tpr, size_t *npoints, const float *scores,
                      const int *labels, size_t n);

/* The p-th percentile (0..100) of x[n] with linear interpolation between order statistics
 * (numpy.percentile's default). n > 0. Sorts a copy; NaN on allocation failure. */
double roc_percentile(const float *x, size_t n, double p);

#endif
