/* gcn_train: the training objective with its hand-written backward pass, and the training loop
 * of Kipf & Welling (2017), section 5.2 / the peer shared/peer/ref_gcn.py: full-batch Adam,
 * dropout on the input features and the hidden layer, L2 on W0 only (TensorFlow's l2_loss),
 * early stopping when the validation loss rises above the mean of the previous window.
 *
 * Backward, with P = softmax(logits), n training nodes, Y their one-hot labels (Â symmetric, so
 * Âᵀ = Â):
 *   dlogits = (P - Y) / n on training rows, 0 elsewhere
 *   dHW = Â dlogits           dW1 = Hdᵀ dHW               (Hd: the dropped-out hidden layer)
 *   dHd = dHW W1ᵀ             dAXW = dHd * scale where Hd > 0   (dropout and ReLU at once)
 *   dXW = Â dAXW              dW0 = X̂dᵀ dXW + weight_decay * W0  (X̂d: dropped-out features)
 * The buffers are reused down the pass (see struct gcn_work), so training holds three (N, H) and
 * two (N, C) arrays besides the graph. */
#include "gcn_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ops.h"

#include <sys/mman.h>

void *gcn_alloc_big(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge)
        return malloc(bytes ? bytes : 1);
    /* Rows of these arrays are gathered at random: on 2 MiB pages the TLB covers them (with
     * 4 KiB pages nearly every gather also misses the TLB; in a VM that walk is very costly). */
    void *p = NULL;
    if (posix_memalign(&p, huge, (bytes + huge - 1) / huge * huge) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE); /* advice only: may be refused */
#endif
    return p;
}

enum status gcn_work_create(struct gcn_work **out, const struct gcn *m, const struct graph *g)
{
    *out = NULL;
    if (g->nfeatures > m->nfeatures)
        return status_fail(STATUS_SHAPE, "graph %s has %d feature columns, the model takes %d",
                           g->name, g->nfeatures, m->nfeatures);
    struct gcn_work *w = calloc(1, sizeof *w);
    if (!w)
        goto nomem;
    w->n = g->nnodes;
    w->f = m->nfeatures;
    w->h = m->nhidden;
    w->c = m->nclasses;
    w->feat_nnz = g->feat.nnz;
    size_t nh = (size_t)w->n * w->h, nc = (size_t)w->n * w->c;
    size_t np = (size_t)w->f * w->h + (size_t)w->h * w->c;
    if (!(w->xd = malloc((size_t)(w->feat_nnz > 0 ? w->feat_nnz : 1) * sizeof *w->xd)) ||
        !(w->grad = malloc(np * sizeof *w->grad)))
        goto nomem;
    for (int i = 0; i < 3; i++)
        if (!(w->nh[i] = gcn_alloc_big(nh * sizeof(float))))
            goto nomem;
    for (int i = 0; i < 2; i++)
        if (!(w->nc[i] = gcn_alloc_big(nc * sizeof(float))))
            goto nomem;
    *out = w;
    return STATUS_OK;
nomem:
    gcn_work_free(w);
    return status_fail(STATUS_NOMEM, "gcn training buffers for %d nodes: out of memory",
                       g->nnodes);
}

void gcn_work_free(struct gcn_work *w)
{
    if (!w)
        return;
    free(w->xd);
    free(w->grad);
    for (int i = 0; i < 3; i++)
        free(w->nh[i]);
    for (int i = 0; i < 2; i++)
        free(w->nc[i]);
    free(w);
}

void gcn_forward_work(struct gcn_work *w, const struct gcn *m, const struct graph *g)
{
    gcn_spmm(w->nh[0], &g->feat, NULL, m->w0, w->h); /* X̂ W0 */
    gcn_spmm(w->nh[1], &g->adj, NULL, w->nh[0], w->h);
    gcn_relu(w->nh[1], (int64_t)w->n * w->h);
    gcn_mm(w->nc[0], w->nh[1], m->w1, w->n, w->h, w->c);
    gcn_spmm(w->nc[1], &g->adj, NULL, w->nc[0], w->c);
}

