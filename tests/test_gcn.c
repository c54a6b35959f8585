/* test_gcn: core/gcn.h.
 *  - kernels: each fast product against its naive twin, on one thread and on several;
 *  - golden: the forward pass with PyTorch's weights on Cora against PyTorch's hidden layer,
 *    logits and softmax (shared/golden/gcn_cora_random.safetensors; with training on Cora, the
 *    suite's golden half: test_gcn --golden, SKIP when ../shared is absent);
 *  - backward: gcn_loss_grad against central finite differences on a small random graph, with
 *    dropout (fixed masks) and weight decay on;
 *  - dropout: rate and scale; early stopping and the patience-off path on a small graph;
 *  - training on Cora with one seed reaches a sane accuracy; save/load round trip;
 *  - serving: cache queries (known, unknown, training flag) and the inductive path (a request
 *    graph gives the same probabilities as the same graph parsed from text). */
#include "gcn_impl.h"
#include "safetensors.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float *falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* A random graph of n nodes with about deg edges per node, f feature columns (some rows empty),
 * c classes, every node labelled, first third training, next third validation. */
static struct graph *random_graph(int n, int deg, int f, int c, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    int64_t *rowptr = calloc((size_t)n + 1, sizeof *rowptr);
    int32_t *col = malloc((size_t)n * 4 * sizeof *col);
    float *val = malloc((size_t)n * 4 * sizeof *val);
    int64_t ne = (int64_t)n * deg / 2;
    int32_t *edges = malloc((size_t)(ne ? ne : 1) * 2 * sizeof *edges);
    ck_assert(rowptr && col && val && edges);
    int64_t nnz = 0;
    for (int i = 0; i < n; i++) {
        int k = (int)rng_below(&r, 4); /* 0..3 features, distinct columns */
        int start = (int)rng_below(&r, (uint64_t)f);
        for (int j = 0; j < k && j < f; j++) {
            col[nnz] = (start + j * 7) % f;
            val[nnz++] = 0.5f + (float)rng_uniform(&r);
        }
        rowptr[i + 1] = nnz;
    }
    for (int64_t e = 0; e < ne; e++) {
        edges[2 * e] = (int32_t)rng_below(&r, (uint64_t)n);
        edges[2 * e + 1] = (int32_t)rng_below(&r, (uint64_t)n);
    }
    struct graph *g = NULL;
    ck_assert_int_eq(graph_from_arrays(&g, NULL, n, f, rowptr, col, val, edges, ne, "random"),
                     STATUS_OK);
    g->nclasses = c;
    g->train = malloc((size_t)n * sizeof *g->train);
    g->val = malloc((size_t)n * sizeof *g->val);
    g->test = malloc((size_t)n * sizeof *g->test);
    for (int i = 0; i < n; i++) {
        g->labels[i] = (int32_t)rng_below(&r, (uint64_t)c);
        if (i < n / 3) {
            g->train[g->ntrain++] = i;
            g->is_train[i] = 1;
        } else if (i < 2 * n / 3) {
            g->val[g->nval++] = i;
        } else {
            g->test[g->ntest++] = i;
        }
    }
    free(rowptr);
    free(col);
    free(val);
    free(edges);
    return g;
}

/* ---- Kernels ---------------------------------------------------------------------------------- */

