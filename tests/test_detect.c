/* test_detect: the parts beside the AnoGAN and the fused score (core/detect.c, train_detect.c).
 * A tiny AnoGAN (random weights, width 4) with every part trained on synthetic images:
 *  - the fused score is the weighted sum of the standardised parts, and the held-out images the
 *    parts were standardised on have z-scores of mean 0 and deviation 1 per part;
 *  - scores do not depend on the batch, and a model file with parts round-trips exactly;
 *  - an AnoGAN-only file scores with the AnoGAN score alone, as before;
 *  - malformed parts in a file are refused with a message (a weighted part that is missing, a
 *    threshold on the fused score without a fusion rule, a bank of the wrong shape);
 *  - calibration puts the threshold on the fused score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anogan.h"
#include "dataset.h"
#include "detect.h"
#include "ops.h"
#include "rng.h"
#include "safetensors.h"
#include "testutil.h"
#include "train.h"

static struct anogan *tiny_model(void)
{
    struct anogan_config cfg = anogan_config_seed();
    cfg.zdim = 4;
    cfg.width = 4;
    cfg.mean = 0.5f;
    cfg.std = 0.5f;
    struct anogan *m;
    ck_assert_int_eq(anogan_create(&m, &cfg, 1), STATUS_OK);
    ck_assert_int_eq(anogan_add_encoder(m, 2), STATUS_OK);
    return m;
}

/* n synthetic 64x64 images in model units: a bright bar at a random angle-free place (normal) or
 * a blob (anomal), on a dark background. */
static void fill_dataset(struct dataset *d, size_t n, uint64_t seed, bool blobs)
{
    memset(d, 0, sizeof *d);
    d->count = n;
    d->image_floats = 64 * 64;
    d->x = malloc(n * d->image_floats * sizeof(float));
    d->labels = malloc(n * sizeof(int));
    d->source = malloc(n * sizeof(size_t));
    struct rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        float *x = d->x + i * d->image_floats;
        for (int p = 0; p < 64 * 64; p++)
            x[p] = -1.0f + 0.05f * (float)rng_uniform(&r);
        int x0 = 10 + (int)rng_below(&r, 20), y0 = 8 + (int)rng_below(&r, 10);
        for (int y = y0; y < y0 + 30; y++)
            for (int t = 0; t < (blobs ? 14 : 4); t++)
                x[y * 64 + x0 + t] = 1.0f;
        if (!blobs)
            for (int t = 0; t < 16; t++)
                x[y0 * 64 + x0 + t] = 1.0f; /* a "7": asymmetric under flips and turns */
        d->labels[i] = -1;
        d->source[i] = i;
    }
}

static void free_dataset(struct dataset *d)
{
    free(d->x);
    free(d->labels);
    free(d->source);
}

static struct detect_recipe tiny_recipe(void)
{
    struct detect_recipe r = detect_recipe_default();
    r.geom.width = 4;
    r.geom_train.epochs = 2;
    r.knn_max = 20; /* smaller than the training set: the coreset runs */
    for (int p = 0; p < DETECT_NPARTS; p++)
        r.weight[p] = 1.0f + 0.5f * (float)p; /* distinct, so a swapped weight shows */
    return r;
}

/* A tiny model with every part trained and calibrated; the data sets are the caller's. */
static struct anogan *trained_model(struct dataset *train, struct dataset *hold)
{
    struct anogan *m = tiny_model();
    fill_dataset(train, 40, 1, false);
    fill_dataset(hold, 12, 2, false);
    struct detect_recipe r = tiny_recipe();
    struct anogan_search s = anogan_search_default(m);
    ck_assert_int_eq(train_detect(m, train, hold, &r, &s, NULL), STATUS_OK);
    ck_assert_int_eq(train_calibrate(m, hold, &s, 90, "synthetic"), STATUS_OK);
    return m;
}

