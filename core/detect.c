/* detect: the parts of an image model beside the AnoGAN, their scores and the fused score (see
 * detect.h). Training them is train_detect.c's job; this file scores and stores them. */
#include "detect.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

static const char *const part_names[DETECT_NPARTS] = {"anogan", "transform", "knn", "knn_pixels",
                                                      "knn_transform"};

const char *detect_part_name(enum detect_part p)
{
    ASSERT(p >= 0 && p < DETECT_NPARTS);
    return part_names[p];
}

void detect_free(struct detect *d)
{
    if (!d)
        return;
    geom_free(d->geom);
    bank_free(&d->knn);
    bank_free(&d->knn_pixels);
    bank_free(&d->knn_transform);
    free(d);
}

static const struct bank *part_bank(const struct detect *d, enum detect_part p)
{
    switch (p) {
    case DETECT_PART_KNN: return &d->knn;
    case DETECT_PART_KNN_PIXELS: return &d->knn_pixels;
    case DETECT_PART_KNN_TRANSFORM: return &d->knn_transform;
    default: return NULL;
    }
}

bool detect_has_part(const struct anogan *m, enum detect_part p)
{
    if (p == DETECT_PART_ANOGAN)
        return true;
    const struct detect *d = m->det;
    if (!d)
        return false;
    if (p == DETECT_PART_TRANSFORM)
        return d->geom != NULL;
    return part_bank(d, p)->n > 0;
}

void detect_pool_input(float *out, const float *x, int B, int channels, int side)
{
    int h = side / 2;
    for (int p = 0; p < B * channels; p++) {
        const float *in = x + (size_t)p * (size_t)side * (size_t)side;
        float *o = out + (size_t)p * (size_t)h * (size_t)h;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < h; xx++) {
                const float *q = in + (size_t)(2 * y) * (size_t)side + (size_t)(2 * xx);
                o[y * h + xx] = 0.25f * (q[0] + q[1] + q[side] + q[side + 1]);
            }
    }
}

float detect_fuse(const struct anogan *m, const float *part)
{
    const struct detect *d = m->det;
    if (!d || !d->fused)
        return part[DETECT_PART_ANOGAN];
    double s = 0;
    for (int p = 0; p < DETECT_NPARTS; p++)
        if (d->weight[p] != 0)
            s += d->weight[p] * (part[p] - d->norm[p].mean) / d->norm[p].std;
    return (float)s;
}

/* ---- scoring --------------------------------------------------------------------------------- */

struct detect_ctx {
    const struct anogan *m;
    int max_batch;
    struct anogan_ctx *gan;
    struct geom_ctx *geom;
    struct anogan_result *gres;
    struct geom_result *tres;
    float *pooled; /* (B, C, S/2, S/2) model units */
    float *pixels; /* the same in pixel units, for the pixel bank */
    float *tfeat;  /* (B, F) classifier features */
    float *dist;   /* (B) */
    float *work;   /* the largest bank's scratch */
};

struct detect_ctx *detect_ctx_create(const struct anogan *m, int max_batch)
{
    struct detect_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->m = m;
    c->max_batch = max_batch;
    c->gan = anogan_ctx_create(m, max_batch);
    c->gres = malloc((size_t)max_batch * sizeof *c->gres);
    c->dist = malloc((size_t)max_batch * sizeof(float));
    if (!c->gan || !c->gres || !c->dist)
        goto fail;
    const struct detect *d = m->det;
    if (!d)
        return c;
    size_t pooled = anogan_image_size(m) / 4 * (size_t)max_batch;
    if (!(c->pooled = malloc(pooled * sizeof(float))) ||
        !(c->pixels = malloc(pooled * sizeof(float))))
        goto fail;
    if (d->geom) {
        c->geom = geom_ctx_create(d->geom, max_batch);
        c->tres = malloc((size_t)max_batch * sizeof *c->tres);
        c->tfeat = malloc((size_t)max_batch * (size_t)geom_feature_size(d->geom) * sizeof(float));
        if (!c->geom || !c->tres || !c->tfeat)
            goto fail;
    }
    size_t work = 1;
    for (int p = DETECT_PART_KNN; p <= DETECT_PART_KNN_TRANSFORM; p++) {
        const struct bank *b = part_bank(d, (enum detect_part)p);
        if (b->n > 0 && bank_work_size(b, max_batch) > work)
            work = bank_work_size(b, max_batch);
    }
    if (!(c->work = malloc(work * sizeof(float))))
        goto fail;
    return c;
fail:
    detect_ctx_free(c);
    return NULL;
}

