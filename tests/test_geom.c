/* test_geom: the transformation classifier and what it is built from.
 *  - xform: the transforms against PyTorch's outputs (torch.flip / reflect pad / rot90 on a 5x5
 *    arange, printed by /usr/bin/python3 with torch 1.13 and pasted here), and identities;
 *  - ops_head: global average pooling and softmax cross-entropy against central finite
 *    differences, log-softmax against a hand case;
 *  - the whole classifier (convolutions, pooling, linear head, loss): parameter gradients
 *    against central finite differences;
 *  - it learns: on a tiny synthetic set of asymmetric shapes the training loss falls and held-out
 *    transforms are recognised far above chance (1/K);
 *  - scores do not depend on the batch, and a model file round-trips bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geom.h"
#include "ops.h"
#include "rng.h"
#include "safetensors.h"
#include "testutil.h"
#include "xform.h"

/* ---- xform ---------------------------------------------------------------------------------- */

START_TEST(test_xform_matches_torch)
{
    /* (flip, dx, dy, rot) -> torch's result on arange(25).view(5, 5) */
    static const struct {
        struct xform t;
        int want[25];
    } cases[] = {
        {{false, 0, 0, 1}, {4, 9, 14, 19, 24, 3, 8, 13, 18, 23, 2, 7, 12, 17, 22, 1, 6, 11, 16,
                            21, 0, 5, 10, 15, 20}},
        {{true, 0, 0, 0}, {4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 14, 13, 12, 11, 10, 19, 18, 17, 16, 15,
                           24, 23, 22, 21, 20}},
        {{true, 1, -2, 3}, {13, 8, 3, 8, 13, 12, 7, 2, 7, 12, 11, 6, 1, 6, 11, 10, 5, 0, 5, 10,
                            11, 6, 1, 6, 11}},
        {{false, -2, 1, 2}, {17, 16, 15, 16, 17, 22, 21, 20, 21, 22, 17, 16, 15, 16, 17, 12, 11,
                             10, 11, 12, 7, 6, 5, 6, 7}},
    };
    float in[25], out[25];
    for (int i = 0; i < 25; i++)
        in[i] = (float)i;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        xform_apply(out, in, 5, &cases[c].t);
        for (int i = 0; i < 25; i++)
            ck_assert_msg(out[i] == (float)cases[c].want[i], "case %zu pixel %d: %g, want %d", c,
                          i, out[i], cases[c].want[i]);
    }
}
END_TEST

START_TEST(test_xform_sets)
{
    struct xform t[XFORM_MAX];
    ck_assert(!xform_set(t, 5, 32));
    int sizes[] = {4, 8, 72};
    for (int s = 0; s < 3; s++) {
        int K = sizes[s];
        ck_assert(xform_set(t, K, 32));
        ck_assert(!t[0].flip && !t[0].dx && !t[0].dy && !t[0].rot); /* identity first */
        /* every transform distinct, and each maps an asymmetric image to a distinct image */
        float in[32 * 32], a[32 * 32], b[32 * 32];
        tu_fill_uniform(in, 32 * 32, 7, 1.0f);
        for (int i = 0; i < K; i++) {
            for (int j = i + 1; j < K; j++) {
                xform_apply(a, in, 32, &t[i]);
                xform_apply(b, in, 32, &t[j]);
                ck_assert_msg(memcmp(a, b, sizeof a) != 0, "K %d: transforms %d and %d agree", K,
                              i, j);
            }
        }
        char text[32];
        for (int i = 0; i < K; i++) {
            struct xform back;
            xform_format(text, sizeof text, &t[i]);
            ck_assert(xform_parse(&back, text));
            ck_assert(back.flip == t[i].flip && back.dx == t[i].dx && back.dy == t[i].dy &&
                      back.rot == t[i].rot);
        }
    }
    /* the 72-set starts with the 8-set (a classifier trained on 72 may score with those 8) */
    struct xform t8[XFORM_MAX];
    ck_assert(xform_set(t8, 8, 32) && xform_set(t, 72, 32));
    for (int k = 0; k < 8; k++)
        ck_assert(t[k].flip == t8[k].flip && t[k].rot == t8[k].rot && !t[k].dx && !t[k].dy);
    struct xform x;
    ck_assert(!xform_parse(&x, "1,0,0"));
    ck_assert(!xform_parse(&x, "1,0,0,4"));
    ck_assert(!xform_parse(&x, "2,0,0,1"));
    ck_assert(!xform_parse(&x, "1,0,0,1 "));
}
END_TEST

