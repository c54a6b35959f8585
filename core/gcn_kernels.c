/* gcn_kernels: the row-parallel helper (row ranges of about equal work, run on the kernels' one
 * persistent thread pool, ops_parallel in ops_pool.c) and the two sparse-dense products of the
 * GCN, A · B and Aᵀ · B (see gcn_impl.h). The dense products are in gcn_dense.c, the naive twins
 * in gcn_ref.c. */
#include "gcn_impl.h"

#include "cpu.h"
#include "ops_impl.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static int gcn_threads = 1;
static int64_t parallel_min_work = GCN_PARALLEL_MIN_WORK;

void gcn_set_parallel_min_work(int64_t work)
{
    parallel_min_work = work < 0 ? 0 : work;
}

void gcn_set_threads(int n)
{
    gcn_threads = n < 1 ? 1 : n > GCN_MAX_THREADS ? GCN_MAX_THREADS : n;
}

int gcn_get_threads(void)
{
    return gcn_threads;
}

int gcn_use_avx2(void)
{
#if GCN_HAVE_AVX2_CLONES
    return cpu_isa() >= CPU_ISA_AVX2; /* cheap; lowered by cpu_set_isa_limit in tests */
#else
    return 0;
#endif
}

/* One parallel call: the rows are cut into many more chunks than threads, and every thread takes
 * the next chunk from a shared counter until none is left. On a machine shared with other work a
 * thread that loses its core for a while then holds up only the chunk it is in, not a fixed
 * half of the rows. */
#define CHUNKS_PER_THREAD 16

struct parallel_job {
    row_fn fn;
    void *ctx;
    const int64_t *rowptr; /* NULL: chunks of equal rows */
    int nrows, nchunks;
    atomic_int next;
};

