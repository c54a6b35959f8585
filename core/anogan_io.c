/* anogan_io: AnoGAN model files. Tensors by the seed's PyTorch names, everything else in
 * __metadata__ as flat string keys (docs/model-format.md). A file with no metadata at all is a
 * seed state_dict and gets the seed's architecture and preprocessing. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anogan_impl.h"
#include "detect.h"
#include "net_io.h"
#include "safetensors.h"
#include "verdict.h"

#define ANOGAN_FORMAT "inspectd.anogan.v1"

static const struct net_naming naming_g = {"G.generator_network", 5, NULL};
static const struct net_naming naming_d = {"D.feature_network", 4, NULL};
static const struct net_naming naming_critic = {NULL, 0, "D.critic_network"};
static const struct net_naming naming_e = {"E.feature_network", 4, "E.latent_network"};

static enum status read_meta(struct anogan *m, const struct safetensors *st, const char *file)
{
    struct anogan_config *c = &m->cfg;
    struct anogan_calibration *cal = &m->cal;
    enum status s;
    if ((s = safetensors_meta_int(st, "zdim", &c->zdim, file)) || (s = safetensors_meta_int(st, "width", &c->width, file)) ||
        (s = safetensors_meta_int(st, "image_size", &c->image_size, file)) ||
        (s = safetensors_meta_int(st, "channels", &c->channels, file)) ||
        (s = safetensors_meta_float(st, "mean", &c->mean, file)) || (s = safetensors_meta_float(st, "std", &c->std, file)) ||
        (s = safetensors_meta_float(st, "lambda", &c->lambda, file)))
        return s;
    safetensors_meta_string(st, "name", m->name, sizeof m->name);
    safetensors_meta_string(st, "trained", m->trained, sizeof m->trained);
    if (!safetensors_meta_get(st, "calibration.threshold"))
        return STATUS_OK;
    cal->present = true;
    if ((s = safetensors_meta_float(st, "calibration.threshold", &cal->threshold, file)) ||
        (s = safetensors_meta_float(st, "calibration.percentile", &cal->percentile, file)) ||
        (s = safetensors_meta_int(st, "calibration.count", &cal->count, file)) ||
        (s = safetensors_meta_float(st, "calibration.mean", &cal->mean, file)) ||
        (s = safetensors_meta_float(st, "calibration.std", &cal->std, file)) ||
        (s = safetensors_meta_float(st, "calibration.p50", &cal->p50, file)) ||
        (s = safetensors_meta_float(st, "calibration.p90", &cal->p90, file)) ||
        (s = safetensors_meta_float(st, "calibration.p99", &cal->p99, file)) ||
        (s = safetensors_meta_float(st, "calibration.max", &cal->max, file)) ||
        (s = safetensors_meta_int(st, "calibration.iterations", &cal->iterations, file)))
        return s;
    cal->band_low = cal->band_high = cal->threshold;
    if (safetensors_meta_get(st, "calibration.band_low") &&
        ((s = safetensors_meta_float(st, "calibration.band_low", &cal->band_low, file)) ||
         (s = safetensors_meta_float(st, "calibration.band_high", &cal->band_high, file))))
        return s;
    if (!verdict_band_valid(cal->band_low, cal->band_high, cal->threshold))
        return status_fail(STATUS_FORMAT, "%s: calibration.band_low %g .. band_high %g does not "
                           "hold the threshold %g", file, cal->band_low, cal->band_high,
                           cal->threshold);
    snprintf(cal->score, sizeof cal->score, "anogan");
    safetensors_meta_string(st, "calibration.score", cal->score, sizeof cal->score);
    if (strcmp(cal->score, "anogan") && strcmp(cal->score, "fused"))
        return status_fail(STATUS_FORMAT, "%s: calibration.score is '%s' (anogan or fused)", file,
                           cal->score);
    safetensors_meta_string(st, "calibration.search", cal->search, sizeof cal->search);
    safetensors_meta_string(st, "calibration.data", cal->data, sizeof cal->data);
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
        (s = net_io_load(&m->g, &naming_g, st, name)) ||
        (s = net_io_load(&m->d_feat, &naming_d, st, name)) ||
        (s = net_io_load(&m->d_critic, &naming_critic, st, name)))
        goto fail;
    char probe[128];
    net_io_weight_name(probe, sizeof probe, &naming_e, 0);
    if (safetensors_find(st, probe)) {
        if ((s = anogan_build_encoder(m)) || (s = net_io_load(&m->enc, &naming_e, st, name)))
            goto fail;
    }
    if ((s = detect_from_safetensors(&m->det, st, name)))
        goto fail;
    if (m->cal.present && !strcmp(m->cal.score, "fused") && !(m->det && m->det->fused)) {
        s = status_fail(STATUS_FORMAT, "%s: the threshold is on the fused score, but the file "
                        "has no fusion rule", name);
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
        const struct anogan_config *c = &m->cfg;
    const struct anogan_calibration *cal = &m->cal;
    enum status s;
    if ((s = net_io_save(&m->g, &naming_g, st)) || (s = net_io_save(&m->d_feat, &naming_d, st)) ||
        (s = net_io_save(&m->d_critic, &naming_critic, st)) ||
        (m->has_encoder && (s = net_io_save(&m->enc, &naming_e, st))))
        return s;
    if ((s = safetensors_set_meta(st, "format", ANOGAN_FORMAT)) ||
        (s = safetensors_set_meta(st, "name", m->name)) ||
        (s = put(st, "zdim", "%.0f", c->zdim)) || (s = put(st, "width", "%.0f", c->width)) ||
        (s = put(st, "image_size", "%.0f", c->image_size)) ||
        (s = put(st, "channels", "%.0f", c->channels)) || (s = put(st, "mean", "%.9g", c->mean)) ||
        (s = put(st, "std", "%.9g", c->std)) || (s = put(st, "lambda", "%.9g", c->lambda)) ||
        (m->trained[0] && (s = safetensors_set_meta(st, "trained", m->trained))))
        return s;
    if (m->det && (s = detect_to_safetensors(m->det, st)))
        return s;
    if (!cal->present)
        return STATUS_OK;
    /* a calibration set by hand without a band (tools, tests) is stored without one */
    bool band_ok = verdict_band_valid(cal->band_low, cal->band_high, cal->threshold);
    if ((s = safetensors_set_meta(st, "calibration.score", cal->score[0] ? cal->score : "anogan")) ||
        (s = put(st, "calibration.threshold", "%.9g", cal->threshold)) ||
        (s = put(st, "calibration.percentile", "%.9g", cal->percentile)) ||
        (s = put(st, "calibration.count", "%.0f", cal->count)) ||
        (s = put(st, "calibration.mean", "%.9g", cal->mean)) ||
        (s = put(st, "calibration.std", "%.9g", cal->std)) ||
        (s = put(st, "calibration.p50", "%.9g", cal->p50)) ||
        (s = put(st, "calibration.p90", "%.9g", cal->p90)) ||
        (s = put(st, "calibration.p99", "%.9g", cal->p99)) ||
        (s = put(st, "calibration.max", "%.9g", cal->max)) ||
        (s = put(st, "calibration.band_low", "%.9g", band_ok ? cal->band_low : cal->threshold)) ||
        (s = put(st, "calibration.band_high", "%.9g", band_ok ? cal->band_high : cal->threshold)) ||
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
