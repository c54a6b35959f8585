/* roc: AUROC, average precision, F1 and ROC points with scikit-learn's tie handling; see roc.h. */
#include "roc.h"

#include <math.h>
#include <stdlib.h>

struct scored {
    float score;
    int label;
};

/* Descending by score; the order inside a tie does not matter to any caller (ties are grouped). */
static int cmp_desc(const void *a, const void *b)
{
    float x = ((const struct scored *)a)->score, y = ((const struct scored *)b)->score;
    return (x < y) - (x > y);
}

static struct scored *sorted_desc(const float *scores, const int *labels, size_t n)
{
    struct scored *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[i].score = scores[i];
        s[i].label = labels[i] != 0;
    }
    qsort(s, n, sizeof *s, cmp_desc);
    return s;
}

/* Walks the sorted list one group of equal scores at a time; calls back with the cumulative
 * true/false positive counts after each group (i.e. at each distinct threshold). */
typedef void (*group_fn)(void *user, size_t tp, size_t fp, size_t gpos, size_t gneg);

static void walk_groups(const struct scored *s, size_t n, group_fn fn, void *user)
{
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t gpos = 0, gneg = 0, j = i;
        for (; j < n && s[j].score == s[i].score; j++)
            s[j].label ? gpos++ : gneg++;
        tp += gpos;
        fp += gneg;
        fn(user, tp, fp, gpos, gneg);
        i = j;
    }
}

struct auc_acc {
    double area; /* sum over groups of negatives below * group positives, ties counted half */
    size_t nneg;
};

static void auc_group(void *user, size_t tp, size_t fp, size_t gpos, size_t gneg)
{
    (void)tp;
    struct auc_acc *a = user;
    /* Each positive of this group outranks every negative of later (lower) groups and ties with
     * this group's negatives. Negatives below = nneg - fp (fp includes this group). */
    a->area += (double)gpos * ((double)(a->nneg - fp) + 0.5 * (double)gneg);
}

double roc_auroc(const float *scores, const int *labels, size_t n)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += labels[i] != 0;
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0)
        return NAN;
    struct scored *s = sorted_desc(scores, labels, n);
    if (!s)
        return NAN;
    struct auc_acc a = {0, nneg};
    walk_groups(s, n, auc_group, &a);
    free(s);
    return a.area / ((double)npos * (double)nneg);
}

struct ap_acc {
    double ap, last_recall;
    size_t npos;
};

static void ap_group(void *user, size_t tp, size_t fp, size_t gpos, size_t gneg)
{
    (void)gpos;
    (void)gneg;
    struct ap_acc *a = user;
    double recall = (double)tp / (double)a->npos;
    double precision = (double)tp / (double)(tp + fp);
    a->ap += (recall - a->last_recall) * precision;
    a->last_recall = recall;
}

double roc_average_precision(const float *scores, const int *labels, size_t n)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += labels[i] != 0;
    if (npos == 0)
        return NAN;
    struct scored *s = sorted_desc(scores, labels, n);
    if (!s)
        return NAN;
    struct ap_acc a = {0, 0, npos};
    walk_groups(s, n, ap_group, &a);
    free(s);
    return a.ap;
}

struct roc_counts roc_count_at(const float *scores, const int *labels, size_t n, float threshold)
{
    struct roc_counts c = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        int called = scores[i] > threshold;
        if (labels[i])
            called ? c.tp++ : c.fn++;
        else
            called ? c.fp++ : c.tn++;
    }
    return c;
}

double roc_f1(struct roc_counts c)
{
    size_t den = 2 * c.tp + c.fp + c.fn;
    return den ? 2.0 * (double)c.tp / (double)den : 0.0;
}

double roc_precision(struct roc_counts c)
{
    return c.tp + c.fp ? (double)c.tp / (double)(c.tp + c.fp) : 0.0;
}

double roc_recall(struct roc_counts c)
{
    return c.tp + c.fn ? (double)c.tp / (double)(c.tp + c.fn) : 0.0;
}

struct curve_acc {
    double *fpr, *tpr;
    size_t k, npos, nneg;
};

static void curve_group(void *user, size_t tp, size_t fp, size_t gpos, size_t gneg)
{
    (void)gpos;
    (void)gneg;
    struct curve_acc *a = user;
    a->fpr[a->k] = a->nneg ? (double)fp / (double)a->nneg : 0.0;
    a->tpr[a->k] = a->npos ? (double)tp / (double)a->npos : 0.0;
    a->k++;
}

enum status roc_curve(double **fpr, double **tpr, size_t *npoints, const float *scores,
                      const int *labels, size_t n)
{
    *fpr = *tpr = NULL;
    *npoints = 0;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += labels[i] != 0;
    struct scored *s = sorted_desc(scores, labels, n);
    double *f = malloc((n + 1) * sizeof *f), *t = malloc((n + 1) * sizeof *t);
    if (!s || !f || !t) {
        free(s);
        free(f);
        free(t);
        return status_fail(STATUS_NOMEM, "roc_curve: out of memory for %zu points", n + 1);
    }
    f[0] = t[0] = 0.0;
    struct curve_acc a = {f, t, 1, npos, n - npos};
    walk_groups(s, n, curve_group, &a);
    free(s);
    *fpr = f;
    *tpr = t;
    *npoints = a.k;
    return STATUS_OK;
}

static int cmp_float_asc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double roc_percentile(const float *x, size_t n, double p)
{
    ASSERT(n > 0 && p >= 0 && p <= 100);
    float *s = malloc(n * sizeof *s);
    if (!s)
        return NAN;
    for (size_t i = 0; i < n; i++)
        s[i] = x[i];
    qsort(s, n, sizeof *s, cmp_float_asc);
    double pos = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = pos - (double)lo;
    double v = (double)s[lo] + frac * ((double)s[hi] - (double)s[lo]);
    free(s);
    return v;
}
