/* geom: a transformation classifier as an anomaly detector (GEOM: Golan & El-Yaniv, "Deep
 * Anomaly Detection Using Geometric Transformations", NeurIPS 2018).
 *
 * A small CNN learns, on normal images only, which of K geometric transforms (xform.h: flips,
 * quarter turns, shifts) was applied to an image. On a normal image it recognises them; on an
 * anomaly it cannot tell them apart as well, so its probabilities for the right transforms drop.
 * Two scores of an image x from the K x K probabilities p(j | T_k x):
 *  - xent: -sum_k log p(k | T_k x), the cross-entropy of the right transforms;
 *  - dirichlet: GEOM's normality score, negated: for each transform k a Dirichlet is fitted to
 *    p(. | T_k x) over held-out normal images, and the score is -sum_k sum_j (alpha_kj - 1)
 *    log p(j | T_k x) (section 4 of the paper; higher = less likely under the normal fits).
 * The classifier's pooled features of the untransformed image are exposed too (for a memory bank).
 *
 * Network (the trial of shared/DETECTION.md section 7): `blocks` stride-2 3x3 convolutions of
 * width, 2 width, 4 width, ... channels, each with BatchNorm and LeakyReLU(0.2); global average
 * pooling; a linear layer to K logits (stored as a 1x1 convolution). Input: (channels, side,
 * side) in the same units as the AnoGAN input it is pooled from (detect.c).
 *
 * Training: Adam, mini-batches of (image, transform) pairs drawn without replacement from all n*K
 * pairs of an epoch, softmax cross-entropy; after each epoch the mean held-out loss is measured
 * and the best epoch's weights kept (early stopping with `patience`). */
#ifndef INSPECTD_GEOM_H
#define INSPECTD_GEOM_H

#include <stdbool.h>
#include <stdint.h>

#include "net.h"
#include "ops.h"
#include "status.h"
#include "xform.h"

struct geom_config {
    int transforms; /* K: 4, 8 or 72 (xform_set) */
    int side;       /* input side in pixels */
    int channels;   /* input channels */
    int width;      /* channels of the first block; doubled by each next block */
    int blocks;     /* stride-2 blocks: side must be divisible by 2^blocks */
    int scored;     /* S: an image is scored with the first S transforms of the set (0: all K).
                       Training learns all K (with 72, shifts too, which shapes the features);
                       scoring with the 8 flips and turns costs a ninth. */
};

/* The default architecture (DETECTION.md section 7): K 8, side 32, 1 channel, width 32, 4 blocks. */
struct geom_config geom_config_default(void);

struct geom {
    struct geom_config cfg;
    struct xform t[XFORM_MAX]; /* the K transforms, identity first */
    struct net feat;           /* (channels, side, side) -> (F, s, s), F = width * 2^(blocks-1) */
    struct net head;           /* (F, 1, 1) -> (K, 1, 1): the linear layer */
    bool has_dirichlet;
    double *alpha;             /* (S, K): row k is the Dirichlet of p(. | T_k x); NULL until fitted */
    double dirichlet_offset;   /* subtracted from the Dirichlet score: its mean over the images
                                  of the fit, so the score is centred (with a sharp fit the raw
                                  score is a large number with a small spread; float would
                                  round away its differences) */
};

/* A classifier with fresh weights (PyTorch's default init, seeded). *out owned by the caller. */
enum status geom_create(struct geom **out, const struct geom_config *cfg, uint64_t seed);
void geom_free(struct geom *g);
/* S, the transforms an image is scored with (the first S of the set). */
int geom_scored(const struct geom *g);
/* Features per image: F. */
int geom_feature_size(const struct geom *g);
/* Floats per input image: channels * side * side. */
int geom_input_size(const struct geom *g);

/* Workspace for up to max_images images per call on one thread (each is K forwards when
 * scoring). NULL on allocation failure. */
struct geom_ctx *geom_ctx_create(const struct geom *g, int max_images);
void geom_ctx_free(struct geom_ctx *c);

struct geom_result {
    float xent;      /* -sum_k log p(k | T_k x) */
    float dirichlet; /* -sum_k sum_j (alpha_kj - 1) log p(j | T_k x) - dirichlet_offset; NaN
                        without a fit */
};

/* Scores B images x (B, channels, side, side) in eval mode (BatchNorm's running statistics, so
 * an image's score never depends on the rest of the batch), with the first S transforms. res[B];
 * probs, if not NULL, receives (B, S, K) with probs[(b*S + k)*K + j] = p(j | T_k x_b); feats, if not NULL, (B, F): the pooled
 * features of the untransformed image. */
void geom_score(struct geom_ctx *c, const float *x, int B, struct geom_result *res, float *probs,
                float *feats);

/* Fits the Dirichlets of the S scored transforms on held-out normal images x (n, ...). */
enum status geom_fit_dirichlet(struct geom *g, const float *x, int n);

struct geom_train_config {
    int epochs;      /* at most */
    int patience;    /* stop after this many epochs without a better held-out loss */
    int batch;       /* (image, transform) pairs per step */
    struct adam_config adam;
    uint64_t seed;   /* order of the pairs */
};
struct geom_train_config geom_train_config_default(void);

struct geom_progress {
    int epoch, epochs;       /* epoch 0-based */
    int step, steps;         /* 1-based within the epoch */
    float loss;              /* mean training loss of the epoch so far */
    float holdout_loss;      /* after an epoch: mean held-out loss per transform; NaN before */
    float holdout_accuracy;  /* after an epoch: share of held-out transforms recognised */
    int best_epoch;          /* 1-based epoch whose weights are kept so far (0: none yet) */
    bool epoch_end;
    double elapsed_s, eta_s;
};

struct geom_hooks {
    void (*progress)(void *user, const struct geom_progress *p); /* may be NULL */
    void *user;
    volatile int *cancel; /* nonzero: stop after the current step (STATUS_CANCELLED) */
};

/* Trains g on normal images x (n, ...) with early stopping on the held-out images xh (nh, ...,
 * nh >= 1); on return g holds the best epoch's weights. STATUS_NUMERIC if the loss turns NaN. */
enum status geom_train(struct geom *g, const float *x, int n, const float *xh, int nh,
                       const struct geom_train_config *cfg, const struct geom_hooks *hooks);

/* Mean held-out loss per transform (-log p(k | T_k x) averaged over images and k) and the share
 * of transforms recognised (argmax = k), over x (n, ...). */
void geom_evaluate(struct geom_ctx *c, const float *x, int n, float *loss, float *accuracy);

struct safetensors;
/* The classifier in a model file: tensors "T.feature_network.*", "T.head.*", "T.dirichlet_alpha"
 * and metadata "transform.*". load: *out NULL (and STATUS_OK) when st holds no classifier. */
enum status geom_from_safetensors(struct geom **out, const struct safetensors *st,
                                  const char *file);
enum status geom_to_safetensors(const struct geom *g, struct safetensors *st);

#endif
