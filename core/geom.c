/* geom: the transformation classifier (see geom.h): network, training loop, scores, file IO.
 *
 * A batch of the classifier is (image, transform) pairs laid out as the nets want them,
 * (channels, pairs, side, side); when scoring, image b's K transforms are pairs b*K .. b*K+K-1,
 * so one forward pass covers every transform of a chunk of images. */
#include "geom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dirichlet.h"
#include "net_io.h"
#include "rng.h"
#include "safetensors.h"

enum { GEOM_MAX_CONCENTRATION = 1000 };

static const struct net_naming naming_feat = {"T.feature_network", NET_MAX_BLOCKS, NULL};
static const struct net_naming naming_head = {NULL, 0, "T.head"};

struct geom_config geom_config_default(void)
{
    return (struct geom_config){.transforms = 8, .side = 32, .channels = 1, .width = 32,
                                .blocks = 4};
}

struct geom_train_config geom_train_config_default(void)
{
    return (struct geom_train_config){
        .epochs = 15, .patience = 3, .batch = 128,
        .adam = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, .seed = 0};
}

int geom_feature_size(const struct geom *g)
{
    return g->feat.cout;
}

int geom_input_size(const struct geom *g)
{
    return g->cfg.channels * g->cfg.side * g->cfg.side;
}

static enum status check_config(const struct geom_config *c)
{
    if (c->blocks < 1 || c->blocks > NET_MAX_BLOCKS || c->width < 1 || c->width > 4096 ||
        c->channels < 1 || c->channels > 4 || c->side < 2 || c->side > 1024 ||
        c->side % (1 << c->blocks) != 0)
        return status_fail(STATUS_RANGE,
                           "transform classifier: side %d, channels %d, width %d, blocks %d "
                           "(side must be divisible by 2^blocks)",
                           c->side, c->channels, c->width, c->blocks);
    if (c->scored < 0 || c->scored > c->transforms)
        return status_fail(STATUS_RANGE, "transform classifier: scores with %d of %d transforms",
                           c->scored, c->transforms);
    struct xform tmp[XFORM_MAX];
    if (!xform_set(tmp, c->transforms, c->side))
        return status_fail(STATUS_RANGE, "transform classifier: %d transforms (4, 8 or 72)",
                           c->transforms);
    return STATUS_OK;
}

/* The nets of cfg with zeroed weights. */
static enum status build(struct geom **out, const struct geom_config *cfg)
{
    enum status s = check_config(cfg);
    if (s)
        return s;
    struct geom *g = calloc(1, sizeof *g);
    if (!g)
        return status_fail(STATUS_NOMEM, "out of memory");
    g->cfg = *cfg;
    xform_set(g->t, cfg->transforms, cfg->side);
    struct net_block_spec spec[NET_MAX_BLOCKS];
    for (int i = 0; i < cfg->blocks; i++)
        spec[i] = (struct net_block_spec){.op = NET_OP_CONV2D, .cout = cfg->width << i, .k = 3,
                                          .stride = 2, .pad = 1, .batchnorm = true,
                                          .act = NET_ACT_LEAKY_RELU, .slope = 0.2f};
    struct net_block_spec head = {.op = NET_OP_CONV2D, .cout = cfg->transforms, .k = 1,
                                  .stride = 1, .pad = 0, .act = NET_ACT_NONE};
    if ((s = net_init(&g->feat, spec, cfg->blocks, cfg->channels, cfg->side, cfg->side)) ||
        (s = net_init(&g->head, &head, 1, g->feat.cout, 1, 1))) {
        geom_free(g);
        return s;
    }
    *out = g;
    return STATUS_OK;
}

enum status geom_create(struct geom **out, const struct geom_config *cfg, uint64_t seed)
{
    enum status s = build(out, cfg);
    if (s)
        return s;
    net_init_weights(&(*out)->feat, seed, false);
    net_init_weights(&(*out)->head, seed + 1, false);
    return STATUS_OK;
}

void geom_free(struct geom *g)
{
    if (!g)
        return;
    net_free(&g->feat);
    net_free(&g->head);
    free(g->alpha);
    free(g);
}

/* ---- passes ---------------------------------------------------------------------------------- */

