/* train_encoder: the f-AnoGAN encoder step (izi_f) on the shared driver of train.c.
 * G and D stay frozen in eval mode (their running statistics are not touched); only E learns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_impl.h"

struct enc_bufs {
    struct net_ctx *e, *g, *dx, *dg;
    float *dfg, *dgx, *dgx_d, *dz;
};

static enum status enc_step(struct train_loop *L, int B, struct train_progress *p)
{
    struct anogan *m = L->m;
    struct enc_bufs *w = L->impl;
    float kappa = L->cfg->kappa;
    size_t nx = anogan_image_size(m) * (size_t)B, nf = anogan_feature_size(m) * (size_t)B;

    const float *z = net_forward(&m->enc, w->e, L->xb, B, NET_MODE_TRAIN);
    const float *gx = net_forward(&m->g, w->g, z, B, NET_MODE_EVAL);
    double sx = 0;
    for (size_t i = 0; i < nx; i++) {
        float d = gx[i] - L->xb[i];
        sx += (double)d * d;
        w->dgx[i] = 2.0f * d / (float)nx;
    }
    double sf = 0;
    if (kappa > 0) {
        /* the feature term: d/d G(E(x)) of kappa * mean (f(G(E(x))) - f(x))^2, through D */
        const float *fx = net_forward(&m->d_feat, w->dx, L->xb, B, NET_MODE_EVAL);
        const float *fg = net_forward(&m->d_feat, w->dg, gx, B, NET_MODE_EVAL);
        for (size_t i = 0; i < nf; i++) {
            float d = fg[i] - fx[i];
            sf += (double)d * d;
            w->dfg[i] = kappa * 2.0f * d / (float)nf;
        }
        net_backward(&m->d_feat, w->dg, w->dgx_d, w->dfg, false);
        for (size_t i = 0; i < nx; i++)
            w->dgx[i] += w->dgx_d[i];
    }
    net_backward(&m->g, w->g, w->dz, w->dgx, false);
    net_zero_grad(&m->enc);
    net_backward(&m->enc, w->e, NULL, w->dz, true);
    L->state->t_e++;
    net_adam_step(&m->enc, &L->cfg->adam_e, L->state->t_e);
    p->mse_x = (float)(sx / (double)nx);
    p->mse_f = (float)(sf / (double)nf);
    p->loss_e = p->mse_x + kappa * p->mse_f;
    return STATUS_OK;
}

static enum status enc_pictures(struct train_loop *L, int epoch)
{
    if (!L->cfg->samples_prefix)
        return STATUS_OK;
    char path[4096];
    train_picture_path(path, sizeof path, L->cfg->samples_prefix, "encoder", epoch);
    int n = L->data->count < 16 ? (int)L->data->count : 16;
    return train_save_reconstructions(L->m, L->data->x, n, path);
}

enum status train_encoder(struct anogan *m, struct train_state *state, const struct dataset *data,
                          const struct train_config *cfg, const struct train_hooks *hooks)
{
    ASSERT(state->phase == TRAIN_PHASE_ENCODER);
    if (data->image_floats != anogan_image_size(m))
        return status_fail(STATUS_SHAPE, "data images have %zu values, the model takes %zu",
                           data->image_floats, anogan_image_size(m));
    if (cfg->batch < 2 || cfg->encoder_epochs < 0 || !(cfg->kappa >= 0))
        return status_fail(STATUS_RANGE, "batch %d, encoder epochs %d, kappa %g: need batch >= 2"
                           ", epochs >= 0, kappa >= 0", cfg->batch, cfg->encoder_epochs,
                           cfg->kappa);
    enum status st;
    bool fresh = state->epoch == 0 && state->step == 0 && state->t_e == 0;
    if ((!m->has_encoder || fresh) &&
        (st = anogan_add_encoder(m, cfg->seed ^ 0x656e636f646572ull)))
        return st;
    if ((st = net_alloc_training(&m->enc)))
        return st;
    int B = cfg->batch;
    struct enc_bufs w = {0};
    struct train_loop L = {m, state, data, cfg, hooks, cfg->encoder_epochs, NULL, NULL,
                           enc_step, enc_pictures, &w};
    size_t img = anogan_image_size(m), feat = anogan_feature_size(m);
    w.e = net_ctx_create(&m->enc, B);
    w.g = net_ctx_create(&m->g, B);
    w.dx = net_ctx_create(&m->d_feat, B);
    w.dg = net_ctx_create(&m->d_feat, B);
    w.dfg = malloc(feat * (size_t)B * sizeof(float));
    w.dgx = malloc(img * (size_t)B * sizeof(float));
    w.dgx_d = malloc(img * (size_t)B * sizeof(float));
    w.dz = malloc((size_t)m->cfg.zdim * (size_t)B * sizeof(float));
    L.xb = malloc(img * (size_t)B * sizeof(float));
    L.batch_idx = malloc((size_t)B * sizeof(int));
    if (!w.e || !w.g || !w.dx || !w.dg || !w.dfg || !w.dgx || !w.dgx_d || !w.dz || !L.xb ||
        !L.batch_idx) {
        st = status_fail(STATUS_NOMEM, "out of memory for encoder training at batch %d", B);
        goto done;
    }
    st = train_loop_run(&L);
    if (st == STATUS_OK)
        state->phase = TRAIN_PHASE_DONE;
done:
    net_ctx_free(w.e);
    net_ctx_free(w.g);
    net_ctx_free(w.dx);
    net_ctx_free(w.dg);
    free(w.dfg);
    free(w.dgx);
    free(w.dgx_d);
    free(w.dz);
    free(L.xb);
    free(L.batch_idx);
    return st;
}
