/* bank: nearest-neighbour scoring against a memory bank, and its k-center coreset; see bank.h. */
#include "bank.h"

#include "ops.h"
#include "ops_impl.h"
#include "rng.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    QUERY_BLOCK = 256,  /* queries per GEMM: the bank streams through the cache once per block */
    ROW_BLOCK = 1024,   /* bank rows per GEMM: the (queries, rows) block of products is <= 1 MB */
    MAX_ROWS = 1 << 24, /* row indices live in the float scratch, exact up to 2^24 */
};

/* ---- distances, in double: the definition both paths end with ------------------------------ */

/* sum_i a_i b_i and sum_i (wa a_i - wb b_i)^2 over n floats, in double. Eight partial sums, so
 * that the additions are not one dependent chain (the compiler pairs them into vectors without
 * reassociating anything): several times the speed of one sum, at the same accuracy. */
static double dot_d(const float *a, const float *b, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += (double)a[i] * b[i];
        s1 += (double)a[i + 1] * b[i + 1];
        s2 += (double)a[i + 2] * b[i + 2];
        s3 += (double)a[i + 3] * b[i + 3];
        s4 += (double)a[i + 4] * b[i + 4];
        s5 += (double)a[i + 5] * b[i + 5];
        s6 += (double)a[i + 6] * b[i + 6];
        s7 += (double)a[i + 7] * b[i + 7];
    }
    for (; i < n; i++)
        s0 += (double)a[i] * b[i];
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