struct geom_ctx {
    const struct geom *g;
    int max_pairs;
    struct net_ctx *feat, *head;
    float *xin;     /* (channels, pairs, side, side) */
    float *pooled;  /* (F, pairs) */
    float *logp;    /* (K, pairs) */
    float *dlogits; /* (K, pairs) */
    float *dpooled; /* (F, pairs) */
    float *dfeat;   /* (F, pairs, s, s) */
    int *labels;    /* (pairs) */
};

struct geom_ctx *geom_ctx_create(const struct geom *g, int max_images)
{
    ASSERT(max_images >= 1);
    struct geom_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->g = g;
    c->max_pairs = max_images * g->cfg.transforms;
    size_t P = (size_t)c->max_pairs, F = (size_t)g->feat.cout, K = (size_t)g->cfg.transforms;
    c->feat = net_ctx_create(&g->feat, c->max_pairs);
    c->head = net_ctx_create(&g->head, c->max_pairs);
    c->xin = malloc(P * (size_t)geom_input_size(g) * sizeof(float));
    c->pooled = malloc(P * F * sizeof(float));
    c->logp = malloc(P * K * sizeof(float));
    c->dlogits = malloc(P * K * sizeof(float));
    c->dpooled = malloc(P * F * sizeof(float));
    c->dfeat = malloc(P * net_out_size(&g->feat) * sizeof(float));
    c->labels = malloc(P * sizeof(int));
    if (!c->feat || !c->head || !c->xin || !c->pooled || !c->logp || !c->dlogits || !c->dpooled ||
        !c->dfeat || !c->labels) {
        geom_ctx_free(c);
        return NULL;
    }
    return c;
}

void geom_ctx_free(struct geom_ctx *c)
{
    if (!c)
        return;
    net_ctx_free(c->feat);
    net_ctx_free(c->head);
    free(c->xin);
    free(c->pooled);
    free(c->logp);
    free(c->dlogits);
    free(c->dpooled);
    free(c->dfeat);
    free(c->labels);
    free(c);
}

/* Writes transform t of image img (channels, S, S) as pair p of P into c->xin. */
static void put_pair(struct geom_ctx *c, int p, int P, const float *img, const struct xform *t)
{
    int S = c->g->cfg.side;
    size_t plane = (size_t)S * (size_t)S;
    for (int ch = 0; ch < c->g->cfg.channels; ch++)
        xform_apply(c->xin + ((size_t)ch * (size_t)P + (size_t)p) * plane,
                    img + (size_t)ch * plane, S, t);
}

/* Forward of the P pairs in c->xin: logp (K, P) and pooled (F, P). */
static void forward(struct geom_ctx *c, int P, enum net_mode mode)
{
    struct geom *g = (struct geom *)c->g; /* train mode updates BatchNorm's running statistics */
    const float *fo = net_forward(&g->feat, c->feat, c->xin, P, mode);
    avgpool_global_forward(c->pooled, fo, g->feat.cout, P, g->feat.hout * g->feat.wout);
    const float *logits = net_forward(&g->head, c->head, c->pooled, P, mode);
    log_softmax_forward(c->logp, logits, g->cfg.transforms, P);
}

/* Scores B images with the first S transforms of the set: xent over them, the Dirichlet score
 * when with_dirichlet (alpha is (S, K)), probs (B, S, K), feats (B, F) of the first (identity). */
static void score_set(struct geom_ctx *c, const float *x, int B, int S, bool with_dirichlet,
                      struct geom_result *res, float *probs, float *feats)
{
    const struct geom *g = c->g;
    int K = g->cfg.transforms, F = g->feat.cout, in = geom_input_size(g);
    int chunk = c->max_pairs / S;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        int nb = B - b0 < chunk ? B - b0 : chunk, P = nb * S;
        for (int b = 0; b < nb; b++)
            for (int k = 0; k < S; k++)
                put_pair(c, b * S + k, P, x + (size_t)(b0 + b) * (size_t)in, &g->t[k]);
        forward(c, P, NET_MODE_EVAL);
        for (int b = 0; b < nb; b++) {
            double xent = 0, dir = 0;
            for (int k = 0; k < S; k++) {
                int p = b * S + k;
                xent -= c->logp[(size_t)k * (size_t)P + (size_t)p];
                float pk[XFORM_MAX];
                for (int j = 0; j < K; j++)
                    pk[j] = expf(c->logp[(size_t)j * (size_t)P + (size_t)p]);
                if (probs)
                    memcpy(probs + ((size_t)(b0 + b) * (size_t)S + (size_t)k) * (size_t)K, pk,
                           (size_t)K * sizeof(float));
                if (with_dirichlet)
                    dir += dirichlet_score(g->alpha + (size_t)k * (size_t)K, pk, K);
            }
            res[b0 + b].xent = (float)xent;
            res[b0 + b].dirichlet = with_dirichlet ? (float)(dir - g->dirichlet_offset) : NAN;
            if (feats)
                for (int f = 0; f < F; f++)
                    feats[(size_t)(b0 + b) * (size_t)F + (size_t)f] =
                        c->pooled[(size_t)f * (size_t)P + (size_t)(b * S)];
        }
    }
}