static void check_kernels(const struct graph *g, int w, int threads)
{
    gcn_set_threads(threads);
    const int n = g->nnodes, f = g->nfeatures, c = 7;
    float *b = falloc((size_t)n * w), *wf = falloc((size_t)f * w), *wc = falloc((size_t)w * c);
    float *d = falloc((size_t)n * c);
    tu_fill_uniform(b, (size_t)n * w, 1, 1.0f);
    tu_fill_uniform(wf, (size_t)f * w, 2, 1.0f);
    tu_fill_uniform(wc, (size_t)w * c, 3, 1.0f);
    tu_fill_uniform(d, (size_t)n * c, 4, 1.0f);
    float *o1 = falloc((size_t)n * w), *o2 = falloc((size_t)n * w);
    gcn_spmm(o1, &g->adj, NULL, b, w);
    gcn_spmm_ref(o2, &g->adj, NULL, b, w);
    ck_assert_double_lt(tu_nmse(o1, o2, (size_t)n * w), 1e-10);
    gcn_spmm(o1, &g->feat, NULL, wf, w);
    gcn_spmm_ref(o2, &g->feat, NULL, wf, w);
    ck_assert_double_lt(tu_nmse(o1, o2, (size_t)n * w), 1e-10);
    float *t1 = falloc((size_t)f * w), *t2 = falloc((size_t)f * w);
    tu_fill_uniform(t1, (size_t)f * w, 5, 1.0f); /* accumulates onto what is there */
    memcpy(t2, t1, (size_t)f * w * sizeof *t1);
    gcn_spmm_t_acc(t1, &g->feat, NULL, b, w);
    gcn_spmm_t_acc_ref(t2, &g->feat, NULL, b, w);
    ck_assert_double_lt(tu_nmse(t1, t2, (size_t)f * w), 1e-10);
    float *m1 = falloc((size_t)n * c), *m2 = falloc((size_t)n * c);
    gcn_mm(m1, b, wc, n, w, c);
    gcn_mm_ref(m2, b, wc, n, w, c);
    ck_assert_double_lt(tu_nmse(m1, m2, (size_t)n * c), 1e-10);
    gcn_mm_nt(o1, d, wc, n, w, c);
    gcn_mm_nt_ref(o2, d, wc, n, w, c);
    ck_assert_double_lt(tu_nmse(o1, o2, (size_t)n * w), 1e-10);
    float *a1 = falloc((size_t)w * c), *a2 = falloc((size_t)w * c);
    tu_fill_uniform(a1, (size_t)w * c, 6, 1.0f);
    memcpy(a2, a1, (size_t)w * c * sizeof *a1);
    gcn_mm_tn_acc(a1, b, d, n, w, c);
    gcn_mm_tn_acc_ref(a2, b, d, n, w, c);
    ck_assert_double_lt(tu_nmse(a1, a2, (size_t)w * c), 1e-10);
    free(b), free(wf), free(wc), free(d), free(o1), free(o2), free(t1), free(t2);
    free(m1), free(m2), free(a1), free(a2);
    gcn_set_threads(1);
}

START_TEST(test_kernels_small)
{
    struct graph *g = random_graph(57, 4, 13, 3, 11);
    check_kernels(g, 5, 1);
    check_kernels(g, 16, 1);
    graph_free(g);
}
END_TEST

START_TEST(test_kernels_threaded)
{
    /* With the work threshold at 0 every kernel takes its threaded path. */
    gcn_set_parallel_min_work(0);
    struct graph *g = random_graph(3001, 16, 40, 3, 12);
    check_kernels(g, 16, 1);
    check_kernels(g, 16, 3);
    check_kernels(g, 32, 2);
    check_kernels(g, 9, 4);
    /* Dropout masks and the whole gradient do not depend on the thread count. */
    const int64_t n = 100001;
    float *x = falloc((size_t)n), *y1 = falloc((size_t)n), *y3 = falloc((size_t)n);
    tu_fill_uniform(x, (size_t)n, 9, 1.0f);
    gcn_set_threads(1);
    gcn_dropout(y1, x, n, 0.5f, 77);
    gcn_set_threads(3);
    gcn_dropout(y3, x, n, 0.5f, 77);
    ck_assert_int_eq(memcmp(y1, y3, (size_t)n * sizeof *y1), 0);
    struct gcn *m = NULL;
    struct gcn_work *w = NULL;
    struct rng r;
    ck_assert_int_eq(gcn_create(&m, g->nfeatures, 16, g->nclasses), STATUS_OK);
    rng_seed(&r, 5);
    gcn_init_glorot(m, &r);
    ck_assert_int_eq(gcn_work_create(&w, m, g), STATUS_OK);
    const size_t np = (size_t)g->nfeatures * 16 + 16 * (size_t)g->nclasses;
    float *g1 = falloc(np), *g3 = falloc(np);
    for (int t = 1; t <= 3; t += 2) {
        gcn_set_threads(t);
        rng_seed(&r, 6);
        float *gr = t == 1 ? g1 : g3;
        gcn_loss_grad(gr, gr + (size_t)g->nfeatures * 16, NULL, w, m, g, g->train, g->ntrain, 0.5f,
                      &r, 5e-4f);
    }
    ck_assert_double_lt(tu_nmse(g3, g1, np), 1e-10);
    gcn_set_threads(1);
    gcn_set_parallel_min_work(GCN_PARALLEL_MIN_WORK);
    free(x), free(y1), free(y3), free(g1), free(g3);
    gcn_work_free(w);
    gcn_free(m);
    graph_free(g);
}
END_TEST