/* First row r with rowptr[r] >= target. */
static int row_at(const int64_t *rowptr, int nrows, int64_t target)
{
    int lo = 0, hi = nrows;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (rowptr[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Start row of chunk c (c = nchunks gives nrows): equal nonzeros when rowptr is given. */
static int chunk_start(const struct parallel_job *j, int c)
{
    if (c >= j->nchunks)
        return j->nrows;
    if (j->rowptr)
        return row_at(j->rowptr, j->nrows, j->rowptr[j->nrows] / j->nchunks * c);
    return (int)((int64_t)j->nrows * c / j->nchunks);
}

/* One thread of the pool (t of n): chunks until none is left. */
static void take_chunks(void *arg, int t, int n)
{
    struct parallel_job *j = arg;
    (void)n;
    for (int c; (c = atomic_fetch_add(&j->next, 1)) < j->nchunks;) {
        int begin = chunk_start(j, c), end = chunk_start(j, c + 1);
        if (end > begin)
            j->fn(j->ctx, begin, end, t);
    }
}

void gcn_parallel_range(const int64_t *rowptr, int nrows, int64_t work, row_fn fn, void *ctx)
{
    int nthreads = gcn_threads;
    if (nthreads <= 1 || work < parallel_min_work || nrows < nthreads * CHUNKS_PER_THREAD) {
        fn(ctx, 0, nrows, 0);
        return;
    }
    struct parallel_job job = {fn, ctx, rowptr, nrows, nthreads * CHUNKS_PER_THREAD, 0};
    /* The pool's threads persist between calls (no thread start per product); where it has
     * fewer than asked for, the ones it has take the other chunks: t < nthreads either way. */
    ops_parallel(nthreads, take_chunks, &job);
}

/* ---- A · B ---------------------------------------------------------------------------------- */

struct spmm_ctx {
    float *out;
    const struct csr *a;
    const float *vals, *b;
    int w;
    float *priv; /* spmm_t: one (ncols, w) accumulator per thread after the first */
};

/* The row loops, written once and instantiated per width: with w a compile-time constant (16, 32:
 * the hidden sizes used) the accumulator row lives in registers and the inner loop is fully
 * vectorised; other widths take the generic instance. Each instance is compiled twice, plain and
 * for AVX2+FMA, chosen at run time (spmm_pick). */
#ifndef PREFETCH
#define PREFETCH 16 /* nonzeros ahead: the gathered rows are cache and TLB misses on big graphs */
#endif
/* Asks for the cache lines of one w-float row (every line of it, up to 4). */
GCN_INLINE void prefetch_row(const float *row, const int w)
{
    for (int j = 0; j < w && j < 64; j += 16)
        __builtin_prefetch(row + j);
}

GCN_INLINE void spmm_body(const struct spmm_ctx *c, int begin, int end, const int w)
{
    const struct csr *a = c->a;
    const float *vals = c->vals ? c->vals : a->val;
    const int64_t *rowptr = a->rowptr;
    const int32_t *col = a->col;
    const float *b = c->b;
    const int64_t nnz = a->nnz;
    for (int i = begin; i < end; i++) {
        float acc[64];
        float *o = c->out + (size_t)i * w;
        float *dst = w <= 64 ? acc : o;
        for (int j = 0; j < w; j++)
            dst[j] = 0.0f;
        for (int64_t k = rowptr[i]; k < rowptr[i + 1]; k++) {
            if (k + PREFETCH < nnz)
                prefetch_row(b + (size_t)col[k + PREFETCH] * w, w);
            gcn_axpy(dst, vals[k], b + (size_t)col[k] * w, w);
        }
        if (dst != o)
            for (int j = 0; j < w; j++)
                o[j] = acc[j];
    }
}

GCN_INLINE void spmm_t_body(const struct spmm_ctx *c, int begin, int end, int t, const int w)
{
    const struct csr *a = c->a;
    const float *vals = c->vals ? c->vals : a->val;
    float *acc = t == 0 ? c->out : c->priv + (size_t)(t - 1) * a->ncols * w;
    const int64_t nnz = a->nnz;
    for (int i = begin; i < end; i++) {
        const float *brow = c->b + (size_t)i * w;
        for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) {
            if (k + PREFETCH < nnz)
                prefetch_row(acc + (size_t)a->col[k + PREFETCH] * w, w);
            gcn_axpy(acc + (size_t)a->col[k] * w, vals[k], brow, w);
        }
    }
}

GCN_ROW_FN(spmm_w16, GCN_PLAIN, struct spmm_ctx, spmm_body(c, begin, end, 16))
GCN_ROW_FN(spmm_w32, GCN_PLAIN, struct spmm_ctx, spmm_body(c, begin, end, 32))
GCN_ROW_FN(spmm_wn, GCN_PLAIN, struct spmm_ctx, spmm_body(c, begin, end, c->w))
GCN_ROW_FN(spmm_t_w16, GCN_PLAIN, struct spmm_ctx, spmm_t_body(c, begin, end, t, 16))
GCN_ROW_FN(spmm_t_w32, GCN_PLAIN, struct spmm_ctx, spmm_t_body(c, begin, end, t, 32))
GCN_ROW_FN(spmm_t_wn, GCN_PLAIN, struct spmm_ctx, spmm_t_body(c, begin, end, t, c->w))
#if GCN_HAVE_AVX2_CLONES
GCN_ROW_FN(spmm_w16_avx2, GCN_AVX2, struct spmm_ctx, spmm_body(c, begin, end, 16))
GCN_ROW_FN(spmm_w32_avx2, GCN_AVX2, struct spmm_ctx, spmm_body(c, begin, end, 32))
GCN_ROW_FN(spmm_wn_avx2, GCN_AVX2, struct spmm_ctx, spmm_body(c, begin, end, c->w))
GCN_ROW_FN(spmm_t_w16_avx2, GCN_AVX2, struct spmm_ctx, spmm_t_body(c, begin, end, t, 16))
GCN_ROW_FN(spmm_t_w32_avx2, GCN_AVX2, struct spmm_ctx, spmm_t_body(c, begin, end, t, 32))
GCN_ROW_FN(spmm_t_wn_avx2, GCN_AVX2, struct spmm_ctx, spmm_t_body(c, begin, end, t, c->w))
#endif

static row_fn spmm_pick(int w, int transposed)
{
#if GCN_HAVE_AVX2_CLONES
    if (gcn_use_avx2()) {
        if (transposed)
            return w == 16 ? spmm_t_w16_avx2 : w == 32 ? spmm_t_w32_avx2 : spmm_t_wn_avx2;
        return w == 16 ? spmm_w16_avx2 : w == 32 ? spmm_w32_avx2 : spmm_wn_avx2;
    }
#endif
    if (transposed)
        return w == 16 ? spmm_t_w16 : w == 32 ? spmm_t_w32 : spmm_t_wn;
    return w == 16 ? spmm_w16 : w == 32 ? spmm_w32 : spmm_wn;
}

void gcn_spmm(float *out, const struct csr *a, const float *vals, const float *b, int w)
{
    struct spmm_ctx c = {out, a, vals, b, w, NULL};
    gcn_parallel_range(a->rowptr, a->nrows, a->nnz * w, spmm_pick(w, 0), &c);
}

void gcn_spmm_t_acc(float *out, const struct csr *a, const float *vals, const float *b, int w)
{
    struct spmm_ctx c = {out, a, vals, b, w, NULL};
    int nt = gcn_threads;
    size_t per = (size_t)a->ncols * w;
    row_fn fn = spmm_pick(w, 1);
    /* Private accumulators pay only when the output is small next to the work. */
    if (nt > 1 && a->nnz * w >= parallel_min_work && per * 8 <= (size_t)(a->nnz * w))
        c.priv = calloc((size_t)(nt - 1) * per, sizeof *c.priv);
    if (!c.priv) {
        fn(&c, 0, a->nrows, 0);
        return;
    }
    gcn_parallel_range(a->rowptr, a->nrows, a->nnz * w, fn, &c);
    for (int t = 1; t < nt; t++) {
        const float *src = c.priv + (size_t)(t - 1) * per;
        for (size_t i = 0; i < per; i++)
            out[i] += src[i];
    }
    free(c.priv);
}


struct rows_ctx {
    float *out;
    const struct csr *a;
    const int32_t *rows;
    const float *b;
    int w;
};

static void spmm_rows_fn(void *p, int begin, int end, int t)
{
    const struct rows_ctx *c = p;
    (void)t;
    const struct csr *a = c->a;
    const int w = c->w;
    for (int r = begin; r < end; r++) {
        const int i = c->rows[r];
        float *o = c->out + (size_t)r * w;
        memset(o, 0, (size_t)w * sizeof *o);
        for (int64_t k = a->rowptr[i]; k < a->rowptr[i + 1]; k++) {
            if (k + PREFETCH < a->rowptr[i + 1])
                prefetch_row(c->b + (size_t)a->col[k + PREFETCH] * w, w);
            gcn_axpy(o, a->val[k], c->b + (size_t)a->col[k] * w, w);
        }
    }
}

void gcn_spmm_rows(float *out, const struct csr *a, const int32_t *rows, int n, const float *b,
                   int w)
{
    struct rows_ctx c = {out, a, rows, b, w};
    /* Work estimated from the average row length: rows are listed, not contiguous. */
    gcn_parallel_range(NULL, n, (int64_t)n * (a->nnz / (a->nrows ? a->nrows : 1) + 1) * w,
                       spmm_rows_fn, &c);
}
