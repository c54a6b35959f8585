/* train: recipes, the epoch/step driver shared by both training phases, and the GAN step.
 * The encoder step is in train_encoder.c, checkpoints and pictures in train_checkpoint.c,
 * scoring and calibration in train_eval.c. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "train_impl.h"

struct train_config train_config_seed(void)
{
    struct train_config c = {
        .epochs = 100,
        .batch = 128,
        .seed = 0,
        .adam_g = {1e-4f, 0.0f, 0.9f, 1e-8f, 0.0f},
        .adam_d = {4e-4f, 0.0f, 0.9f, 1e-8f, 0.0f},
        .real_label = 1.0f,
        .encoder_epochs = 0,
        .adam_e = {1e-4f, 0.5f, 0.999f, 1e-8f, 0.0f},
        .kappa = 1.0f,
        .checkpoint_every = 10,
    };
    return c;
}

struct train_config train_config_default(void)
{
    struct train_config c = train_config_seed();
    c.epochs = 20;
    c.batch = 64;
    c.adam_g = (struct adam_config){2e-4f, 0.5f, 0.999f, 1e-8f, 0.0f};
    c.adam_d = c.adam_g;
    c.real_label = 0.9f;
    c.encoder_epochs = 15;
    c.adam_e = c.adam_g;
    c.checkpoint_every = 5;
    return c;
}

void train_state_init(struct train_state *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->phase = TRAIN_PHASE_GAN;
    rng_seed(&s->rng, seed);
}

void train_state_free(struct train_state *s)
{
    free(s->perm);
    s->perm = NULL;
}

/* ---- shared helpers ----------------------------------------------------------------------- */

void train_gather(float *xb, const struct dataset *data, const int *idx, int B, int channels)
{
    size_t plane = data->image_floats / (size_t)channels;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < channels; c++)
            memcpy(xb + ((size_t)c * (size_t)B + (size_t)b) * plane,
                   data->x + (size_t)idx[b] * data->image_floats + (size_t)c * plane,
                   plane * sizeof(float));
}

bool train_net_finite(const struct net *n)
{
    for (size_t i = 0; i < n->nparams; i++)
        if (!isfinite(n->params[i]))
            return false;
    for (size_t i = 0; i < n->nstats; i++)
        if (!isfinite(n->stats[i]))
            return false;
    return true;
}

/* loss = mean_b softplus(l) - y l, softplus(l) = max(l, 0) + log1p(exp(-|l|)) (no overflow);
 * d loss / d l = (sigmoid(l) - y) / B. */
float train_bce_logits(float *dlogit, float *mean_prob, const float *logit, float y, int B)
{
    double loss = 0, prob = 0;
    for (int b = 0; b < B; b++) {
        double l = logit[b];
        double sp = (l > 0 ? l : 0) + log1p(exp(-fabs(l)));
        double sig = l >= 0 ? 1 / (1 + exp(-l)) : exp(l) / (1 + exp(l));
        loss += sp - y * l;
        prob += sig;
        dlogit[b] = (float)((sig - y) / B);
    }
    *mean_prob = (float)(prob / B);
    return (float)(loss / B);
}

void train_picture_path(char *buf, size_t len, const char *prefix, const char *what, int epoch)
{
    snprintf(buf, len, "%s-%s-e%03d.png", prefix, what, epoch);
}

static bool model_finite(const struct anogan *m)
{
    return train_net_finite(&m->g) && train_net_finite(&m->d_feat) &&
           train_net_finite(&m->d_critic) && (!m->has_encoder || train_net_finite(&m->enc));
}

static void csv_row(FILE *f, const struct train_progress *p, long global_step, double seconds)
{
    if (!f)
        return;
    fprintf(f, "%s,%d,%d,%ld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.3f\n",
            p->phase == TRAIN_PHASE_GAN ? "gan" : "encoder", p->epoch, p->step, global_step,
            p->loss_d, p->loss_g, p->d_real, p->d_fake, p->loss_e, p->mse_x, p->mse_f, seconds);
    if (p->epoch_end)
        fflush(f);
}

static enum status checkpoint(struct train_loop *L, bool epoch_end, struct train_progress *p)
{
    struct train_state *s = L->state;
    enum status st;
    if (epoch_end && L->at_checkpoint && (st = L->at_checkpoint(L, s->epoch)))
        return st;
    if (!L->cfg->checkpoint_path)
        return STATUS_OK;
    if (!model_finite(L->m))
        return status_fail(STATUS_NUMERIC, "parameters became NaN or Inf at epoch %d; the "
                           "checkpoint %s was not overwritten", s->epoch, L->cfg->checkpoint_path);
    if ((st = train_checkpoint_save(L->m, s, L->cfg->checkpoint_path)))
        return st;
    p->checkpoint = L->cfg->checkpoint_path;
    return STATUS_OK;
}

