/* anogan_io: AnoGAN model files. Tensors by the seed's PyTorch names, everything else in
 * __metadata__ as flat string keys (docs/model-format.md). A file with no metadata at all is a
 * seed state_dict and gets the seed's architecture and preprocessing. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anogan_impl.h"
#include "safetensors.h"

#define ANOGAN_FORMAT "inspectd.anogan.v1"

/* How one net's blocks are named: the first `nested` blocks as "<seq>.<i>.0.weight" (conv) and
 * "<seq>.<i>.1.weight" (BatchNorm), as nn.Sequential(nn.Sequential(conv, bn, act), ...) names
 * them; a last unnested block as "<tail>.weight". */
struct naming {
    const char *seq;
    int nested;
    const char *tail;
};

static const struct naming naming_g = {"G.generator_network", 5, NULL};
static const struct naming naming_d = {"D.feature_network", 4, NULL};
static const struct naming naming_critic = {NULL, 0, "D.critic_network"};
static const struct naming naming_e = {"E.feature_network", 4, "E.latent_network"};

enum field { FIELD_WEIGHT, FIELD_BIAS, FIELD_GAMMA, FIELD_BETA, FIELD_MEAN, FIELD_VAR };

static void field_name(char *buf, size_t len, const struct naming *nm, int i, enum field f)
{
    static const char *conv[] = {"weight", "bias"};
    static const char *bn[] = {"weight", "bias", "running_mean", "running_var"};
    if (i < nm->nested) {
        if (f <= FIELD_BIAS)
            snprintf(buf, len, "%s.%d.0.%s", nm->seq, i, conv[f]);
        else
            snprintf(buf, len, "%s.%d.1.%s", nm->seq, i, bn[f - FIELD_GAMMA]);
    } else {
        ASSERT(f <= FIELD_BIAS && nm->tail);
        snprintf(buf, len, "%s.%s", nm->tail, conv[f]);
    }
}

/* The pointer and expected shape of field f of block b. Returns the number of dims (0 if the
 * block has no such field). */
static int field_ref(struct net_block *b, enum field f, float **ptr, int64_t shape[4])
{
    int k = b->spec.k;
    switch (f) {
    case FIELD_WEIGHT:
        *ptr = b->weight;
        shape[0] = b->spec.op == NET_OP_CONV2D ? b->spec.cout : b->cin;
        shape[1] = b->spec.op == NET_OP_CONV2D ? b->cin : b->spec.cout;
        shape[2] = shape[3] = k;
        return 4;
    case FIELD_BIAS: *ptr = b->bias; break;
    case FIELD_GAMMA: *ptr = b->bn_gamma; break;
    case FIELD_BETA: *ptr = b->bn_beta; break;
    case FIELD_MEAN: *ptr = b->bn_mean; break;
    case FIELD_VAR: *ptr = b->bn_var; break;
    }
    if (f >= FIELD_GAMMA && !b->spec.batchnorm)
        return 0;
    shape[0] = b->spec.cout;
    return 1;
}

static enum status load_net(struct net *n, const struct naming *nm, const struct safetensors *st,
                            const char *file)
{
    for (int i = 0; i < n->nblocks; i++) {
        for (int f = FIELD_WEIGHT; f <= FIELD_VAR; f++) {
            float *dst;
            int64_t shape[4];
            int nd = field_ref(&n->blocks[i], (enum field)f, &dst, shape);
            if (nd == 0)
                continue;
            char name[128];
            field_name(name, sizeof name, nm, i, (enum field)f);
            const struct safetensors_tensor *t = safetensors_find(st, name);
            if (!t)
                return status_fail(STATUS_NOT_FOUND, "%s: tensor %s is missing", file, name);
            bool ok = t->ndim == nd;
            for (int d = 0; ok && d < nd; d++)
                ok = t->shape[d] == shape[d];
            if (!ok) {
                char got[96] = "", want[96] = "";
                for (int d = 0; d < t->ndim && d < SAFETENSORS_MAX_DIMS; d++)
                    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "," : "",
                             (long long)t->shape[d]);
                for (int d = 0; d < nd; d++)
                    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
                             d ? "," : "", (long long)shape[d]);
                return status_fail(STATUS_SHAPE, "%s: tensor %s has shape (%s), expected (%s)",
                                   file, name, got, want);
            }
            for (size_t j = 0; j < t->numel; j++)
                if (!isfinite(t->data[j]))
                    return status_fail(STATUS_NUMERIC, "%s: tensor %s holds NaN or Inf", file,
                                       name);
            memcpy(dst, t->data, t->numel * sizeof(float));
        }
    }
    return STATUS_OK;
}