static double sqdist_d(const float *a, const float *b, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        double d0 = (double)a[i] - b[i], d1 = (double)a[i + 1] - b[i + 1];
        double d2 = (double)a[i + 2] - b[i + 2], d3 = (double)a[i + 3] - b[i + 3];
        double d4 = (double)a[i + 4] - b[i + 4], d5 = (double)a[i + 5] - b[i + 5];
        double d6 = (double)a[i + 6] - b[i + 6], d7 = (double)a[i + 7] - b[i + 7];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
        s4 += d4 * d4;
        s5 += d5 * d5;
        s6 += d6 * d6;
        s7 += d7 * d7;
    }
    for (; i < n; i++) {
        double d = (double)a[i] - b[i];
        s0 += d * d;
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

/* sum_i (wa a_i - wb b_i)^2 with float terms in 16 float partial sums (four vectors of
 * independent sums, again no reassociation), added up in double: the coreset's distance. Twice
 * the elements per instruction of the double form and as fast as the rows stream from memory;
 * the terms are all positive, so the float sums lose no more than about 1e-6 relative. */
static double sqdist_scaled(const float *a, float wa, const float *b, float wb, int n)
{
    /* sixteen named sums: an array of them stays in memory at -O2, named ones become registers */
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    float s8 = 0, s9 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0, s14 = 0, s15 = 0;
    int i = 0;
#define TERMS(D)                                                                                   \
    for (; i + 16 <= n; i += 16) {                                                                 \
        s0 += D(0) * D(0), s1 += D(1) * D(1), s2 += D(2) * D(2), s3 += D(3) * D(3);                \
        s4 += D(4) * D(4), s5 += D(5) * D(5), s6 += D(6) * D(6), s7 += D(7) * D(7);                \
        s8 += D(8) * D(8), s9 += D(9) * D(9), s10 += D(10) * D(10), s11 += D(11) * D(11);          \
        s12 += D(12) * D(12), s13 += D(13) * D(13), s14 += D(14) * D(14);                          \
        s15 += D(15) * D(15);                                                                      \
    }
#define PLAIN(l) (a[i + l] - b[i + l])
#define SCALED(l) (wa * a[i + l] - wb * b[i + l])
    if (wa == 1.0f && wb == 1.0f)
        TERMS(PLAIN)
    else
        TERMS(SCALED)
#undef TERMS
#undef PLAIN
#undef SCALED
    double sum = 0;
    for (; i < n; i++) {
        double d = (double)wa * a[i] - (double)wb * b[i];
        sum += d * d;
    }
    double lo = ((double)s0 + s1) + ((double)s2 + s3) + (((double)s4 + s5) + ((double)s6 + s7));
    double hi = ((double)s8 + s9) + ((double)s10 + s11);
    hi += ((double)s12 + s13) + ((double)s14 + s15);
    return sum + (lo + hi);
}

/* Distance of query q (dim) to stored row x (dim): L2 |q - x|; cosine 1 - q.x / |q| (x is stored
 * normalised, or zero), 1 for a zero query. qnorm: |q| (cosine only). */
static double row_distance(const struct bank *b, const float *q, double qnorm, const float *x)
{
    if (b->metric == BANK_METRIC_L2)
        return sqrt(sqdist_d(q, x, b->dim));
    return qnorm == 0 ? 1.0 : 1.0 - dot_d(q, x, b->dim) / qnorm; /* NaN stays NaN */
}

/* Inserts (d, j) into the ascending list (best_d, best_j) of k entries if d beats the last;
 * ties keep the entry already there (the lower row index, as rows arrive in order). The row
 * indices are kept as floats, so that the whole scratch is one float array (exact below 2^24,
 * which bank_init enforces). */
static void topk_insert(float *best_d, float *best_j, int k, float d, int j)
{
    if (!(d < best_d[k - 1]))
        return; /* also drops NaN */
    int p = k - 1;
    while (p > 0 && d < best_d[p - 1]) {
        best_d[p] = best_d[p - 1];
        best_j[p] = best_j[p - 1];
        p--;
    }
    best_d[p] = d;
    best_j[p] = (float)j;
}

/* ---- building -------------------------------------------------------------------------------- */

void bank_free(struct bank *b)
{
    free(b->x);
    free(b->sqnorm);
    memset(b, 0, sizeof *b);
}

/* b takes n rows gathered from rows (idx NULL: rows 0..n-1, else rows idx[0..n-1]). */
static enum status bank_init(struct bank *b, const float *rows, const int *idx, int n, int dim,
                             enum bank_metric metric, int k)
{
    memset(b, 0, sizeof *b);
    if (n < 1 || n > MAX_ROWS || dim < 1)
        return status_fail(STATUS_RANGE, "bank: %d rows of %d floats", n, dim);
    if (k < 1 || k > n)
        return status_fail(STATUS_RANGE, "bank: k = %d neighbours out of %d rows", k, n);
    if (metric != BANK_METRIC_L2 && metric != BANK_METRIC_COSINE)
        return status_fail(STATUS_RANGE, "bank: unknown metric %d", (int)metric);
    b->x = malloc((size_t)n * dim * sizeof *b->x);
    b->sqnorm = malloc((size_t)n * sizeof *b->sqnorm);
    if (!b->x || !b->sqnorm) {
        bank_free(b);
        return status_fail(STATUS_NOMEM, "bank: %d x %d floats", n, dim);
    }
    b->n = n;
    b->dim = dim;
    b->metric = metric;
    b->k = k;
    for (int i = 0; i < n; i++) {
        float *dst = b->x + (size_t)i * dim;
        memcpy(dst, rows + (size_t)(idx ? idx[i] : i) * dim, (size_t)dim * sizeof *dst);
        double sq = dot_d(dst, dst, dim);
        if (!isfinite(sq)) {
            bank_free(b);
            return status_fail(STATUS_NUMERIC, "bank: row %d is not finite", idx ? idx[i] : i);
        }
        if (metric == BANK_METRIC_COSINE && sq > 0) {
            double inv = 1.0 / sqrt(sq);
            for (int c = 0; c < dim; c++)
                dst[c] = (float)(dst[c] * inv);
            sq = dot_d(dst, dst, dim);
        }
        b->sqnorm[i] = (float)sq;
    }
    return STATUS_OK;
}

enum status bank_from_rows(struct bank *b, const float *rows, int n, int dim,
                           enum bank_metric metric, int k)
{
    return bank_init(b, rows, NULL, n, dim, metric, k);
}

enum status bank_build(struct bank *b, const float *feats, int count, int dim,
                       enum bank_metric metric, int k, int max_size, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    if (max_size <= 0 || count <= max_size)
        return bank_init(b, feats, NULL, count, dim, metric, k);
    if (k < 1 || k > max_size) /* before the coreset's work, not after */
        return status_fail(STATUS_RANGE, "bank: k = %d neighbours out of %d rows", k, max_size);
    int *chosen = malloc((size_t)max_size * sizeof *chosen);
    if (!chosen)
        return status_fail(STATUS_NOMEM, "bank: coreset of %d rows", max_size);
    enum status st = bank_coreset(chosen, feats, count, dim, max_size, metric, seed);
    if (st == STATUS_OK)
        st = bank_init(b, feats, chosen, max_size, dim, metric, k);
    free(chosen);
    return st;
}

/* ---- scoring ------------------------------------------------------------------------------- */

size_t bank_work_size(const struct bank *b, int B)
{
    size_t qb = (size_t)(B < QUERY_BLOCK ? B : QUERY_BLOCK);
    size_t rb = (size_t)(b->n < ROW_BLOCK ? b->n : ROW_BLOCK);
    if (qb < 1)
        qb = 1;
    /* products (qb, rb), then per query |q|^2 or 1/|q|, the k best distances and their rows */
    return qb * rb + qb + 2 * qb * (size_t)b->k;
}

/* Scores queries q (qb, dim) into scores (qb). */
static void score_block(const struct bank *b, const float *q, int qb, float *scores, float *work)
{
    const int n = b->n, dim = b->dim, k = b->k;
    const int rb = n < ROW_BLOCK ? n : ROW_BLOCK;
    float *prod = work;                      /* (qb, rb) */
    float *qscale = prod + (size_t)qb * rb;  /* (qb): |q|^2 (L2) or 1/|q| (cosine) */
    float *best_d = qscale + qb;             /* (qb, k) */
    float *best_j = best_d + (size_t)qb * k; /* (qb, k) their rows, as floats (exact: n < 2^24) */

    for (int i = 0; i < qb; i++) {
        double sq = dot_d(q + (size_t)i * dim, q + (size_t)i * dim, dim);
        qscale[i] = b->metric == BANK_METRIC_L2 ? (float)sq : sq == 0 ? 0 : (float)(1 / sqrt(sq));
        for (int j = 0; j < k; j++) {
            best_d[(size_t)i * k + j] = INFINITY;
            best_j[(size_t)i * k + j] = -1;
        }
    }
    for (int r0 = 0; r0 < n; r0 += rb) {
        const int rn = n - r0 < rb ? n - r0 : rb;
        const float *x = b->x + (size_t)r0 * dim;
        /* prod (qb, rn) = q (qb, dim) x^T; one query: a GEMV, which streams the rows once */
        if (qb == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, rn, dim, 1.0f, x, dim, q, 1, 0.0f, prod, 1);
        else
            ops_gemm(0, 1, qb, rn, dim, q, dim, x, dim, 0.0f, prod, rn);
        for (int i = 0; i < qb; i++) {
            const float *p = prod + (size_t)i * rn;
            float *bd = best_d + (size_t)i * k;
            float *bj = best_j + (size_t)i * k;
            if (b->metric == BANK_METRIC_L2) {
                /* |q - x|^2 = |q|^2 + |x|^2 - 2 q.x: only the ranking matters here */
                for (int j = 0; j < rn; j++)
                    topk_insert(bd, bj, k, qscale[i] + b->sqnorm[r0 + j] - 2 * p[j], r0 + j);
            } else {
                for (int j = 0; j < rn; j++)
                    topk_insert(bd, bj, k, 1 - p[j] * qscale[i], r0 + j);
            }
        }
    }
    /* The winners' distances again, exactly: the expansion above loses the small distances to
     * cancellation (a query equal to a row would score sqrt(rounding) instead of 0). */
    for (int i = 0; i < qb; i++) {
        const float *qi = q + (size_t)i * dim;
        const double qnorm = b->metric == BANK_METRIC_COSINE ? sqrt(dot_d(qi, qi, dim)) : 0;
        double sum = 0;
        for (int j = 0; j < k; j++) {
            int r = (int)best_j[(size_t)i * k + j];
            sum += r < 0 ? NAN : row_distance(b, qi, qnorm, b->x + (size_t)r * dim);
        }
        scores[i] = (float)(sum / k);
    }
}

void bank_score(const struct bank *b, const float *q, int B, float *scores, float *work)
{
    ASSERT(b->n >= 1 && b->k >= 1 && b->k <= b->n);
    for (int q0 = 0; q0 < B; q0 += QUERY_BLOCK) {
        int qb = B - q0 < QUERY_BLOCK ? B - q0 : QUERY_BLOCK;
        score_block(b, q + (size_t)q0 * b->dim, qb, scores + q0, work);
    }
}

void bank_score_ref(const struct bank *b, const float *q, int B, float *scores)
{
    ASSERT(b->n >= 1 && b->k >= 1 && b->k <= b->n);
    const int dim = b->dim;
    for (int i = 0; i < B; i++) {
        const float *qi = q + (size_t)i * dim;
        const double qnorm = sqrt(dot_d(qi, qi, dim));
        /* the j-th nearest row: the smallest (distance, index) after the (j-1)-th */
        double sum = 0, last_d = -INFINITY;
        int last_r = -1;
        for (int j = 0; j < b->k; j++) {
            double best_d = INFINITY;
            int best_r = -1;
            for (int r = 0; r < b->n; r++) {
                double d = row_distance(b, qi, qnorm, b->x + (size_t)r * dim);
                int after_last = d > last_d || (d == last_d && r > last_r);
                if (after_last && d < best_d) {
                    best_d = d;
                    best_r = r;
                }
            }
            sum += best_r < 0 ? NAN : best_d;
            last_d = best_d;
            last_r = best_r;
        }
        scores[i] = (float)(sum / b->k);
    }
}

/* ---- the k-center coreset -------------------------------------------------------------------- */

/* Rows are compared as u_i = w_i x_i, w_i = 1 for L2 and 1/|x_i| (0 for a zero row) for cosine,
 * by the squared distance |u_i - u_j|^2 summed directly (sqdist_scaled; no |u|^2 + |u|^2 - 2 u.u
 * expansion: the coreset lives on small distances, where the expansion is rounding noise).
 *
 * Farthest-point traversal with the triangle inequality (as in Elkan's k-means, ICML 2003, lemma
 * 1): a row i whose nearest centre is a cannot come closer to the new centre c when
 * |u_c - u_a| >= 2 |u_i - u_a|, since then |u_i - u_c| >= |u_c - u_a| - |u_i - u_a| >= |u_i - u_a|.
 * So each step measures c against the earlier centres (s distances), then against c only the
 * rows this test cannot rule out (all of them on structureless data, few on clustered data). A
 * whole cluster is ruled out without even that distance when its radius is 0, or when the norms
 * alone show | |u_c| - |u_a| | >= 2 radius. */

enum {
    CHUNK_ROWS = 32,  /* threads take chunks t, t + nt, ... of rows (balance under pruning) */
    MAX_THREADS = 64, /* the ops pool's limit */
};

struct coreset {
    const float *x; /* (count, dim) */
    int count, dim;
    const float *w;    /* (count) the scale w_i */
    const double *nu;  /* (count) |u_i| */
    const int *chosen; /* (s) centres so far, the newest last */
    int s;
    double *mind;           /* (count) |u_i - nearest centre|^2; -1 once chosen */
    int *assign;            /* (count) index into chosen of that centre */
    double *radius;         /* (m) per centre: max mind of its rows */
    double *dcc;            /* (m) |u_c - u_a|^2 for the newest c, INFINITY: cluster ruled out */
    int threads;            /* how many ran the last coreset_rows */
    int far_i[MAX_THREADS]; /* per thread: its unchosen row farthest from the centres */
    double far_d[MAX_THREADS];
};

static double coreset_dist(const struct coreset *c, int i, int j)
{
    return sqdist_scaled(c->x + (size_t)i * c->dim, c->w[i], c->x + (size_t)j * c->dim, c->w[j],
                         c->dim);
}

/* Thread t's share of the distances from the newest centre to the earlier ones. */
static void coreset_centres(void *ctx, int t, int nt)
{
    struct coreset *c = ctx;
    const int cn = c->chosen[c->s - 1];
    int a0, a1;
    ops_split(&a0, &a1, c->s - 1, t, nt, 1);
    for (int a = a0; a < a1; a++) {
        const double gap = c->nu[cn] - c->nu[c->chosen[a]], r = c->radius[a];
        c->dcc[a] = r == 0 || gap * gap >= 4 * r ? INFINITY : coreset_dist(c, cn, c->chosen[a]);
    }
}

/* Thread t's share of the rows: the running minimum against the newest centre, and the
 * farthest row (ties: the lowest index). */
static void coreset_rows(void *ctx, int t, int nt)
{
    struct coreset *c = ctx;
    const int cn = c->chosen[c->s - 1], newest = c->s - 1;
    int far_i = -1;
    double far_d = -1;
    for (int r0 = t * CHUNK_ROWS; r0 < c->count; r0 += nt * CHUNK_ROWS) {
        const int r1 = r0 + CHUNK_ROWS < c->count ? r0 + CHUNK_ROWS : c->count;
        for (int i = r0; i < r1; i++) {
            if (c->mind[i] < 0)
                continue; /* a centre */
            if (c->assign[i] < 0 || !(c->dcc[c->assign[i]] >= 4 * c->mind[i])) {
                double d = coreset_dist(c, i, cn);
                if (d < c->mind[i]) {
                    c->mind[i] = d;
                    c->assign[i] = newest;
                }
            }
            if (c->mind[i] > far_d) {
                far_d = c->mind[i];
                far_i = i;
            }
        }
    }
    c->far_i[t] = far_i;
    c->far_d[t] = far_d;
    if (t == 0)
        c->threads = nt; /* the pool may run fewer threads than asked for */
}

/* Checks the arguments, and fills w (count) and nu (count) when both are non-NULL. */
static enum status coreset_prepare(float *w, double *nu, const float *x, int count, int dim, int m,
                                   enum bank_metric metric)
{
    if (count < 1 || dim < 1 || m < 1 || m > count)
        return status_fail(STATUS_RANGE, "bank: coreset of %d rows out of %d (dim %d)", m, count,
                           dim);
    if (metric != BANK_METRIC_L2 && metric != BANK_METRIC_COSINE)
        return status_fail(STATUS_RANGE, "bank: unknown metric %d", (int)metric);
    for (int i = 0; i < count; i++) {
        const float *xi = x + (size_t)i * dim;
        double sq = dot_d(xi, xi, dim);
        if (!isfinite(sq))
            return status_fail(STATUS_NUMERIC, "bank: row %d of the features is not finite", i);
        if (w) {
            w[i] = metric == BANK_METRIC_L2 ? 1.0f : sq > 0 ? (float)(1.0 / sqrt(sq)) : 0.0f;
            nu[i] = metric == BANK_METRIC_L2 ? sqrt(sq) : sq > 0 ? 1.0 : 0.0;
        }
    }
    return STATUS_OK;
}

static int coreset_first(int count, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    return (int)rng_below(&r, (uint64_t)count);
}

enum status bank_coreset(int *chosen, const float *x, int count, int dim, int m,
                         enum bank_metric metric, uint64_t seed)
{
    float *w = malloc((size_t)(count > 0 ? count : 1) * sizeof *w);
    double *nu = malloc((size_t)(count > 0 ? count : 1) * sizeof *nu);
    double *mind = malloc((size_t)(count > 0 ? count : 1) * sizeof *mind);
    int *assign = malloc((size_t)(count > 0 ? count : 1) * sizeof *assign);
    double *radius = malloc((size_t)(m > 0 ? m : 1) * sizeof *radius);
    double *dcc = malloc((size_t)(m > 0 ? m : 1) * sizeof *dcc);
    enum status st = STATUS_OK;
    if (!w || !nu || !mind || !assign || !radius || !dcc) {
        st = status_fail(STATUS_NOMEM, "bank: coreset scratch for %d rows", count);
        goto out;
    }
    st = coreset_prepare(w, nu, x, count, dim, m, metric);
    if (st)
        goto out;
    for (int i = 0; i < count; i++) {
        mind[i] = INFINITY;
        assign[i] = -1;
    }
    struct coreset c = {.x = x,
                        .count = count,
                        .dim = dim,
                        .w = w,
                        .nu = nu,
                        .chosen = chosen,
                        .mind = mind,
                        .assign = assign,
                        .radius = radius,
                        .dcc = dcc};
    int nt = ops_plan_threads(3.0 * count * dim); /* the first step's work; later ones less */
    nt = nt < MAX_THREADS ? nt : MAX_THREADS;
    chosen[0] = coreset_first(count, seed);
    for (int s = 1; s < m; s++) {
        c.s = s;
        mind[chosen[s - 1]] = -1;
        if (s > 1)
            ops_parallel(nt < s - 1 ? nt : s - 1, coreset_centres, &c);
        ops_parallel(nt, coreset_rows, &c);
        int far_i = -1;
        double far_d = -1;
        for (int t = 0; t < c.threads; t++)
            if (c.far_d[t] > far_d || (c.far_d[t] == far_d && c.far_i[t] < far_i)) {
                far_d = c.far_d[t];
                far_i = c.far_i[t];
            }
        ASSERT(far_i >= 0); /* m <= count leaves an unchosen row */
        chosen[s] = far_i;
        /* the radii for the next step's test: exact, one pass over the rows */
        for (int a = 0; a < s; a++)
            radius[a] = 0;
        for (int i = 0; i < count; i++)
            if (mind[i] > 0 && mind[i] > radius[assign[i]])
                radius[assign[i]] = mind[i];
    }
out:
    free(w);
    free(nu);
    free(mind);
    free(assign);
    free(radius);
    free(dcc);
    return st;
}

enum status bank_coreset_ref(int *chosen, const float *x, int count, int dim, int m,
                             enum bank_metric metric, uint64_t seed)
{
    float *w = malloc((size_t)(count > 0 ? count : 1) * sizeof *w);
    double *nu = malloc((size_t)(count > 0 ? count : 1) * sizeof *nu);
    double *mind = malloc((size_t)(count > 0 ? count : 1) * sizeof *mind);
    enum status st = STATUS_OK;
    if (!w || !nu || !mind) {
        st = status_fail(STATUS_NOMEM, "bank: coreset scratch for %d rows", count);
        goto out;
    }
    st = coreset_prepare(w, nu, x, count, dim, m, metric);
    if (st)
        goto out;
    for (int i = 0; i < count; i++)
        mind[i] = INFINITY;
    chosen[0] = coreset_first(count, seed);
    for (int s = 1; s < m; s++) {
        const int cn = chosen[s - 1];
        mind[cn] = -1;
        int far_i = -1;
        for (int i = 0; i < count; i++) {
            if (mind[i] < 0)
                continue;
            double d = sqdist_scaled(x + (size_t)i * dim, w[i], x + (size_t)cn * dim, w[cn], dim);
            if (d < mind[i])
                mind[i] = d;
            if (far_i < 0 || mind[i] > mind[far_i])
                far_i = i;
        }
        chosen[s] = far_i;
    }
out:
    free(w);
    free(nu);
    free(mind);
    return st;
}