START_TEST(test_xform_rotation_group)
{
    /* Four quarter turns are the identity; two flips too. */
    float in[36], a[36], b[36];
    tu_fill_uniform(in, 36, 3, 1.0f);
    struct xform r = {.rot = 1}, f = {.flip = true};
    memcpy(a, in, sizeof a);
    for (int i = 0; i < 4; i++) {
        xform_apply(b, a, 6, &r);
        memcpy(a, b, sizeof a);
    }
    ck_assert(memcmp(a, in, sizeof a) == 0);
    xform_apply(a, in, 6, &f);
    xform_apply(b, a, 6, &f);
    ck_assert(memcmp(b, in, sizeof b) == 0);
}
END_TEST

/* ---- ops_head ------------------------------------------------------------------------------- */

static double fd_loss_weighted(const float *out, const float *r, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)out[i] * r[i];
    return s;
}

START_TEST(test_avgpool_fd)
{
    enum { C = 3, B = 2, HW = 5 };
    float inp[C * B * HW], out[C * B], r[C * B], dinp[C * B * HW];
    tu_fill_uniform(inp, C * B * HW, 1, 1.0f);
    tu_fill_uniform(r, C * B, 2, 1.0f);
    avgpool_global_backward(dinp, r, C, B, HW);
    float eps = 1e-2f;
    for (int i = 0; i < C * B * HW; i++) {
        float x0 = inp[i];
        inp[i] = x0 + eps;
        avgpool_global_forward(out, inp, C, B, HW);
        double lp = fd_loss_weighted(out, r, C * B);
        inp[i] = x0 - eps;
        avgpool_global_forward(out, inp, C, B, HW);
        double lm = fd_loss_weighted(out, r, C * B);
        inp[i] = x0;
        double num = (lp - lm) / (2 * eps);
        ck_assert_msg(fabs(num - dinp[i]) <= 1e-4 + 1e-3 * fabs(num), "dinp[%d] %g vs %g", i, num,
                      dinp[i]);
    }
}
END_TEST

START_TEST(test_softmax_xent_fd)
{
    enum { K = 5, B = 3 };
    float logits[K * B], logp[K * B], dlogits[K * B];
    int labels[B] = {0, 4, 2};
    tu_fill_uniform(logits, K * B, 5, 3.0f);
    softmax_xent_forward(logp, logits, labels, K, B);
    softmax_xent_backward(dlogits, logp, labels, K, B);
    float eps = 1e-2f;
    for (int i = 0; i < K * B; i++) {
        float x0 = logits[i];
        logits[i] = x0 + eps;
        double lp = softmax_xent_forward(logp, logits, labels, K, B);
        logits[i] = x0 - eps;
        double lm = softmax_xent_forward(logp, logits, labels, K, B);
        logits[i] = x0;
        double num = (lp - lm) / (2 * eps);
        ck_assert_msg(fabs(num - dlogits[i]) <= 2e-4 + 2e-3 * fabs(num), "dlogits[%d] %g vs %g",
                      i, num, dlogits[i]);
    }
}
END_TEST

