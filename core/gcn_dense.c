/* gcn_dense: the GCN's dense products, whose inner sizes are the hidden width H (16, 32) and
 * the class count C (7 for Cora). sgemm gains nothing at these sizes (and its own thread pool
 * competes with ours), so they are row loops over the long dimension N, with the (H, C) weight
 * transposed once per call so every inner loop runs over contiguous H-wide rows. Instantiated for
 * H = 16, 32 and generic, plain and AVX2+FMA (see gcn_impl.h), and row-parallel. */
#include "gcn_impl.h"

#include <stdlib.h>
#include <string.h>

struct dense_ctx {
    float *out;
    const float *x;  /* (n, h) */
    const float *d;  /* (n, c) */
    const float *wt; /* (c, h): the weight (h, c) transposed */
    float *acc;      /* mm_tn: (threads, c, h) accumulators */
    const float *w8; /* mm with c <= 8: the weight (h, c) padded with zeros to (h, 8) */
    int n, h, c;
};

/* out (n, c) = x (n, h) · w: one h-long dot product per output. */
GCN_INLINE void mm_body(const struct dense_ctx *k, int begin, int end, const int h)
{
    const int c = k->c;
    if (k->w8) {
        /* c <= 8: the row is one 8-wide accumulator, one vector multiply-add per input. */
        for (int i = begin; i < end; i++) {
            const float *xr = k->x + (size_t)i * h;
            float acc[8] = {0};
            for (int q = 0; q < h; q++)
                gcn_axpy(acc, xr[q], k->w8 + (size_t)q * 8, 8);
            for (int j = 0; j < c; j++)
                k->out[(size_t)i * c + j] = acc[j];
        }
        return;
    }
    for (int i = begin; i < end; i++) {
        const float *xr = k->x + (size_t)i * h;
        for (int j = 0; j < c; j++)
            k->out[(size_t)i * c + j] = gcn_dot(xr, k->wt + (size_t)j * h, h);
    }
}

/* out (n, h) = d (n, c) · wᵀ: out row = sum over j of d[i, j] * wt row j. */
GCN_INLINE void mm_nt_body(const struct dense_ctx *k, int begin, int end, const int h)
{
    const int c = k->c;
    for (int i = begin; i < end; i++) {
        float *o = k->out + (size_t)i * h;
        const float *dr = k->d + (size_t)i * c;
        for (int q = 0; q < h; q++)
            o[q] = 0.0f;
        for (int j = 0; j < c; j++)
            gcn_axpy(o, dr[j], k->wt + (size_t)j * h, h);
    }
}

/* acc_t (c, h) += sum over rows of d[i, j] * x row i. */
GCN_INLINE void mm_tn_body(const struct dense_ctx *k, int begin, int end, int t, const int h)
{
    const int c = k->c;
    float *acc = k->acc + (size_t)t * c * h;
    for (int i = begin; i < end; i++) {
        const float *xr = k->x + (size_t)i * h;
        const float *dr = k->d + (size_t)i * c;
        for (int j = 0; j < c; j++)
            gcn_axpy(acc + (size_t)j * h, dr[j], xr, h);
    }
}