/* Eval-mode loss and accuracy over the listed nodes: the whole hidden layer, but the second
 * layer only for those rows (all the validation loss needs). n <= N. */
static void eval_nodes(float *loss, float *acc, struct gcn_work *w, const struct gcn *m,
                       const struct graph *g, const int32_t *nodes, int n)
{
    const int C = w->c;
    ASSERT(n <= w->n);
    *loss = *acc = 0.0f;
    if (n == 0)
        return;
    gcn_spmm(w->nh[0], &g->feat, NULL, m->w0, w->h);
    gcn_spmm(w->nh[1], &g->adj, NULL, w->nh[0], w->h);
    gcn_relu(w->nh[1], (int64_t)w->n * w->h);
    gcn_mm(w->nc[0], w->nh[1], m->w1, w->n, w->h, C);
    gcn_spmm_rows(w->nc[1], &g->adj, nodes, n, w->nc[0], C);
    double total = 0;
    int correct = 0;
    for (int k = 0; k < n; k++) {
        int pred, y = g->labels[nodes[k]];
        total += gcn_cross_entropy(w->nc[1] + (size_t)k * C, C, y, &pred);
        correct += pred == y;
    }
    *loss = (float)(total / n);
    *acc = (float)correct / (float)n;
}

float gcn_loss_grad(float *dw0, float *dw1, float *acc, struct gcn_work *w, const struct gcn *m,
                    const struct graph *g, const int32_t *nodes, int n, float dropout,
                    struct rng *r, float weight_decay)
{
    const int N = w->n, H = w->h, C = w->c;
    const int64_t nh = (int64_t)N * H;
    ASSERT(N == g->nnodes && H == m->nhidden && C == m->nclasses && n > 0 && n <= N);
    const int drop = r && dropout > 0.0f;
    const uint64_t key_x = drop ? rng_next(r) : 0, key_h = drop ? rng_next(r) : 0;
    float *xw = w->nh[0], *hid = w->nh[1], *hd = drop ? w->nh[2] : w->nh[1];
    float *hw = w->nc[0], *zrows = w->nc[1];

    /* Forward, train mode. */
    const float *xvals = g->feat.val;
    if (drop) {
        gcn_dropout(w->xd, g->feat.val, g->feat.nnz, dropout, key_x);
        xvals = w->xd;
    }
    gcn_spmm(xw, &g->feat, xvals, m->w0, H);
    gcn_spmm(hid, &g->adj, NULL, xw, H);
    gcn_relu(hid, nh);
    if (drop)
        gcn_dropout(hd, hid, nh, dropout, key_h);
    gcn_mm(hw, hd, m->w1, N, H, C);
    /* Only the listed rows of the logits Â·HW enter the loss. */
    gcn_spmm_rows(zrows, &g->adj, nodes, n, hw, C);

    /* Loss; dlogits row by row (in place of the logits row), each scattered straight through Â
     * (symmetric): dHW[j] += Â_ij dlogits_i for the j in row i. */
    float *dhw = hw; /* HW no longer needed */
    memset(dhw, 0, (size_t)N * C * sizeof *dhw);
    double loss = 0;
    int correct = 0;
    for (int k = 0; k < n; k++) {
        const int i = nodes[k], y = g->labels[i];
        float *z = zrows + (size_t)k * C;
        ASSERT(y >= 0 && y < C);
        int pred = 0;
        for (int j = 1; j < C; j++)
            pred = z[j] > z[pred] ? j : pred;
        correct += pred == y;
        const float mx = z[pred], zy = z[y];
        double se = 0;
        for (int j = 0; j < C; j++) {
            z[j] = expf(z[j] - mx); /* <= 1: no overflow */
            se += z[j];
        }
        loss += log(se) + mx - zy; /* -log softmax(z)_y */
        for (int j = 0; j < C; j++) /* (softmax - onehot) / n */
            z[j] = (float)(z[j] / se / n);
        z[y] -= 1.0f / (float)n;
        for (int64_t q = g->adj.rowptr[i]; q < g->adj.rowptr[i + 1]; q++) {
            if (q + 8 < g->adj.rowptr[i + 1]) /* the scattered rows are cache misses on big graphs */
                __builtin_prefetch(dhw + (size_t)g->adj.col[q + 8] * C, 1);
            gcn_axpy(dhw + (size_t)g->adj.col[q] * C, g->adj.val[q], z, C);
        }
    }
    loss /= n;