enum status train_loop_run(struct train_loop *L)
{
    struct train_state *s = L->state;
    const struct train_config *cfg = L->cfg;
    size_t n = L->data->count;
    int B = cfg->batch;
    ASSERT(B > 0 && n > 0);
    if (n > (size_t)1 << 30)
        return status_fail(STATUS_RANGE, "%zu training images: too many", n);
    if (s->perm && s->count != n)
        return status_fail(STATUS_SHAPE, "the checkpoint was made on %zu training images, the "
                           "data now has %zu: resume with the same data options", s->count, n);
    if (!s->perm) {
        s->perm = malloc(n * sizeof *s->perm);
        if (!s->perm)
            return status_fail(STATUS_NOMEM, "out of memory");
        s->count = n;
        s->step = 0; /* no order to continue from */
    }
    int steps = (int)((n + (size_t)B - 1) / (size_t)B);
    long remaining = (long)(L->epochs - s->epoch) * steps - s->step, done = 0;
    long global = (long)s->epoch * steps + s->step;
    double t0 = clock_now(), last = t0;
    size_t images = 0;
    while (s->epoch < L->epochs) {
        if (s->step == 0) {
            for (size_t i = 0; i < n; i++)
                s->perm[i] = (int)i;
            rng_shuffle(&s->rng, s->perm, n);
        }
        while (s->step < steps) {
            int b0 = s->step * B, nb = (int)(n - (size_t)b0 < (size_t)B ? n - (size_t)b0 : (size_t)B);
            memcpy(L->batch_idx, s->perm + b0, (size_t)nb * sizeof(int));
            train_gather(L->xb, L->data, L->batch_idx, nb, L->m->cfg.channels);
            struct train_progress p = {.phase = s->phase, .epoch = s->epoch, .epochs = L->epochs,
                                       .step = s->step + 1, .steps = steps, .batch = nb};
            enum status st = L->step(L, nb, &p);
            if (st)
                return st;
            float losses[] = {p.loss_d, p.loss_g, p.loss_e};
            for (int k = 0; k < 3; k++)
                if (!isfinite(losses[k]))
                    return status_fail(STATUS_NUMERIC, "loss became %s at epoch %d step %d "
                                       "(D %g, G %g, E %g): training stopped%s%s",
                                       isnan(losses[k]) ? "NaN" : "Inf", s->epoch + 1, s->step + 1,
                                       p.loss_d, p.loss_g, p.loss_e,
                                       cfg->checkpoint_path ? "; the last good checkpoint is " : "",
                                       cfg->checkpoint_path ? cfg->checkpoint_path : "");
            s->step++;
            global++;
            done++;
            images += (size_t)nb;
            double t = clock_now();
            s->seconds += t - last;
            last = t;
            p.elapsed_s = t - t0;
            p.images_per_s = (double)images / (p.elapsed_s > 0 ? p.elapsed_s : 1e-9);
            p.eta_s = p.elapsed_s / (double)done * (double)(remaining - done);
            p.epoch_end = s->step == steps;
            if (p.epoch_end) {
                s->epoch++;
                s->step = 0;
            }
            bool cancel = L->hooks && L->hooks->cancel && *L->hooks->cancel;
            bool due = p.epoch_end && (s->epoch == L->epochs ||
                                       (cfg->checkpoint_every > 0 &&
                                        s->epoch % cfg->checkpoint_every == 0));
            if ((due || cancel) && (st = checkpoint(L, due, &p)))
                return st;
            last = clock_now(); /* pictures and checkpoints are not training time */
            csv_row(cfg->csv, &p, global, s->seconds);
            if (L->hooks && L->hooks->progress)
                L->hooks->progress(L->hooks->user, &p);
            if (cancel)
                return status_fail(STATUS_CANCELLED, "interrupted after epoch %d step %d%s%s",
                                   p.epoch + 1, p.step,
                                   cfg->checkpoint_path ? "; checkpoint written to " : "",
                                   cfg->checkpoint_path ? cfg->checkpoint_path : "");
            if (p.epoch_end)
                break; /* the next epoch draws a new order */
        }
    }
    return STATUS_OK;
}

/* ---- the GAN step ------------------------------------------------------------------------- */

struct gan_bufs {
    struct net_ctx *g, *df, *dc;
    float *z, *dlogit, *dfeat, *dfake;
};

/* D's pass on images (C, B, H, W) against target y; accumulates D's gradients. */
static float d_pass(struct anogan *m, struct gan_bufs *w, const float *images, int B, float y,
                    float *prob)
{
    const float *feat = net_forward(&m->d_feat, w->df, images, B, NET_MODE_TRAIN);
    const float *logit = net_forward(&m->d_critic, w->dc, feat, B, NET_MODE_TRAIN);
    float loss = train_bce_logits(w->dlogit, prob, logit, y, B);
    net_backward(&m->d_critic, w->dc, w->dfeat, w->dlogit, true);
    net_backward(&m->d_feat, w->df, NULL, w->dfeat, true);
    return loss;
}

