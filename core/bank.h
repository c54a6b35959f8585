/* bank: a memory bank of feature vectors of normal images, scored by nearest-neighbour distance.
 *
 * A query's anomaly score is the mean distance to its k nearest rows of the bank (k = 1: the
 * nearest-neighbour score of PatchCore, Roth et al. 2022, applied to whole-image features; k > 1:
 * the kNN score of Bergman, Cohen & Hoshen 2020). Two metrics: Euclidean (L2, not squared) and
 * cosine (distance = 1 - cos; the rows are stored L2-normalised).
 *
 * A large bank is thinned by a greedy k-center coreset (farthest-point traversal, Gonzalez 1985;
 * Sener & Savarese 2018, section 4.1; PatchCore section 3.2), which keeps the rows that cover
 * the others best: every dropped row lies within the coreset's radius of a kept one.
 *
 * Scoring runs on the calling thread (the daemon scores in many workers at once); batches go
 * through ops_gemm in blocks, each query keeping its k best candidates in a small sorted array,
 * and the k winners' distances are then recomputed directly (in double) so that a query equal
 * to a bank row scores 0, not the rounding noise of |q|^2 + |x|^2 - 2 q.x. The coreset uses the
 * ops thread pool. Nothing here reads or writes files. */
#ifndef INSPECTD_BANK_H
#define INSPECTD_BANK_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

enum bank_metric {
    BANK_METRIC_L2,     /* Euclidean distance |q - x| */
    BANK_METRIC_COSINE, /* 1 - q.x / (|q| |x|); a zero vector is at distance 1 from everything */
};

struct bank {
    int n, dim;              /* n vectors of dim floats */
    enum bank_metric metric; /* cosine: rows stored L2-normalised, distance = 1 - cos */
    int k;                   /* neighbours whose distances are averaged into the score, 1..n */
    float *x;                /* (n, dim) row-major, owned */
    float *sqnorm;           /* (n) squared norms of the stored rows (L2 through a GEMM), owned */
};

/* Builds b from feats (count, dim), which stay the caller's: when max_size > 0 and count >
 * max_size, the max_size rows of the greedy k-center coreset started from a row chosen by seed
 * (bank_coreset), else every row. b owns copies; release with bank_free. STATUS_RANGE for
 * count, dim or k out of range (k must be 1..rows kept; at most 2^24 rows), STATUS_NUMERIC for a
 * row that is not finite, STATUS_NOMEM; b is left empty on failure. */
enum status bank_build(struct bank *b, const float *feats, int count, int dim,
                       enum bank_metric metric, int k, int max_size, uint64_t seed);

/* Builds b from rows (n, dim) as they are (e.g. loaded from a model file): copies them,
 * normalises the copies for cosine, computes sqnorm. Same ownership and failures as bank_build. */
enum status bank_from_rows(struct bank *b, const float *rows, int n, int dim,
                           enum bank_metric metric, int k);

/* Frees what b owns and zeroes it; safe on a zeroed or already freed bank. */
void bank_free(struct bank *b);

/* Floats of scratch bank_score needs for batches of up to B queries. */
size_t bank_work_size(const struct bank *b, int B);

/* scores (B) = mean over the k nearest rows of the distance of each query q (B, dim) to them.
 * Candidates come from blocked GEMMs (L2: |q|^2 + |x|^2 - 2 q.x; cosine: q.x / |q|), B = 1 from
 * a GEMV; the k chosen distances are then recomputed exactly as bank_score_ref does. Calling
 * thread only; the same inputs give the same scores (a query scored alone or in a batch may differ
 * in the last bits only if two candidates tie to rounding). A query with a NaN scores NaN.
 * work: bank_work_size(b, B) floats. */
void bank_score(const struct bank *b, const float *q, int B, float *scores, float *work);

/* The definition, loop by loop: every distance in double, the k smallest by k minimum passes. */
void bank_score_ref(const struct bank *b, const float *q, int B, float *scores);

/* The greedy k-center coreset alone: chosen (m) = indices of m distinct rows of x (count, dim),
 * in the order picked. chosen[0] = rng_below(r, count) for r seeded with seed; each next one is the
 * row farthest from all chosen so far (ties: the lowest index). For cosine the rows are compared
 * normalised (k-center on the unit sphere). 1 <= m <= count. Uses the ops thread pool, and skips
 * the rows the triangle inequality shows the newest centre cannot come closer to (exact:
 * the same picks as bank_coreset_ref but for distances equal to rounding). STATUS_RANGE,
 * STATUS_NUMERIC for a row that is not finite, STATUS_NOMEM. */
enum status bank_coreset(int *chosen, const float *x, int count, int dim, int m,
                         enum bank_metric metric, uint64_t seed);

/* The definition: the same distances, every row at every step, on the calling thread. */
enum status bank_coreset_ref(int *chosen, const float *x, int count, int dim, int m,
                             enum bank_metric metric, uint64_t seed);

#endif