START_TEST(test_log_softmax_values)
{
    /* two images (columns), K = 3; huge logits must not overflow */
    float logits[6] = {1, 1000, 2, 1000, 3, 999}, logp[6];
    log_softmax_forward(logp, logits, 3, 2);
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    ck_assert(fabs(logp[0] - (1 - lse)) < 1e-6 && fabs(logp[2] - (2 - lse)) < 1e-6 &&
              fabs(logp[4] - (3 - lse)) < 1e-6);
    double lse2 = 1000 + log(2 + exp(-1.0));
    ck_assert(fabs(logp[1] - (1000 - lse2)) < 1e-4 && fabs(logp[5] - (999 - lse2)) < 1e-4);
    int labels[2] = {2, 0};
    float loss = softmax_xent_forward(logp, logits, labels, 3, 2);
    ck_assert(fabs(loss - (-(logp[4] + logp[1]) / 2)) < 1e-6);
}
END_TEST

/* ---- the classifier ------------------------------------------------------------------------- */

static struct geom_config tiny_config(void)
{
    struct geom_config c = {.transforms = 8, .side = 16, .channels = 1, .width = 8, .blocks = 2};
    return c;
}

/* An asymmetric shape (an "L" with a dot) at a random place and thickness, on a dark background,
 * in [-1, 1]: every flip and quarter turn of it looks different. */
static void shape(float *img, int S, struct rng *r)
{
    for (int i = 0; i < S * S; i++)
        img[i] = -1.0f + 0.1f * (float)rng_uniform(r);
    int x0 = 2 + (int)rng_below(r, 3), y0 = 2 + (int)rng_below(r, 3);
    int len = S / 2 + (int)rng_below(r, 3), th = 1 + (int)rng_below(r, 2);
    for (int y = y0; y < y0 + len && y < S; y++)
        for (int t = 0; t < th; t++)
            img[y * S + x0 + t] = 1.0f;
    for (int x = x0; x < x0 + len / 2 + 2 && x < S; x++)
        for (int t = 0; t < th; t++)
            img[(y0 + t) * S + x] = 1.0f;
    img[(S - 3) * S + (S - 3)] = 1.0f;
}

START_TEST(test_geom_gradients_fd)
{
    /* Loss of a small batch of pairs through the whole classifier (train-mode BatchNorm), against
     * central differences on a sample of the parameters of every block. Random inputs: on
     * near-constant images BatchNorm's tiny variances put kinks within a step's reach. */
    struct geom_config cfg = tiny_config();
    cfg.width = 2;
    struct geom *g;
    ck_assert_int_eq(geom_create(&g, &cfg, 11), STATUS_OK);
    ck_assert_int_eq(net_alloc_training(&g->feat), STATUS_OK);
    ck_assert_int_eq(net_alloc_training(&g->head), STATUS_OK);
    enum { P = 6 };
    int S = cfg.side, K = cfg.transforms;
    float *x = malloc(sizeof(float) * P * S * S);
    struct rng r;
    rng_seed(&r, 5);
    rng_fill_uniform(&r, x, (size_t)P * S * S, -1.0f, 1.0f);
    int labels[P] = {0, 3, 7, 1, 5, 2};
    struct net_ctx *fc = net_ctx_create(&g->feat, P), *hc = net_ctx_create(&g->head, P);
    int F = g->feat.cout, hw = g->feat.hout * g->feat.wout;
    float *pooled = malloc(sizeof(float) * F * P), *logp = malloc(sizeof(float) * K * P);
    float *dl = malloc(sizeof(float) * K * P), *dp = malloc(sizeof(float) * F * P);
    float *df = malloc(sizeof(float) * F * P * hw);
    /* analytic */
    net_zero_grad(&g->feat);
    net_zero_grad(&g->head);
    const float *fo = net_forward(&g->feat, fc, x, P, NET_MODE_TRAIN);
    avgpool_global_forward(pooled, fo, F, P, hw);
    softmax_xent_forward(logp, net_forward(&g->head, hc, pooled, P, NET_MODE_TRAIN), labels, K, P);
    softmax_xent_backward(dl, logp, labels, K, P);
    net_backward(&g->head, hc, dp, dl, true);
    avgpool_global_backward(df, dp, F, P, hw);
    net_backward(&g->feat, fc, NULL, df, true);
    struct net *nets[2] = {&g->feat, &g->head};
    for (int ni = 0; ni < 2; ni++) {
        struct net *n = nets[ni];
        size_t step = n->nparams / 40 + 1;
        for (size_t i = 0; i < n->nparams; i += step) {
            float p0 = n->params[i], eps = 1e-3f;
            double l[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                n->params[i] = p0 + (sgn ? -eps : eps);
                const float *o = net_forward(&g->feat, fc, x, P, NET_MODE_TRAIN);
                avgpool_global_forward(pooled, o, F, P, hw);
                l[sgn] = softmax_xent_forward(
                    logp, net_forward(&g->head, hc, pooled, P, NET_MODE_TRAIN), labels, K, P);
            }
            n->params[i] = p0;
            double num = (l[0] - l[1]) / (2 * eps), ana = n->grads[i];
            ck_assert_msg(fabs(num - ana) <= 1e-3 + 2e-2 * fmax(fabs(num), fabs(ana)),
                          "net %d param %zu: finite difference %g, analytic %g", ni, i, num, ana);
        }
    }
    free(x);
    free(pooled);
    free(logp);
    free(dl);
    free(dp);
    free(df);
    net_ctx_free(fc);
    net_ctx_free(hc);
    geom_free(g);
}
END_TEST

