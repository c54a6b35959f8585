/* plot: two small charts drawn straight into an RGB struct image (no plotting library): the
 * score histogram of normal vs anomalous images with the threshold, and the ROC curve. Text
 * uses a built-in 5x7 bitmap font (upper case, digits and a little punctuation; lower case is
 * drawn as upper case). */
#ifndef INSPECTD_PLOT_H
#define INSPECTD_PLOT_H

#include <stddef.h>

#include "image.h"
#include "status.h"

/* Histogram of scores[n] split by labels (0 normal, nonzero anomalous), bins side by side, with
 * a dashed line at threshold (skipped if NaN). img receives new pixels (image_free). */
enum status plot_histogram(struct image *img, const float *scores, const int *labels, size_t n,
                           float threshold, const char *title);

/* ROC curve through points (fpr[i], tpr[i]), the chance diagonal, and a dot at the operating
 * point (op_fpr, op_tpr) unless NaN. */
enum status plot_roc(struct image *img, const double *fpr, const double *tpr, size_t npoints,
                     double op_fpr, double op_tpr, const char *title);

/* Draws text at (x, y) (top-left) in colour rgb at an integer scale. For tests and callers
 * that annotate images. Returns the width drawn in pixels. */
int plot_text(struct image *img, int x, int y, const char *text, const uint8_t rgb[3], int scale);

#endif
