/* test_train: the training loops on a tiny model (width 4) and synthetic images, a few steps
 * each: BCE-with-logits, losses finite and falling where they must (D against a frozen G, the
 * encoder against frozen G and D), frozen nets left untouched, checkpoints that resume bit for
 * bit (at an epoch boundary and mid-epoch after a cancel), NaN stopping with the last good
 * checkpoint kept, calibration, and the sample pictures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "anogan.h"
#include "image.h"
#include "ops.h"
#include "testutil.h"
#include "train.h"
#include "train_impl.h" /* train_bce_logits */

static char dir[256], ckpt[300];

static void setup(void)
{
    ops_set_threads(1);
    snprintf(dir, sizeof dir, "/tmp/test_train.%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(ckpt, sizeof ckpt, "%s/m.ckpt.safetensors", dir);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct anogan *tiny_model(uint64_t seed)
{
    struct anogan_config c = anogan_config_seed();
    c.width = 4;
    c.mean = c.std = 0.5f;
    struct anogan *m = NULL;
    ck_assert_int_eq(anogan_create(&m, &c, seed), STATUS_OK);
    return m;
}

/* n synthetic 64x64 images in [-1, 1]: a bright 16x16 square on a dark ground, placed by i. */
static void synth(struct dataset *ds, size_t n)
{
    memset(ds, 0, sizeof *ds);
    ds->count = n;
    ds->image_floats = 64 * 64;
    ds->x = malloc(n * 64 * 64 * sizeof(float));
    ds->labels = malloc(n * sizeof(int));
    ds->source = malloc(n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        int ox = 8 + (int)(i * 7 % 32), oy = 8 + (int)(i * 13 % 32);
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++)
                ds->x[i * 4096 + (size_t)y * 64 + (size_t)x] =
                    (x >= ox && x < ox + 16 && y >= oy && y < oy + 16) ? 0.9f : -0.9f;
        ds->labels[i] = -1;
        ds->source[i] = i;
    }
}

static struct train_config tiny_config(void)
{
    struct train_config c = train_config_default();
    c.batch = 8;
    c.epochs = 2;
    c.encoder_epochs = 2;
    c.checkpoint_every = 1;
    c.seed = 3;
    return c;
}

#define MAX_LOG 256
struct log {
    int n;
    float d[MAX_LOG], g[MAX_LOG], e[MAX_LOG];
    int cancel_at; /* step number (1-based, overall) after which to raise cancel */
    volatile int cancel;
};

static void record(void *user, const struct train_progress *p)
{
    struct log *l = user;
    if (l->n < MAX_LOG) {
        l->d[l->n] = p->loss_d;
        l->g[l->n] = p->loss_g;
        l->e[l->n] = p->loss_e;
    }
    l->n++;
    if (l->cancel_at && l->n == l->cancel_at)
        l->cancel = 1;
}

static float mean_of(const float *v, int from, int to)
{
    double s = 0;
    for (int i = from; i < to; i++)
        s += v[i];
    return (float)(s / (to - from));
}

START_TEST(test_bce_logits)
{
    float logit[4] = {0.0f, 2.0f, -3.0f, 100.0f}, d[4], prob;
    float loss = train_bce_logits(d, &prob, logit, 1.0f, 4);
    double want = (log(2.0) + log1p(exp(-2.0)) + (3.0 + log1p(exp(-3.0))) + log1p(exp(-100.0))) / 4;
    ck_assert_double_eq_tol(loss, want, 1e-6);
    ck_assert_float_eq_tol(d[0], (0.5f - 1.0f) / 4, 1e-7);
    /* extreme logits stay finite */
    float ext[2] = {-1000.0f, 1000.0f};
    float le = train_bce_logits(d, &prob, ext, 0.0f, 2);
    ck_assert(isfinite(le) && isfinite(d[0]) && isfinite(d[1]));
    ck_assert_float_eq_tol(le, 500.0f, 1e-3);
    /* the gradient against central differences, with a smoothed target */
    float l3[3] = {0.3f, -1.2f, 2.5f}, g3[3], tmp[3];
    train_bce_logits(g3, &prob, l3, 0.9f, 3);
    for (int i = 0; i < 3; i++) {
        float h = 1e-2f, save = l3[i];
        l3[i] = save + h;
        float up = train_bce_logits(tmp, &prob, l3, 0.9f, 3);
        l3[i] = save - h;
        float dn = train_bce_logits(tmp, &prob, l3, 0.9f, 3);
        l3[i] = save;
        ck_assert_float_eq_tol(g3[i], (up - dn) / (2 * h), 1e-4);
    }
}
END_TEST

/* With G frozen (lr 0), D's loss must fall: it learns to tell the squares from G's output. */
START_TEST(test_discriminator_learns)
{
    struct anogan *m = tiny_model(1);
    struct dataset ds;
    synth(&ds, 32);
    struct train_config c = tiny_config();
    c.epochs = 6;
    c.adam_g.lr = 0.0f;
    c.adam_d.lr = 2e-3f;
    c.checkpoint_path = NULL;
    struct log l = {0};
    struct train_hooks h = {record, &l, NULL};
    struct train_state s;
    train_state_init(&s, c.seed);
    float *g0 = malloc(m->g.nparams * sizeof(float));
    memcpy(g0, m->g.params, m->g.nparams * sizeof(float));
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, &h), STATUS_OK);
    ck_assert_int_eq(l.n, 24);
    for (int i = 0; i < l.n; i++)
        ck_assert(isfinite(l.d[i]) && isfinite(l.g[i]));
    ck_assert_msg(mean_of(l.d, 20, 24) < 0.7f * mean_of(l.d, 0, 4), "D loss %g -> %g",
                  mean_of(l.d, 0, 4), mean_of(l.d, 20, 24));
    ck_assert_int_eq(memcmp(g0, m->g.params, m->g.nparams * sizeof(float)), 0); /* lr 0 */
    ck_assert_int_eq(s.phase, TRAIN_PHASE_ENCODER);
    ck_assert_int_eq(s.t_d, 24);
    free(g0);
    train_state_free(&s);
    dataset_free(&ds);
    anogan_free(m);
}
END_TEST

