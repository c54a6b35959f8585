/* train_eval: scoring a whole data set, and calibration of the threshold on held-out normals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "detect.h"
#include "roc.h"
#include "train_impl.h"
#include "verdict.h"

/* Progress inside a batch: the batch's images count as done in proportion to its steps. */
struct batch_progress {
    train_score_progress_fn fn;
    void *user;
    size_t before, total;
    int nb;
    double t0; /* clock_now() */
};

static void on_step(void *user, int step, int iterations)
{
    const struct batch_progress *p = user;
    double done = (double)p->before + (double)p->nb * step / (iterations + 1); /* +1: the final score */
    p->fn(p->user, done, p->total, clock_since(p->t0));
}

enum status train_score_dataset(struct detect_result *res, struct anogan *m,
                                const struct dataset *data, const struct anogan_search *search,
                                int batch, double *seconds, volatile int *cancel,
                                train_score_progress_fn progress, void *user)
{
    ASSERT(batch > 0);
    if (data->image_floats != anogan_image_size(m))
        return status_fail(STATUS_SHAPE, "data images have %zu values, the model takes %zu",
                           data->image_floats, anogan_image_size(m));
    struct detect_ctx *c = detect_ctx_create(m, batch);
    uint64_t *seeds = malloc((size_t)batch * sizeof *seeds);
    enum status s = STATUS_OK;
    if (!c || !seeds) {
        s = status_fail(STATUS_NOMEM, "out of memory for scoring at batch %d", batch);
        goto done;
    }
    struct batch_progress bp = {.fn = progress, .user = user, .total = data->count};
    bp.t0 = clock_now();
    if (progress)
        anogan_ctx_set_step_hook(detect_ctx_anogan(c), on_step, &bp);
    for (size_t k = 0; k < data->count; k += (size_t)batch) {
        int nb = data->count - k < (size_t)batch ? (int)(data->count - k) : batch;
        for (int b = 0; b < nb; b++)
            seeds[b] = data->source[k + (size_t)b];
        bp.before = k;
        bp.nb = nb;
        s = detect_score(c, data->x + k * data->image_floats, nb, seeds, search, res + k, NULL,
                         NULL, cancel);
        if (s)
            goto done;
        if (progress)
            progress(user, (double)(k + (size_t)nb), data->count, clock_since(bp.t0));
    }
    if (seconds)
        *seconds = clock_since(bp.t0);
done:
    detect_ctx_free(c);
    free(seeds);
    return s;
}

enum status train_calibrate(struct anogan *m, const struct dataset *holdout,
                            const struct anogan_search *search, float percentile,
                            const char *what)
{
    if (!(percentile > 0 && percentile <= 100))
        return status_fail(STATUS_RANGE, "percentile %g: need 0 < p <= 100", percentile);
    if (holdout->count == 0)
        return status_fail(STATUS_RANGE, "no held-out image to calibrate on");
    size_t n = holdout->count;
    struct detect_result *res = malloc(n * sizeof *res);
    float *scores = malloc(n * sizeof *scores);
    enum status s = STATUS_OK;
    if (!res || !scores) {
        s = status_fail(STATUS_NOMEM, "out of memory");
        goto done;
    }
    if ((s = train_score_dataset(res, m, holdout, search, 32, NULL, NULL, NULL, NULL)))
        goto done;
    double sum = 0, sum2 = 0, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        scores[i] = res[i].score;
        if (!isfinite(scores[i])) {
            s = status_fail(STATUS_NUMERIC, "held-out image %zu scored %g", i, scores[i]);
            goto done;
        }
        sum += scores[i];
        sum2 += (double)scores[i] * scores[i];
        mx = scores[i] > mx ? scores[i] : mx;
    }
    struct anogan_calibration *cal = &m->cal;
    memset(cal, 0, sizeof *cal);
    cal->present = true;
    cal->percentile = percentile;
    cal->threshold = (float)roc_percentile(scores, n, percentile);
    cal->count = (int)n;
    cal->mean = (float)(sum / (double)n);
    double var = sum2 / (double)n - (sum / (double)n) * (sum / (double)n);
    cal->std = (float)sqrt(var > 0 ? var : 0);
    cal->p50 = (float)roc_percentile(scores, n, 50);
    cal->p90 = (float)roc_percentile(scores, n, 90);
    cal->p99 = (float)roc_percentile(scores, n, 99);
    cal->max = (float)mx;
    if ((s = verdict_band_from_scores(&cal->band_low, &cal->band_high, scores, n, percentile,
                                      cal->threshold)))
        goto done;
    snprintf(cal->score, sizeof cal->score, "%s", m->det && m->det->fused ? "fused" : "anogan");
    snprintf(cal->search, sizeof cal->search, "%s", anogan_init_name(search->init));
    cal->iterations = search->iterations;
    snprintf(cal->data, sizeof cal->data, "%s", what ? what : "");
done:
    free(res);
    free(scores);
    return s;
}