START_TEST(test_fused_is_weighted_standardised_sum)
{
    struct dataset train, hold;
    struct anogan *m = trained_model(&train, &hold);
    ck_assert_ptr_nonnull(m->det);
    ck_assert(m->det->fused);
    for (int p = 0; p < DETECT_NPARTS; p++)
        ck_assert_msg(detect_has_part(m, (enum detect_part)p), "part %s missing",
                      detect_part_name((enum detect_part)p));
    ck_assert_int_eq(m->det->knn.n, 20);
    ck_assert_int_eq(m->det->knn_pixels.n, 20);
    ck_assert_str_eq(m->cal.score, "fused");

    size_t n = hold.count;
    struct detect_result *res = malloc(n * sizeof *res);
    struct anogan_search s = anogan_search_default(m);
    ck_assert_int_eq(train_score_dataset(res, m, &hold, &s, 5, NULL, NULL, NULL, NULL), STATUS_OK);
    struct detect_recipe r = tiny_recipe();
    for (int p = 0; p < DETECT_NPARTS; p++) {
        const struct detect_norm *nm = &m->det->norm[p];
        ck_assert(m->det->weight[p] == r.weight[p]);
        double mz = 0, vz = 0;
        for (size_t i = 0; i < n; i++) {
            double zv = (res[i].part[p] - nm->mean) / nm->std;
            mz += zv / (double)n;
            vz += zv * zv / (double)n;
        }
        ck_assert_msg(fabs(mz) < 1e-3 && fabs(vz - 1) < 1e-2, "part %d: z mean %g, mean square %g",
                      p, mz, vz);
    }
    for (size_t i = 0; i < n; i++) {
        double want = 0;
        for (int p = 0; p < DETECT_NPARTS; p++)
            want += m->det->weight[p] * (res[i].part[p] - m->det->norm[p].mean) /
                    m->det->norm[p].std;
        ck_assert(fabs(res[i].score - want) <= 1e-4 * (1 + fabs(want)));
        ck_assert(res[i].part[DETECT_PART_ANOGAN] == res[i].gan.score);
    }
    free(res);
    free_dataset(&train);
    free_dataset(&hold);
    anogan_free(m);
}
END_TEST

START_TEST(test_batch_independent_and_roundtrip)
{
    struct dataset train, hold;
    struct anogan *m = trained_model(&train, &hold);
    int n = 6;
    struct anogan_search s = anogan_search_default(m);
    uint64_t seeds[6] = {1, 2, 3, 4, 5, 6};
    struct detect_ctx *c1 = detect_ctx_create(m, 1), *c6 = detect_ctx_create(m, 6);
    struct detect_result r1[6], r6[6];
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(detect_score(c1, hold.x + (size_t)i * hold.image_floats, 1, seeds + i,
                                      &s, r1 + i, NULL, NULL, NULL),
                         STATUS_OK);
    ck_assert_int_eq(detect_score(c6, hold.x, n, seeds, &s, r6, NULL, NULL, NULL), STATUS_OK);
    /* float rounding of batched products, multiplied by alpha in the Dirichlet part */
    double alpha_total = 0;
    for (int i = 0; i < geom_scored(m->det->geom) * m->det->geom->cfg.transforms; i++)
        alpha_total += m->det->geom->alpha[i];
    for (int i = 0; i < n; i++)
        for (int p = 0; p < DETECT_NPARTS; p++)
            ck_assert_msg(fabsf(r1[i].part[p] - r6[i].part[p]) <=
                              2e-4f * (1 + fabsf(r6[i].part[p])) +
                                  (p == DETECT_PART_TRANSFORM ? 1e-5f * (float)alpha_total : 0),
                          "image %d part %d: %g alone, %g in a batch", i, p, r1[i].part[p],
                          r6[i].part[p]);

    struct safetensors *st = safetensors_new();
    ck_assert_int_eq(anogan_to_safetensors(m, st), STATUS_OK);
    struct anogan *back;
    ck_assert_int_eq(anogan_from_safetensors(&back, st, "mem.safetensors"), STATUS_OK);
    ck_assert_str_eq(back->cal.score, "fused");
    ck_assert(back->cal.threshold == m->cal.threshold);
    struct detect_ctx *cb = detect_ctx_create(back, 6);
    struct detect_result rb[6];
    ck_assert_int_eq(detect_score(cb, hold.x, n, seeds, &s, rb, NULL, NULL, NULL), STATUS_OK);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < DETECT_NPARTS; p++)
            ck_assert_msg(rb[i].part[p] == r6[i].part[p], "part %d after a round trip", p);
        ck_assert(rb[i].score == r6[i].score);
    }

    /* malformed parts: each refused with a message */
    ck_assert_int_eq(safetensors_set_meta(st, "fusion.knn_transform.weight", "0"), STATUS_OK);
    ck_assert_int_eq(safetensors_set_meta(st, "fusion.knn_transform.std", "0"), STATUS_OK);
    struct anogan *bad = NULL;
    ck_assert_int_eq(anogan_from_safetensors(&bad, st, "zero-std"), STATUS_FORMAT);
    ck_assert_ptr_null(bad);
    safetensors_free(st);

    struct safetensors *st2 = safetensors_new();
    struct detect *keep = back->det;
    back->det = NULL; /* an AnoGAN-only file with a threshold said to be on the fused score */
    ck_assert_int_eq(anogan_to_safetensors(back, st2), STATUS_OK);
    ck_assert_int_eq(anogan_from_safetensors(&bad, st2, "no-fusion"), STATUS_FORMAT);
    ck_assert_msg(strstr(status_message(), "fused") != NULL, "%s", status_message());
    back->det = keep;
    safetensors_free(st2);

    detect_ctx_free(c1);
    detect_ctx_free(c6);
    detect_ctx_free(cb);
    anogan_free(back);
    free_dataset(&train);
    free_dataset(&hold);
    anogan_free(m);
}
END_TEST