int geom_scored(const struct geom *g)
{
    return g->cfg.scored > 0 && g->cfg.scored < g->cfg.transforms ? g->cfg.scored
                                                                   : g->cfg.transforms;
}

void geom_score(struct geom_ctx *c, const float *x, int B, struct geom_result *res, float *probs,
                float *feats)
{
    score_set(c, x, B, geom_scored(c->g), c->g->has_dirichlet, res, probs, feats);
}

void geom_evaluate(struct geom_ctx *c, const float *x, int n, float *loss, float *accuracy)
{
    int K = c->g->cfg.transforms;
    int chunk = c->max_pairs / K;
    float *probs = malloc((size_t)chunk * (size_t)K * (size_t)K * sizeof(float));
    struct geom_result *res = malloc((size_t)chunk * sizeof *res);
    ASSERT(probs && res); /* a few KB; the caller's ctx already holds far more */
    double sum = 0;
    long right = 0;
    for (int i = 0; i < n; i += chunk) {
        int nb = n - i < chunk ? n - i : chunk;
        score_set(c, x + (size_t)i * (size_t)geom_input_size(c->g), nb, K, false, res, probs,
                  NULL);
        for (int b = 0; b < nb; b++) {
            sum += res[b].xent;
            for (int k = 0; k < K; k++) {
                const float *p = probs + ((size_t)b * (size_t)K + (size_t)k) * (size_t)K;
                int best = 0;
                for (int j = 1; j < K; j++)
                    if (p[j] > p[best])
                        best = j;
                right += best == k;
            }
        }
    }
    free(probs);
    free(res);
    *loss = (float)(sum / ((double)n * K));
    *accuracy = (float)((double)right / ((double)n * K));
}

enum status geom_fit_dirichlet(struct geom *g, const float *x, int n)
{
    int K = g->cfg.transforms, S = geom_scored(g);
    struct geom_ctx *c = geom_ctx_create(g, 32);
    float *probs = malloc((size_t)n * (size_t)S * (size_t)K * sizeof(float));
    float *pk = malloc((size_t)n * (size_t)K * sizeof(float));
    struct geom_result *res = malloc((size_t)n * sizeof *res);
    double *alpha = malloc((size_t)S * (size_t)K * sizeof(double));
    enum status s = STATUS_OK;
    if (!c || !probs || !pk || !res || !alpha) {
        s = status_fail(STATUS_NOMEM, "out of memory for the Dirichlet fit of %d images", n);
        goto done;
    }
    score_set(c, x, n, S, false, res, probs, NULL);
    for (int k = 0; k < S; k++) {
        for (int i = 0; i < n; i++)
            memcpy(pk + (size_t)i * (size_t)K,
                   probs + ((size_t)i * (size_t)S + (size_t)k) * (size_t)K,
                   (size_t)K * sizeof(float));
        /* Near-identical probability vectors (a classifier that is always sure, or never) have
         * no maximum-likelihood Dirichlet: alpha grows along a fixed direction without bound.
         * The last iterate is then a sharp Dirichlet in that direction, and its score, which the
         * fusion standardises, orders images the same way: keep it when finite and positive. */
        double *a = alpha + (size_t)k * (size_t)K;
        if ((s = dirichlet_fit(a, pk, n, K, 2000)) == STATUS_NUMERIC) {
            bool usable = true;
            for (int j = 0; j < K; j++)
                usable = usable && isfinite(a[j]) && a[j] > 0;
            if (usable)
                s = STATUS_OK;
        }
        if (s)
            goto done;
        /* Real fits have concentrations sum_j alpha_kj of about 5 to 20 (MNIST, Fashion-MNIST);
         * a degenerate one can reach millions, and float rounding in the logits, multiplied by
         * alpha, would then make an image's score depend on its batch. Past GEOM_MAX_CONCENTRATION
         * only the scale changes (the direction is kept), which the fusion standardises away. */
        double sum = 0;
        for (int j = 0; j < K; j++)
            sum += a[j];
        if (sum > GEOM_MAX_CONCENTRATION)
            for (int j = 0; j < K; j++)
                a[j] *= GEOM_MAX_CONCENTRATION / sum;
    }
    /* as the model file keeps them (float32), so a saved model scores exactly as this one */
    for (int i = 0; i < S * K; i++)
        alpha[i] = (double)(float)alpha[i];
    free(g->alpha);
    g->alpha = alpha;
    alpha = NULL;
    g->has_dirichlet = true;
    g->dirichlet_offset = 0;
    geom_score(c, x, n, res, NULL, NULL);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += res[i].dirichlet;
    g->dirichlet_offset = sum / n;
done:
    geom_ctx_free(c);
    free(probs);
    free(pk);
    free(res);
    free(alpha);
    return s;
}

