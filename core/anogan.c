/* anogan: architecture, preprocessing, the anomaly score and the latent search.
 *
 * Model files (load/save, metadata) are in anogan_io.c. This file builds the seed's networks
 * from a config and runs the search: per step, G forward, D-features forward, the score's
 * gradient, D-features backward and G backward (data only), then Adam on z. Images that stop
 * early drop out of the batch, so the remaining ones run on a smaller batch. Which search runs
 * (start, steps, lr, early stop) is chosen in anogan_search.c. */
#include "anogan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anogan_impl.h"
#include "detect.h"
#include "ops.h"
#include "rng.h"

struct anogan_config anogan_config_seed(void)
{
    struct anogan_config c = {.zdim = 20, .width = 64, .image_size = 64, .channels = 1,
                              .mean = 0.1307f, .std = 0.3081f, .lambda = 0.1f};
    return c;
}

/* The seed's networks (see the brief): G = ConvT(z->8w, k4 s1) then ConvT k4 s2 p1 to 4w, 2w, w
 * with BatchNorm + ReLU, then ConvT w->channels + tanh; D = four Conv k4 s2 p1 blocks with
 * BatchNorm + LeakyReLU(0.1); critic = Conv 8w->1 k4; the encoder mirrors D and ends in a
 * Conv 8w->z k4 (linear, since z ~ N(0,1)). */
enum status anogan_build(struct anogan *m)
{
    const struct anogan_config *c = &m->cfg;
    if (c->image_size != 64)
        return status_fail(STATUS_UNSUPPORTED, "image_size %d: only 64 is supported",
                           c->image_size);
    if (c->zdim < 1 || c->zdim > 4096 || c->width < 1 || c->width > 1024 || c->channels < 1 ||
        c->channels > 4)
        return status_fail(STATUS_RANGE, "architecture out of range (zdim %d, width %d, "
                           "channels %d)", c->zdim, c->width, c->channels);
    if (!(c->std > 0) || !isfinite(c->mean) || !(c->lambda >= 0 && c->lambda <= 1))
        return status_fail(STATUS_RANGE, "preprocessing out of range (mean %g, std %g, "
                           "lambda %g)", c->mean, c->std, c->lambda);
    int w = c->width;
    struct net_block_spec g[5] = {
        {NET_OP_CONV_TRANSPOSE2D, 8 * w, 4, 1, 0, true, NET_ACT_RELU, 0},
        {NET_OP_CONV_TRANSPOSE2D, 4 * w, 4, 2, 1, true, NET_ACT_RELU, 0},
        {NET_OP_CONV_TRANSPOSE2D, 2 * w, 4, 2, 1, true, NET_ACT_RELU, 0},
        {NET_OP_CONV_TRANSPOSE2D, w, 4, 2, 1, true, NET_ACT_RELU, 0},
        {NET_OP_CONV_TRANSPOSE2D, c->channels, 4, 2, 1, false, NET_ACT_TANH, 0},
    };
    struct net_block_spec d[4] = {
        {NET_OP_CONV2D, w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, 2 * w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, 4 * w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, 8 * w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
    };
    struct net_block_spec critic = {NET_OP_CONV2D, 1, 4, 1, 0, false, NET_ACT_NONE, 0};
    int s = c->image_size;
    enum status st;
    if ((st = net_init(&m->g, g, 5, c->zdim, 1, 1)) ||
        (st = net_init(&m->d_feat, d, 4, c->channels, s, s)) ||
        (st = net_init(&m->d_critic, &critic, 1, 8 * w, 4, 4)))
        return st;
    return STATUS_OK;
}

enum status anogan_build_encoder(struct anogan *m)
{
    const struct anogan_config *c = &m->cfg;
    int w = c->width, s = c->image_size;
    struct net_block_spec e[5] = {
        {NET_OP_CONV2D, w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, 2 * w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, 4 * w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, 8 * w, 4, 2, 1, true, NET_ACT_LEAKY_RELU, 0.1f},
        {NET_OP_CONV2D, c->zdim, 4, 1, 0, false, NET_ACT_NONE, 0},
    };
    enum status st = net_init(&m->enc, e, 5, c->channels, s, s);
    if (st == STATUS_OK)
        m->has_encoder = true;
    return st;
}

enum status anogan_create(struct anogan **out, const struct anogan_config *cfg, uint64_t seed)
{
    struct anogan *m = calloc(1, sizeof *m);
    if (!m)
        return status_fail(STATUS_NOMEM, "out of memory");
    m->cfg = *cfg;
    snprintf(m->name, sizeof m->name, "anogan");
    enum status st = anogan_build(m);
    if (st) {
        anogan_free(m);
        return st;
    }
    net_init_weights(&m->g, seed, true);
    net_init_weights(&m->d_feat, seed + 1, true);
    net_init_weights(&m->d_critic, seed + 2, true);
    *out = m;
    return STATUS_OK;
}

enum status anogan_add_encoder(struct anogan *m, uint64_t seed)
{
    if (m->has_encoder)
        net_free(&m->enc);
    m->has_encoder = false;
    enum status st = anogan_build_encoder(m);
    if (st)
        return st;
    net_init_weights(&m->enc, seed, true);
    return STATUS_OK;
}

void anogan_free(struct anogan *m)
{
    if (!m)
        return;
    net_free(&m->g);
    net_free(&m->d_feat);
    net_free(&m->d_critic);
    net_free(&m->enc);
    detect_free(m->det);
    free(m);
}

size_t anogan_feature_size(const struct anogan *m)
{
    return net_out_size(&m->d_feat);
}

size_t anogan_image_size(const struct anogan *m)
{
    return (size_t)m->cfg.channels * (size_t)m->cfg.image_size * (size_t)m->cfg.image_size;
}

enum status anogan_preprocess(const struct anogan *m, const struct image *img, float *x)
{
    int s = m->cfg.image_size;
    size_t plane = (size_t)s * (size_t)s, npix = (size_t)img->width * (size_t)img->height;
    /* four bytes a pixel: 64 MB at the daemon's default pixel cap, and on the request path */
    float *grey = malloc(npix * sizeof(float));
    if (!grey)
        return status_fail(STATUS_NOMEM, "no memory to preprocess a %dx%d image (%zu MiB)",
                           img->width, img->height, (npix * sizeof(float)) >> 20);
    image_to_grey(grey, img);
    image_resize_bicubic(x, s, s, grey, img->width, img->height);
    free(grey);
    for (size_t i = 0; i < plane; i++)
        x[i] = (x[i] - m->cfg.mean) / m->cfg.std;
    for (int c = 1; c < m->cfg.channels; c++) /* a grey image fills every channel */
        memcpy(x + (size_t)c * plane, x, plane * sizeof(float));
    return STATUS_OK;
}

void anogan_to_pixels(const struct anogan *m, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float p = v[i] * m->cfg.std + m->cfg.mean;
        v[i] = p < 0 ? 0 : p > 1 ? 1 : p;
    }
}