static enum status save_net(struct net *n, const struct naming *nm, struct safetensors *st)
{
    for (int i = 0; i < n->nblocks; i++) {
        for (int f = FIELD_WEIGHT; f <= FIELD_VAR; f++) {
            float *src;
            int64_t shape[4];
            int nd = field_ref(&n->blocks[i], (enum field)f, &src, shape);
            if (nd == 0)
                continue;
            char name[128];
            field_name(name, sizeof name, nm, i, (enum field)f);
            enum status s = safetensors_add(st, name, shape, nd, src);
            if (s)
                return s;
        }
    }
    return STATUS_OK;
}

/* Metadata number: absent keeps *v; present must parse completely. */
static enum status meta_float(const struct safetensors *st, const char *key, float *v,
                              const char *file)
{
    const char *s = safetensors_meta_get(st, key);
    if (!s)
        return STATUS_OK;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(d))
        return status_fail(STATUS_FORMAT, "%s: metadata %s = '%s' is not a number", file, key, s);
    *v = (float)d;
    return STATUS_OK;
}

static enum status meta_int(const struct safetensors *st, const char *key, int *v,
                            const char *file)
{
    float f = (float)*v;
    enum status s = meta_float(st, key, &f, file);
    if (s)
        return s;
    if (f != floorf(f) || fabsf(f) > 1e9f)
        return status_fail(STATUS_FORMAT, "%s: metadata %s is not an integer", file, key);
    *v = (int)f;
    return STATUS_OK;
}

static void meta_string(const struct safetensors *st, const char *key, char *dst, size_t len)
{
    const char *s = safetensors_meta_get(st, key);
    if (s)
        snprintf(dst, len, "%s", s);
}

static enum status read_meta(struct anogan *m, const struct safetensors *st, const char *file)
{
    struct anogan_config *c = &m->cfg;
    struct anogan_calibration *cal = &m->cal;
    enum status s;
    if ((s = meta_int(st, "zdim", &c->zdim, file)) || (s = meta_int(st, "width", &c->width, file)) ||
        (s = meta_int(st, "image_size", &c->image_size, file)) ||
        (s = meta_int(st, "channels", &c->channels, file)) ||
        (s = meta_float(st, "mean", &c->mean, file)) || (s = meta_float(st, "std", &c->std, file)) ||
        (s = meta_float(st, "lambda", &c->lambda, file)))
        return s;
    meta_string(st, "name", m->name, sizeof m->name);
    meta_string(st, "trained", m->trained, sizeof m->trained);
    if (!safetensors_meta_get(st, "calibration.threshold"))
        return STATUS_OK;
    cal->present = true;
    if ((s = meta_float(st, "calibration.threshold", &cal->threshold, file)) ||
        (s = meta_float(st, "calibration.percentile", &cal->percentile, file)) ||
        (s = meta_int(st, "calibration.count", &cal->count, file)) ||
        (s = meta_float(st, "calibration.mean", &cal->mean, file)) ||
        (s = meta_float(st, "calibration.std", &cal->std, file)) ||
        (s = meta_float(st, "calibration.p50", &cal->p50, file)) ||
        (s = meta_float(st, "calibration.p90", &cal->p90, file)) ||
        (s = meta_float(st, "calibration.p99", &cal->p99, file)) ||
        (s = meta_float(st, "calibration.max", &cal->max, file)) ||
        (s = meta_int(st, "calibration.iterations", &cal->iterations, file)))
        return s;
    meta_string(st, "calibration.search", cal->search, sizeof cal->search);
    meta_string(st, "calibration.data", cal->data, sizeof cal->data);
    return STATUS_OK;
}