/* ---- training -------------------------------------------------------------------------------- */

/* The weights and BatchNorm statistics of both nets, to keep the best epoch. */
struct snapshot {
    float *feat_p, *feat_s, *head_p, *head_s;
};

static bool snapshot_alloc(struct snapshot *s, const struct geom *g)
{
    s->feat_p = malloc(g->feat.nparams * sizeof(float));
    s->feat_s = malloc((g->feat.nstats ? g->feat.nstats : 1) * sizeof(float));
    s->head_p = malloc(g->head.nparams * sizeof(float));
    s->head_s = malloc((g->head.nstats ? g->head.nstats : 1) * sizeof(float));
    return s->feat_p && s->feat_s && s->head_p && s->head_s;
}

static void snapshot_free(struct snapshot *s)
{
    free(s->feat_p);
    free(s->feat_s);
    free(s->head_p);
    free(s->head_s);
}

static void snapshot_copy(struct net *n, float *p, float *st, bool save)
{
    if (save) {
        memcpy(p, n->params, n->nparams * sizeof(float));
        memcpy(st, n->stats, n->nstats * sizeof(float));
    } else {
        memcpy(n->params, p, n->nparams * sizeof(float));
        memcpy(n->stats, st, n->nstats * sizeof(float));
    }
}

static void snapshot_take(struct snapshot *s, struct geom *g, bool save)
{
    snapshot_copy(&g->feat, s->feat_p, s->feat_s, save);
    snapshot_copy(&g->head, s->head_p, s->head_s, save);
}

/* One step on the pairs pairs[0..P): returns the mean loss. */
static float train_step(struct geom *g, struct geom_ctx *c, const float *x, const int *pairs,
                        int P, const struct geom_train_config *cfg, int t)
{
    int K = g->cfg.transforms, in = geom_input_size(g);
    for (int p = 0; p < P; p++) {
        int i = pairs[p] / K, k = pairs[p] % K;
        put_pair(c, p, P, x + (size_t)i * (size_t)in, &g->t[k]);
        c->labels[p] = k;
    }
    net_zero_grad(&g->feat);
    net_zero_grad(&g->head);
    const float *fo = net_forward(&g->feat, c->feat, c->xin, P, NET_MODE_TRAIN);
    int hw = g->feat.hout * g->feat.wout;
    avgpool_global_forward(c->pooled, fo, g->feat.cout, P, hw);
    const float *logits = net_forward(&g->head, c->head, c->pooled, P, NET_MODE_TRAIN);
    float loss = softmax_xent_forward(c->logp, logits, c->labels, K, P);
    softmax_xent_backward(c->dlogits, c->logp, c->labels, K, P);
    net_backward(&g->head, c->head, c->dpooled, c->dlogits, true);
    avgpool_global_backward(c->dfeat, c->dpooled, g->feat.cout, P, hw);
    net_backward(&g->feat, c->feat, NULL, c->dfeat, true);
    net_adam_step(&g->feat, &cfg->adam, t);
    net_adam_step(&g->head, &cfg->adam, t);
    return loss;
}

