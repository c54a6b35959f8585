/* test_encoder: the f-AnoGAN encoder against PyTorch (tests/data/encoder_golden.safetensors, made
 * by tools/encoder_golden.py): E(x) in eval and train mode, BatchNorm running statistics after a
 * train-mode pass, and the izi_f objective with its gradient for every encoder parameter, computed
 * through the same net API the trainer uses, and that gradient against finite differences. Also:
 * a model with an encoder scores from E(x). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anogan.h"
#include "safetensors.h"
#include "testutil.h"

#define B 3
#define TOL 1e-4

static struct safetensors *golden;
static struct anogan *model;

static void setup(void)
{
    char path[1024];
    tu_source_path(path, sizeof path, "tests/data/encoder_golden.safetensors");
    ck_assert_msg(safetensors_load(&golden, path) == STATUS_OK, "%s", status_message());
    ck_assert_msg(anogan_load(&model, path) == STATUS_OK, "%s", status_message());
    ck_assert(model->has_encoder);
    ck_assert_int_eq(model->cfg.zdim, 6);
    ck_assert_int_eq(model->cfg.width, 8);
}

static void teardown(void)
{
    anogan_free(model);
    safetensors_free(golden);
}

static const float *tensor(const char *name, size_t numel)
{
    const struct safetensors_tensor *t = safetensors_find(golden, name);
    ck_assert_msg(t != NULL, "golden tensor %s missing", name);
    ck_assert_uint_eq(t->numel, numel);
    return t->data;
}

/* max |got - want| / max |want|, as test_anogan explains */
static void check_close(const char *what, const float *got, const float *want, size_t n)
{
    double e = tu_max_err_over_peak(got, want, n, NULL);
    printf("%-44s normalised max error %.3g\n", what, e);
    ck_assert_msg(e < TOL, "%s: %g", what, e);
}

/* (Z, B) net output to (B, Z) */
static void transpose(float *dst, const float *src, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            dst[c * rows + r] = src[r * cols + c];
}

START_TEST(test_encoder_forward_eval_and_train)
{
    setup();
    const float *x = tensor("in.x", B * 4096); /* C = 1: NCHW is (C, B, H, W) */
    struct net_ctx *c = net_ctx_create(&model->enc, B);
    float z[B * 6];
    transpose(z, net_forward(&model->enc, c, x, B, NET_MODE_EVAL), 6, B);
    check_close("E(x), eval mode", z, tensor("out.E_x_eval", B * 6), B * 6);
    transpose(z, net_forward(&model->enc, c, x, B, NET_MODE_TRAIN), 6, B);
    check_close("E(x), train mode (batch statistics)", z, tensor("out.E_x_train", B * 6), B * 6);
    for (int i = 0; i < 4; i++) {
        char name[128];
        int C = model->enc.blocks[i].spec.cout;
        snprintf(name, sizeof name, "out.after_train_forward.E.feature_network.%d.1.running_mean", i);
        check_close(name, model->enc.blocks[i].bn_mean, tensor(name, C), C);
        snprintf(name, sizeof name, "out.after_train_forward.E.feature_network.%d.1.running_var", i);
        check_close(name, model->enc.blocks[i].bn_var, tensor(name, C), C);
    }
    net_ctx_free(c);
    teardown();
}
END_TEST

/* izi_f of the encoder at x (G and D frozen, eval mode; E in `mode`), in double; with grads, the
 * encoder's parameter gradients are accumulated into model->enc.grads (zeroed first). */