struct learn_log {
    float first_loss, last_loss;
    int epochs;
};

static void on_progress(void *user, const struct geom_progress *p)
{
    struct learn_log *l = user;
    if (p->epoch == 0 && p->step == 1)
        l->first_loss = p->loss;
    if (p->epoch_end) {
        l->last_loss = p->loss;
        l->epochs = p->epoch + 1;
    }
}

static float *tiny_set(int n, int S, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)n * S * S);
    struct rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        shape(x + (size_t)i * S * S, S, &r);
    return x;
}

START_TEST(test_geom_learns)
{
    struct geom_config cfg = tiny_config();
    struct geom *g;
    ck_assert_int_eq(geom_create(&g, &cfg, 1), STATUS_OK);
    int S = cfg.side, n = 256, nh = 64;
    float *x = tiny_set(n, S, 100), *xh = tiny_set(nh, S, 200);
    struct geom_ctx *c = geom_ctx_create(g, 8);
    float loss0, acc0;
    geom_evaluate(c, xh, nh, &loss0, &acc0);
    struct geom_train_config tc = geom_train_config_default();
    tc.epochs = 20;
    tc.patience = 20;
    tc.batch = 64;
    tc.adam.lr = 3e-3f;
    struct learn_log log = {0};
    struct geom_hooks h = {.progress = on_progress, .user = &log};
    ck_assert_int_eq(geom_train(g, x, n, xh, nh, &tc, &h), STATUS_OK);
    float loss1, acc1;
    geom_evaluate(c, xh, nh, &loss1, &acc1);
    ck_assert_msg(log.last_loss < 0.5f * log.first_loss, "training loss %g -> %g",
                  log.first_loss, log.last_loss);
    ck_assert_msg(loss1 < loss0, "held-out loss %g -> %g", loss0, loss1);
    ck_assert_msg(acc1 >= 0.9f, "held-out accuracy %g (chance is 1/8)", acc1);
    /* Dirichlet fit: normal images score lower than noise on average */
    ck_assert_int_eq(geom_fit_dirichlet(g, xh, nh), STATUS_OK);
    struct geom_result rn[8], ra[8];
    float *noise = malloc(sizeof(float) * 8 * S * S);
    tu_fill_uniform(noise, (size_t)8 * S * S, 9, 1.0f);
    geom_score(c, x, 8, rn, NULL, NULL);
    geom_score(c, noise, 8, ra, NULL, NULL);
    double mn = 0, ma = 0, xn = 0, xa = 0;
    for (int i = 0; i < 8; i++)
        mn += rn[i].dirichlet, ma += ra[i].dirichlet, xn += rn[i].xent, xa += ra[i].xent;
    ck_assert_msg(ma > mn && xa > xn, "noise dirichlet %g xent %g vs normal %g %g", ma, xa, mn,
                  xn);
    free(noise);
    free(x);
    free(xh);
    geom_ctx_free(c);
    geom_free(g);
}
END_TEST

