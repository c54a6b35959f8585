/* gcn: the model (create, Glorot init, safetensors save/load), the eval-mode forward pass, and
 * the serving cache of every node's class probabilities. Training is in gcn_train.c, the
 * products in gcn_kernels.c. */
#include "gcn_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

enum status gcn_create(struct gcn **out, int nfeatures, int nhidden, int nclasses)
{
    *out = NULL;
    if (nfeatures < 1 || nhidden < 1 || nclasses < 1 || nfeatures > GRAPH_MAX_FEATURES ||
        nhidden > 65536 || nclasses > 65536)
        return status_fail(STATUS_SHAPE, "gcn: bad shape F=%d H=%d C=%d", nfeatures, nhidden,
                           nclasses);
    struct gcn *m = calloc(1, sizeof *m);
    size_t np = (size_t)nfeatures * nhidden + (size_t)nhidden * nclasses;
    if (!m || !(m->params = calloc(np, sizeof *m->params))) {
        free(m);
        return status_fail(STATUS_NOMEM, "gcn: out of memory (%zu parameters)", np);
    }
    m->nfeatures = nfeatures;
    m->nhidden = nhidden;
    m->nclasses = nclasses;
    m->w0 = m->params;
    m->w1 = m->params + (size_t)nfeatures * nhidden;
    m->info.test_accuracy = NAN;
    *out = m;
    return STATUS_OK;
}

void gcn_free(struct gcn *m)
{
    if (!m)
        return;
    free(m->params);
    free(m);
}

void gcn_init_glorot(struct gcn *m, struct rng *r)
{
    float r0 = sqrtf(6.0f / (float)(m->nfeatures + m->nhidden));
    float r1 = sqrtf(6.0f / (float)(m->nhidden + m->nclasses));
    rng_fill_uniform(r, m->w0, (size_t)m->nfeatures * m->nhidden, -r0, r0);
    rng_fill_uniform(r, m->w1, (size_t)m->nhidden * m->nclasses, -r1, r1);
}

/* ---- Files ---------------------------------------------------------------------------------- */

enum status gcn_save(const struct gcn *m, const char *path)
{
    struct safetensors *st = safetensors_new();
    enum status s = STATUS_OK;
    char buf[64];
    if (!st)
        return status_fail(STATUS_NOMEM, "%s: out of memory", path);
    const int64_t s0[2] = {m->nfeatures, m->nhidden}, s1[2] = {m->nhidden, m->nclasses};
    if ((s = safetensors_add(st, "W0", s0, 2, m->w0)) != STATUS_OK ||
        (s = safetensors_add(st, "W1", s1, 2, m->w1)) != STATUS_OK ||
        (s = safetensors_set_meta(st, "format", "inspectd-gcn")) != STATUS_OK ||
        (s = safetensors_set_meta(st, "dataset", m->info.dataset)) != STATUS_OK ||
        (s = safetensors_set_meta(st, "trained_by", m->info.trained_by)) != STATUS_OK)
        goto done;
    snprintf(buf, sizeof buf, "%d", m->nclasses);
    if ((s = safetensors_set_meta(st, "classes", buf)) != STATUS_OK)
        goto done;
    snprintf(buf, sizeof buf, "%d", m->nfeatures);
    if ((s = safetensors_set_meta(st, "features", buf)) != STATUS_OK)
        goto done;
    snprintf(buf, sizeof buf, "%d", m->nhidden);
    if ((s = safetensors_set_meta(st, "hidden", buf)) != STATUS_OK)
        goto done;
    snprintf(buf, sizeof buf, "%d", m->info.epochs);
    if ((s = safetensors_set_meta(st, "epochs", buf)) != STATUS_OK)
        goto done;
    if (!isnan(m->info.test_accuracy)) {
        snprintf(buf, sizeof buf, "%.6f", m->info.test_accuracy);
        if ((s = safetensors_set_meta(st, "test_accuracy", buf)) != STATUS_OK)
            goto done;
    }
    s = safetensors_save(st, path);
done:
    safetensors_free(st);
    return s;
}

