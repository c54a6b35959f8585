/* graph_build: the matrix side of graph.h. Turns an edge list into the normalised adjacency
 * Â = D̃^-1/2 (A + I) D̃^-1/2 (Kipf & Welling 2017, eq. 2) and a filled feature CSR into X̂
 * (rows sorted, repeated columns rejected, each row divided by its sum). No parsing here: the
 * text format lives in graph.c. Memory: the adjacency is built in place from degree counts, so
 * the only temporary is nothing beyond the final CSR (plus one byte per entry, only when
 * duplicate edges must be located). */
#include "graph_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum status csr_alloc(struct csr *m, int nrows, int ncols, int64_t nnz)
{
    memset(m, 0, sizeof *m);
    m->nrows = nrows;
    m->ncols = ncols;
    m->nnz = nnz;
    m->rowptr = calloc((size_t)nrows + 1, sizeof *m->rowptr);
    m->col = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *m->col);
    m->val = malloc((size_t)(nnz > 0 ? nnz : 1) * sizeof *m->val);
    if (!m->rowptr || !m->col || !m->val) {
        csr_release(m);
        return status_fail(STATUS_NOMEM, "sparse matrix (%d x %d, %lld entries): out of memory",
                           nrows, ncols, (long long)nnz);
    }
    return STATUS_OK;
}