START_TEST(test_geom_batch_independent_and_roundtrip)
{
    struct geom_config cfg = tiny_config();
    struct geom *g;
    ck_assert_int_eq(geom_create(&g, &cfg, 3), STATUS_OK);
    int S = cfg.side, n = 5;
    float *x = tiny_set(n, S, 300);
    /* give BatchNorm non-trivial running statistics */
    for (size_t i = 0; i < g->feat.nstats; i++)
        g->feat.stats[i] = 0.5f + 0.01f * (float)(i % 7);
    ck_assert_int_eq(geom_fit_dirichlet(g, x, n), STATUS_OK);
    double alpha_total = 0;
    for (int i = 0; i < cfg.transforms * cfg.transforms; i++)
        alpha_total += g->alpha[i];
    ck_assert(alpha_total <= 1000.0 * cfg.transforms * (1 + 1e-6)); /* the concentration cap */
    struct geom_ctx *c1 = geom_ctx_create(g, 1), *c5 = geom_ctx_create(g, 5);
    struct geom_result r1[5], r5[5];
    int F = geom_feature_size(g);
    float *f1 = malloc(sizeof(float) * n * F), *f5 = malloc(sizeof(float) * n * F);
    geom_score(c1, x, n, r1, NULL, f1); /* one image per pass */
    geom_score(c5, x, n, r5, NULL, f5); /* all five together */
    for (int i = 0; i < n; i++) {
        ck_assert(fabsf(r1[i].xent - r5[i].xent) <= 1e-5f * (1 + fabsf(r5[i].xent)));
        /* logits agree to float rounding; the Dirichlet multiplies it by alpha */
        ck_assert_msg(fabsf(r1[i].dirichlet - r5[i].dirichlet) <= 1e-5f * (float)alpha_total,
                      "image %d: Dirichlet %g alone, %g in a batch (alpha total %g)", i,
                      r1[i].dirichlet, r5[i].dirichlet, alpha_total);
    }
    ck_assert(tu_max_rel_err(f1, f5, (size_t)n * F, 1e-6) < 1e-4);

    struct safetensors *st = safetensors_new();
    ck_assert_int_eq(geom_to_safetensors(g, st), STATUS_OK);
    struct geom *back;
    ck_assert_int_eq(geom_from_safetensors(&back, st, "mem"), STATUS_OK);
    ck_assert_ptr_nonnull(back);
    ck_assert(back->has_dirichlet);
    struct geom_ctx *cb = geom_ctx_create(back, 5);
    struct geom_result rb[5];
    geom_score(cb, x, n, rb, NULL, NULL);
    for (int i = 0; i < n; i++)
        ck_assert(rb[i].xent == r5[i].xent && rb[i].dirichlet == r5[i].dirichlet);
    /* a file without a classifier loads as "none" */
    struct safetensors *empty = safetensors_new();
    struct geom *none = (struct geom *)1;
    ck_assert_int_eq(geom_from_safetensors(&none, empty, "empty"), STATUS_OK);
    ck_assert_ptr_null(none);
    /* a broken transform list is refused with a message */
    ck_assert_int_eq(safetensors_set_meta(st, "transform.list", "0,0,0,0;1,0,0"), STATUS_OK);
    ck_assert_int_eq(geom_from_safetensors(&none, st, "bad"), STATUS_FORMAT);
    ck_assert_ptr_null(none);
    safetensors_free(empty);
    safetensors_free(st);
    geom_ctx_free(cb);
    geom_free(back);
    free(f1);
    free(f5);
    free(x);
    geom_ctx_free(c1);
    geom_ctx_free(c5);
    geom_free(g);
}
END_TEST

