/* verdict: see verdict.h. */
#include "verdict.h"

#include <math.h>

#include "roc.h"

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_OK: return "OK";
    case VERDICT_NOT_OK: return "NOT_OK";
    case VERDICT_NOT_DECIDABLE: break;
    }
    return "NOT_DECIDABLE";
}

enum verdict verdict_evaluate(float score, float low, float high)
{
    if (isnan(score) || isnan(low) || isnan(high))
        return VERDICT_NOT_DECIDABLE;
    if (score > high)
        return VERDICT_NOT_OK;
    if (score <= low)
        return VERDICT_OK;
    return VERDICT_NOT_DECIDABLE;
}

enum status verdict_band_from_scores(float *low, float *high, const float *scores, size_t n,
                                     float p, float threshold)
{
    double q = (double)p - (100.0 - (double)p);
    if (q < 0)
        q = 0;
    double lo = roc_percentile(scores, n, q);
    if (isnan(lo))
        return status_fail(STATUS_NOMEM, "out of memory for the verdict band");
    if (lo > threshold) /* cannot happen for p <= 100, kept for rounding */
        lo = threshold;
    *low = (float)lo;
    *high = threshold + (threshold - (float)lo);
    return STATUS_OK;
}

bool verdict_band_valid(float low, float high, float threshold)
{
    return isfinite(low) && isfinite(high) && low <= threshold && threshold <= high;
}
