/* gcn_impl: the GCN's kernels and training buffers, shared by gcn.c, gcn_train.c and the tests;
 * not part of the public API.
 *
 * Every dense matrix is row-major, so a sparse row gathers whole contiguous rows of its dense
 * factor (one row of W0, or one node's hidden vector) and the inner loop runs over the width.
 * Each fast kernel has a naive twin (suffix _ref, double accumulators, one thread) that the
 * tests compare it with. */
#ifndef INSPECTD_GCN_IMPL_H
#define INSPECTD_GCN_IMPL_H

#include "gcn.h"

#define GCN_MAX_THREADS 64 /* as many as the kernels' pool has (ops_pool.c) */
/* Multiply-adds (a few ms of work) below which waking other threads costs more than it saves, on a
 * busy machine most of all; tests lower it to reach the threaded paths on small inputs. */
#define GCN_PARALLEL_MIN_WORK (1 << 22)
void gcn_set_parallel_min_work(int64_t work);

/* Runs fn(ctx, begin, end, t) over [0, nrows) cut into chunks that gcn_get_threads() threads
 * take in turn (t: the thread, 0 = the caller's; a thread may get several chunks, so fn must
 * only accumulate into per-t state). With rowptr (nrows + 1) chunks hold about equal nonzeros,
 * else equal rows. With one thread, or work (multiply-adds) below the threshold, it is one
 * plain call fn(ctx, 0, nrows, 0). */
typedef void (*row_fn)(void *ctx, int begin, int end, int t);
void gcn_parallel_range(const int64_t *rowptr, int nrows, int64_t work, row_fn fn, void *ctx);

/* Kernels are written once as always-inline bodies taking their width as an argument, then
 * instantiated with constant widths (so accumulators live in registers and loops vectorise), each
 * twice: plain and for AVX2, picked at run time by gcn_use_avx2(). (FMA is allowed in those
 * clones; GCC in ISO C mode never contracts a * b + c, clang may: last-bit differences only.) */
#define GCN_INLINE static inline __attribute__((always_inline))
#define GCN_PLAIN
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GCN_HAVE_AVX2_CLONES 1
#define GCN_AVX2 __attribute__((target("avx2,fma")))
#else
#define GCN_HAVE_AVX2_CLONES 0
#define GCN_AVX2
#endif
/* Defines a row_fn `name` whose body is the statement `body`, with ctx as `c` of type ctype. */
#define GCN_ROW_FN(name, attr, ctype, body)                                                       \
    attr static void name(void *p_, int begin, int end, int t)                                    \
    {                                                                                             \
        const ctype *c = p_;                                                                      \
        (void)t;                                                                                  \
        body;                                                                                     \
    }
int gcn_use_avx2(void);

/* y[0..n) += a * x[0..n); restrict lets the compiler vectorise it inside the row loops. */
GCN_INLINE void gcn_axpy(float *restrict y, float a, const float *restrict x, const int n)
{
    for (int j = 0; j < n; j++)
        y[j] += a * x[j];
}

/* sum of x[q] * y[q], q < n, in 8 interleaved partial sums so that it vectorises (a different
 * summation order from a plain loop, not a less accurate one). */
GCN_INLINE float gcn_dot(const float *restrict x, const float *restrict y, const int n)
{
    float lane[8] = {0};
    int q = 0;
    for (; q + 8 <= n; q += 8)
        for (int l = 0; l < 8; l++)
            lane[l] += x[q + l] * y[q + l];
    float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
              ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; q < n; q++)
        s += x[q] * y[q];
    return s;
}

/* out (a->nrows, w) = A · b, b (a->ncols, w). vals overrides a->val when not NULL (dropout). */
void gcn_spmm(float *out, const struct csr *a, const float *vals, const float *b, int w);
/* out (a->ncols, w) += Aᵀ · b, b (a->nrows, w). */
void gcn_spmm_t_acc(float *out, const struct csr *a, const float *vals, const float *b, int w);
/* Small dense products over n rows; h, c = the hidden and class counts. */
/* out (n, c) = x (n, h) · w (h, c). */
void gcn_mm(float *out, const float *x, const float *w, int n, int h, int c);
/* out (n, h) = d (n, c) · wᵀ, w (h, c). */
void gcn_mm_nt(float *out, const float *d, const float *w, int n, int h, int c);
/* out (h, c) += xᵀ (h, n) · d (n, c). */
void gcn_mm_tn_acc(float *out, const float *x, const float *d, int n, int h, int c);

void gcn_spmm_ref(float *out, const struct csr *a, const float *vals, const float *b, int w);
void gcn_spmm_t_acc_ref(float *out, const struct csr *a, const float *vals, const float *b, int w);
void gcn_mm_ref(float *out, const float *x, const float *w, int n, int h, int c);
void gcn_mm_nt_ref(float *out, const float *d, const float *w, int n, int h, int c);
void gcn_mm_tn_acc_ref(float *out, const float *x, const float *d, int n, int h, int c);

/* Inverted dropout keep/scale decisions from a counter-based hash: element e of a call keyed
 * `key` is kept iff its 16-bit draw >= rate * 65536. Independent of the thread count. */
void gcn_dropout(float *out, const float *inp, int64_t n, float rate, uint64_t key);
/* x = max(x, 0) in place. */
void gcn_relu(float *x, int64_t n);
/* dx *= scale where y > 0, else 0: the backward of y = dropout(relu(.)) given its output y. */
void gcn_mask_backward(float *dx, const float *y, int64_t n, float scale);
/* out (n, w) row r = row rows[r] of A · b: A · b for the listed rows only. */
void gcn_spmm_rows(float *out, const struct csr *a, const int32_t *rows, int n, const float *b,
                   int w);

/* Buffers of one training forward/backward pass (N nodes, F features, H hidden, C classes). */
struct gcn_work {
    int n, f, h, c;
    int64_t feat_nnz;
    float *xd;     /* (nnz of X̂) dropped-out feature values */
    float *nh[3];  /* three (N, H) buffers */
    float *nc[2];  /* two (N, C) buffers */
    float *grad;   /* (F*H + H*C) dW0 then dW1, laid out as struct gcn params */
};

/* malloc for large arrays whose rows are gathered at random: 2 MiB aligned and advised onto
 * transparent huge pages when large. Freed with free(). */
void *gcn_alloc_big(size_t bytes);

/* Cross-entropy -log softmax(z)_y of one row z (c); *pred receives its argmax. */
double gcn_cross_entropy(const float *z, int c, int y, int *pred);

/* The eval-mode forward pass into the work buffers: hidden into nh[1], logits into nc[1]. */
void gcn_forward_work(struct gcn_work *w, const struct gcn *m, const struct graph *g);

#endif