START_TEST(test_dropout)
{
    const int64_t n = 100003;
    float *x = falloc((size_t)n), *y = falloc((size_t)n), *z = falloc((size_t)n);
    for (int64_t i = 0; i < n; i++)
        x[i] = 1.0f;
    gcn_dropout(y, x, n, 0.3f, 42);
    gcn_dropout(z, x, n, 0.3f, 42);
    ck_assert_int_eq(memcmp(y, z, (size_t)n * sizeof *y), 0); /* same key, same mask */
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        ck_assert(y[i] == 0.0f || fabsf(y[i] - 1.0f / 0.7f) < 1e-6f);
        kept += y[i] != 0.0f;
    }
    ck_assert_double_eq_tol((double)kept / n, 0.7, 0.01);
    gcn_dropout(z, x, n, 0.3f, 43);
    ck_assert_int_ne(memcmp(y, z, (size_t)n * sizeof *y), 0);
    free(x), free(y), free(z);
}
END_TEST

/* ---- Golden --------------------------------------------------------------------------------- */

#define GOLDEN_GCN "golden/gcn_cora_random.safetensors"
#define CORA "datasets/cora"
#define CORA_FILES CORA "/features.svm", CORA "/edges.tsv" /* what tu_main checks */

START_TEST(test_golden_cora)
{
    const char *gold = tu_shared_need(GOLDEN_GCN), *dir = tu_shared_need(CORA);
    struct safetensors *st = NULL;
    struct graph *g = NULL;
    struct gcn *m = NULL;
    ck_assert_msg(safetensors_load(&st, gold) == STATUS_OK, "%s", status_message());
    ck_assert_msg(graph_load(&g, NULL, dir) == STATUS_OK, "%s", status_message());
    ck_assert_msg(gcn_load(&m, gold) == STATUS_OK, "%s", status_message());
    ck_assert_int_eq(m->nfeatures, 1433);
    ck_assert_int_eq(m->nhidden, 16);
    ck_assert_int_eq(m->nclasses, 7);
    ck_assert_int_eq(strlen(m->info.sha256), 64);
    const struct safetensors_tensor *eh = safetensors_find(st, "out.hidden");
    const struct safetensors_tensor *el = safetensors_find(st, "out.logits");
    const struct safetensors_tensor *ep = safetensors_find(st, "out.softmax");
    ck_assert(eh && el && ep);
    const size_t n = 2708;
    ck_assert_int_eq(eh->numel, n * 16);
    ck_assert_int_eq(el->numel, n * 7);
    float *hid = falloc(n * 16), *logits = falloc(n * 7), *prob = falloc(n * 7);
    for (int threads = 1; threads <= 2; threads++) {
        gcn_set_threads(threads);
        ck_assert_int_eq(gcn_forward(logits, hid, m, g), STATUS_OK);
        gcn_softmax(prob, logits, (int)n, 7);
        double eh_err = tu_max_rel_err(hid, eh->data, n * 16, 1e-5);
        double el_err = tu_max_rel_err(logits, el->data, n * 7, 1e-5);
        double ep_err = tu_max_rel_err(prob, ep->data, n * 7, 1e-6);
        printf("golden gcn (%d threads): max rel err hidden %.2e logits %.2e softmax %.2e\n",
               threads, eh_err, el_err, ep_err);
        ck_assert_double_lt(eh_err, 1e-4);
        ck_assert_double_lt(el_err, 1e-4);
        ck_assert_double_lt(ep_err, 1e-4);
    }
    gcn_set_threads(1);
    /* The serving cache holds the same softmax. */
    struct gcn_cache *c = NULL;
    ck_assert_int_eq(gcn_cache_create(&c, m, g), STATUS_OK);
    ck_assert_double_lt(tu_max_rel_err(c->prob, ep->data, n * 7, 1e-6), 1e-4);
    gcn_cache_free(c);
    free(hid), free(logits), free(prob);
    gcn_free(m);
    graph_free(g);
    safetensors_free(st);
}
END_TEST

