/* graph: assembles a struct graph (graph.h) from a folder's texts (parsed by graph_text.c), reads
 * a folder from disk, and builds a graph from request arrays with every array checked and each
 * rejection naming its node, pair or column. The matrices are built by graph_build.c. */
#include "graph_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

/* ---- Assembly ------------------------------------------------------------------------------- */

static struct graph *graph_alloc(const char *name, int n)
{
    struct graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->name = strdup(name ? name : "");
    g->nnodes = n;
    g->is_train = calloc((size_t)n, 1);
    if (!g->name || !g->is_train) {
        graph_free(g);
        return NULL;
    }
    return g;
}

static void fill_report(struct graph_report *r, const struct graph_build_info *bi,
                        const struct csr *feat)
{
    memset(r, 0, sizeof *r);
    r->self_loops = bi->self_loops;
    r->duplicate_edges = bi->duplicates;
    r->isolated_nodes = bi->isolated;
    r->first_isolated_node = bi->first_isolated;
    r->first_featureless_node = -1;
    for (int i = 0; i < feat->nrows; i++)
        if (feat->rowptr[i + 1] == feat->rowptr[i] && r->featureless_nodes++ == 0)
            r->first_featureless_node = i;
}

enum status graph_parse(struct graph **out, struct graph_report *report,
                        const struct graph_text *text, const char *name)
{
    struct graph *g = NULL;
    struct csr feat;
    int32_t *labels = NULL, *pairs = NULL;
    int64_t npairs = 0;
    struct graph_build_info bi;
    const char *where = name && name[0] ? name : "graph";
    *out = NULL;
    if (!text->features)
        return status_fail(STATUS_FORMAT, "%s/features.svm: missing", where);
    enum status st = graph_parse_features(&feat, &labels, text->features, text->features_len, where);
    if (st != STATUS_OK)
        return st;
    int n = feat.nrows;
    if (!(g = graph_alloc(name, n))) {
        st = status_fail(STATUS_NOMEM, "%s: out of memory", where);
        goto fail;
    }
    g->feat = feat;
    memset(&feat, 0, sizeof feat);
    g->nfeatures = g->feat.ncols;
    g->labels = labels;
    labels = NULL;
    for (int i = 0; i < n; i++)
        if (g->labels[i] + 1 > g->nclasses)
            g->nclasses = g->labels[i] + 1;
    if (text->edges &&
        (st = graph_parse_edges(&pairs, &npairs, text->edges, text->edges_len, n, where)) != STATUS_OK)
        goto fail;
    if ((st = graph_build_adjacency(&g->adj, &bi, n, pairs, npairs)) != STATUS_OK)
        goto fail;
    g->nedges = bi.nedges;
    if ((st = graph_parse_split(&g->train, &g->ntrain, text->train, text->train_len, g->labels, n, where,
                          "train.idx")) != STATUS_OK ||
        (st = graph_parse_split(&g->val, &g->nval, text->val, text->val_len, g->labels, n, where,
                          "val.idx")) != STATUS_OK ||
        (st = graph_parse_split(&g->test, &g->ntest, text->test, text->test_len, g->labels, n, where,
                          "test.idx")) != STATUS_OK)
        goto fail;
    for (int i = 0; i < g->ntrain; i++)
        g->is_train[g->train[i]] = 1;
    if (report) {
        fill_report(report, &bi, &g->feat);
        report->first_self_loop_line = graph_edge_line(text->edges, text->edges_len, bi.first_self_loop);
        report->first_duplicate_line = graph_edge_line(text->edges, text->edges_len, bi.first_duplicate);
    }
    free(pairs);
    *out = g;
    return STATUS_OK;
fail:
    free(pairs);
    free(labels);
    csr_release(&feat);
    graph_free(g);
    return st;
}

enum status graph_load(struct graph **out, struct graph_report *report, const char *dir)
{
    static const char *files[5] = {"features.svm", "edges.tsv", "train.idx", "val.idx", "test.idx"};
    char *buf[5] = {0};
    size_t len[5] = {0};
    char path[4096], name[256];
    enum status st = STATUS_OK;
    *out = NULL;
    for (int i = 0; i < 5 && st == STATUS_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        st = file_read_all((uint8_t **)&buf[i], &len[i], path, SIZE_MAX - 1);
        if (st == STATUS_NOT_FOUND && i > 0) /* only features.svm is required */
            st = STATUS_OK;
    }
    if (st == STATUS_OK) {
        /* The dataset name is the folder's base name, trailing slashes ignored. */
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/')
            dl--;
        size_t b = dl;
        while (b > 0 && dir[b - 1] != '/')
            b--;
        snprintf(name, sizeof name, "%.*s", (int)(dl - b), dir + b);
        struct graph_text t = {buf[0], buf[1], buf[2], buf[3], buf[4],
                               len[0], len[1], len[2], len[3], len[4]};
        /* Messages should carry the path as given, the graph its short name. */
        st = graph_parse(out, report, &t, dir);
        if (st == STATUS_OK) {
            char *nm = strdup(name);
            if (!nm) {
                graph_free(*out);
                *out = NULL;
                st = status_fail(STATUS_NOMEM, "%s: out of memory", dir);
            } else {
                free((*out)->name);
                (*out)->name = nm;
            }
        }
    }
    for (int i = 0; i < 5; i++)
        free(buf[i]);
    return st;
}