void csr_release(struct csr *m)
{
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts col[0..n) ascending; short rows (the common case) by insertion. */
static void sort_cols(int32_t *col, int64_t n)
{
    if (n > 32) {
        qsort(col, (size_t)n, sizeof *col, cmp_i32);
        return;
    }
    for (int64_t i = 1; i < n; i++) {
        int32_t c = col[i];
        int64_t j = i - 1;
        for (; j >= 0 && col[j] > c; j--)
            col[j + 1] = col[j];
        col[j + 1] = c;
    }
}

/* Index of the first entry equal to v in sorted col[0..n), or -1. */
static int64_t find_first(const int32_t *col, int64_t n, int32_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (col[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && col[lo] == v ? lo : -1;
}

/* With duplicates still in place (rows sorted), the index of the first pair that repeats an
 * earlier one. */
static int64_t locate_first_duplicate(const struct csr *a, const int32_t *pairs, int64_t npairs)
{
    uint8_t *seen = calloc((size_t)a->nnz, 1);
    int64_t found = -1;
    if (!seen)
        return -1; /* only a line number for a message is lost */
    for (int64_t e = 0; e < npairs && found < 0; e++) {
        int32_t u = pairs[2 * e], v = pairs[2 * e + 1];
        if (u == v)
            continue;
        if (u > v) {
            int32_t t = u;
            u = v;
            v = t;
        }
        int64_t b = a->rowptr[u];
        int64_t p = find_first(a->col + b, a->rowptr[u + 1] - b, v);
        ASSERT(p >= 0);
        if (seen[b + p])
            found = e;
        seen[b + p] = 1;
    }
    free(seen);
    return found;
}

enum status graph_build_adjacency(struct csr *adj, struct graph_build_info *info, int n,
                                  const int32_t *pairs, int64_t npairs)
{
    memset(info, 0, sizeof *info);
    info->first_self_loop = info->first_duplicate = -1;
    info->first_isolated = -1;
    int64_t *count = calloc((size_t)n + 1, sizeof *count);
    if (!count)
        return status_fail(STATUS_NOMEM, "adjacency of %d nodes: out of memory", n);
    for (int64_t e = 0; e < npairs; e++) {
        int32_t u = pairs[2 * e], v = pairs[2 * e + 1];
        ASSERT(u >= 0 && u < n && v >= 0 && v < n); /* callers range-check with messages */
        if (u == v) {
            if (info->self_loops++ == 0)
                info->first_self_loop = e;
            continue;
        }
        count[u]++;
        count[v]++;
    }
    int64_t nnz = n;
    for (int i = 0; i < n; i++)
        nnz += count[i];
    enum status st = csr_alloc(adj, n, n, nnz);
    if (st != STATUS_OK) {
        free(count);
        return st;
    }
    /* rowptr from counts (+1 for the self loop); count becomes the fill cursor. */
    adj->rowptr[0] = 0;
    for (int i = 0; i < n; i++) {
        adj->rowptr[i + 1] = adj->rowptr[i] + count[i] + 1;
        adj->col[adj->rowptr[i]] = i;
        count[i] = adj->rowptr[i] + 1;
    }
    for (int64_t e = 0; e < npairs; e++) {
        int32_t u = pairs[2 * e], v = pairs[2 * e + 1];
        if (u == v)
            continue;
        adj->col[count[u]++] = v;
        adj->col[count[v]++] = u;
    }
    free(count);
    int64_t dups = 0;
    for (int i = 0; i < n; i++) {
        int64_t b = adj->rowptr[i], len = adj->rowptr[i + 1] - b;
        sort_cols(adj->col + b, len);
        for (int64_t k = 1; k < len; k++)
            if (adj->col[b + k] == adj->col[b + k - 1] && adj->col[b + k] > i)
                dups++;
    }
    if (dups > 0) {
        info->duplicates = dups;
        info->first_duplicate = locate_first_duplicate(adj, pairs, npairs);
        /* Compact: drop repeated columns row by row. */
        int64_t w = 0;
        for (int i = 0; i < n; i++) {
            int64_t b = adj->rowptr[i], end = adj->rowptr[i + 1];
            adj->rowptr[i] = w;
            for (int64_t k = b; k < end; k++)
                if (k == b || adj->col[k] != adj->col[k - 1])
                    adj->col[w++] = adj->col[k];
        }
        adj->rowptr[n] = w;
        adj->nnz = w;
    }
    /* D̃^-1/2 (A + I) D̃^-1/2: every kept entry is 1, deg_i = entries of row i (self loop
     * included), Â_ij = 1 / sqrt(deg_i deg_j). rowptr differences give degrees directly. */
    for (int i = 0; i < n; i++) {
        int64_t deg = adj->rowptr[i + 1] - adj->rowptr[i];
        if (deg == 1 && info->isolated++ == 0)
            info->first_isolated = i;
    }
    for (int i = 0; i < n; i++) {
        double di = (double)(adj->rowptr[i + 1] - adj->rowptr[i]);
        for (int64_t k = adj->rowptr[i]; k < adj->rowptr[i + 1]; k++) {
            int32_t j = adj->col[k];
            double dj = (double)(adj->rowptr[j + 1] - adj->rowptr[j]);
            adj->val[k] = (float)(1.0 / sqrt(di * dj));
        }
    }
    info->nedges = (adj->nnz - n) / 2;
    return STATUS_OK;
}

/* Sorts the (col, val) pairs of one row by column; returns the first repeated column or -1. */
struct colval {
    int32_t col;
    float val;
};

static int cmp_colval(const void *a, const void *b)
{
    int32_t x = ((const struct colval *)a)->col, y = ((const struct colval *)b)->col;
    return (x > y) - (x < y);
}

enum status graph_finish_features(struct csr *f, int *first_repeat_row, int32_t *repeat_col)
{
    *first_repeat_row = -1;
    *repeat_col = -1;
    struct colval *tmp = NULL;
    size_t tmpcap = 0;
    for (int i = 0; i < f->nrows; i++) {
        int64_t b = f->rowptr[i], len = f->rowptr[i + 1] - b;
        int sorted = 1;
        for (int64_t k = 1; k < len && sorted; k++)
            sorted = f->col[b + k - 1] < f->col[b + k];
        if (!sorted) {
            if ((size_t)len > tmpcap) {
                struct colval *t = realloc(tmp, (size_t)len * sizeof *t);
                if (!t) {
                    free(tmp);
                    return status_fail(STATUS_NOMEM, "features: out of memory");
                }
                tmp = t;
                tmpcap = (size_t)len;
            }
            for (int64_t k = 0; k < len; k++)
                tmp[k] = (struct colval){f->col[b + k], f->val[b + k]};
            qsort(tmp, (size_t)len, sizeof *tmp, cmp_colval);
            for (int64_t k = 0; k < len; k++) {
                f->col[b + k] = tmp[k].col;
                f->val[b + k] = tmp[k].val;
            }
            for (int64_t k = 1; k < len; k++)
                if (f->col[b + k] == f->col[b + k - 1]) {
                    *first_repeat_row = i;
                    *repeat_col = f->col[b + k];
                    free(tmp);
                    return STATUS_FORMAT;
                }
        }
        /* Row-normalise as the paper's preprocessing (and the peer) do: x_i / sum_j x_ij, rows
         * whose sum is zero left unchanged. */
        float sum = 0;
        for (int64_t k = 0; k < len; k++)
            sum += f->val[b + k];
        if (sum != 0) {
            for (int64_t k = 0; k < len; k++)
                f->val[b + k] /= sum;
        }
    }
    free(tmp);
    return STATUS_OK;
}