/* ---- scoring ------------------------------------------------------------------------------ */

struct anogan_ctx {
    struct anogan *m; /* read-only here; nets take non-const pointers for training's sake */
    int max_batch;
    struct net_ctx *g, *d, *e;
    size_t img, feat; /* per-image element counts */
    int zdim;
    /* per-image state, indexed by the caller's batch position: image after image (NCHW) */
    float *fx, *z, *m1, *m2, *best;
    int *steps, *since, *active;
    /* the batch's images and their features in the nets' (C, B, H, W) layout, converted once */
    float *xc, *fxc;
    /* per-step buffers, channel-major, for the active images (xs, fxs: only when not all are) */
    float *zc, *xs, *fxs, *dgz, *dfg, *dgz_d, *dzc;
    anogan_step_fn on_step; /* progress hook, or NULL */
    void *on_step_user;
};

void anogan_ctx_set_step_hook(struct anogan_ctx *c, anogan_step_fn fn, void *user)
{
    c->on_step = fn;
    c->on_step_user = user;
}

struct anogan_ctx *anogan_ctx_create(const struct anogan *m, int max_batch)
{
    ASSERT(max_batch > 0);
    struct anogan_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->m = (struct anogan *)m;
    c->max_batch = max_batch;
    c->img = anogan_image_size(m);
    c->feat = anogan_feature_size(m);
    c->zdim = m->cfg.zdim;
    size_t B = (size_t)max_batch, Z = (size_t)c->zdim;
    c->g = net_ctx_create(&m->g, max_batch);
    c->d = net_ctx_create(&m->d_feat, max_batch);
    c->e = m->has_encoder ? net_ctx_create(&m->enc, max_batch) : NULL;
    if (!c->g || !c->d || (m->has_encoder && !c->e))
        goto fail;
    float **f[] = {&c->xc, &c->xs, &c->dgz, &c->dgz_d};
    for (size_t i = 0; i < 4; i++)
        if (!(*f[i] = malloc(c->img * B * sizeof(float))))
            goto fail;
    float **ff[] = {&c->fx, &c->fxc, &c->fxs, &c->dfg};
    for (size_t i = 0; i < 4; i++)
        if (!(*ff[i] = malloc(c->feat * B * sizeof(float))))
            goto fail;
    float **fz[] = {&c->z, &c->m1, &c->m2, &c->zc, &c->dzc};
    for (size_t i = 0; i < 5; i++)
        if (!(*fz[i] = malloc(Z * B * sizeof(float))))
            goto fail;
    c->best = malloc(B * sizeof(float));
    c->steps = malloc(B * sizeof(int));
    c->since = malloc(B * sizeof(int));
    c->active = malloc(B * sizeof(int));
    if (!c->best || !c->steps || !c->since || !c->active)
        goto fail;
    return c;
fail:
    anogan_ctx_free(c);
    return NULL;
}