    /* Backward through layer 2, the dropout and ReLU, then layer 1. */
    memset(dw1, 0, (size_t)H * C * sizeof *dw1);
    gcn_mm_tn_acc(dw1, hd, dhw, N, H, C);
    float *dh = xw; /* X̂W0 no longer needed */
    gcn_mm_nt(dh, dhw, m->w1, N, H, C);
    gcn_mask_backward(dh, hd, nh, drop ? 1.0f / (1.0f - dropout) : 1.0f);
    float *dxw = hid; /* hd is not read after this point (it may be hid itself) */
    gcn_spmm(dxw, &g->adj, NULL, dh, H);
    memset(dw0, 0, (size_t)m->nfeatures * H * sizeof *dw0);
    gcn_spmm_t_acc(dw0, &g->feat, xvals, dxw, H);

    /* L2 on W0 only: weight_decay * sum(W0^2) / 2, gradient weight_decay * W0. */
    if (weight_decay != 0.0f) {
        double sq = 0;
        for (size_t i = 0; i < (size_t)m->nfeatures * H; i++) {
            sq += (double)m->w0[i] * m->w0[i];
            dw0[i] += weight_decay * m->w0[i];
        }
        loss += weight_decay * sq / 2;
    }
    if (acc)
        *acc = (float)correct / (float)n;
    return (float)loss;
}

void gcn_train_config_default(struct gcn_train_config *cfg)
{
    *cfg = (struct gcn_train_config){.hidden = 16,
                                     .dropout = 0.5f,
                                     .weight_decay = 5e-4f,
                                     .lr = 0.01f,
                                     .epochs = 200,
                                     .patience = 10,
                                     .seed = 0};
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The node list in ascending order: the loss then walks Â's rows (and the hidden rows they
 * gather) front to back instead of at random, which matters on large graphs. */
static int32_t *sorted_copy(const int32_t *ids, int n)
{
    int32_t *c = malloc((size_t)(n > 0 ? n : 1) * sizeof *c);
    if (c && n > 0) {
        memcpy(c, ids, (size_t)n * sizeof *c);
        qsort(c, (size_t)n, sizeof *c, cmp_i32);
    }
    return c;
}