/* ---- Backward by finite differences ---------------------------------------------------------- */

START_TEST(test_backward_fd)
{
    struct graph *g = random_graph(30, 3, 9, 4, 7);
    struct gcn *m = NULL;
    struct gcn_work *w = NULL;
    struct rng r;
    ck_assert_int_eq(gcn_create(&m, 9, 5, 4), STATUS_OK);
    rng_seed(&r, 3);
    gcn_init_glorot(m, &r);
    for (size_t i = 0; i < 9 * 5 + 5 * 4; i++)
        m->params[i] *= 3.0f; /* livelier logits than Glorot's for a 9-wide input */
    ck_assert_int_eq(gcn_work_create(&w, m, g), STATUS_OK);
    const size_t np = 9 * 5 + 5 * 4;
    float *grad = falloc(np);
    const float dropout = 0.4f, wd = 0.05f;
    for (int pass = 0; pass < 2; pass++) { /* without, then with dropout */
        float p = pass ? dropout : 0.0f;
        rng_seed(&r, 99);
        gcn_loss_grad(grad, grad + 9 * 5, NULL, w, m, g, g->train, g->ntrain, p, &r, wd);
        int checked = 0;
        for (size_t i = 0; i < np; i++) {
            const float eps = 1e-2f, x0 = m->params[i];
            float dummy[9 * 5 + 5 * 4];
            m->params[i] = x0 + eps;
            rng_seed(&r, 99);
            double lp = gcn_loss_grad(dummy, dummy + 45, NULL, w, m, g, g->train, g->ntrain, p, &r,
                                      wd);
            m->params[i] = x0 - eps;
            rng_seed(&r, 99);
            double lm = gcn_loss_grad(dummy, dummy + 45, NULL, w, m, g, g->train, g->ntrain, p, &r,
                                      wd);
            m->params[i] = x0;
            double num = (lp - lm) / (2.0 * eps);
            double err = fabs(num - grad[i]);
            ck_assert_msg(err <= 2e-3 + 0.05 * fabs(num), "param %zu (dropout %g): fd %.6g, "
                          "analytic %.6g", i, p, num, (double)grad[i]);
            checked += grad[i] != 0.0f;
        }
        ck_assert_int_gt(checked, (int)np / 2); /* most gradients are live, not trivially 0 */
    }
    free(grad);
    gcn_work_free(w);
    gcn_free(m);
    graph_free(g);
}
END_TEST

/* ---- Training --------------------------------------------------------------------------------- */

struct epoch_log {
    int count;
    float first_loss, last_loss;
};

static int log_epoch(const struct gcn_epoch *e, void *user)
{
    struct epoch_log *l = user;
    ck_assert_int_eq(e->epoch, l->count + 1);
    if (l->count++ == 0)
        l->first_loss = e->train_loss;
    l->last_loss = e->train_loss;
    return 0;
}

static int stop_at_three(const struct gcn_epoch *e, void *user)
{
    (void)user;
    return e->epoch >= 3;
}

START_TEST(test_train_small)
{
    struct graph *g = random_graph(300, 6, 20, 3, 5);
    struct gcn_train_config cfg;
    struct gcn_train_result res;
    struct gcn *m = NULL;
    struct epoch_log log = {0};
    gcn_train_config_default(&cfg);
    cfg.epochs = 40;
    cfg.patience = 0; /* off: all epochs run */
    ck_assert_int_eq(gcn_train(&m, &res, g, &cfg, log_epoch, &log), STATUS_OK);
    ck_assert_int_eq(res.epochs, 40);
    ck_assert_int_eq(log.count, 40);
    ck_assert(!res.stopped_early);
    ck_assert_float_lt(log.last_loss, log.first_loss);
    ck_assert_int_eq(m->info.epochs, 40);
    ck_assert_str_eq(m->info.dataset, "random");
    gcn_free(m);
    /* Same seed, same model; labels here are noise, so the validation loss soon rises and the
     * window rule stops training before the limit. */
    struct gcn *a = NULL, *b = NULL;
    cfg.epochs = 300;
    cfg.patience = 10;
    ck_assert_int_eq(gcn_train(&a, &res, g, &cfg, NULL, NULL), STATUS_OK);
    ck_assert(res.stopped_early);
    ck_assert_int_lt(res.epochs, 300);
    ck_assert_int_gt(res.epochs, 11);
    ck_assert_int_eq(gcn_train(&b, &res, g, &cfg, NULL, NULL), STATUS_OK);
    ck_assert_int_eq(memcmp(a->params, b->params, (size_t)(20 * 16 + 16 * 3) * sizeof(float)), 0);
    gcn_free(a);
    gcn_free(b);
    /* A progress callback can stop it. */
    ck_assert_int_eq(gcn_train(&m, &res, g, &cfg, stop_at_three, NULL), STATUS_CANCELLED);
    ck_assert_ptr_null(m);
    cfg.dropout = 1.0f;
    ck_assert_int_eq(gcn_train(&m, &res, g, &cfg, NULL, NULL), STATUS_RANGE);
    graph_free(g);
}
END_TEST