static double izif_loss(const float *x, float kappa, enum net_mode mode, int grads)
{
    struct net_ctx *ce = net_ctx_create(&model->enc, B), *cg = net_ctx_create(&model->g, B);
    struct net_ctx *cd = net_ctx_create(&model->d_feat, B);
    size_t nx = B * 4096, nf = B * anogan_feature_size(model);
    float *fx = malloc(nf * sizeof(float)), *gx = malloc(nx * sizeof(float));
    float *dgx = malloc(nx * sizeof(float)), *dgx_f = malloc(nx * sizeof(float));
    float *dfg = malloc(nf * sizeof(float)), *dz = malloc(B * 6 * sizeof(float));
    float *stats = malloc(model->enc.nstats * sizeof(float));
    memcpy(stats, model->enc.stats, model->enc.nstats * sizeof(float)); /* train mode moves them */
    memcpy(fx, net_forward(&model->d_feat, cd, x, B, NET_MODE_EVAL), nf * sizeof(float));
    const float *z = net_forward(&model->enc, ce, x, B, mode);
    memcpy(gx, net_forward(&model->g, cg, z, B, NET_MODE_EVAL), nx * sizeof(float));
    const float *fg = net_forward(&model->d_feat, cd, gx, B, NET_MODE_EVAL);
    double lx = 0, lf = 0;
    for (size_t i = 0; i < nx; i++) {
        double d = (double)gx[i] - x[i];
        lx += d * d;
        dgx[i] = (float)(2 * d / (double)nx);
    }
    for (size_t i = 0; i < nf; i++) {
        double d = (double)fg[i] - fx[i];
        lf += d * d;
        dfg[i] = (float)(kappa * 2 * d / (double)nf);
    }
    if (grads) {
        net_zero_grad(&model->enc);
        net_backward(&model->d_feat, cd, dgx_f, dfg, false);
        for (size_t i = 0; i < nx; i++)
            dgx[i] += dgx_f[i];
        net_backward(&model->g, cg, dz, dgx, false);
        net_backward(&model->enc, ce, NULL, dz, true);
    }
    memcpy(model->enc.stats, stats, model->enc.nstats * sizeof(float));
    free(fx), free(gx), free(dgx), free(dgx_f), free(dfg), free(dz), free(stats);
    net_ctx_free(ce), net_ctx_free(cg), net_ctx_free(cd);
    return lx / (double)nx + kappa * lf / (double)nf;
}

/* izi_f = mean (G(E(x)) - x)^2 + kappa * mean (f(G(E(x))) - f(x))^2, E in train mode, G and D
 * frozen in eval mode; gradients of every encoder parameter. */
START_TEST(test_izif_gradient)
{
    setup();
    const float *x = tensor("in.x", B * 4096);
    ck_assert_int_eq(net_alloc_training(&model->enc), STATUS_OK);
    float loss = (float)izif_loss(x, 1.0f, NET_MODE_TRAIN, 1);
    check_close("izi_f loss", &loss, tensor("out.izif_loss", 1), 1);
    /* every encoder parameter's gradient, by PyTorch name */
    static const char *bn[] = {"weight", "bias"};
    for (int i = 0; i < model->enc.nblocks; i++) {
        struct net_block *b = &model->enc.blocks[i];
        char name[128];
        size_t nw = (size_t)b->spec.cout * b->cin * 16;
        if (i < 4)
            snprintf(name, sizeof name, "grad.E.feature_network.%d.0.weight", i);
        else
            snprintf(name, sizeof name, "grad.E.latent_network.weight");
        check_close(name, b->dweight, tensor(name, nw), nw);
        if (i < 4) {
            /* a conv bias before BatchNorm has no effect: PyTorch's gradient is ~0, ours 0 */
            for (int k = 0; k < 2; k++) {
                snprintf(name, sizeof name, "grad.E.feature_network.%d.1.%s", i, bn[k]);
                check_close(name, k ? b->dbn_beta : b->dbn_gamma, tensor(name, b->spec.cout),
                            b->spec.cout);
            }
        } else {
            check_close("grad.E.latent_network.bias", b->dbias,
                        tensor("grad.E.latent_network.bias", b->spec.cout), b->spec.cout);
        }
    }
    teardown();
}
END_TEST

