/* verdict: the line's answer for one part from its anomaly score: OK, NOT_OK, or NOT_DECIDABLE
 * inside a band around the calibrated threshold, and the band's rule at calibration.
 *
 * Rule: score > high -> NOT_OK; score <= low -> OK; otherwise NOT_DECIDABLE. A band of zero
 * width (low = high = threshold: model files calibrated before bands existed) gives exactly the
 * old `anomalous = score > threshold`. A model without calibration has no threshold: every part
 * is NOT_DECIDABLE.
 *
 * Band at calibration (verdict_band_from_scores): with the threshold at percentile p of the
 * held-out normal scores, low is their percentile p - (100 - p) (p98 for the default p99) and
 * high mirrors it above the threshold: high = threshold + (threshold - low). So the band's lower
 * half holds as many held-out normal parts as lie above the threshold, and the band widens with
 * the spread of the normal scores near the threshold. */
#ifndef INSPECTD_VERDICT_H
#define INSPECTD_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

enum verdict {
    VERDICT_OK,
    VERDICT_NOT_OK,
    VERDICT_NOT_DECIDABLE,
};

/* "OK", "NOT_OK", "NOT_DECIDABLE". */
const char *verdict_name(enum verdict v);

/* The verdict of score under the band [low, high] (low <= high). A NaN score is NOT_DECIDABLE. */
enum verdict verdict_evaluate(float score, float low, float high);

/* The band's ends for a threshold at percentile p (0 < p <= 100) of scores[n] (n > 0), by the
 * rule above. STATUS_NOMEM when the sorted copy cannot be allocated. */
enum status verdict_band_from_scores(float *low, float *high, const float *scores, size_t n,
                                     float p, float threshold);

/* Whether [low, high] is a band around threshold: finite, low <= threshold <= high. */
bool verdict_band_valid(float low, float high, float threshold);

#endif
