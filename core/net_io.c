/* net_io: a net's tensors in a safetensors file (see net_io.h). Every tensor is checked by name,
 * shape and finiteness before it is copied. */
#include "net_io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "safetensors.h"



enum field { FIELD_WEIGHT, FIELD_BIAS, FIELD_GAMMA, FIELD_BETA, FIELD_MEAN, FIELD_VAR };

static void field_name(char *buf, size_t len, const struct net_naming *nm, int i, enum field f)
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
static int field_ref(const struct net_block *b, enum field f, float **ptr, int64_t shape[4])
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

/* buf = the dims of shape as "a,b,c" (empty for nd = 0). */
static void format_shape(char *buf, size_t len, const int64_t *shape, int nd)
{
    buf[0] = 0;
    for (int d = 0; d < nd; d++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%lld", d ? "," : "", (long long)shape[d]);
}

enum status net_io_load(struct net *n, const struct net_naming *nm, const struct safetensors *st,
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
                char got[96], want[96];
                format_shape(got, sizeof got, t->shape,
                             t->ndim < SAFETENSORS_MAX_DIMS ? t->ndim : SAFETENSORS_MAX_DIMS);
                format_shape(want, sizeof want, shape, nd);
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

enum status net_io_save(const struct net *n, const struct net_naming *nm, struct safetensors *st)
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

void net_io_weight_name(char *buf, size_t len, const struct net_naming *nm, int i)
{
    field_name(buf, len, nm, i, FIELD_WEIGHT);
}