void detect_ctx_free(struct detect_ctx *c)
{
    if (!c)
        return;
    anogan_ctx_free(c->gan);
    geom_ctx_free(c->geom);
    free(c->gres);
    free(c->tres);
    free(c->pooled);
    free(c->pixels);
    free(c->tfeat);
    free(c->dist);
    free(c->work);
    free(c);
}

struct anogan_ctx *detect_ctx_anogan(struct detect_ctx *c)
{
    return c->gan;
}

static void bank_part(struct detect_ctx *c, const struct bank *b, const float *q, int B,
                      struct detect_result *res, enum detect_part p)
{
    if (b->n == 0)
        return;
    bank_score(b, q, B, c->dist, c->work);
    for (int i = 0; i < B; i++)
        res[i].part[p] = c->dist[i];
}

enum status detect_score(struct detect_ctx *c, const float *x, int B, const uint64_t *seeds,
                         const struct anogan_search *search, struct detect_result *res,
                         float *recon, float *z, volatile int *cancel)
{
    ASSERT(B > 0 && B <= c->max_batch);
    const struct anogan *m = c->m;
    enum status s = anogan_score(c->gan, x, B, seeds, search, c->gres, recon, z, cancel);
    if (s)
        return s;
    for (int i = 0; i < B; i++) {
        res[i].gan = c->gres[i];
        for (int p = 0; p < DETECT_NPARTS; p++)
            res[i].part[p] = NAN;
        res[i].part[DETECT_PART_ANOGAN] = c->gres[i].score;
    }
    const struct detect *d = m->det;
    if (d) {
        bank_part(c, &d->knn, anogan_ctx_features(c->gan), B, res, DETECT_PART_KNN);
        int C = m->cfg.channels, S = m->cfg.image_size;
        size_t pooled = anogan_image_size(m) / 4 * (size_t)B;
        if (d->geom || d->knn_pixels.n > 0)
            detect_pool_input(c->pooled, x, B, C, S);
        if (d->geom) {
            geom_score(c->geom, c->pooled, B, c->tres, NULL, d->knn_transform.n ? c->tfeat : NULL);
            for (int i = 0; i < B; i++)
                res[i].part[DETECT_PART_TRANSFORM] =
                    d->geom->has_dirichlet ? c->tres[i].dirichlet : c->tres[i].xent;
            bank_part(c, &d->knn_transform, c->tfeat, B, res, DETECT_PART_KNN_TRANSFORM);
        }
        if (d->knn_pixels.n > 0) {
            for (size_t i = 0; i < pooled; i++)
                c->pixels[i] = c->pooled[i] * m->cfg.std + m->cfg.mean;
            bank_part(c, &d->knn_pixels, c->pixels, B, res, DETECT_PART_KNN_PIXELS);
        }
    }
    for (int i = 0; i < B; i++)
        res[i].score = detect_fuse(m, res[i].part);
    return STATUS_OK;
}

/* ---- model files ----------------------------------------------------------------------------- */

static const char *const metric_names[] = {"l2", "cosine"};

static enum status bank_save(const struct bank *b, const char *part, struct safetensors *st)
{
    if (b->n == 0)
        return STATUS_OK;
    char key[64], val[32];
    snprintf(key, sizeof key, "K.%s", part);
    int64_t shape[2] = {b->n, b->dim};
    enum status s = safetensors_add(st, key, shape, 2, b->x);
    if (s)
        return s;
    snprintf(key, sizeof key, "%s.metric", part);
    if ((s = safetensors_set_meta(st, key, metric_names[b->metric])))
        return s;
    snprintf(key, sizeof key, "%s.k", part);
    snprintf(val, sizeof val, "%d", b->k);
    return safetensors_set_meta(st, key, val);
}