#define DENSE_SET(sfx, attr)                                                                      \
    GCN_ROW_FN(mm_16##sfx, attr, struct dense_ctx, mm_body(c, begin, end, 16))                    \
    GCN_ROW_FN(mm_32##sfx, attr, struct dense_ctx, mm_body(c, begin, end, 32))                    \
    GCN_ROW_FN(mm_n##sfx, attr, struct dense_ctx, mm_body(c, begin, end, c->h))                   \
    GCN_ROW_FN(mm_nt_16##sfx, attr, struct dense_ctx, mm_nt_body(c, begin, end, 16))              \
    GCN_ROW_FN(mm_nt_32##sfx, attr, struct dense_ctx, mm_nt_body(c, begin, end, 32))              \
    GCN_ROW_FN(mm_nt_n##sfx, attr, struct dense_ctx, mm_nt_body(c, begin, end, c->h))             \
    GCN_ROW_FN(mm_tn_16##sfx, attr, struct dense_ctx, mm_tn_body(c, begin, end, t, 16))           \
    GCN_ROW_FN(mm_tn_32##sfx, attr, struct dense_ctx, mm_tn_body(c, begin, end, t, 32))           \
    GCN_ROW_FN(mm_tn_n##sfx, attr, struct dense_ctx, mm_tn_body(c, begin, end, t, c->h))

DENSE_SET(, GCN_PLAIN)
#if GCN_HAVE_AVX2_CLONES
DENSE_SET(_avx2, GCN_AVX2)
#endif

/* which: 0 mm, 1 mm_nt, 2 mm_tn. */
static row_fn dense_pick(int which, int h)
{
    static const row_fn plain[3][3] = {{mm_16, mm_32, mm_n},
                                       {mm_nt_16, mm_nt_32, mm_nt_n},
                                       {mm_tn_16, mm_tn_32, mm_tn_n}};
    const int col = h == 16 ? 0 : h == 32 ? 1 : 2;
#if GCN_HAVE_AVX2_CLONES
    static const row_fn avx2[3][3] = {{mm_16_avx2, mm_32_avx2, mm_n_avx2},
                                      {mm_nt_16_avx2, mm_nt_32_avx2, mm_nt_n_avx2},
                                      {mm_tn_16_avx2, mm_tn_32_avx2, mm_tn_n_avx2}};
    if (gcn_use_avx2())
        return avx2[which][col];
#endif
    return plain[which][col];
}

/* wt (c, h) = w (h, c) transposed, in a buffer the caller frees; NULL if out of memory (the
 * callers then fall back to the naive twin, which needs no memory). */
static float *transpose(const float *w, int h, int c)
{
    float *wt = malloc((size_t)h * c * sizeof *wt);
    if (!wt)
        return NULL;
    for (int q = 0; q < h; q++)
        for (int j = 0; j < c; j++)
            wt[(size_t)j * h + q] = w[(size_t)q * c + j];
    return wt;
}

void gcn_mm(float *out, const float *x, const float *w, int n, int h, int c)
{
    struct dense_ctx k = {.out = out, .x = x, .n = n, .h = h, .c = c};
    float *pad = NULL;
    if (c <= 8) {
        if ((pad = calloc((size_t)h * 8, sizeof *pad)))
            for (int q = 0; q < h; q++)
                memcpy(pad + (size_t)q * 8, w + (size_t)q * c, (size_t)c * sizeof *pad);
        k.w8 = pad;
    } else {
        k.wt = pad = transpose(w, h, c);
    }
    if (!pad) {
        gcn_mm_ref(out, x, w, n, h, c);
        return;
    }
    gcn_parallel_range(NULL, n, (int64_t)n * h * c, dense_pick(0, h), &k);
    free(pad);
}

void gcn_mm_nt(float *out, const float *d, const float *w, int n, int h, int c)
{
    struct dense_ctx k = {.out = out, .d = d, .wt = transpose(w, h, c), .n = n, .h = h, .c = c};
    if (!k.wt) {
        gcn_mm_nt_ref(out, d, w, n, h, c);
        return;
    }
    gcn_parallel_range(NULL, n, (int64_t)n * h * c, dense_pick(1, h), &k);
    free((void *)k.wt);
}

void gcn_mm_tn_acc(float *out, const float *x, const float *d, int n, int h, int c)
{
    const int nt = gcn_get_threads();
    struct dense_ctx k = {.x = x, .d = d, .n = n, .h = h, .c = c};
    k.acc = calloc((size_t)nt * h * c, sizeof *k.acc);
    if (!k.acc) {
        gcn_mm_tn_acc_ref(out, x, d, n, h, c);
        return;
    }
    gcn_parallel_range(NULL, n, (int64_t)n * h * c, dense_pick(2, h), &k);
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < c; j++)
            for (int q = 0; q < h; q++)
                out[(size_t)q * c + j] += k.acc[((size_t)t * c + j) * h + q];
    free(k.acc);
}

/* ---- Elementwise passes over (N, H) arrays, in blocks, row-parallel ------------------------- */

#define BLOCK 4096 /* elements per parallel unit (a multiple of 4: one hash gives 4 draws) */

struct elem_ctx {
    float *out;
    const float *inp;
    int64_t n;
    uint32_t threshold;
    float scale;
    uint32_t key_lo; /* the 64-bit key folded to 32 bits, plus the block's high index bits */
};

/* The murmur3 finaliser (fmix32): a 32-bit bijection that mixes every input bit into every
 * output bit; only 32-bit multiplies, so 8 lanes at a time under AVX2. */
GCN_INLINE uint32_t fmix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

/* Eight-lane selects in GNU vector extensions (GCC and clang): GCC will not if-convert a
 * select in a plain loop ("control flow in loop"), and a branch would mispredict on every
 * other coin flip. A comparison of vectors gives 0 / -1 lanes to mask with. */
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* 64 elements (32 hashes) at a time: constant trip counts let the compiler vectorise the
 * hashes; the selects run on v8f. */
GCN_INLINE void dropout_body(const struct elem_ctx *k, int begin, int end)
{
    const int64_t lo = (int64_t)begin * BLOCK;
    const int64_t hi = (int64_t)end * BLOCK < k->n ? (int64_t)end * BLOCK : k->n;
    const float *restrict inp = k->inp;
    float *restrict out = k->out;
    const float scale = k->scale;
    const int32_t thr = (int32_t)k->threshold;
    for (int64_t e0 = lo; e0 < hi; e0 += 64) {
        int32_t draw[64];
        const uint32_t base = (uint32_t)(e0 / 2) * 0x9E3779B9u + k->key_lo;
        for (int l = 0; l < 64; l++) { /* two 16-bit draws per hash: elements 2p and 2p + 1 */
            const uint32_t bits = fmix32(base + (uint32_t)(l >> 1) * 0x9E3779B9u);
            draw[l] = (int32_t)((bits >> (16 * (l & 1))) & 0xffffu);
        }
        if (e0 + 64 <= hi) {
            for (int l = 0; l < 64; l += 8) {
                v8f x;
                v8i d;
                memcpy(&x, inp + e0 + l, sizeof x);
                memcpy(&d, draw + l, sizeof d);
                x = (v8f)((v8i)(x * scale) & (d >= thr));
                memcpy(out + e0 + l, &x, sizeof x);
            }
        } else {
            for (int l = 0; e0 + l < hi; l++)
                out[e0 + l] = draw[l] >= thr ? inp[e0 + l] * scale : 0.0f;
        }
    }
}

GCN_INLINE void relu_body(const struct elem_ctx *k, int begin, int end)
{
    const int64_t hi = (int64_t)end * BLOCK < k->n ? (int64_t)end * BLOCK : k->n;
    float *restrict x = k->out;
    int64_t e = (int64_t)begin * BLOCK;
    for (; e + 64 <= hi; e += 64) /* constant trip count: vectorised */
        for (int l = 0; l < 64; l++)
            x[e + l] = x[e + l] > 0.0f ? x[e + l] : 0.0f;
    for (; e < hi; e++)
        x[e] = x[e] > 0.0f ? x[e] : 0.0f;
}

GCN_INLINE void mask_body(const struct elem_ctx *k, int begin, int end)
{
    const int64_t hi = (int64_t)end * BLOCK < k->n ? (int64_t)end * BLOCK : k->n;
    float *restrict d = k->out;
    const float *restrict y = k->inp;
    const float scale = k->scale;
    int64_t e = (int64_t)begin * BLOCK;
    const v8f zero = {0};
    for (; e + 8 <= hi; e += 8) {
        v8f dv, yv;
        memcpy(&dv, d + e, sizeof dv);
        memcpy(&yv, y + e, sizeof yv);
        dv = (v8f)((v8i)(dv * scale) & (yv > zero));
        memcpy(d + e, &dv, sizeof dv);
    }
    for (; e < hi; e++)
        d[e] = y[e] > 0.0f ? d[e] * scale : 0.0f;
}

GCN_ROW_FN(dropout_plain, GCN_PLAIN, struct elem_ctx, dropout_body(c, begin, end))
GCN_ROW_FN(relu_plain, GCN_PLAIN, struct elem_ctx, relu_body(c, begin, end))
GCN_ROW_FN(mask_plain, GCN_PLAIN, struct elem_ctx, mask_body(c, begin, end))
#if GCN_HAVE_AVX2_CLONES
GCN_ROW_FN(dropout_avx2, GCN_AVX2, struct elem_ctx, dropout_body(c, begin, end))
GCN_ROW_FN(relu_avx2, GCN_AVX2, struct elem_ctx, relu_body(c, begin, end))
GCN_ROW_FN(mask_avx2, GCN_AVX2, struct elem_ctx, mask_body(c, begin, end))
#define ELEM_PICK(name) (gcn_use_avx2() ? name##_avx2 : name##_plain)
#else
#define ELEM_PICK(name) name##_plain
#endif

static int nblocks(int64_t n)
{
    return (int)((n + BLOCK - 1) / BLOCK);
}

void gcn_dropout(float *out, const float *inp, int64_t n, float rate, uint64_t key)
{
    if (rate <= 0.0f) {
        if (out != inp)
            memcpy(out, inp, (size_t)n * sizeof *out);
        return;
    }
    /* Inverted dropout (Srivastava et al. 2014, as torch.nn.functional.dropout): kept values are
     * scaled by 1 / (1 - rate) so the expectation is unchanged. Element e is kept iff its 16-bit
     * draw, the low (e even) or high (e odd) half of fmix32(k + (e/2) * golden) with k the folded
     * key, is >= rate * 65536: a pure function of (key, e), so the thread count does not change
     * the masks. */
    ASSERT(n < (INT64_C(1) << 33)); /* element pairs are counted in 32 bits */
    struct elem_ctx k = {out, inp, n, (uint32_t)(rate * 65536.0f + 0.5f),
                         rate < 1.0f ? 1.0f / (1.0f - rate) : 0.0f,
                         fmix32((uint32_t)key ^ fmix32((uint32_t)(key >> 32)))};
    gcn_parallel_range(NULL, nblocks(n), n * 4, ELEM_PICK(dropout), &k);
}

void gcn_relu(float *x, int64_t n)
{
    struct elem_ctx k = {.out = x, .n = n};
    gcn_parallel_range(NULL, nblocks(n), n, ELEM_PICK(relu), &k);
}

void gcn_mask_backward(float *dx, const float *y, int64_t n, float scale)
{
    struct elem_ctx k = {.out = dx, .inp = y, .n = n, .scale = scale};
    gcn_parallel_range(NULL, nblocks(n), n, ELEM_PICK(mask), &k);
}