START_TEST(test_anogan_only_model_unchanged)
{
    struct anogan *m = tiny_model();
    struct dataset d;
    fill_dataset(&d, 4, 9, true);
    struct anogan_search s = anogan_search_default(m);
    uint64_t seeds[4] = {7, 8, 9, 10};
    struct anogan_ctx *ac = anogan_ctx_create(m, 4);
    struct detect_ctx *dc = detect_ctx_create(m, 4);
    struct anogan_result ar[4];
    struct detect_result dr[4];
    ck_assert_int_eq(anogan_score(ac, d.x, 4, seeds, &s, ar, NULL, NULL, NULL), STATUS_OK);
    ck_assert_int_eq(detect_score(dc, d.x, 4, seeds, &s, dr, NULL, NULL, NULL), STATUS_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert(dr[i].score == ar[i].score && dr[i].gan.score == ar[i].score);
        for (int p = 1; p < DETECT_NPARTS; p++) {
            ck_assert(isnan(dr[i].part[p]));
            ck_assert(!detect_has_part(m, (enum detect_part)p));
        }
    }
    /* and its file has no parts, so it loads back without any */
    struct safetensors *st = safetensors_new();
    ck_assert_int_eq(anogan_to_safetensors(m, st), STATUS_OK);
    struct anogan *back;
    ck_assert_int_eq(anogan_from_safetensors(&back, st, "plain"), STATUS_OK);
    ck_assert_ptr_null(back->det);
    safetensors_free(st);
    anogan_free(back);
    anogan_ctx_free(ac);
    detect_ctx_free(dc);
    free_dataset(&d);
    anogan_free(m);
}
END_TEST

START_TEST(test_bank_shape_checked)
{
    struct anogan *m = tiny_model();
    struct safetensors *st = safetensors_new();
    ck_assert_int_eq(anogan_to_safetensors(m, st), STATUS_OK);
    float rows[6] = {1, 2, 3, 4, 5, 6};
    int64_t shape[1] = {6};
    ck_assert_int_eq(safetensors_add(st, "K.knn_pixels", shape, 1, rows), STATUS_OK);
    struct anogan *bad = NULL;
    ck_assert_int_eq(anogan_from_safetensors(&bad, st, "flat-bank"), STATUS_SHAPE);
    ck_assert_ptr_null(bad);
    safetensors_free(st);
    anogan_free(m);
}
END_TEST

int main(int argc, char **argv)
{
    ops_set_threads(2);
    Suite *s = suite_create("detect");
    TCase *t = tcase_create("detect");
    tcase_set_timeout(t, 600);
    tcase_add_test(t, test_fused_is_weighted_standardised_sum);
    tcase_add_test(t, test_batch_independent_and_roundtrip);
    tcase_add_test(t, test_anogan_only_model_unchanged);
    tcase_add_test(t, test_bank_shape_checked);
    suite_add_tcase(s, t);
    return tu_main(s, argc, argv);
}