enum status geom_train(struct geom *g, const float *x, int n, const float *xh, int nh,
                       const struct geom_train_config *cfg, const struct geom_hooks *hooks)
{
    ASSERT(n >= 1 && nh >= 1 && cfg->batch >= 1 && cfg->epochs >= 1);
    int K = g->cfg.transforms;
    long npairs = (long)n * K;
    if (npairs > 0x7fffffffL)
        return status_fail(STATUS_RANGE, "%d images x %d transforms is too many", n, K);
    int B = cfg->batch < npairs ? cfg->batch : (int)npairs;
    struct geom_ctx *c = geom_ctx_create(g, (B + K - 1) / K);
    int *pairs = malloc((size_t)npairs * sizeof(int));
    struct snapshot best = {0};
    enum status s = STATUS_OK;
    if (!c || !pairs || !snapshot_alloc(&best, g) || net_alloc_training(&g->feat) ||
        net_alloc_training(&g->head)) {
        s = status_fail(STATUS_NOMEM, "out of memory to train the transform classifier");
        goto done;
    }
    struct rng rng;
    rng_seed(&rng, cfg->seed);
    int steps = (int)((npairs + B - 1) / B), t = 0, best_epoch = 0, bad = 0;
    float best_loss = INFINITY;
    double t0 = clock_now();
    for (int e = 0; e < cfg->epochs; e++) {
        for (long i = 0; i < npairs; i++)
            pairs[i] = (int)i;
        rng_shuffle(&rng, pairs, (size_t)npairs);
        double sum = 0;
        for (int st = 0; st < steps; st++) {
            long p0 = (long)st * B;
            int P = (int)(npairs - p0 < B ? npairs - p0 : B);
            float loss = train_step(g, c, x, pairs + p0, P, cfg, ++t);
            if (!isfinite(loss)) {
                s = status_fail(STATUS_NUMERIC, "transform classifier: loss is %g at epoch %d",
                                loss, e + 1);
                goto done;
            }
            sum += loss * P;
            bool end = st == steps - 1;
            struct geom_progress pr = {.epoch = e, .epochs = cfg->epochs, .step = st + 1,
                                       .steps = steps, .loss = (float)(sum / (p0 + P)),
                                       .holdout_loss = NAN, .holdout_accuracy = NAN,
                                       .best_epoch = best_epoch};
            if (end) {
                geom_evaluate(c, xh, nh, &pr.holdout_loss, &pr.holdout_accuracy);
                if (pr.holdout_loss < best_loss - 1e-4f) {
                    best_loss = pr.holdout_loss;
                    best_epoch = e + 1;
                    snapshot_take(&best, g, true);
                    bad = 0;
                } else {
                    bad++;
                }
                pr.best_epoch = best_epoch;
                pr.epoch_end = true;
            }
            pr.elapsed_s = clock_now() - t0;
            double done_frac = (e + (st + 1.0) / steps) / cfg->epochs;
            pr.eta_s = pr.elapsed_s * (1 - done_frac) / done_frac;
            if (hooks && hooks->progress)
                hooks->progress(hooks->user, &pr);
            if (hooks && hooks->cancel && *hooks->cancel) {
                s = status_fail(STATUS_CANCELLED, "transform classifier: cancelled");
                goto done;
            }
        }
        if (bad >= cfg->patience)
            break;
    }
    snapshot_take(&best, g, false);
done:
    geom_ctx_free(c);
    free(pairs);
    snapshot_free(&best);
    return s;
}

/* ---- model files ----------------------------------------------------------------------------- */

static enum status put_int(struct safetensors *st, const char *key, int v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%d", v);
    return safetensors_set_meta(st, key, buf);
}

enum status geom_to_safetensors(const struct geom *g, struct safetensors *st)
{
    const struct geom_config *c = &g->cfg;
    struct net_naming nf = naming_feat;
    nf.nested = c->blocks;
    enum status s;
    if ((s = net_io_save(&g->feat, &nf, st)) || (s = net_io_save(&g->head, &naming_head, st)) ||
        (s = put_int(st, "transform.transforms", c->transforms)) ||
        (s = put_int(st, "transform.side", c->side)) ||
        (s = put_int(st, "transform.channels", c->channels)) ||
        (s = put_int(st, "transform.width", c->width)) ||
        (s = put_int(st, "transform.blocks", c->blocks)) ||
        (s = put_int(st, "transform.scored", geom_scored(g))))
        return s;
    /* The transforms by value, so a file keeps its meaning if xform_set's sets ever change. */
    char list[XFORM_MAX * 24] = "";
    for (int k = 0; k < c->transforms; k++) {
        char one[24];
        xform_format(one, sizeof one, &g->t[k]);
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ";" : "", one);
    }
    if ((s = safetensors_set_meta(st, "transform.list", list)))
        return s;
    if (!g->has_dirichlet)
        return STATUS_OK;
    int K = c->transforms, S = geom_scored(g);
    float *a = malloc((size_t)S * (size_t)K * sizeof(float));
    if (!a)
        return status_fail(STATUS_NOMEM, "out of memory");
    for (int i = 0; i < S * K; i++)
        a[i] = (float)g->alpha[i];
    int64_t shape[2] = {S, K};
    s = safetensors_add(st, "T.dirichlet_alpha", shape, 2, a);
    free(a);
    if (s)
        return s;
    char off[40];
    snprintf(off, sizeof off, "%.17g", g->dirichlet_offset);
    return safetensors_set_meta(st, "transform.dirichlet_offset", off);
}

