/* train_detect: training the parts beside the AnoGAN (detect.h) on normal images, and their
 * standardisation for the fused score. Runs after the GAN and the encoder (the D-feature bank
 * needs the trained D); train_calibrate then puts the threshold on the fused score.
 *
 * Phases: "transform" (the transformation classifier, early-stopped on the held-out images, then
 * its Dirichlets fitted on them), "memory" (each memory bank from the training images, thinned
 * by a k-center coreset), "fusion" (every part scored on the held-out images: their mean and
 * standard deviation). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "train_impl.h"

struct detect_recipe detect_recipe_default(void)
{
    struct detect_recipe r = {
        .geom = geom_config_default(),
        .geom_train = geom_train_config_default(),
        .knn_max = 1000,
        .knn_k = 1,
    };
    /* Learning all 72 of GEOM's transforms (shifts too) shapes much better features than the 8
     * flips and turns (MNIST 8: Dirichlet 0.86 -> 0.93, feature kNN 0.88 -> 0.94; seed task:
     * feature kNN 0.93 -> 0.96); scoring with the 8 unshifted ones keeps an image at 8 forward
     * passes. With 72 pairs per image an epoch is long and the held-out loss is best after about
     * 2 epochs. */
    r.geom.transforms = 72;
    r.geom.scored = 8;
    r.geom_train.epochs = 6;
    r.geom_train.patience = 2;
    /* The fusion rule, chosen by measurement on the seed task and the MNIST and Fashion-MNIST
     * one-class protocols (docs/detection.md, tools/fusion_grid.py): the classifier's score and
     * the banks of D's and the classifier's features, weight 1 each. The AnoGAN score is near
     * chance as a one-class detector (MNIST 8: 0.68, Fashion 6: 0.52) and pulled the sum below
     * 1-NN on Fashion 6; the pixel bank added nothing the other banks did not have. Both stay
     * available (--weights); the AnoGAN part is still computed for the reconstruction, the
     * anomaly map and scores.anogan. */
    r.weight[DETECT_PART_ANOGAN] = 0;
    r.weight[DETECT_PART_TRANSFORM] = 1;
    r.weight[DETECT_PART_KNN] = 1;
    r.weight[DETECT_PART_KNN_PIXELS] = 0;
    r.weight[DETECT_PART_KNN_TRANSFORM] = 1;
    return r;
}

struct geom_relay {
    const struct detect_hooks *hooks;
    double t0; /* clock_now() */
};

static void relay_geom(void *user, const struct geom_progress *g)
{
    struct geom_relay *r = user;
    struct detect_progress p = {.phase = "transform", .geom = g,
                                .done = g->epoch + (double)g->step / g->steps,
                                .total = g->epochs, .elapsed_s = clock_since(r->t0)};
    r->hooks->progress(r->hooks->user, &p);
}

static void report(const struct detect_hooks *h, const char *phase, double done, double total,
                   const double *t0)
{
    if (!h || !h->progress)
        return;
    struct detect_progress p = {.phase = phase, .done = done, .total = total,
                                .elapsed_s = clock_since(*t0)};
    h->progress(h->user, &p);
}

/* The 2x2-pooled images of data, in model units; NULL on allocation failure. */
static float *pooled_of(const struct anogan *m, const struct dataset *data)
{
    float *p = malloc(data->count * (data->image_floats / 4) * sizeof(float));
    if (p)
        detect_pool_input(p, data->x, (int)data->count, m->cfg.channels, m->cfg.image_size);
    return p;
}

static enum status build_banks(struct anogan *m, struct detect *d, const struct dataset *train,
                               const float *pooled, const struct detect_recipe *r,
                               const struct detect_hooks *hooks, const double *t0)
{
    int n = (int)train->count;
    enum status s = STATUS_OK;
    float *feats = NULL;
    int nbanks = (r->weight[DETECT_PART_KNN] != 0) + (r->weight[DETECT_PART_KNN_PIXELS] != 0) +
                 (r->weight[DETECT_PART_KNN_TRANSFORM] != 0 && d->geom);
    int built = 0;
    if (r->weight[DETECT_PART_KNN] != 0) {
        size_t F = anogan_feature_size(m);
        enum { CHUNK = 32 };
        struct anogan_ctx *c = anogan_ctx_create(m, CHUNK);
        feats = malloc((size_t)n * F * sizeof(float));
        if (!c || !feats) {
            anogan_ctx_free(c);
            s = status_fail(STATUS_NOMEM, "out of memory for the features of %d images", n);
            goto done;
        }
        for (int i = 0; i < n; i += CHUNK) {
            int B = n - i < CHUNK ? n - i : CHUNK;
            anogan_features(c, train->x + (size_t)i * train->image_floats, B,
                            feats + (size_t)i * F);
        }
        anogan_ctx_free(c);
        if ((s = bank_build(&d->knn, feats, n, (int)F, BANK_METRIC_COSINE, r->knn_k, r->knn_max,
                            r->geom_train.seed)))
            goto done;
        free(feats);
        feats = NULL;
        report(hooks, "memory", ++built, nbanks, t0);
    }
    if (r->weight[DETECT_PART_KNN_PIXELS] != 0) {
        size_t P = train->image_floats / 4;
        if (!(feats = malloc((size_t)n * P * sizeof(float)))) {
            s = status_fail(STATUS_NOMEM, "out of memory for the pixels of %d images", n);
            goto done;
        }
        for (size_t i = 0; i < (size_t)n * P; i++)
            feats[i] = pooled[i] * m->cfg.std + m->cfg.mean;
        if ((s = bank_build(&d->knn_pixels, feats, n, (int)P, BANK_METRIC_COSINE, r->knn_k,
                            r->knn_max, r->geom_train.seed)))
            goto done;
        free(feats);
        feats = NULL;
        report(hooks, "memory", ++built, nbanks, t0);
    }
    if (r->weight[DETECT_PART_KNN_TRANSFORM] != 0 && d->geom) {
        int F = geom_feature_size(d->geom);
        struct geom_ctx *c = geom_ctx_create(d->geom, 32);
        struct geom_result *res = malloc((size_t)n * sizeof *res);
        feats = malloc((size_t)n * (size_t)F * sizeof(float));
        if (!c || !res || !feats) {
            geom_ctx_free(c);
            free(res);
            s = status_fail(STATUS_NOMEM, "out of memory for the classifier features");
            goto done;
        }
        geom_score(c, pooled, n, res, NULL, feats);
        geom_ctx_free(c);
        free(res);
        if ((s = bank_build(&d->knn_transform, feats, n, F, BANK_METRIC_COSINE, r->knn_k,
                            r->knn_max, r->geom_train.seed)))
            goto done;
        report(hooks, "memory", ++built, nbanks, t0);
    }
done:
    free(feats);
    return s;
}