/* The encoder's loss falls, and G and D (weights and running statistics) stay exactly frozen. */
START_TEST(test_encoder_learns_frozen_gd)
{
    struct anogan *m = tiny_model(2);
    struct dataset ds;
    synth(&ds, 32);
    struct train_config c = tiny_config();
    c.encoder_epochs = 8;
    c.adam_e.lr = 2e-3f;
    c.checkpoint_path = NULL;
    struct train_state s;
    train_state_init(&s, c.seed);
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, NULL), STATUS_OK);
    size_t ng = m->g.nparams, nd = m->d_feat.nparams;
    float *g0 = malloc(ng * sizeof(float)), *d0 = malloc(nd * sizeof(float));
    float *gs = malloc(m->g.nstats * sizeof(float)), *ds0 = malloc(m->d_feat.nstats * sizeof(float));
    memcpy(g0, m->g.params, ng * sizeof(float));
    memcpy(d0, m->d_feat.params, nd * sizeof(float));
    memcpy(gs, m->g.stats, m->g.nstats * sizeof(float));
    memcpy(ds0, m->d_feat.stats, m->d_feat.nstats * sizeof(float));
    struct log l = {0};
    struct train_hooks h = {record, &l, NULL};
    ck_assert_int_eq(train_encoder(m, &s, &ds, &c, &h), STATUS_OK);
    ck_assert(m->has_encoder);
    ck_assert_int_eq(l.n, 32);
    ck_assert_msg(mean_of(l.e, 28, 32) < mean_of(l.e, 0, 4), "encoder loss %g -> %g",
                  mean_of(l.e, 0, 4), mean_of(l.e, 28, 32));
    ck_assert_int_eq(memcmp(g0, m->g.params, ng * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(d0, m->d_feat.params, nd * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(gs, m->g.stats, m->g.nstats * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(ds0, m->d_feat.stats, m->d_feat.nstats * sizeof(float)), 0);
    ck_assert_int_eq(s.phase, TRAIN_PHASE_DONE);
    free(g0);
    free(d0);
    free(gs);
    free(ds0);
    train_state_free(&s);
    dataset_free(&ds);
    anogan_free(m);
}
END_TEST

static void assert_same_nets(const struct anogan *a, const struct anogan *b)
{
    const struct net *na[] = {&a->g, &a->d_feat, &a->d_critic, &a->enc};
    const struct net *nb[] = {&b->g, &b->d_feat, &b->d_critic, &b->enc};
    ck_assert_int_eq(a->has_encoder, b->has_encoder);
    for (int i = 0; i < (a->has_encoder ? 4 : 3); i++) {
        ck_assert_uint_eq(na[i]->nparams, nb[i]->nparams);
        ck_assert_msg(!memcmp(na[i]->params, nb[i]->params, na[i]->nparams * sizeof(float)),
                      "net %d parameters differ", i);
        ck_assert_msg(!memcmp(na[i]->stats, nb[i]->stats, na[i]->nstats * sizeof(float)),
                      "net %d running statistics differ", i);
        ck_assert(!memcmp(na[i]->adam_m, nb[i]->adam_m, na[i]->nparams * sizeof(float)));
    }
}

/* Both phases straight through. */
static struct anogan *straight_run(const struct dataset *ds, const struct train_config *c)
{
    struct anogan *m = tiny_model(5);
    struct train_state s;
    train_state_init(&s, c->seed);
    ck_assert_int_eq(train_gan(m, &s, ds, c, NULL), STATUS_OK);
    ck_assert_int_eq(train_encoder(m, &s, ds, c, NULL), STATUS_OK);
    train_state_free(&s);
    return m;
}

/* Interrupted after `cancel_at` steps, then resumed from the checkpoint to the end. */
static struct anogan *interrupted_run(const struct dataset *ds, const struct train_config *c,
                                      int cancel_at)
{
    struct anogan *m = tiny_model(5);
    struct train_state s;
    train_state_init(&s, c->seed);
    struct log l = {.cancel_at = cancel_at};
    struct train_hooks h = {record, &l, &l.cancel};
    enum status st = train_gan(m, &s, ds, c, &h);
    if (st == STATUS_OK)
        st = train_encoder(m, &s, ds, c, &h);
    ck_assert_int_eq(st, STATUS_CANCELLED);
    ck_assert_ptr_nonnull(strstr(status_message(), "checkpoint written"));
    anogan_free(m);
    train_state_free(&s);
    /* a fresh process would start here */
    ck_assert_int_eq(train_checkpoint_load(&m, &s, ckpt), STATUS_OK);
    if (s.phase == TRAIN_PHASE_GAN)
        ck_assert_int_eq(train_gan(m, &s, ds, c, NULL), STATUS_OK);
    ck_assert_int_eq(train_encoder(m, &s, ds, c, NULL), STATUS_OK);
    train_state_free(&s);
    return m;
}

START_TEST(test_resume_is_exact)
{
    struct dataset ds;
    synth(&ds, 20); /* 3 steps per epoch, the last one short */
    struct train_config c = tiny_config();
    c.checkpoint_path = ckpt;
    struct anogan *a = straight_run(&ds, &c);
    /* mid-epoch in the GAN phase, at an epoch boundary, and in the encoder phase */
    int cuts[] = {4, 3, 8};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        struct anogan *b = interrupted_run(&ds, &c, cuts[i]);
        assert_same_nets(a, b);
        anogan_free(b);
    }
    anogan_free(a);
    dataset_free(&ds);
}
END_TEST

START_TEST(test_nan_keeps_last_checkpoint)
{
    struct anogan *m = tiny_model(6);
    struct dataset ds;
    synth(&ds, 16);
    struct train_config c = tiny_config();
    c.epochs = 1;
    c.checkpoint_path = ckpt;
    struct train_state s;
    train_state_init(&s, c.seed);
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, NULL), STATUS_OK);
    train_state_free(&s);
    anogan_free(m);
    /* resume for more epochs on data that has gone bad */
    ck_assert_int_eq(train_checkpoint_load(&m, &s, ckpt), STATUS_OK);
    ck_assert_int_eq(s.epoch, 1);
    struct stat before;
    ck_assert_int_eq(stat(ckpt, &before), 0);
    for (size_t i = 0; i < 64 * 64; i++)
        ds.x[5 * 64 * 64 + i] = NAN;
    c.epochs = 3;
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, NULL), STATUS_NUMERIC);
    ck_assert_ptr_nonnull(strstr(status_message(), "NaN"));
    ck_assert_ptr_nonnull(strstr(status_message(), "last good checkpoint"));
    train_state_free(&s);
    anogan_free(m);
    /* the checkpoint on disk is the good one from epoch 1 */
    ck_assert_int_eq(train_checkpoint_load(&m, &s, ckpt), STATUS_OK);
    ck_assert_int_eq(s.epoch, 1);
    ck_assert_int_eq(s.phase, TRAIN_PHASE_GAN);
    struct stat after;
    ck_assert_int_eq(stat(ckpt, &after), 0);
    ck_assert(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
              before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    train_state_free(&s);
    anogan_free(m);
    dataset_free(&ds);
}
END_TEST