static enum status gan_step(struct train_loop *L, int B, struct train_progress *p)
{
    struct anogan *m = L->m;
    struct gan_bufs *w = L->impl;
    struct train_state *s = L->state;
    const struct train_config *cfg = L->cfg;
    size_t zn = (size_t)m->cfg.zdim * (size_t)B;

    /* D: real against real_label, fake against 0 */
    net_zero_grad(&m->d_feat);
    net_zero_grad(&m->d_critic);
    float lr = d_pass(m, w, L->xb, B, cfg->real_label, &p->d_real);
    rng_fill_normal(&s->rng, w->z, zn, 0.0f, 1.0f);
    const float *fake = net_forward(&m->g, w->g, w->z, B, NET_MODE_TRAIN);
    float lf = d_pass(m, w, fake, B, 0.0f, &p->d_fake);
    s->t_d++;
    net_adam_step(&m->d_feat, &cfg->adam_d, s->t_d);
    net_adam_step(&m->d_critic, &cfg->adam_d, s->t_d);
    p->loss_d = lr + lf;

    /* G: fresh z, D's verdict against 1, gradients through D (data only) into G */
    net_zero_grad(&m->g);
    rng_fill_normal(&s->rng, w->z, zn, 0.0f, 1.0f);
    fake = net_forward(&m->g, w->g, w->z, B, NET_MODE_TRAIN);
    const float *feat = net_forward(&m->d_feat, w->df, fake, B, NET_MODE_TRAIN);
    const float *logit = net_forward(&m->d_critic, w->dc, feat, B, NET_MODE_TRAIN);
    float prob;
    p->loss_g = train_bce_logits(w->dlogit, &prob, logit, 1.0f, B);
    net_backward(&m->d_critic, w->dc, w->dfeat, w->dlogit, false);
    net_backward(&m->d_feat, w->df, w->dfake, w->dfeat, false);
    net_backward(&m->g, w->g, NULL, w->dfake, true);
    s->t_g++;
    net_adam_step(&m->g, &cfg->adam_g, s->t_g);
    return STATUS_OK;
}

static enum status gan_pictures(struct train_loop *L, int epoch)
{
    if (!L->cfg->samples_prefix)
        return STATUS_OK;
    char path[4096];
    train_picture_path(path, sizeof path, L->cfg->samples_prefix, "gan", epoch);
    return train_save_samples(L->m, L->cfg->seed ^ 0x73616d706c6573ull, 64, path);
}

enum status train_gan(struct anogan *m, struct train_state *state, const struct dataset *data,
                      const struct train_config *cfg, const struct train_hooks *hooks)
{
    ASSERT(state->phase == TRAIN_PHASE_GAN);
    if (data->image_floats != anogan_image_size(m))
        return status_fail(STATUS_SHAPE, "data images have %zu values, the model takes %zu",
                           data->image_floats, anogan_image_size(m));
    if (cfg->batch < 2 || cfg->epochs < 0)
        return status_fail(STATUS_RANGE, "batch %d, epochs %d: need batch >= 2 (BatchNorm)",
                           cfg->batch, cfg->epochs);
    enum status st;
    if ((st = net_alloc_training(&m->g)) || (st = net_alloc_training(&m->d_feat)) ||
        (st = net_alloc_training(&m->d_critic)))
        return st;
    int B = cfg->batch;
    struct gan_bufs w = {0};
    struct train_loop L = {m, state, data, cfg, hooks, cfg->epochs, NULL, NULL,
                           gan_step, gan_pictures, &w};
    w.g = net_ctx_create(&m->g, B);
    w.df = net_ctx_create(&m->d_feat, B);
    w.dc = net_ctx_create(&m->d_critic, B);
    w.z = malloc((size_t)m->cfg.zdim * (size_t)B * sizeof(float));
    w.dlogit = malloc((size_t)B * sizeof(float));
    w.dfeat = malloc(anogan_feature_size(m) * (size_t)B * sizeof(float));
    w.dfake = malloc(anogan_image_size(m) * (size_t)B * sizeof(float));
    L.xb = malloc(anogan_image_size(m) * (size_t)B * sizeof(float));
    L.batch_idx = malloc((size_t)B * sizeof(int));
    if (!w.g || !w.df || !w.dc || !w.z || !w.dlogit || !w.dfeat || !w.dfake || !L.xb ||
        !L.batch_idx) {
        st = status_fail(STATUS_NOMEM, "out of memory for training at batch %d", B);
        goto done;
    }
    st = train_loop_run(&L);
    if (st == STATUS_OK) {
        state->phase = TRAIN_PHASE_ENCODER;
        state->epoch = state->step = 0;
        train_state_free(state); /* the next phase draws its own order */
        state->count = 0;
    }
done:
    net_ctx_free(w.g);
    net_ctx_free(w.df);
    net_ctx_free(w.dc);
    free(w.z);
    free(w.dlogit);
    free(w.dfeat);
    free(w.dfake);
    free(L.xb);
    free(L.batch_idx);
    return st;
}