enum status gcn_train(struct gcn **out, struct gcn_train_result *res, const struct graph *g,
                      const struct gcn_train_config *cfg, gcn_progress_fn progress, void *user)
{
    struct gcn *m = NULL;
    struct gcn_work *w = NULL;
    float *adam_m = NULL, *adam_v = NULL, *hist = NULL;
    int32_t *train = NULL, *val = NULL;
    enum status s = STATUS_OK;
    struct rng r;
    *out = NULL;
    memset(res, 0, sizeof *res);
    if (g->ntrain < 1 || g->nclasses < 2)
        return status_fail(STATUS_SHAPE, "graph %s: need training nodes and 2+ classes (%d, %d)",
                           g->name, g->ntrain, g->nclasses);
    if (cfg->hidden < 1 || !(cfg->dropout >= 0.0f && cfg->dropout < 1.0f) || !(cfg->lr > 0.0f) ||
        cfg->epochs < 1 || cfg->patience < 0 || !(cfg->weight_decay >= 0.0f))
        return status_fail(STATUS_RANGE, "gcn training: bad settings (hidden %d, dropout %g, "
                           "lr %g, epochs %d, patience %d, weight decay %g)",
                           cfg->hidden, cfg->dropout, cfg->lr, cfg->epochs, cfg->patience,
                           cfg->weight_decay);
    if ((s = gcn_create(&m, g->nfeatures, cfg->hidden, g->nclasses)) != STATUS_OK ||
        (s = gcn_work_create(&w, m, g)) != STATUS_OK)
        goto fail;
    const size_t np = (size_t)m->nfeatures * m->nhidden + (size_t)m->nhidden * m->nclasses;
    adam_m = calloc(np, sizeof *adam_m);
    adam_v = calloc(np, sizeof *adam_v);
    hist = malloc((size_t)cfg->epochs * sizeof *hist);
    train = sorted_copy(g->train, g->ntrain);
    val = sorted_copy(g->val, g->nval);
    if (!adam_m || !adam_v || !hist || !train || !val) {
        s = status_fail(STATUS_NOMEM, "gcn training: out of memory");
        goto fail;
    }
    rng_seed(&r, cfg->seed);
    gcn_init_glorot(m, &r);
    /* torch.optim.Adam defaults; L2 is in the gradient (first layer only), not in Adam. */
    const struct adam_config adam = {cfg->lr, 0.9f, 0.999f, 1e-8f, 0.0f};
    const double t0 = clock_now();
    int ep;
    for (ep = 0; ep < cfg->epochs; ep++) {
        struct gcn_epoch e = {.epoch = ep + 1};
        const double step0 = clock_now();
        e.train_loss = gcn_loss_grad(w->grad, w->grad + (size_t)m->nfeatures * m->nhidden,
                                     &e.train_acc, w, m, g, train, g->ntrain, cfg->dropout, &r,
                                     cfg->weight_decay);
        if (!isfinite(e.train_loss)) {
            s = status_fail(STATUS_NUMERIC, "gcn training diverged at epoch %d (loss %g)", ep + 1,
                            e.train_loss);
            goto fail;
        }
        adam_step(m->params, w->grad, adam_m, adam_v, np, &adam, ep + 1);
        e.step_seconds = clock_now() - step0;
        eval_nodes(&e.val_loss, &e.val_acc, w, m, g, val, g->nval);
        e.seconds = clock_now() - t0;
        if (progress && progress(&e, user)) {
            s = status_fail(STATUS_CANCELLED, "gcn training stopped at epoch %d", ep + 1);
            goto fail;
        }
        /* The peer's rule: at epoch index ep > patience, stop when the validation loss exceeds
         * the mean of the previous `patience` ones (this step's weights are kept). */
        if (cfg->patience > 0 && g->nval > 0 && ep > cfg->patience) {
            double mean = 0;
            for (int k = ep - cfg->patience; k < ep; k++)
                mean += hist[k];
            if (e.val_loss > mean / cfg->patience) {
                res->stopped_early = 1;
                break;
            }
        }
        hist[ep] = e.val_loss;
    }
    res->epochs = ep < cfg->epochs ? ep + 1 : cfg->epochs;
    res->seconds = clock_now() - t0;
    gcn_forward_work(w, m, g);
    float unused;
    res->train_acc = res->val_acc = res->test_acc = res->val_loss = NAN;
    if (g->ntrain)
        gcn_evaluate(&unused, &res->train_acc, w->nc[1], g, g->train, g->ntrain);
    if (g->nval)
        gcn_evaluate(&res->val_loss, &res->val_acc, w->nc[1], g, g->val, g->nval);
    if (g->ntest)
        gcn_evaluate(&unused, &res->test_acc, w->nc[1], g, g->test, g->ntest);
    snprintf(m->info.dataset, sizeof m->info.dataset, "%s", g->name);
    m->info.test_accuracy = res->test_acc;
    m->info.epochs = res->epochs;
    *out = m;
    m = NULL;
fail:
    gcn_work_free(w);
    gcn_free(m);
    free(adam_m);
    free(adam_v);
    free(hist);
    free(train);
    free(val);
    return s;
}