START_TEST(test_calibrate_and_pictures)
{
    struct anogan *m = tiny_model(7);
    struct dataset ds;
    synth(&ds, 24);
    struct train_config c = tiny_config();
    c.epochs = 1;
    c.encoder_epochs = 1;
    c.checkpoint_path = ckpt;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/m", dir);
    c.samples_prefix = prefix;
    struct train_state s;
    train_state_init(&s, c.seed);
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, NULL), STATUS_OK);
    ck_assert_int_eq(train_encoder(m, &s, &ds, &c, NULL), STATUS_OK);
    train_state_free(&s);

    struct anogan_search search = {ANOGAN_INIT_ENCODER, 3, 5e-2f, 0, 0};
    ck_assert_int_eq(train_calibrate(m, &ds, &search, 90, "24 synthetic"), STATUS_OK);
    const struct anogan_calibration *cal = &m->cal;
    ck_assert(cal->present);
    ck_assert_int_eq(cal->count, 24);
    ck_assert(cal->p50 <= cal->p90 && cal->p90 <= cal->p99 && cal->p99 <= cal->max);
    ck_assert_float_eq(cal->threshold, cal->p90);
    ck_assert_str_eq(cal->search, "encoder");
    ck_assert_str_eq(cal->score, "anogan"); /* an AnoGAN-only model: the threshold is on its score */
    ck_assert_int_eq(cal->iterations, 3);
    ck_assert_str_eq(cal->data, "24 synthetic");
    /* the threshold separates the held-out scores as a 90th percentile should */
    struct detect_result *res = malloc(24 * sizeof *res);
    ck_assert_int_eq(train_score_dataset(res, m, &ds, &search, 5, NULL, NULL, NULL, NULL), STATUS_OK);
    int above = 0;
    for (int i = 0; i < 24; i++)
        above += res[i].score > cal->threshold;
    ck_assert_int_le(above, 3);
    free(res);
    ck_assert_int_eq(train_calibrate(m, &ds, &search, 0, "x"), STATUS_RANGE);

    /* a checkpoint is also a model file; the pictures decode */
    struct anogan *loaded = NULL;
    ck_assert_int_eq(anogan_load(&loaded, ckpt), STATUS_OK);
    ck_assert(loaded->has_encoder);
    anogan_free(loaded);
    char path[400];
    struct image img;
    snprintf(path, sizeof path, "%s-gan-e001.png", prefix);
    ck_assert_int_eq(image_load_png(&img, path, 4096, 1 << 24), STATUS_OK);
    ck_assert_int_eq(img.width, 8 * 66 + 2); /* 8 x 8 tiles of 64 with 2-pixel gutters */
    image_free(&img);
    snprintf(path, sizeof path, "%s-encoder-e001.png", prefix);
    ck_assert_int_eq(image_load_png(&img, path, 4096, 1 << 24), STATUS_OK);
    ck_assert_int_eq(img.height, 4 * 66 + 2); /* 16 images over their reconstructions */
    image_free(&img);
    dataset_free(&ds);
    anogan_free(m);
}
END_TEST