enum status anogan_from_safetensors(struct anogan **out, const struct safetensors *st,
                                    const char *name)
{
    struct anogan *m = calloc(1, sizeof *m);
    if (!m)
        return status_fail(STATUS_NOMEM, "out of memory");
    m->cfg = anogan_config_seed();
    /* default name: the file's base name without extension */
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    snprintf(m->name, sizeof m->name, "%s", base);
    char *dot = strrchr(m->name, '.');
    if (dot && dot != m->name)
        *dot = 0;
    snprintf(m->sha256, sizeof m->sha256, "%s", st->sha256);
    enum status s;
    if ((s = read_meta(m, st, name)) || (s = anogan_build(m)) ||
        (s = load_net(&m->g, &naming_g, st, name)) ||
        (s = load_net(&m->d_feat, &naming_d, st, name)) ||
        (s = load_net(&m->d_critic, &naming_critic, st, name)))
        goto fail;
    char probe[128];
    field_name(probe, sizeof probe, &naming_e, 0, FIELD_WEIGHT);
    if (safetensors_find(st, probe)) {
        if ((s = anogan_build_encoder(m)) || (s = load_net(&m->enc, &naming_e, st, name)))
            goto fail;
    }
    *out = m;
    return STATUS_OK;
fail:
    anogan_free(m);
    return s;
}

enum status anogan_load(struct anogan **out, const char *path)
{
    struct safetensors *st = NULL;
    enum status s = safetensors_load(&st, path);
    if (s)
        return s;
    s = anogan_from_safetensors(out, st, path);
    safetensors_free(st);
    return s;
}

static enum status put(struct safetensors *st, const char *key, const char *fmt, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, v);
    return safetensors_set_meta(st, key, buf);
}

enum status anogan_to_safetensors(const struct anogan *m, struct safetensors *st)
{
    struct anogan *mm = (struct anogan *)m; /* field_ref hands out non-const pointers */
    const struct anogan_config *c = &m->cfg;
    const struct anogan_calibration *cal = &m->cal;
    enum status s;
    if ((s = save_net(&mm->g, &naming_g, st)) || (s = save_net(&mm->d_feat, &naming_d, st)) ||
        (s = save_net(&mm->d_critic, &naming_critic, st)) ||
        (m->has_encoder && (s = save_net(&mm->enc, &naming_e, st))))
        return s;
    if ((s = safetensors_set_meta(st, "format", ANOGAN_FORMAT)) ||
        (s = safetensors_set_meta(st, "name", m->name)) ||
        (s = put(st, "zdim", "%.0f", c->zdim)) || (s = put(st, "width", "%.0f", c->width)) ||
        (s = put(st, "image_size", "%.0f", c->image_size)) ||
        (s = put(st, "channels", "%.0f", c->channels)) || (s = put(st, "mean", "%.9g", c->mean)) ||
        (s = put(st, "std", "%.9g", c->std)) || (s = put(st, "lambda", "%.9g", c->lambda)) ||
        (m->trained[0] && (s = safetensors_set_meta(st, "trained", m->trained))))
        return s;
    if (!cal->present)
        return STATUS_OK;
    if ((s = put(st, "calibration.threshold", "%.9g", cal->threshold)) ||
        (s = put(st, "calibration.percentile", "%.9g", cal->percentile)) ||
        (s = put(st, "calibration.count", "%.0f", cal->count)) ||
        (s = put(st, "calibration.mean", "%.9g", cal->mean)) ||
        (s = put(st, "calibration.std", "%.9g", cal->std)) ||
        (s = put(st, "calibration.p50", "%.9g", cal->p50)) ||
        (s = put(st, "calibration.p90", "%.9g", cal->p90)) ||
        (s = put(st, "calibration.p99", "%.9g", cal->p99)) ||
        (s = put(st, "calibration.max", "%.9g", cal->max)) ||
        (s = put(st, "calibration.iterations", "%.0f", cal->iterations)) ||
        (s = safetensors_set_meta(st, "calibration.search", cal->search)) ||
        (s = safetensors_set_meta(st, "calibration.data", cal->data)))
        return s;
    return STATUS_OK;
}

enum status anogan_save(const struct anogan *m, const char *path)
{
    struct safetensors *st = safetensors_new();
    if (!st)
        return status_fail(STATUS_NOMEM, "out of memory");
    enum status s = anogan_to_safetensors(m, st);
    if (s == STATUS_OK)
        s = safetensors_save(st, path);
    safetensors_free(st);
    return s;
}
