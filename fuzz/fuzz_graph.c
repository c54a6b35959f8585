/* fuzz_graph: libFuzzer target for the graph folder parser (graph_parse) and, on what it accepts,
 * the GCN forward pass. The input is the five texts of a folder joined by NUL bytes:
 *   features.svm \0 edges.tsv \0 train.idx \0 val.idx \0 test.idx
 * (missing trailing sections are absent files). Each text is handed over in its own exact-size
 * heap copy without a terminator, so any read past a section shows under ASan.
 * Checks on an accepted graph: both CSRs sorted and in range, Â symmetric with a positive
 * diagonal and finite entries, split ids in range and labelled; the forward pass stays finite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gcn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_csr(const struct csr *m)
{
    ASSERT(m->rowptr[0] == 0 && m->rowptr[m->nrows] == m->nnz);
    for (int i = 0; i < m->nrows; i++) {
        ASSERT(m->rowptr[i] <= m->rowptr[i + 1]);
        for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++) {
            ASSERT(m->col[k] >= 0 && m->col[k] < m->ncols && isfinite(m->val[k]));
            ASSERT(k == m->rowptr[i] || m->col[k - 1] < m->col[k]);
        }
    }
}

static float adj_at(const struct csr *a, int i, int j)
{
    for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++)
        if (a->col[k] == j)
            return a->val[k];
    return 0.0f;
}

static void check_graph(const struct graph *g)
{
    check_csr(&g->adj);
    check_csr(&g->feat);
    ASSERT(g->adj.nrows == g->nnodes && g->feat.nrows == g->nnodes);
    ASSERT(g->adj.nnz == g->nnodes + 2 * g->nedges);
    for (int i = 0; i < g->nnodes; i++) {
        ASSERT(adj_at(&g->adj, i, i) > 0.0f);
        for (int64_t k = g->adj.rowptr[i]; k < g->adj.rowptr[i + 1]; k++)
            ASSERT(adj_at(&g->adj, g->adj.col[k], i) == g->adj.val[k]);
    }
    const int32_t *split[3] = {g->train, g->val, g->test};
    const int count[3] = {g->ntrain, g->nval, g->ntest};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < count[s]; k++)
            ASSERT(split[s][k] >= 0 && split[s][k] < g->nnodes && g->labels[split[s][k]] >= 0 &&
                   g->labels[split[s][k]] < g->nclasses);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *part[5] = {0};
    size_t len[5] = {0};
    size_t start = 0;
    int n = 0;
    for (size_t i = 0; i <= size && n < 5; i++) {
        if (i < size && data[i] != 0)
            continue;
        len[n] = i - start;
        part[n] = malloc(len[n] ? len[n] : 1);
        if (!part[n])
            goto done;
        if (len[n])
            memcpy(part[n], data + start, len[n]);
        n++;
        start = i + 1;
    }
    struct graph_text t = {part[0], part[1], part[2], part[3], part[4],
                           len[0],  len[1],  len[2],  len[3],  len[4]};
    struct graph *g = NULL;
    struct graph_report rep;
    if (graph_parse(&g, &rep, &t, "fuzz") != STATUS_OK) {
        ASSERT(g == NULL);
        goto done;
    }
    check_graph(g);
    ASSERT(rep.isolated_nodes <= g->nnodes && rep.featureless_nodes <= g->nnodes);
    if (g->nfeatures <= 4096) { /* keep the model small: columns can reach GRAPH_MAX_FEATURES */
        struct gcn *m = NULL;
        struct gcn_cache *c = NULL;
        struct rng r;
        if (gcn_create(&m, g->nfeatures, 4, g->nclasses > 1 ? g->nclasses : 2) == STATUS_OK) {
            rng_seed(&r, 1);
            gcn_init_glorot(m, &r);
            if (gcn_cache_create(&c, m, g) == STATUS_OK)
                for (size_t i = 0; i < (size_t)g->nnodes * m->nclasses; i++)
                    ASSERT(isfinite(c->prob[i]));
            gcn_cache_free(c);
        }
        gcn_free(m);
    }
    graph_free(g);
done:
    for (int i = 0; i < 5; i++)
        free(part[i]);
    return 0;
}