START_TEST(test_bad_arguments)
{
    struct anogan *m = tiny_model(8);
    struct dataset ds;
    synth(&ds, 8);
    struct train_config c = tiny_config();
    c.batch = 1;
    struct train_state s;
    train_state_init(&s, 0);
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, NULL), STATUS_RANGE);
    c.batch = 4;
    ds.image_floats = 100;
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, NULL), STATUS_SHAPE);
    ds.image_floats = 4096;
    /* a checkpoint made on other data does not continue on this */
    c.checkpoint_path = ckpt;
    c.epochs = 1;
    struct log l = {.cancel_at = 1};
    struct train_hooks h = {record, &l, &l.cancel};
    ck_assert_int_eq(train_gan(m, &s, &ds, &c, &h), STATUS_CANCELLED);
    train_state_free(&s);
    anogan_free(m);
    ck_assert_int_eq(train_checkpoint_load(&m, &s, ckpt), STATUS_OK);
    struct dataset other;
    synth(&other, 12);
    ck_assert_int_eq(train_gan(m, &s, &other, &c, NULL), STATUS_SHAPE);
    ck_assert_ptr_nonnull(strstr(status_message(), "same data"));
    train_state_free(&s);
    anogan_free(m);
    dataset_free(&other);
    dataset_free(&ds);
    /* a plain model file is not a checkpoint */
    m = tiny_model(9);
    char path[400];
    snprintf(path, sizeof path, "%s/plain.safetensors", dir);
    ck_assert_int_eq(anogan_save(m, path), STATUS_OK);
    anogan_free(m);
    ck_assert_int_eq(train_checkpoint_load(&m, &s, path), STATUS_FORMAT);
    ck_assert_ptr_null(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_bce_logits);
    tcase_add_test(tc, test_discriminator_learns);
    tcase_add_test(tc, test_encoder_learns_frozen_gd);
    tcase_add_test(tc, test_resume_is_exact);
    tcase_add_test(tc, test_nan_keeps_last_checkpoint);
    tcase_add_test(tc, test_calibrate_and_pictures);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