void anogan_ctx_free(struct anogan_ctx *c)
{
    if (!c)
        return;
    net_ctx_free(c->g);
    net_ctx_free(c->d);
    net_ctx_free(c->e);
    float *bufs[] = {c->fx, c->z, c->m1, c->m2, c->best, c->zc, c->xc, c->fxc, c->xs, c->fxs,
                     c->dgz, c->dfg, c->dgz_d, c->dzc};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(c->steps);
    free(c->since);
    free(c->active);
    free(c);
}

/* (B, C, rest) image-major <-> (C, B, rest) channel-major. */
static void to_cbhw(float *dst, const float *src, int B, int C, size_t rest)
{
    for (int b = 0; b < B; b++)
        for (int ch = 0; ch < C; ch++)
            memcpy(dst + ((size_t)ch * (size_t)B + (size_t)b) * rest,
                   src + ((size_t)b * (size_t)C + (size_t)ch) * rest, rest * sizeof(float));
}

static void to_nchw(float *dst, const float *src, int B, int C, size_t rest)
{
    for (int b = 0; b < B; b++)
        for (int ch = 0; ch < C; ch++)
            memcpy(dst + ((size_t)b * (size_t)C + (size_t)ch) * rest,
                   src + ((size_t)ch * (size_t)B + (size_t)b) * rest, rest * sizeof(float));
}

void anogan_generate(struct anogan_ctx *c, const float *z, int B, float *out)
{
    ASSERT(B > 0 && B <= c->max_batch);
    to_cbhw(c->zc, z, B, c->zdim, 1);
    const float *gz = net_forward(&c->m->g, c->g, c->zc, B, NET_MODE_EVAL);
    to_nchw(out, gz, B, c->m->cfg.channels, c->img / (size_t)c->m->cfg.channels);
}

/* The images x (B, NCHW) into c->xc in the nets' layout, and D's features of them into c->fxc
 * (channel-major); returns c->fxc. */
static const float *load_images(struct anogan_ctx *c, const float *x, int B)
{
    ASSERT(B > 0 && B <= c->max_batch);
    int C = c->m->cfg.channels;
    to_cbhw(c->xc, x, B, C, c->img / (size_t)C);
    const float *f = net_forward(&c->m->d_feat, c->d, c->xc, B, NET_MODE_EVAL);
    memcpy(c->fxc, f, c->feat * (size_t)B * sizeof(float));
    return c->fxc;
}

void anogan_features(struct anogan_ctx *c, const float *x, int B, float *out)
{
    to_nchw(out, load_images(c, x, B), B, c->m->d_feat.cout, c->feat / (size_t)c->m->d_feat.cout);
}

const float *anogan_ctx_features(const struct anogan_ctx *c)
{
    return c->fx;
}

static float sign(float v)
{
    return (float)((v > 0) - (v < 0)); /* 0 at 0, as PyTorch's abs backward */
}

/* sum[b] = sum over image b of |a - ref|, for (C, B, plane) channel-major a and ref; if grad,
 * also grad = w sign(a - ref). The sums go channel by channel, each in double. */
