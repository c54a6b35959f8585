/* graph_text: the three line formats of a graph folder (features.svm, edges.tsv, *.idx), parsed
 * from memory and never past the given length: the texts need not be NUL-terminated, which is
 * what the fuzz target relies on. Every rejection names the file and line through status_fail.
 * Assembly into a struct graph is in graph.c. */
#include "graph_impl.h"

#include <math.h>
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
int graph_grow(void **buf, size_t *cap, size_t need, size_t elem)
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

enum status graph_parse_features(struct csr *f, int32_t **labels, const char *txt, size_t len,
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
        if (!graph_grow((void **)&f->rowptr, &rcap, (size_t)n + 2, sizeof *f->rowptr) ||
            !graph_grow((void **)labels, &lcap, (size_t)n + 1, sizeof **labels))
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
            if (!graph_grow((void **)&f->col, &ecap, nnz + 1, sizeof *f->col))
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

enum status graph_parse_edges(int32_t **pairs, int64_t *npairs, const char *txt, size_t len,
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
        if (!graph_grow((void **)pairs, &cap, 2 * m + 2, sizeof **pairs)) {
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
int64_t graph_edge_line(const char *txt, size_t len, int64_t k)
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

enum status graph_parse_split(int32_t **ids, int *count, const char *txt, size_t len,
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
        if (!graph_grow((void **)ids, &cap, (size_t)m + 1, sizeof **ids))
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
