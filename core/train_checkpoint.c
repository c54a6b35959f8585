/* train_checkpoint: checkpoints (a model file plus "train.*" tensors and metadata holding the
 * Adam moments, counters, random state and the epoch's order) and the PNG pictures of what the
 * networks learned. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "safetensors.h"
#include "train_impl.h"

struct named_net {
    const char *name;
    struct net *n;
};

/* The nets of m that a checkpoint holds optimiser state for. */
static int nets_of(struct named_net out[4], struct anogan *m)
{
    int k = 0;
    out[k++] = (struct named_net){"G", &m->g};
    out[k++] = (struct named_net){"D", &m->d_feat};
    out[k++] = (struct named_net){"C", &m->d_critic};
    if (m->has_encoder)
        out[k++] = (struct named_net){"E", &m->enc};
    return k;
}

static const char *phase_name(enum train_phase p)
{
    return p == TRAIN_PHASE_GAN ? "gan" : p == TRAIN_PHASE_ENCODER ? "encoder" : "done";
}

static enum status put_meta(struct safetensors *st, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum status put_meta(struct safetensors *st, const char *key, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return safetensors_set_meta(st, key, buf);
}

enum status train_checkpoint_save(const struct anogan *m, const struct train_state *state,
                                  const char *path)
{
    struct anogan *mm = (struct anogan *)m; /* read only; nets_of hands out non-const */
    struct safetensors *st = safetensors_new();
    if (!st)
        return status_fail(STATUS_NOMEM, "out of memory");
    enum status s = anogan_to_safetensors(m, st);
    struct named_net nets[4];
    int nn = nets_of(nets, mm);
    for (int i = 0; i < nn && !s; i++) {
        if (!nets[i].n->adam_m)
            continue;
        char key[64];
        int64_t shape[1] = {(int64_t)nets[i].n->nparams};
        snprintf(key, sizeof key, "train.%s.adam_m", nets[i].name);
        if ((s = safetensors_add(st, key, shape, 1, nets[i].n->adam_m)))
            break;
        snprintf(key, sizeof key, "train.%s.adam_v", nets[i].name);
        s = safetensors_add(st, key, shape, 1, nets[i].n->adam_v);
    }
    if (!s && state->perm) {
        /* indices below 2^24 are exact in float32; train_loop_run caps the count lower */
        float *p = malloc(state->count * sizeof *p);
        if (!p) {
            s = status_fail(STATUS_NOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < state->count; i++)
                p[i] = (float)state->perm[i];
            int64_t shape[1] = {(int64_t)state->count};
            s = safetensors_add(st, "train.perm", shape, 1, p);
            free(p);
        }
    }
    if (!s)
        s = put_meta(st, "train.phase", "%s", phase_name(state->phase));
    if (!s)
        s = put_meta(st, "train.counters", "%d %d %d %d %d %zu", state->epoch, state->step,
                     state->t_g, state->t_d, state->t_e, state->perm ? state->count : 0);
    if (!s)
        s = put_meta(st, "train.rng", "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64,
                     state->rng.s[0], state->rng.s[1], state->rng.s[2], state->rng.s[3]);
    if (!s)
        s = put_meta(st, "train.seconds", "%.3f", state->seconds);
    if (!s)
        s = safetensors_save(st, path);
    safetensors_free(st);
    return s;
}

static enum status restore_state(struct train_state *state, const struct safetensors *st,
                                 const char *path)
{
    const char *phase = safetensors_meta_get(st, "train.phase");
    const char *counters = safetensors_meta_get(st, "train.counters");
    const char *rng = safetensors_meta_get(st, "train.rng");
    if (!phase || !counters || !rng)
        return status_fail(STATUS_FORMAT, "%s: not a training checkpoint (no train.* metadata)",
                           path);
    memset(state, 0, sizeof *state);
    if (!strcmp(phase, "gan"))
        state->phase = TRAIN_PHASE_GAN;
    else if (!strcmp(phase, "encoder"))
        state->phase = TRAIN_PHASE_ENCODER;
    else if (!strcmp(phase, "done"))
        state->phase = TRAIN_PHASE_DONE;
    else
        return status_fail(STATUS_FORMAT, "%s: unknown training phase '%s'", path, phase);
    size_t count;
    if (sscanf(counters, "%d %d %d %d %d %zu", &state->epoch, &state->step, &state->t_g,
               &state->t_d, &state->t_e, &count) != 6 ||
        state->epoch < 0 || state->step < 0 || state->t_g < 0 || state->t_d < 0 || state->t_e < 0)
        return status_fail(STATUS_FORMAT, "%s: bad train.counters '%s'", path, counters);
    if (sscanf(rng, "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &state->rng.s[0],
               &state->rng.s[1], &state->rng.s[2], &state->rng.s[3]) != 4)
        return status_fail(STATUS_FORMAT, "%s: bad train.rng '%s'", path, rng);
    enum status s = safetensors_meta_double(st, "train.seconds", &state->seconds, path);
    if (s)
        return s;
    const struct safetensors_tensor *t = safetensors_find(st, "train.perm");
    if (!count)
        return STATUS_OK;
    if (!t || t->numel != count)
        return status_fail(STATUS_FORMAT, "%s: train.perm missing or not %zu long", path, count);
    state->perm = malloc(count * sizeof *state->perm);
    char *seen = calloc(count, 1);
    if (!state->perm || !seen) {
        s = status_fail(STATUS_NOMEM, "out of memory");
        goto done;
    }
    state->count = count;
    for (size_t i = 0; i < count; i++) {
        float v = t->data[i];
        if (!(v >= 0 && v < (float)count) || v != floorf(v) || seen[(size_t)v]) {
            s = status_fail(STATUS_FORMAT, "%s: train.perm is not a permutation", path);
            goto done;
        }
        seen[(size_t)v] = 1;
        state->perm[i] = (int)v;
    }
done:
    free(seen);
    if (s)
        train_state_free(state);
    return s;
}

enum status train_checkpoint_load(struct anogan **out, struct train_state *state, const char *path)
{
    *out = NULL;
    struct safetensors *st = NULL;
    struct anogan *m = NULL;
    enum status s = safetensors_load(&st, path);
    if (s)
        return s;
    if ((s = restore_state(state, st, path)) || (s = anogan_from_safetensors(&m, st, path)))
        goto fail;
    struct named_net nets[4];
    int nn = nets_of(nets, m);
    for (int i = 0; i < nn; i++) {
        struct net *n = nets[i].n;
        if ((s = net_alloc_training(n)))
            goto fail;
        char km[64], kv[64];
        snprintf(km, sizeof km, "train.%s.adam_m", nets[i].name);
        snprintf(kv, sizeof kv, "train.%s.adam_v", nets[i].name);
        const struct safetensors_tensor *tm = safetensors_find(st, km),
                                        *tv = safetensors_find(st, kv);
        if (!tm && !tv)
            continue; /* not trained yet (the encoder during the GAN phase) */
        if (!tm || !tv || tm->numel != n->nparams || tv->numel != n->nparams) {
            s = status_fail(STATUS_SHAPE, "%s: %s/%s missing or not %zu long", path, km, kv,
                            n->nparams);
            goto fail;
        }
        memcpy(n->adam_m, tm->data, n->nparams * sizeof(float));
        memcpy(n->adam_v, tv->data, n->nparams * sizeof(float));
    }
    safetensors_free(st);
    *out = m;
    return STATUS_OK;
fail:
    train_state_free(state);
    anogan_free(m);
    safetensors_free(st);
    return s;
}

/* ---- pictures ----------------------------------------------------------------------------- */

/* Tiles n images (NCHW, pixel values in [0,1]) into a grid of `cols` columns with 2-pixel
 * gutters. Colour when the model has 3 channels, else the first channel in grey. */
static enum status draw_grid(struct image *img, const float *px, int n, int cols, int channels,
                             int size)
{
    int rows = (n + cols - 1) / cols, gap = 2;
    int out_c = channels == 3 ? 3 : 1;
    enum status s = image_alloc(img, cols * (size + gap) + gap, rows * (size + gap) + gap, out_c);
    if (s)
        return s;
    memset(img->pixels, 48, (size_t)img->width * (size_t)img->height * (size_t)out_c);
    size_t plane = (size_t)size * (size_t)size;
    for (int k = 0; k < n; k++) {
        int x0 = gap + (k % cols) * (size + gap), y0 = gap + (k / cols) * (size + gap);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                for (int c = 0; c < out_c; c++) {
                    float v = px[((size_t)k * (size_t)channels + (size_t)c) * plane +
                                 (size_t)y * (size_t)size + (size_t)x];
                    img->pixels[((size_t)(y0 + y) * (size_t)img->width + (size_t)(x0 + x)) *
                                    (size_t)out_c + (size_t)c] = (uint8_t)lrintf(255.0f * v);
                }
    }
    return STATUS_OK;
}

enum status train_save_samples(struct anogan *m, uint64_t seed, int n, const char *path)
{
    ASSERT(n > 0);
    int chunk = 16, Z = m->cfg.zdim;
    size_t img_n = anogan_image_size(m);
    struct anogan_ctx *c = anogan_ctx_create(m, chunk);
    float *z = malloc((size_t)n * (size_t)Z * sizeof(float));
    float *px = malloc((size_t)n * img_n * sizeof(float));
    struct image img = {0};
    enum status s = STATUS_OK;
    if (!c || !z || !px) {
        s = status_fail(STATUS_NOMEM, "out of memory");
        goto done;
    }
    struct rng r;
    rng_seed(&r, seed);
    rng_fill_normal(&r, z, (size_t)n * (size_t)Z, 0.0f, 1.0f);
    for (int k = 0; k < n; k += chunk) {
        int b = n - k < chunk ? n - k : chunk;
        anogan_generate(c, z + (size_t)k * (size_t)Z, b, px + (size_t)k * img_n);
    }
    anogan_to_pixels(m, px, (size_t)n * img_n);
    int cols = (int)ceil(sqrt((double)n));
    if ((s = draw_grid(&img, px, n, cols, m->cfg.channels, m->cfg.image_size)) == STATUS_OK)
        s = image_save_png(&img, path);
done:
    image_free(&img);
    anogan_ctx_free(c);
    free(z);
    free(px);
    return s;
}

enum status train_save_reconstructions(struct anogan *m, const float *x, int n, const char *path)
{
    ASSERT(n > 0 && m->has_encoder);
    n = n > 32 ? 32 : n;
    int cols = n < 8 ? n : 8, rows = (n + cols - 1) / cols;
    size_t img_n = anogan_image_size(m);
    struct anogan_ctx *c = anogan_ctx_create(m, n);
    struct anogan_result *res = malloc((size_t)n * sizeof *res);
    float *recon = malloc((size_t)n * img_n * sizeof(float));
    /* rows alternate: originals, then their reconstructions underneath */
    float *px = calloc((size_t)rows * 2 * (size_t)cols * img_n, sizeof(float));
    struct image img = {0};
    enum status s = STATUS_OK;
    if (!c || !res || !recon || !px) {
        s = status_fail(STATUS_NOMEM, "out of memory");
        goto done;
    }
    struct anogan_search enc = {.init = ANOGAN_INIT_ENCODER, .iterations = 0, .lr = 1.0f};
    if ((s = anogan_score(c, x, n, NULL, &enc, res, recon, NULL, NULL)))
        goto done;
    for (int k = 0; k < n; k++) {
        size_t top = (size_t)((k / cols) * 2 * cols + k % cols);
        memcpy(px + top * img_n, x + (size_t)k * img_n, img_n * sizeof(float));
        memcpy(px + (top + (size_t)cols) * img_n, recon + (size_t)k * img_n, img_n * sizeof(float));
    }
    anogan_to_pixels(m, px, (size_t)rows * 2 * (size_t)cols * img_n);
    if ((s = draw_grid(&img, px, rows * 2 * cols, cols, m->cfg.channels, m->cfg.image_size)) ==
        STATUS_OK)
        s = image_save_png(&img, path);
done:
    image_free(&img);
    anogan_ctx_free(c);
    free(res);
    free(recon);
    free(px);
    return s;
}