static enum status parse_list(struct geom *g, const char *text, const char *file)
{
    int K = g->cfg.transforms, k = 0;
    const char *p = text;
    while (k < K) {
        char one[32];
        size_t len = strcspn(p, ";");
        if (len == 0 || len >= sizeof one)
            break;
        memcpy(one, p, len);
        one[len] = 0;
        if (!xform_parse(&g->t[k], one) || abs(g->t[k].dx) >= g->cfg.side ||
            abs(g->t[k].dy) >= g->cfg.side)
            break;
        k++;
        p += len;
        if (*p == ';')
            p++;
    }
    if (k != K || *p)
        return status_fail(STATUS_FORMAT, "%s: metadata transform.list is not %d transforms", file,
                           K);
    return STATUS_OK;
}

enum status geom_from_safetensors(struct geom **out, const struct safetensors *st,
                                  const char *file)
{
    *out = NULL;
    if (!safetensors_meta_get(st, "transform.transforms"))
        return STATUS_OK;
    struct geom_config c = geom_config_default();
    enum status s;
    if ((s = safetensors_meta_int(st, "transform.transforms", &c.transforms, file)) ||
        (s = safetensors_meta_int(st, "transform.side", &c.side, file)) ||
        (s = safetensors_meta_int(st, "transform.channels", &c.channels, file)) ||
        (s = safetensors_meta_int(st, "transform.width", &c.width, file)) ||
        (s = safetensors_meta_int(st, "transform.blocks", &c.blocks, file)) ||
        (s = safetensors_meta_int(st, "transform.scored", &c.scored, file)))
        return s;
    struct geom *g = NULL;
    if ((s = build(&g, &c)))
        return status_fail(s, "%s: %s", file, status_message());
    struct net_naming nf = naming_feat;
    nf.nested = c.blocks;
    const char *list = safetensors_meta_get(st, "transform.list");
    if ((list && (s = parse_list(g, list, file))) || (s = net_io_load(&g->feat, &nf, st, file)) ||
        (s = net_io_load(&g->head, &naming_head, st, file)))
        goto fail;
    const struct safetensors_tensor *a = safetensors_find(st, "T.dirichlet_alpha");
    if (a) {
        int K = c.transforms, S = geom_scored(g);
        if (a->ndim != 2 || a->shape[0] != S || a->shape[1] != K) {
            s = status_fail(STATUS_SHAPE, "%s: T.dirichlet_alpha is not (%d, %d)", file, S, K);
            goto fail;
        }
        if (!(g->alpha = malloc((size_t)S * (size_t)K * sizeof(double)))) {
            s = status_fail(STATUS_NOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < S * K; i++) {
            if (!(a->data[i] > 0) || !isfinite(a->data[i])) {
                s = status_fail(STATUS_FORMAT, "%s: T.dirichlet_alpha holds %g (must be > 0)",
                                file, a->data[i]);
                goto fail;
            }
            g->alpha[i] = a->data[i];
        }
        g->has_dirichlet = true;
        const char *off = safetensors_meta_get(st, "transform.dirichlet_offset");
        char *end = NULL;
        if (off && (g->dirichlet_offset = strtod(off, &end), end == off || *end ||
                    !isfinite(g->dirichlet_offset))) {
            s = status_fail(STATUS_FORMAT, "%s: transform.dirichlet_offset is not a number", file);
            goto fail;
        }
    }
    *out = g;
    return STATUS_OK;
fail:
    geom_free(g);
    return s;
}