START_TEST(test_train_cora)
{
    const char *dir = tu_shared_need(CORA);
    struct graph *g = NULL;
    struct gcn *m = NULL, *back = NULL;
    struct gcn_train_config cfg;
    struct gcn_train_result res;
    ck_assert_msg(graph_load(&g, NULL, dir) == STATUS_OK, "%s", status_message());
    gcn_train_config_default(&cfg);
    cfg.seed = 1;
    ck_assert_int_eq(gcn_train(&m, &res, g, &cfg, NULL, NULL), STATUS_OK);
    printf("cora seed 1: test accuracy %.4f, %d epochs, %.3f s\n", res.test_acc, res.epochs,
           res.seconds);
    ck_assert_float_gt(res.test_acc, 0.75f);
    ck_assert_float_gt(res.train_acc, 0.9f);
    ck_assert_int_gt(res.epochs, 11);

    /* Save and load back: same weights, same metadata, a checksum. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_gcn_%d.safetensors", (int)getpid());
    snprintf(m->info.trained_by, sizeof m->info.trained_by, "test_gcn seed 1");
    ck_assert_msg(gcn_save(m, path) == STATUS_OK, "%s", status_message());
    ck_assert_msg(gcn_load(&back, path) == STATUS_OK, "%s", status_message());
    ck_assert_int_eq(memcmp(m->params, back->params,
                            (size_t)(1433 * 16 + 16 * 7) * sizeof(float)), 0);
    ck_assert_str_eq(back->info.dataset, "cora");
    ck_assert_str_eq(back->info.trained_by, "test_gcn seed 1");
    ck_assert_int_eq(back->info.epochs, res.epochs);
    ck_assert_double_eq_tol(back->info.test_accuracy, res.test_acc, 1e-5);
    ck_assert_int_eq(strlen(back->info.sha256), 64);
    unlink(path);

    /* Serving: the cache agrees with the reported accuracy and answers queries. */
    struct gcn_cache *c = NULL;
    ck_assert_int_eq(gcn_cache_create(&c, back, g), STATUS_OK);
    int correct = 0;
    for (int k = 0; k < g->ntest; k++)
        correct += c->pred[g->test[k]] == g->labels[g->test[k]];
    ck_assert_double_eq_tol((double)correct / g->ntest, res.test_acc, 1e-6);
    const int64_t ids[4] = {g->train[0], g->test[0], 2708, -1};
    struct gcn_node_class out[4];
    ck_assert_int_eq(gcn_cache_query(out, c, ids, 2), STATUS_OK);
    ck_assert(out[0].known && out[0].is_train && out[1].known && !out[1].is_train);
    double sum = 0;
    for (int j = 0; j < 7; j++) {
        sum += out[1].prob[j];
        ck_assert(out[1].prob[j] <= out[1].prob[out[1].cls]);
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-5);
    ck_assert_int_eq(gcn_cache_query(out, c, ids, 4), STATUS_NOT_FOUND);
    ck_assert(out[0].known && !out[2].known && !out[3].known);
    ck_assert_ptr_nonnull(strstr(status_message(), "2708, -1"));
    gcn_cache_free(c);
    gcn_free(back);
    gcn_free(m);
    graph_free(g);
}
END_TEST