START_TEST(test_geom_scored_subset)
{
    /* trained on all 72 transforms, scored with the first 8: probabilities over 72 classes for
     * 8 transforms, a (8, 72) Dirichlet, and a file that keeps S */
    struct geom_config cfg = tiny_config();
    cfg.transforms = 72;
    cfg.scored = 8;
    struct geom *g;
    ck_assert_int_eq(geom_create(&g, &cfg, 5), STATUS_OK);
    ck_assert_int_eq(geom_scored(g), 8);
    int S = cfg.side, n = 40, nh = 16;
    float *x = tiny_set(n, S, 400), *xh = tiny_set(nh, S, 500);
    struct geom_train_config tc = geom_train_config_default();
    tc.epochs = 1;
    ck_assert_int_eq(geom_train(g, x, n, xh, nh, &tc, NULL), STATUS_OK);
    ck_assert_int_eq(geom_fit_dirichlet(g, xh, nh), STATUS_OK);
    struct geom_ctx *c = geom_ctx_create(g, 4);
    struct geom_result r[4];
    float *probs = malloc(sizeof(float) * 4 * 8 * 72);
    geom_score(c, x, 4, r, probs, NULL);
    for (int i = 0; i < 4 * 8; i++) {
        double sum = 0;
        for (int j = 0; j < 72; j++)
            sum += probs[i * 72 + j];
        ck_assert(fabs(sum - 1) < 1e-4);
    }
    /* xent over the 8 scored transforms only */
    double want = 0;
    for (int k = 0; k < 8; k++)
        want -= log(probs[k * 72 + k]);
    ck_assert(fabs(r[0].xent - want) < 1e-3 * (1 + fabs(want)));
    struct safetensors *st = safetensors_new();
    ck_assert_int_eq(geom_to_safetensors(g, st), STATUS_OK);
    struct geom *back;
    ck_assert_int_eq(geom_from_safetensors(&back, st, "mem"), STATUS_OK);
    ck_assert_int_eq(geom_scored(back), 8);
    struct geom_ctx *cb = geom_ctx_create(back, 4);
    struct geom_result rb[4];
    geom_score(cb, x, 4, rb, NULL, NULL);
    for (int i = 0; i < 4; i++)
        ck_assert(rb[i].xent == r[i].xent && rb[i].dirichlet == r[i].dirichlet);
    safetensors_free(st);
    geom_ctx_free(cb);
    geom_free(back);
    geom_ctx_free(c);
    free(probs);
    free(x);
    free(xh);
    geom_free(g);
}
END_TEST

START_TEST(test_geom_config_checked)
{
    struct geom *g;
    struct geom_config c = tiny_config();
    c.side = 18; /* not divisible by 2^2 */
    ck_assert_int_eq(geom_create(&g, &c, 0), STATUS_RANGE);
    c = tiny_config();
    c.transforms = 6;
    ck_assert_int_eq(geom_create(&g, &c, 0), STATUS_RANGE);
    c = tiny_config();
    c.scored = 9; /* more than K */
    ck_assert_int_eq(geom_create(&g, &c, 0), STATUS_RANGE);
}
END_TEST

int main(int argc, char **argv)
{
    ops_set_threads(2);
    Suite *s = suite_create("geom");
    TCase *t = tcase_create("xform");
    tcase_add_test(t, test_xform_matches_torch);
    tcase_add_test(t, test_xform_sets);
    tcase_add_test(t, test_xform_rotation_group);
    suite_add_tcase(s, t);
    TCase *h = tcase_create("head_ops");
    tcase_add_test(h, test_avgpool_fd);
    tcase_add_test(h, test_softmax_xent_fd);
    tcase_add_test(h, test_log_softmax_values);
    suite_add_tcase(s, h);
    TCase *c = tcase_create("classifier");
    tcase_set_timeout(c, 600);
    tcase_add_test(c, test_geom_gradients_fd);
    tcase_add_test(c, test_geom_learns);
    tcase_add_test(c, test_geom_batch_independent_and_roundtrip);
    tcase_add_test(c, test_geom_scored_subset);
    tcase_add_test(c, test_geom_config_checked);
    suite_add_tcase(s, c);
    return tu_main(s, argc, argv);
}