static void copy_meta(char *dst, size_t cap, const struct safetensors *st, const char *key)
{
    const char *v = safetensors_meta_get(st, key);
    snprintf(dst, cap, "%s", v ? v : "");
}

enum status gcn_load(struct gcn **out, const char *path)
{
    struct safetensors *st = NULL;
    struct gcn *m = NULL;
    *out = NULL;
    enum status s = safetensors_load(&st, path);
    if (s != STATUS_OK)
        return s;
    const struct safetensors_tensor *w0 = safetensors_find(st, "W0");
    const struct safetensors_tensor *w1 = safetensors_find(st, "W1");
    if (!w0 || !w1) {
        s = status_fail(STATUS_NOT_FOUND, "%s: tensor %s missing (not a GCN model?)", path,
                        w0 ? "W1" : "W0");
        goto fail;
    }
    if (w0->ndim != 2 || w1->ndim != 2 || w0->shape[1] != w1->shape[0] || w0->shape[0] < 1 ||
        w0->shape[0] > GRAPH_MAX_FEATURES || w0->shape[1] < 1 || w0->shape[1] > 65536 ||
        w1->shape[1] < 1 || w1->shape[1] > 65536) {
        s = status_fail(STATUS_SHAPE, "%s: W0 and W1 must be (F, H) and (H, C)", path);
        goto fail;
    }
    if ((s = gcn_create(&m, (int)w0->shape[0], (int)w0->shape[1], (int)w1->shape[1])) !=
        STATUS_OK)
        goto fail;
    memcpy(m->w0, w0->data, w0->numel * sizeof(float));
    memcpy(m->w1, w1->data, w1->numel * sizeof(float));
    copy_meta(m->info.dataset, sizeof m->info.dataset, st, "dataset");
    copy_meta(m->info.trained_by, sizeof m->info.trained_by, st, "trained_by");
    m->info.test_accuracy = NAN;
    m->info.epochs = 0;
    if ((s = safetensors_meta_double(st, "test_accuracy", &m->info.test_accuracy, path)) ||
        (s = safetensors_meta_int(st, "epochs", &m->info.epochs, path)))
        goto fail;
    memcpy(m->info.sha256, st->sha256, sizeof m->info.sha256);
    safetensors_free(st);
    *out = m;
    return STATUS_OK;
fail:
    safetensors_free(st);
    gcn_free(m);
    return s;
}

/* ---- Inference ------------------------------------------------------------------------------ */

enum status gcn_forward(float *logits, float *hidden, const struct gcn *m, const struct graph *g)
{
    const int n = g->nnodes, h = m->nhidden, c = m->nclasses;
    if (g->nfeatures > m->nfeatures)
        return status_fail(STATUS_SHAPE, "graph %s has %d feature columns, the model takes %d",
                           g->name, g->nfeatures, m->nfeatures);
    float *xw = malloc((size_t)n * h * sizeof *xw);
    float *hid = hidden ? hidden : malloc((size_t)n * h * sizeof *hid);
    float *hw = malloc((size_t)n * c * sizeof *hw);
    enum status s = STATUS_OK;
    if (!xw || !hid || !hw) {
        s = status_fail(STATUS_NOMEM, "gcn forward on %d nodes: out of memory", n);
        goto done;
    }
    gcn_spmm(xw, &g->feat, NULL, m->w0, h);        /* X̂ W0 (N, H) */
    gcn_spmm(hid, &g->adj, NULL, xw, h);           /* Â X̂ W0 */
    gcn_relu(hid, (int64_t)n * h);
    gcn_mm(hw, hid, m->w1, n, h, c);               /* H W1 (N, C) */
    gcn_spmm(logits, &g->adj, NULL, hw, c);        /* Â H W1 */
done:
    free(xw);
    if (hid != hidden)
        free(hid);
    free(hw);
    return s;
}