static enum status bank_load(struct bank *b, const char *part, const struct safetensors *st,
                             const char *file)
{
    char key[64];
    snprintf(key, sizeof key, "K.%s", part);
    const struct safetensors_tensor *t = safetensors_find(st, key);
    if (!t)
        return STATUS_OK;
    if (t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > (1 << 24) ||
        t->shape[1] > (1 << 24))
        return status_fail(STATUS_SHAPE, "%s: %s must be (rows, features)", file, key);
    for (size_t i = 0; i < t->numel; i++)
        if (!isfinite(t->data[i]))
            return status_fail(STATUS_NUMERIC, "%s: %s holds NaN or Inf", file, key);
    snprintf(key, sizeof key, "%s.metric", part);
    const char *metric = safetensors_meta_get(st, key);
    enum bank_metric bm = BANK_METRIC_COSINE;
    if (metric && !strcmp(metric, "l2"))
        bm = BANK_METRIC_L2;
    else if (metric && strcmp(metric, "cosine"))
        return status_fail(STATUS_FORMAT, "%s: %s is '%s' (l2 or cosine)", file, key, metric);
    int k = 1;
    snprintf(key, sizeof key, "%s.k", part);
    enum status s = safetensors_meta_int(st, key, &k, file);
    if (s)
        return s;
    if (k < 1 || k > t->shape[0])
        return status_fail(STATUS_RANGE, "%s: %s = %d (1..%lld)", file, key, k,
                           (long long)t->shape[0]);
    return bank_from_rows(b, t->data, (int)t->shape[0], (int)t->shape[1], bm, k);
}

enum status detect_to_safetensors(const struct detect *d, struct safetensors *st)
{
    enum status s;
    if ((d->geom && (s = geom_to_safetensors(d->geom, st))) ||
        (s = bank_save(&d->knn, "knn", st)) || (s = bank_save(&d->knn_pixels, "knn_pixels", st)) ||
        (s = bank_save(&d->knn_transform, "knn_transform", st)))
        return s;
    if (!d->fused)
        return STATUS_OK;
    for (int p = 0; p < DETECT_NPARTS; p++) {
        if (d->weight[p] == 0)
            continue;
        char key[64], val[32];
        const float v[3] = {d->weight[p], d->norm[p].mean, d->norm[p].std};
        const char *what[3] = {"weight", "mean", "std"};
        for (int i = 0; i < 3; i++) {
            snprintf(key, sizeof key, "fusion.%s.%s", part_names[p], what[i]);
            snprintf(val, sizeof val, "%.9g", v[i]);
            if ((s = safetensors_set_meta(st, key, val)))
                return s;
        }
    }
    return STATUS_OK;
}

enum status detect_from_safetensors(struct detect **out, const struct safetensors *st,
                                    const char *file)
{
    *out = NULL;
    struct detect *d = calloc(1, sizeof *d);
    if (!d)
        return status_fail(STATUS_NOMEM, "out of memory");
    enum status s;
    if ((s = geom_from_safetensors(&d->geom, st, file)) ||
        (s = bank_load(&d->knn, "knn", st, file)) ||
        (s = bank_load(&d->knn_pixels, "knn_pixels", st, file)) ||
        (s = bank_load(&d->knn_transform, "knn_transform", st, file)))
        goto fail;
    for (int p = 0; p < DETECT_NPARTS; p++) {
        char key[64];
        snprintf(key, sizeof key, "fusion.%s.weight", part_names[p]);
        if (!safetensors_meta_get(st, key))
            continue;
        float *v[3] = {&d->weight[p], &d->norm[p].mean, &d->norm[p].std};
        const char *what[3] = {"weight", "mean", "std"};
        for (int i = 0; i < 3; i++) {
            snprintf(key, sizeof key, "fusion.%s.%s", part_names[p], what[i]);
            if (!safetensors_meta_get(st, key)) {
                s = status_fail(STATUS_FORMAT, "%s: metadata %s is missing", file, key);
                goto fail;
            }
            if ((s = safetensors_meta_float(st, key, v[i], file)))
                goto fail;
        }
        if (!(d->norm[p].std > 0)) {
            s = status_fail(STATUS_FORMAT, "%s: fusion.%s.std must be > 0", file, part_names[p]);
            goto fail;
        }
        d->fused = true;
    }
    /* every weighted part must be in the file */
    struct anogan probe = {.det = d};
    for (int p = 0; p < DETECT_NPARTS; p++)
        if (d->weight[p] != 0 && !detect_has_part(&probe, (enum detect_part)p)) {
            s = status_fail(STATUS_FORMAT, "%s: the fusion weighs part %s, which the file lacks",
                            file, part_names[p]);
            goto fail;
        }
    if (!d->geom && !d->knn.n && !d->knn_pixels.n && !d->knn_transform.n && !d->fused) {
        free(d);
        return STATUS_OK;
    }
    *out = d;
    return STATUS_OK;
fail:
    detect_free(d);
    return s;
}