/* ---- Inductive: a request graph ------------------------------------------------------------- */

START_TEST(test_inductive_matches_text)
{
    const char *feat = "0 0:1 2:3\n1 1:2\n0 3:1\n1\n";
    const char *edges = "0\t1\n1\t2\n";
    struct graph_text t = {.features = feat, .features_len = strlen(feat), .edges = edges,
                           .edges_len = strlen(edges)};
    struct graph *gt = NULL, *ga = NULL;
    struct gcn *m = NULL;
    struct rng r;
    ck_assert_int_eq(graph_parse(&gt, NULL, &t, "t"), STATUS_OK);
    ck_assert_int_eq(gcn_create(&m, 6, 4, 3), STATUS_OK); /* wider than the graph's 4 columns */
    rng_seed(&r, 1);
    gcn_init_glorot(m, &r);
    const int64_t rowptr[5] = {0, 2, 3, 4, 4};
    const int32_t col[4] = {2, 0, 1, 3};
    const float val[4] = {3, 1, 2, 1};
    const int32_t e[4] = {1, 0, 2, 1};
    ck_assert_int_eq(graph_from_arrays(&ga, NULL, 4, 6, rowptr, col, val, e, 2, "req"), STATUS_OK);
    struct gcn_cache *ct = NULL, *ca = NULL;
    ck_assert_int_eq(gcn_cache_create(&ct, m, gt), STATUS_OK);
    ck_assert_int_eq(gcn_cache_create(&ca, m, ga), STATUS_OK);
    ck_assert_double_lt(tu_max_rel_err(ca->prob, ct->prob, 4 * 3, 1e-7), 1e-6);
    /* Node 3 is isolated: its logits come from its own (empty) features only, so uniform. */
    for (int j = 0; j < 3; j++)
        ck_assert_double_eq_tol(ca->prob[9 + j], 1.0 / 3, 1e-6);
    gcn_cache_free(ct);
    gcn_cache_free(ca);
    /* A model narrower than the graph's features is a shape error. */
    struct gcn *narrow = NULL;
    ck_assert_int_eq(gcn_create(&narrow, 3, 4, 3), STATUS_OK);
    ck_assert_int_eq(gcn_cache_create(&ct, narrow, gt), STATUS_SHAPE);
    gcn_free(narrow);
    gcn_free(m);
    graph_free(gt);
    graph_free(ga);
}
END_TEST

START_TEST(test_load_errors)
{
    struct gcn *m = NULL;
    ck_assert_int_ne(gcn_load(&m, "/nonexistent.safetensors"), STATUS_OK);
    ck_assert_ptr_null(m);
    /* A safetensors file without W1. */
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_gcn_bad_%d.safetensors", (int)getpid());
    struct safetensors *st = safetensors_new();
    const int64_t shape[2] = {2, 2};
    const float x[4] = {1, 2, 3, 4};
    ck_assert_int_eq(safetensors_add(st, "W0", shape, 2, x), STATUS_OK);
    ck_assert_int_eq(safetensors_save(st, path), STATUS_OK);
    safetensors_free(st);
    ck_assert_int_eq(gcn_load(&m, path), STATUS_NOT_FOUND);
    unlink(path);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("gcn");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, test_kernels_small);
    tcase_add_test(k, test_kernels_threaded);
    tcase_add_test(k, test_dropout);
    suite_add_tcase(s, k);
    TCase *gold = tcase_create("golden");
    tcase_set_timeout(gold, 600);
    tu_needs_shared(gold, GOLDEN_GCN, CORA_FILES, NULL);
    tcase_add_test(gold, test_golden_cora);
    tcase_add_test(gold, test_train_cora);
    suite_add_tcase(s, gold);
    TCase *fd = tcase_create("backward");
    tcase_add_test(fd, test_backward_fd);
    suite_add_tcase(s, fd);
    TCase *tr = tcase_create("train");
    tcase_set_timeout(tr, 600);
    tcase_add_test(tr, test_train_small);
    suite_add_tcase(s, tr);
    TCase *srv = tcase_create("serve");
    tcase_add_test(srv, test_inductive_matches_text);
    tcase_add_test(srv, test_load_errors);
    suite_add_tcase(s, srv);
    return tu_main(s, argc, argv);
}
