/* detect: the anomaly score of an image model, from the AnoGAN score and the further detectors
 * the model file holds, each standardised on held-out normal images and fused into one score.
 *
 * Parts (each a number per image, higher = more anomalous):
 *  - anogan:        the AnoGAN score of anogan_score (always there);
 *  - transform:     the transformation classifier's score (geom.h: GEOM's Dirichlet score);
 *  - knn:           distance to the nearest normal images in D's feature space (the 512x4x4
 *                   block f of the score, cosine; a memory bank, bank.h);
 *  - knn_pixels:    distance to the nearest normal images in pixel space (cosine);
 *  - knn_transform: distance to the nearest normal images in the classifier's pooled features.
 * The transformation classifier and the pixel bank see the model input pooled 2x2 (32x32 for the
 * seed's 64x64), the classifier in model units and the pixel bank in pixel units (0..1).
 *
 * Fusion: z_p = (s_p - mean_p) / std_p with mean and std of part p over the held-out normal
 * images of the training data, and score = sum_p w_p z_p over the parts with a weight (stored
 * with the model; the rule was chosen by measurement across data sets, docs/benchmarks.md). The
 * threshold (m->cal) is then calibrated on the fused score. A model without fusion (an AnoGAN-only
 * file, seed weights) scores with the AnoGAN score alone, as before. */
#ifndef INSPECTD_DETECT_H
#define INSPECTD_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include "anogan.h"
#include "bank.h"
#include "geom.h"
#include "status.h"

enum detect_part {
    DETECT_PART_ANOGAN,
    DETECT_PART_TRANSFORM,
    DETECT_PART_KNN,
    DETECT_PART_KNN_PIXELS,
    DETECT_PART_KNN_TRANSFORM,
    DETECT_NPARTS
};

/* "anogan", "transform", "knn", "knn_pixels", "knn_transform". */
const char *detect_part_name(enum detect_part p);

struct detect_norm {
    float mean, std; /* of the part's score over held-out normal images */
};

/* The parts beside the AnoGAN, owned by the model (m->det; NULL for an AnoGAN-only model). */
struct detect {
    struct geom *geom;            /* transformation classifier, or NULL */
    struct bank knn;              /* D's features of normal images (n = 0: none) */
    struct bank knn_pixels;       /* pooled pixels of normal images (n = 0: none) */
    struct bank knn_transform;    /* classifier features of normal images (n = 0: none) */
    bool fused;                   /* weight and norm hold the fusion rule */
    float weight[DETECT_NPARTS];  /* 0: the part does not enter the fused score */
    struct detect_norm norm[DETECT_NPARTS];
};

void detect_free(struct detect *d);
/* Whether model m has part p (the AnoGAN score always). */
bool detect_has_part(const struct anogan *m, enum detect_part p);

struct detect_result {
    struct anogan_result gan;    /* the AnoGAN score and its pieces */
    float part[DETECT_NPARTS];   /* each part's raw score; NaN where the model lacks the part */
    float score;                 /* the fused score, or gan.score for a model without fusion */
};

/* Workspace for up to max_batch images on one thread (anogan_ctx + classifier + banks); NULL
 * on allocation failure. Must not outlive m. */
struct detect_ctx *detect_ctx_create(const struct anogan *m, int max_batch);
void detect_ctx_free(struct detect_ctx *c);
/* The AnoGAN context inside (for its step hook). */
struct anogan_ctx *detect_ctx_anogan(struct detect_ctx *c);

/* Scores B preprocessed images x (anogan_score's contract for x, seeds, search, recon, z and
 * cancel) with every part the model has, and fuses them. res[B]. */
enum status detect_score(struct detect_ctx *c, const float *x, int B, const uint64_t *seeds,
                         const struct anogan_search *search, struct detect_result *res,
                         float *recon, float *z, volatile int *cancel);

/* The fused score of raw part scores part[DETECT_NPARTS] under m's rule (gan score alone
 * without fusion). */
float detect_fuse(const struct anogan *m, const float *part);

/* The 2x2-pooled model input of B images x (B, C, S, S) -> (B, C, S/2, S/2), in model units. */
void detect_pool_input(float *out, const float *x, int B, int channels, int side);

struct safetensors;
/* The parts of a model file: *out NULL (STATUS_OK) when st has none. Tensors "T.*" (geom.h),
 * "K.knn", "K.knn_pixels", "K.knn_transform" (bank rows) and metadata "fusion.*", "knn.*". */
enum status detect_from_safetensors(struct detect **out, const struct safetensors *st,
                                    const char *file);
enum status detect_to_safetensors(const struct detect *d, struct safetensors *st);

#endif