void gcn_softmax(float *prob, const float *logits, int n, int c)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * c;
        float *p = prob + (size_t)i * c;
        float mx = z[0];
        for (int j = 1; j < c; j++)
            mx = z[j] > mx ? z[j] : mx;
        double sum = 0;
        for (int j = 0; j < c; j++) {
            p[j] = expf(z[j] - mx);
            sum += p[j];
        }
        for (int j = 0; j < c; j++)
            p[j] = (float)(p[j] / sum);
    }
}

static int argmax(const float *z, int c)
{
    int best = 0;
    for (int j = 1; j < c; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

double gcn_cross_entropy(const float *z, int c, int y, int *pred)
{
    const int best = argmax(z, c);
    double se = 0;
    for (int j = 0; j < c; j++)
        se += exp((double)z[j] - z[best]);
    *pred = best;
    return log(se) + z[best] - z[y]; /* -log softmax(z)_y, shifted by the max for range */
}

void gcn_evaluate(float *loss, float *accuracy, const float *logits, const struct graph *g,
                  const int32_t *nodes, int n)
{
    const int c = g->nclasses;
    double total = 0;
    int correct = 0;
    for (int k = 0; k < n; k++) {
        const int i = nodes[k], y = g->labels[i];
        int pred;
        ASSERT(y >= 0 && y < c);
        total += gcn_cross_entropy(logits + (size_t)i * c, c, y, &pred);
        correct += pred == y;
    }
    if (loss)
        *loss = n ? (float)(total / n) : 0.0f;
    if (accuracy)
        *accuracy = n ? (float)correct / (float)n : 0.0f;
}

/* ---- Serving cache -------------------------------------------------------------------------- */

enum status gcn_cache_create(struct gcn_cache **out, const struct gcn *m, const struct graph *g)
{
    struct gcn_cache *c = calloc(1, sizeof *c);
    enum status s = STATUS_OK;
    const int n = g->nnodes, k = m->nclasses;
    *out = NULL;
    if (!c || !(c->prob = malloc((size_t)n * k * sizeof *c->prob)) ||
        !(c->pred = malloc((size_t)n * sizeof *c->pred)) || !(c->is_train = malloc((size_t)n))) {
        s = status_fail(STATUS_NOMEM, "gcn cache for %d nodes: out of memory", n);
        goto fail;
    }
    c->nnodes = n;
    c->nclasses = k;
    if ((s = gcn_forward(c->prob, NULL, m, g)) != STATUS_OK)
        goto fail;
    gcn_softmax(c->prob, c->prob, n, k);
    for (int i = 0; i < n; i++)
        c->pred[i] = argmax(c->prob + (size_t)i * k, k);
    memcpy(c->is_train, g->is_train, (size_t)n);
    *out = c;
    return STATUS_OK;
fail:
    gcn_cache_free(c);
    return s;
}

void gcn_cache_free(struct gcn_cache *c)
{
    if (!c)
        return;
    free(c->prob);
    free(c->pred);
    free(c->is_train);
    free(c);
}

enum status gcn_cache_query(struct gcn_node_class *out, const struct gcn_cache *c,
                            const int64_t *nodes, size_t n)
{
    char msg[256];
    size_t used = 0, unknown = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t id = nodes[i];
        out[i] = (struct gcn_node_class){.node = id};
        if (id < 0 || id >= c->nnodes) {
            if (unknown++ < 8 && used < sizeof msg)
                used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%lld",
                                         unknown > 1 ? ", " : "", (long long)id);
            continue;
        }
        out[i].known = 1;
        out[i].cls = c->pred[id];
        out[i].is_train = c->is_train[id];
        out[i].prob = c->prob + (size_t)id * c->nclasses;
    }
    if (unknown == 0)
        return STATUS_OK;
    return status_fail(STATUS_NOT_FOUND, "unknown node ids: %s%s (graph has nodes 0..%d)",
                       used ? msg : "", unknown > 8 ? ", ..." : "", c->nnodes - 1);
}