static void l1_per_image(float *sum, float *grad, float w, const float *a, const float *ref, int C,
                         int B, size_t plane)
{
    for (int b = 0; b < B; b++)
        sum[b] = 0;
    for (int ch = 0; ch < C; ch++)
        for (int b = 0; b < B; b++) {
            size_t off = ((size_t)ch * (size_t)B + (size_t)b) * plane;
            double acc = 0;
            for (size_t i = 0; i < plane; i++) {
                float d = a[off + i] - ref[off + i];
                acc += fabsf(d);
                if (grad)
                    grad[off + i] = w * sign(d);
            }
            sum[b] += (float)acc;
        }
}

/* The score at latents c->zc (zdim, B) of the images xc (C, B, S, S) with features fxc
 * (F, B, 4, 4), all channel-major. Fills res and, if dzc, d(sum of scores)/d zc. */
static void score_cbhw(struct anogan_ctx *c, const float *xc, const float *fxc, int B,
                       struct anogan_result *res, float *dzc)
{
    struct anogan *m = c->m;
    float lam = m->cfg.lambda;
    int C = m->cfg.channels, F = m->d_feat.cout;
    const float *gz = net_forward(&m->g, c->g, c->zc, B, NET_MODE_EVAL);
    const float *fg = net_forward(&m->d_feat, c->d, gz, B, NET_MODE_EVAL);
    float resid[B], disc[B];
    /* residual sum|x - G(z)| and its gradient (1 - lambda) sign(G(z) - x) */
    l1_per_image(resid, dzc ? c->dgz : NULL, 1 - lam, gz, xc, C, B, c->img / (size_t)C);
    /* discrimination sum|f(x) - f(G(z))| and its gradient lambda sign(f(G(z)) - f(x)) */
    l1_per_image(disc, dzc ? c->dfg : NULL, lam, fg, fxc, F, B, c->feat / (size_t)F);
    for (int b = 0; b < B; b++) {
        res[b].residual = resid[b];
        res[b].discrimination = disc[b];
        res[b].score = (1 - lam) * resid[b] + lam * disc[b];
    }
    if (!dzc)
        return;
    net_backward(&m->d_feat, c->d, c->dgz_d, c->dfg, false);
    size_t n = c->img * (size_t)B;
    for (size_t i = 0; i < n; i++)
        c->dgz[i] += c->dgz_d[i];
    net_backward(&m->g, c->g, dzc, c->dgz, false);
}

void anogan_score_at(struct anogan_ctx *c, const float *x, const float *z, int B,
                     struct anogan_result *res, float *dz)
{
    load_images(c, x, B);
    to_cbhw(c->zc, z, B, c->zdim, 1);
    score_cbhw(c, c->xc, c->fxc, B, res, dz ? c->dzc : NULL);
    if (dz)
        to_nchw(dz, c->dzc, B, c->zdim, 1);
    for (int b = 0; b < B; b++)
        res[b].iterations = 0;
}

/* rows (C, na, rest) of dst = the active images' rows of src (C, B, rest), channel-major. */
static void gather_rows(float *dst, const float *src, const int *active, int na, int B, int C,
                        size_t rest)
{
    for (int ch = 0; ch < C; ch++)
        for (int j = 0; j < na; j++)
            memcpy(dst + ((size_t)ch * (size_t)na + (size_t)j) * rest,
                   src + ((size_t)ch * (size_t)B + (size_t)active[j]) * rest, rest * sizeof(float));
}

/* The latents of the active images into c->zc, and their images and features: the batch's own
 * buffers when every image is active (no copy), else gathered into the step buffers. */
static void gather_active(struct anogan_ctx *c, int na, int B, const float **xc, const float **fxc)
{
    for (int j = 0; j < na; j++)
        for (int k = 0; k < c->zdim; k++)
            c->zc[(size_t)k * (size_t)na + (size_t)j] =
                c->z[(size_t)c->active[j] * (size_t)c->zdim + (size_t)k];
    *xc = c->xc;
    *fxc = c->fxc;
    if (na == B)
        return; /* active[j] == j */
    int C = c->m->cfg.channels, F = c->m->d_feat.cout;
    gather_rows(c->xs, c->xc, c->active, na, B, C, c->img / (size_t)C);
    gather_rows(c->fxs, c->fxc, c->active, na, B, F, c->feat / (size_t)F);
    *xc = c->xs;
    *fxc = c->fxs;
}

