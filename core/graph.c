/* graph: the text side of graph.h. Parses features.svm, edges.tsv and the .idx splits from memory
 * (never past the given length: the texts need not be NUL-terminated, which is what the fuzz
 * target relies on), reads a graph folder from disk, and builds a graph from request arrays.
 * Every rejection names the file and line (or node / pair index) through status_fail. The
 * matrices are built by graph_build.c. */
#include "graph_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABEL (1 << 20)

/* ---- Lines and tokens over a byte range ---------------------------------------------------- */

struct lines {
    const char *p, *end;
    int64_t lineno; /* of the line last returned, 1-based */
};

/* Lines of txt[0..len); txt may be NULL (an absent file: no lines). */
static struct lines lines_over(const char *txt, size_t len)
{
    struct lines it = {txt, txt ? txt + len : NULL, 0};
    return it;
}

/* Next line as [*s, *e) without its "\n" or "\r\n"; 0 at the end of the text. */
static int next_line(struct lines *it, const char **s, const char **e)
{
    if (!it->p || it->p >= it->end)
        return 0;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *stop = nl ? nl : it->end;
    *s = it->p;
    *e = stop > it->p && stop[-1] == '\r' ? stop - 1 : stop;
    it->p = nl ? nl + 1 : it->end;
    it->lineno++;
    return 1;
}

static const char *skip_blank(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static int is_blank_or_comment(const char *s, const char *e)
{
    s = skip_blank(s, e);
    return s == e || *s == '#';
}

/* A decimal integer at *p (optional sign); advances *p. 0 if there is none or it overflows. */
static int parse_int(const char **p, const char *e, int64_t *v)
{
    const char *s = *p;
    int neg = 0;
    if (s < e && (*s == '-' || *s == '+'))
        neg = *s++ == '-';
    if (s == e || *s < '0' || *s > '9')
        return 0;
    int64_t x = 0;
    for (; s < e && *s >= '0' && *s <= '9'; s++) {
        if (x > (INT64_C(1) << 40))
            return 0; /* far past any valid id: stop before overflow */
        x = x * 10 + (*s - '0');
    }
    *v = neg ? -x : x;
    *p = s;
    return 1;
}

/* A finite float token running to the next blank or the end; advances *p. */
static int parse_float(const char **p, const char *e, float *v)
{
    const char *s = *p, *t = s;
    while (t < e && *t != ' ' && *t != '\t')
        t++;
    char buf[64];
    size_t n = (size_t)(t - s);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *endp;
    double d = strtod(buf, &endp);
    if (endp != buf + n || !isfinite(d) || fabs(d) > 3.0e38)
        return 0;
    *v = (float)d;
    *p = t;
    return 1;
}

static int at_token_end(const char *p, const char *e)
{
    return p == e || *p == ' ' || *p == '\t';
}

/* Grows *buf (elements of size elem) to hold at least need elements. */
static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *b = realloc(*buf, c * elem);
    if (!b)
        return 0;
    *buf = b;
    *cap = c;
    return 1;
}

/* ---- features.svm --------------------------------------------------------------------------- */