/* Mean and standard deviation of every part present over the held-out images. */
static enum status standardise(struct anogan *m, struct detect *d, const struct dataset *holdout,
                               const struct detect_recipe *r, const struct anogan_search *search,
                               volatile int *cancel)
{
    size_t n = holdout->count;
    struct detect_result *res = malloc(n * sizeof *res);
    if (!res)
        return status_fail(STATUS_NOMEM, "out of memory");
    d->fused = false; /* the raw parts, not a fusion, while they are measured */
    enum status s = train_score_dataset(res, m, holdout, search, 32, NULL, cancel, NULL, NULL);
    if (s)
        goto done;
    for (int p = 0; p < DETECT_NPARTS; p++) {
        d->weight[p] = 0;
        if (r->weight[p] == 0 || !detect_has_part(m, (enum detect_part)p))
            continue;
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < n; i++) {
            double v = res[i].part[p];
            if (!isfinite(v)) {
                s = status_fail(STATUS_NUMERIC, "held-out image %zu: part %s scored %g", i,
                                detect_part_name((enum detect_part)p), v);
                goto done;
            }
            sum += v;
            sum2 += v * v;
        }
        double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
        /* A part that does not vary over the held-out images (a tiny set) still gets a scale:
         * a millionth of its mean, so its z-scores stay finite. */
        double sd = sqrt(var > 0 ? var : 0), floor = 1e-6 * fabs(mean) + 1e-12;
        d->norm[p] = (struct detect_norm){(float)mean, (float)(sd > floor ? sd : floor)};
        d->weight[p] = r->weight[p];
    }
    d->fused = true;
done:
    free(res);
    return s;
}

enum status train_detect(struct anogan *m, const struct dataset *train,
                         const struct dataset *holdout, const struct detect_recipe *r,
                         const struct anogan_search *search, const struct detect_hooks *hooks)
{
    if (train->count < 2 || holdout->count < 2)
        return status_fail(STATUS_RANGE,
                           "the parts need at least 2 training and 2 held-out images (have %zu, "
                           "%zu)", train->count, holdout->count);
    if (m->cfg.image_size % 2)
        return status_fail(STATUS_SHAPE, "image size %d is odd: the parts see it pooled 2x2",
                           m->cfg.image_size);
    double t0 = clock_now();
    volatile int *cancel = hooks ? hooks->cancel : NULL;
    detect_free(m->det);
    m->det = calloc(1, sizeof *m->det);
    float *pt = pooled_of(m, train), *ph = pooled_of(m, holdout);
    enum status s = STATUS_OK;
    if (!m->det || !pt || !ph) {
        s = status_fail(STATUS_NOMEM, "out of memory");
        goto done;
    }
    struct detect *d = m->det;
    if (r->weight[DETECT_PART_TRANSFORM] != 0 || r->weight[DETECT_PART_KNN_TRANSFORM] != 0) {
        struct geom_config gc = r->geom;
        gc.side = m->cfg.image_size / 2;
        gc.channels = m->cfg.channels;
        if ((s = geom_create(&d->geom, &gc, r->geom_train.seed)))
            goto done;
        struct geom_relay relay = {.hooks = hooks, .t0 = t0};
        struct geom_hooks gh = {.progress = hooks && hooks->progress ? relay_geom : NULL,
                                .user = &relay, .cancel = cancel};
        if ((s = geom_train(d->geom, pt, (int)train->count, ph, (int)holdout->count,
                            &r->geom_train, &gh)) ||
            (s = geom_fit_dirichlet(d->geom, ph, (int)holdout->count)))
            goto done;
    }
    if ((s = build_banks(m, d, train, pt, r, hooks, &t0)))
        goto done;
    report(hooks, "fusion", 0, 1, &t0);
    if ((s = standardise(m, d, holdout, r, search, cancel)))
        goto done;
    report(hooks, "fusion", 1, 1, &t0);
done:
    free(pt);
    free(ph);
    if (s) {
        detect_free(m->det);
        m->det = NULL;
    }
    return s;
}