enum status anogan_score(struct anogan_ctx *c, const float *x, int B, const uint64_t *seeds,
                         const struct anogan_search *search, struct anogan_result *res,
                         float *recon, float *z, volatile int *cancel)
{
    ASSERT(B > 0 && B <= c->max_batch);
    struct anogan *m = c->m;
    int C = m->cfg.channels, Z = c->zdim;
    if (search->iterations < 0 || !(search->lr > 0) || search->patience < 0 ||
        !(search->tol >= 0))
        return status_fail(STATUS_RANGE, "search settings out of range");
    if (search->init == ANOGAN_INIT_ENCODER && !m->has_encoder)
        return status_fail(STATUS_UNSUPPORTED, "model '%s' has no encoder", m->name);

    /* the images in the nets' layout and their features, once for the whole search; fx is
     * anogan_ctx_features' image-major copy */
    anogan_features(c, x, B, c->fx);
    if (search->init == ANOGAN_INIT_ENCODER) {
        const float *e = net_forward(&m->enc, c->e, c->xc, B, NET_MODE_EVAL);
        to_nchw(c->z, e, B, Z, 1);
    } else if (search->init == ANOGAN_INIT_GIVEN) {
        if (!z)
            return status_fail(STATUS_RANGE, "a given start needs z");
        memcpy(c->z, z, (size_t)B * (size_t)Z * sizeof(float));
    } else {
        for (int b = 0; b < B; b++) {
            struct rng r;
            rng_seed(&r, seeds ? seeds[b] : 0);
            rng_fill_normal(&r, c->z + (size_t)b * (size_t)Z, (size_t)Z, 0.0f, 1.0f);
        }
    }
    memset(c->m1, 0, (size_t)B * (size_t)Z * sizeof(float));
    memset(c->m2, 0, (size_t)B * (size_t)Z * sizeof(float));
    for (int b = 0; b < B; b++) {
        c->steps[b] = 0;
        c->since[b] = 0;
        c->best[b] = INFINITY;
    }
    struct adam_config adam = {.lr = search->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                               .weight_decay = 0.0f};
    struct anogan_result step_res[c->max_batch > 0 ? c->max_batch : 1];
    for (int t = 1; t <= search->iterations; t++) {
        if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED))
            return status_fail(STATUS_CANCELLED, "search cancelled");
        int na = 0;
        for (int b = 0; b < B; b++)
            if (c->steps[b] == t - 1 && (search->patience == 0 || c->since[b] < search->patience))
                c->active[na++] = b;
        if (na == 0)
            break;
        const float *xc, *fxc;
        gather_active(c, na, B, &xc, &fxc);
        score_cbhw(c, xc, fxc, na, step_res, c->dzc);
        for (int j = 0; j < na; j++) {
            int b = c->active[j];
            float g[Z];
            for (int k = 0; k < Z; k++)
                g[k] = c->dzc[(size_t)k * (size_t)na + (size_t)j];
            size_t o = (size_t)b * (size_t)Z;
            adam_step(c->z + o, g, c->m1 + o, c->m2 + o, (size_t)Z, &adam, t);
            c->steps[b] = t;
            /* early stopping: count steps since the score last improved by more than tol */
            float s = step_res[j].score;
            if (s < c->best[b] * (1.0f - search->tol) || !isfinite(c->best[b])) {
                c->best[b] = s;
                c->since[b] = 0;
            } else {
                c->since[b]++;
            }
        }
        if (c->on_step)
            c->on_step(c->on_step_user, t, search->iterations);
    }
    /* the final score, at the z every image ended with */
    to_cbhw(c->zc, c->z, B, Z, 1);
    score_cbhw(c, c->xc, c->fxc, B, step_res, NULL);
    for (int b = 0; b < B; b++) {
        if (!isfinite(step_res[b].score))
            return status_fail(STATUS_NUMERIC, "score of image %d is not finite", b);
        if (res) {
            res[b] = step_res[b];
            res[b].iterations = c->steps[b];
        }
    }
    if (recon) /* G(z) of the final forward is still in the generator's context */
        to_nchw(recon, net_block_output(c->g, m->g.nblocks - 1), B, C, c->img / (size_t)C);
    if (z)
        memcpy(z, c->z, (size_t)B * (size_t)Z * sizeof(float));
    return STATUS_OK;
}