static enum status parse_features(struct csr *f, int32_t **labels, const char *txt, size_t len,
                                  const char *where)
{
    struct lines it = lines_over(txt, len);
    const char *s, *e;
    size_t rcap = 0, ecap = 0, lcap = 0, nnz = 0;
    int n = 0, maxcol = -1;
    enum status st = STATUS_OK;
    memset(f, 0, sizeof *f);
    *labels = NULL;
    while (next_line(&it, &s, &e)) {
        if (n >= GRAPH_MAX_NODES) {
            st = status_fail(STATUS_RANGE, "%s/features.svm:%lld: more than %d nodes", where,
                             (long long)it.lineno, GRAPH_MAX_NODES);
            goto fail;
        }
        if (!grow((void **)&f->rowptr, &rcap, (size_t)n + 2, sizeof *f->rowptr) ||
            !grow((void **)labels, &lcap, (size_t)n + 1, sizeof **labels))
            goto nomem;
        f->rowptr[n] = (int64_t)nnz;
        const char *p = skip_blank(s, e);
        int64_t label, col;
        if (!parse_int(&p, e, &label) || !at_token_end(p, e)) {
            st = status_fail(STATUS_FORMAT,
                             "%s/features.svm:%lld: expected '<label> <col>:<val> ...' (node %d)",
                             where, (long long)it.lineno, n);
            goto fail;
        }
        if (label < -1 || label >= MAX_LABEL) {
            st = status_fail(STATUS_RANGE, "%s/features.svm:%lld: label %lld out of range [-1, %d)",
                             where, (long long)it.lineno, (long long)label, MAX_LABEL);
            goto fail;
        }
        (*labels)[n] = (int32_t)label;
        for (p = skip_blank(p, e); p < e; p = skip_blank(p, e)) {
            float v;
            if (!parse_int(&p, e, &col) || p == e || *p != ':') {
                st = status_fail(STATUS_FORMAT, "%s/features.svm:%lld: expected '<col>:<val>'",
                                 where, (long long)it.lineno);
                goto fail;
            }
            p++;
            if (!parse_float(&p, e, &v)) {
                st = status_fail(STATUS_FORMAT,
                                 "%s/features.svm:%lld: column %lld: value is not a finite number",
                                 where, (long long)it.lineno, (long long)col);
                goto fail;
            }
            if (col < 0 || col >= GRAPH_MAX_FEATURES) {
                st = status_fail(STATUS_RANGE,
                                 "%s/features.svm:%lld: column %lld out of range [0, %d)", where,
                                 (long long)it.lineno, (long long)col, GRAPH_MAX_FEATURES);
                goto fail;
            }
            size_t oldcap = ecap;
            if (!grow((void **)&f->col, &ecap, nnz + 1, sizeof *f->col))
                goto nomem;
            if (ecap != oldcap) { /* col and val share one capacity */
                float *nv = realloc(f->val, ecap * sizeof *f->val);
                if (!nv)
                    goto nomem;
                f->val = nv;
            }
            f->col[nnz] = (int32_t)col;
            f->val[nnz] = v;
            nnz++;
            if (col > maxcol)
                maxcol = (int)col;
        }
        n++;
    }
    if (n == 0) {
        st = status_fail(STATUS_FORMAT, "%s/features.svm: no nodes", where);
        goto fail;
    }
    if (maxcol < 0) {
        st = status_fail(STATUS_FORMAT, "%s/features.svm: no node has any feature", where);
        goto fail;
    }
    f->rowptr[n] = (int64_t)nnz;
    f->nrows = n;
    f->ncols = maxcol + 1;
    f->nnz = (int64_t)nnz;
    if (!f->col && !(f->col = malloc(sizeof *f->col)))
        goto nomem;
    if (!f->val && !(f->val = malloc(sizeof *f->val)))
        goto nomem;
    int row;
    int32_t rcol;
    st = graph_finish_features(f, &row, &rcol);
    if (st == STATUS_FORMAT)
        st = status_fail(STATUS_FORMAT, "%s/features.svm:%d: column %d appears twice", where,
                         row + 1, (int)rcol);
    if (st != STATUS_OK)
        goto fail;
    return STATUS_OK;
nomem:
    st = status_fail(STATUS_NOMEM, "%s/features.svm: out of memory", where);
fail:
    csr_release(f);
    free(*labels);
    *labels = NULL;
    return st;
}

/* ---- edges.tsv ------------------------------------------------------------------------------ */

static enum status parse_edges(int32_t **pairs, int64_t *npairs, const char *txt, size_t len,
                               int n, const char *where)
{
    struct lines it = lines_over(txt, len);
    const char *s, *e;
    size_t cap = 0, m = 0;
    *pairs = NULL;
    while (next_line(&it, &s, &e)) {
        if (is_blank_or_comment(s, e))
            continue;
        const char *p = skip_blank(s, e);
        int64_t u, v;
        int ok = parse_int(&p, e, &u) && at_token_end(p, e);
        if (ok) {
            p = skip_blank(p, e);
            ok = parse_int(&p, e, &v) && at_token_end(p, e) && skip_blank(p, e) == e;
        }
        if (!ok) {
            free(*pairs);
            *pairs = NULL;
            return status_fail(STATUS_FORMAT, "%s/edges.tsv:%lld: expected 'u<TAB>v'", where,
                               (long long)it.lineno);
        }
        if (u < 0 || u >= n || v < 0 || v >= n) {
            free(*pairs);
            *pairs = NULL;
            return status_fail(STATUS_RANGE, "%s/edges.tsv:%lld: node %lld out of range [0, %d)",
                               where, (long long)it.lineno, (long long)(u < 0 || u >= n ? u : v),
                               n);
        }
        if (!grow((void **)pairs, &cap, 2 * m + 2, sizeof **pairs)) {
            free(*pairs);
            *pairs = NULL;
            return status_fail(STATUS_NOMEM, "%s/edges.tsv: out of memory", where);
        }
        (*pairs)[2 * m] = (int32_t)u;
        (*pairs)[2 * m + 1] = (int32_t)v;
        m++;
    }
    *npairs = (int64_t)m;
    return STATUS_OK;
}