enum status graph_from_arrays(struct graph **out, struct graph_report *report, int nnodes,
                              int nfeatures, const int64_t *feat_rowptr, const int32_t *feat_col,
                              const float *feat_val, const int32_t *edges, int64_t nedges,
                              const char *name)
{
    struct graph *g = NULL;
    struct graph_build_info bi;
    enum status st;
    *out = NULL;
    if (nnodes < 1 || nnodes > GRAPH_MAX_NODES)
        return status_fail(STATUS_RANGE, "node count %d out of range [1, %d]", nnodes,
                           GRAPH_MAX_NODES);
    if (nfeatures < 1 || nfeatures > GRAPH_MAX_FEATURES)
        return status_fail(STATUS_RANGE, "feature width %d out of range [1, %d]", nfeatures,
                           GRAPH_MAX_FEATURES);
    if (nedges < 0 || (nedges > 0 && !edges))
        return status_fail(STATUS_RANGE, "edge count %lld invalid", (long long)nedges);
    if (feat_rowptr[0] != 0)
        return status_fail(STATUS_FORMAT, "features: row pointer must start at 0");
    for (int i = 0; i < nnodes; i++)
        if (feat_rowptr[i + 1] < feat_rowptr[i])
            return status_fail(STATUS_FORMAT, "features of node %d: negative length", i);
    int64_t nnz = feat_rowptr[nnodes];
    for (int i = 0; i < nnodes; i++)
        for (int64_t k = feat_rowptr[i]; k < feat_rowptr[i + 1]; k++) {
            if (feat_col[k] < 0 || feat_col[k] >= nfeatures)
                return status_fail(STATUS_RANGE,
                                   "features of node %d: column %d out of range [0, %d)", i,
                                   (int)feat_col[k], nfeatures);
            if (!isfinite(feat_val[k]))
                return status_fail(STATUS_FORMAT,
                                   "features of node %d: column %d: value is not finite", i,
                                   (int)feat_col[k]);
        }
    for (int64_t e = 0; e < nedges; e++)
        for (int j = 0; j < 2; j++)
            if (edges[2 * e + j] < 0 || edges[2 * e + j] >= nnodes)
                return status_fail(STATUS_RANGE, "edge %lld: node %d out of range [0, %d)",
                                   (long long)e, (int)edges[2 * e + j], nnodes);
    if (!(g = graph_alloc(name, nnodes)) || !(g->labels = malloc((size_t)nnodes * 4))) {
        st = status_fail(STATUS_NOMEM, "graph of %d nodes: out of memory", nnodes);
        goto fail;
    }
    for (int i = 0; i < nnodes; i++)
        g->labels[i] = -1;
    if ((st = csr_alloc(&g->feat, nnodes, nfeatures, nnz)) != STATUS_OK)
        goto fail;
    memcpy(g->feat.rowptr, feat_rowptr, ((size_t)nnodes + 1) * sizeof *feat_rowptr);
    if (nnz > 0) {
        memcpy(g->feat.col, feat_col, (size_t)nnz * sizeof *feat_col);
        memcpy(g->feat.val, feat_val, (size_t)nnz * sizeof *feat_val);
    }
    g->nfeatures = nfeatures;
    int row;
    int32_t rcol;
    st = graph_finish_features(&g->feat, &row, &rcol);
    if (st == STATUS_FORMAT)
        st = status_fail(STATUS_FORMAT, "features of node %d: column %d given twice", row,
                         (int)rcol);
    if (st != STATUS_OK)
        goto fail;
    if ((st = graph_build_adjacency(&g->adj, &bi, nnodes, edges, nedges)) != STATUS_OK)
        goto fail;
    g->nedges = bi.nedges;
    if (report) {
        fill_report(report, &bi, &g->feat);
        report->first_self_loop_line = bi.first_self_loop + 1;
        report->first_duplicate_line = bi.first_duplicate + 1;
    }
    *out = g;
    return STATUS_OK;
fail:
    graph_free(g);
    return st;
}

void graph_free(struct graph *g)
{
    if (!g)
        return;
    free(g->name);
    csr_release(&g->adj);
    csr_release(&g->feat);
    free(g->labels);
    free(g->is_train);
    free(g->train);
    free(g->val);
    free(g->test);
    free(g);
}