/* The encoder's backward pass against central finite differences of izi_f, in train mode (batch
 * statistics, as the trainer runs it; net.c takes no parameter gradients in eval mode), on the
 * parameters with the largest gradients of every block (where a difference quotient has signal
 * above float rounding; steps of 3 % of a weight, smaller ones drown in the float32 forward's
 * rounding: 2 % agreement at this step, 16 % at a tenth of it). */
START_TEST(test_izif_finite_differences)
{
    setup();
    const float *x = tensor("in.x", B * 4096);
    ck_assert_int_eq(net_alloc_training(&model->enc), STATUS_OK);
    {
        const int mode = NET_MODE_TRAIN;
        izif_loss(x, 1.0f, (enum net_mode)mode, 1);
        float *grad = malloc(model->enc.nparams * sizeof(float));
        memcpy(grad, model->enc.grads, model->enc.nparams * sizeof(float));
        int checked = 0;
        for (int i = 0; i < model->enc.nblocks; i++) {
            struct net_block *b = &model->enc.blocks[i];
            size_t off = (size_t)(b->weight - model->enc.params);
            size_t nw = (size_t)b->spec.cout * (size_t)b->cin * 16;
            for (int pick = 0; pick < 3; pick++) { /* the 3 largest |gradient| of the weight */
                size_t best = off;
                for (size_t j = off; j < off + nw; j++)
                    if (fabsf(grad[j]) > fabsf(grad[best]))
                        best = j;
                float *w = &model->enc.params[best], w0 = *w;
                const float eps = 3e-2f * fmaxf(fabsf(w0), 0.05f);
                *w = w0 + eps;
                double lp = izif_loss(x, 1.0f, (enum net_mode)mode, 0);
                *w = w0 - eps;
                double lm = izif_loss(x, 1.0f, (enum net_mode)mode, 0);
                *w = w0;
                double fd = (lp - lm) / (2.0 * eps), an = grad[best];
                printf("block %d param %zu: analytic %.6g, finite difference %.6g\n", i,
                       best - off, an, fd);
                ck_assert_msg(fabs(fd - an) <= 5e-2 * fabs(an),
                              "block %d param %zu: analytic %g, finite difference %g", i,
                              best - off, an, fd);
                grad[best] = 0; /* next pick: the next largest */
                checked++;
            }
        }
        ck_assert_int_eq(checked, 3 * model->enc.nblocks);
        free(grad);
    }
    teardown();
}
END_TEST

/* With an encoder, the search can start from E(x): zero steps gives the score at z = E(x). */
START_TEST(test_encoder_start)
{
    setup();
    const float *x = tensor("in.x", B * 4096);
    struct anogan_ctx *c = anogan_ctx_create(model, B);
    struct anogan_search s = {.init = ANOGAN_INIT_ENCODER, .iterations = 0, .lr = 0.05f};
    struct anogan_result res[B], at[B];
    float z[B * 6];
    ck_assert_int_eq(anogan_score(c, x, B, NULL, &s, res, NULL, z, NULL), STATUS_OK);
    check_close("z0 = E(x)", z, tensor("out.E_x_eval", B * 6), B * 6); /* both (B, Z) */
    anogan_score_at(c, x, z, B, at, NULL);
    for (int b = 0; b < B; b++) {
        ck_assert_int_eq(res[b].iterations, 0);
        ck_assert_float_eq_tol(res[b].score, at[b].score, 1e-4f * at[b].score);
    }
    /* a few refinement steps lower the score */
    s.iterations = 5;
    struct anogan_result refined[B];
    ck_assert_int_eq(anogan_score(c, x, B, NULL, &s, refined, NULL, NULL, NULL), STATUS_OK);
    for (int b = 0; b < B; b++)
        ck_assert(refined[b].score < res[b].score);
    anogan_ctx_free(c);
    teardown();
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("encoder");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_encoder_forward_eval_and_train);
    tcase_add_test(tc, test_izif_gradient);
    tcase_add_test(tc, test_izif_finite_differences);
    tcase_add_test(tc, test_encoder_start);
    suite_add_tcase(s, tc);
    return tu_main(s, argc, argv);
}