/* Line number of the pair with index k (0-based, counting only edge lines), 0 if k < 0. */
static int64_t edge_line(const char *txt, size_t len, int64_t k)
{
    struct lines it = lines_over(txt, len);
    const char *s, *e;
    if (k < 0)
        return 0;
    while (next_line(&it, &s, &e))
        if (!is_blank_or_comment(s, e) && k-- == 0)
            return it.lineno;
    return 0;
}

/* ---- .idx splits ---------------------------------------------------------------------------- */

static enum status parse_split(int32_t **ids, int *count, const char *txt, size_t len,
                               const int32_t *labels, int n, const char *where, const char *file)
{
    struct lines it = lines_over(txt, len);
    const char *s, *e;
    size_t cap = 0;
    int m = 0;
    enum status st = STATUS_OK;
    uint8_t *seen = calloc((size_t)n, 1);
    *ids = NULL;
    if (!seen)
        goto nomem;
    while (next_line(&it, &s, &e)) {
        if (is_blank_or_comment(s, e))
            continue;
        const char *p = skip_blank(s, e);
        int64_t id;
        if (!parse_int(&p, e, &id) || skip_blank(p, e) != e) {
            st = status_fail(STATUS_FORMAT, "%s/%s:%lld: expected one node id", where, file,
                             (long long)it.lineno);
            goto fail;
        }
        if (id < 0 || id >= n) {
            st = status_fail(STATUS_RANGE, "%s/%s:%lld: node %lld out of range [0, %d)", where,
                             file, (long long)it.lineno, (long long)id, n);
            goto fail;
        }
        if (seen[id]) {
            st = status_fail(STATUS_FORMAT, "%s/%s:%lld: node %lld listed twice", where, file,
                             (long long)it.lineno, (long long)id);
            goto fail;
        }
        if (labels[id] < 0) {
            st = status_fail(STATUS_FORMAT, "%s/%s:%lld: node %lld has no label (-1)", where,
                             file, (long long)it.lineno, (long long)id);
            goto fail;
        }
        seen[id] = 1;
        if (!grow((void **)ids, &cap, (size_t)m + 1, sizeof **ids))
            goto nomem;
        (*ids)[m++] = (int32_t)id;
    }
    *count = m;
    free(seen);
    return STATUS_OK;
nomem:
    st = status_fail(STATUS_NOMEM, "%s/%s: out of memory", where, file);
fail:
    free(seen);
    free(*ids);
    *ids = NULL;
    return st;
}

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
    enum status st = parse_features(&feat, &labels, text->features, text->features_len, where);
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
        (st = parse_edges(&pairs, &npairs, text->edges, text->edges_len, n, where)) != STATUS_OK)
        goto fail;
    if ((st = graph_build_adjacency(&g->adj, &bi, n, pairs, npairs)) != STATUS_OK)
        goto fail;
    g->nedges = bi.nedges;
    if ((st = parse_split(&g->train, &g->ntrain, text->train, text->train_len, g->labels, n, where,
                          "train.idx")) != STATUS_OK ||
        (st = parse_split(&g->val, &g->nval, text->val, text->val_len, g->labels, n, where,
                          "val.idx")) != STATUS_OK ||
        (st = parse_split(&g->test, &g->ntest, text->test, text->test_len, g->labels, n, where,
                          "test.idx")) != STATUS_OK)
        goto fail;
    for (int i = 0; i < g->ntrain; i++)
        g->is_train[g->train[i]] = 1;
    if (report) {
        fill_report(report, &bi, &g->feat);
        report->first_self_loop_line = edge_line(text->edges, text->edges_len, bi.first_self_loop);
        report->first_duplicate_line = edge_line(text->edges, text->edges_len, bi.first_duplicate);
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

/* Reads a whole file; *buf NULL and STATUS_OK when optional and the file does not exist. */
static enum status read_file(char **buf, size_t *len, const char *path, int optional)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (optional && errno == ENOENT)
            return STATUS_OK;
        return status_fail(STATUS_IO, "%s: %s", path, strerror(errno));
    }
    size_t cap = 0;
    for (;;) {
        if (!grow((void **)buf, &cap, *len + 65536, 1)) {
            fclose(f);
            free(*buf);
            *buf = NULL;
            return status_fail(STATUS_NOMEM, "%s: out of memory", path);
        }
        size_t got = fread(*buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(*buf);
        *buf = NULL;
        return status_fail(STATUS_IO, "%s: read error", path);
    }
    return STATUS_OK;
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
        st = read_file(&buf[i], &len[i], path, i > 0);
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
