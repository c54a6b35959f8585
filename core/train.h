/* train: training of an AnoGAN model on normal images, its f-AnoGAN encoder, and calibration.
 *
 * GAN (train_gan): the DCGAN game of the seed (Radford et al. 2016; the seed's loop). Per step,
 * D: one pass on a batch of real images against label real_label (1, or 0.9 with one-sided
 * label smoothing, Salimans et al. 2016) and one pass on G(z) against 0, both in train mode
 * (each pass its own batch statistics, as the seed's two forwards), then Adam on D; G: a fresh
 * z, G and D in train mode, D's logit against 1, gradients through D (data only) into G, then
 * Adam on G. Losses are BCE-with-logits (torch.nn.BCEWithLogitsLoss, mean over the batch).
 *
 * Encoder (train_encoder): f-AnoGAN's izi_f (Schlegl et al., Medical Image Analysis 2019,
 * eq. 5): G and D frozen in eval mode, E in train mode, loss = MSE(x, G(E(x))) +
 * kappa * MSE(f(x), f(G(E(x)))), f = D's feature stack, MSE the mean over elements.
 *
 * Both loops run from a struct train_state, so a checkpoint (model + Adam moments + counters +
 * random state + the current epoch's order) can be written at any step boundary and --resume
 * continues bit for bit. A checkpoint is a model file with extra "train.*" tensors and
 * metadata: anogan_load reads it as a model. Losses that turn NaN or Inf stop the loop with
 * STATUS_NUMERIC before anything is written, so the last good checkpoint stays in place.
 *
 * Calibration (train_calibrate): scores held-out normal images with a search and stores a
 * percentile threshold and the score distribution in m->cal. */
#ifndef INSPECTD_TRAIN_H
#define INSPECTD_TRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "anogan.h"
#include "dataset.h"
#include "detect.h"
#include "ops.h"
#include "rng.h"
#include "status.h"

struct train_config {
    int epochs;           /* GAN epochs */
    int batch;
    uint64_t seed;        /* shuffling, z draws, fixed sample z */
    struct adam_config adam_g, adam_d;
    float real_label;     /* D's target for real images: 1 (seed) or 0.9 (smoothed) */
    int encoder_epochs;
    struct adam_config adam_e;
    float kappa;          /* weight of the feature term of izi_f */
    int checkpoint_every; /* epochs between checkpoints (and sample grids); 0 = last epoch only */
    const char *checkpoint_path; /* NULL: no checkpoints */
    const char *samples_prefix;  /* grids go to "<prefix>-gan-e005.png"; NULL: none */
    FILE *csv;            /* one row per step (header written when the state is fresh); may be NULL */
};

/* The seed's recipe: Adam G lr 1e-4, D lr 4e-4, betas (0, 0.9), real label 1, batch 128,
 * encoder Adam 1e-4 (0.5, 0.999), kappa 1. */
struct train_config train_config_seed(void);
/* inspectd's default recipe (chosen by measurement, see docs/benchmarks-training.md). */
struct train_config train_config_default(void);

enum train_phase { TRAIN_PHASE_GAN, TRAIN_PHASE_ENCODER, TRAIN_PHASE_DONE };

/* Where a training run stands. Owned by the caller; train_state_free releases perm. */
struct train_state {
    enum train_phase phase;
    int epoch;           /* epochs completed in this phase */
    int step;            /* steps completed in the current epoch */
    int t_g, t_d, t_e;   /* Adam step counts */
    struct rng rng;      /* shuffling and z draws */
    int *perm;           /* order of the current epoch (count entries); NULL until drawn */
    size_t count;        /* training images the order is over */
    double seconds;      /* training time so far, over all runs */
};

void train_state_init(struct train_state *s, uint64_t seed);
void train_state_free(struct train_state *s);

/* One progress report, sent after every step. */
struct train_progress {
    enum train_phase phase;
    int epoch, epochs;     /* epoch is 0-based, the one running */
    int step, steps;       /* step is 1-based within the epoch */
    int batch;
    float loss_d, loss_g;  /* GAN: D's total (real + fake) and G's loss */
    float d_real, d_fake;  /* GAN: mean sigmoid(D) on the real and fake batch */
    float loss_e, mse_x, mse_f; /* encoder */
    double images_per_s;   /* over this run */
    double eta_s;          /* to the end of this phase */
    double elapsed_s;      /* this run */
    bool epoch_end;
    const char *checkpoint; /* path written after this step, or NULL */
};

struct train_hooks {
    void (*progress)(void *user, const struct train_progress *p); /* may be NULL */
    void *user;
    volatile int *cancel; /* nonzero: checkpoint after the current step and stop (CANCELLED) */
};

/* Trains G and D of m on data from state (a fresh state starts at epoch 0) up to cfg->epochs.
 * On success state->phase becomes TRAIN_PHASE_ENCODER. STATUS_NUMERIC when a loss becomes NaN
 * or Inf (m is then unusable; the last checkpoint is intact), STATUS_CANCELLED after a checkpoint
 * when hooks->cancel is raised. */
enum status train_gan(struct anogan *m, struct train_state *state, const struct dataset *data,
                      const struct train_config *cfg, const struct train_hooks *hooks);

/* Trains m's encoder (added with fresh weights if m has none or the state is fresh) for
 * cfg->encoder_epochs. On success state->phase becomes TRAIN_PHASE_DONE. */
enum status train_encoder(struct anogan *m, struct train_state *state, const struct dataset *data,
                          const struct train_config *cfg, const struct train_hooks *hooks);

/* Checkpoints: m with its optimiser state, plus state, written atomically to path. */
enum status train_checkpoint_save(const struct anogan *m, const struct train_state *state,
                                  const char *path);
/* Loads a checkpoint: a new model (*m, anogan_free) with Adam moments restored, and *state. */
enum status train_checkpoint_load(struct anogan **m, struct train_state *state, const char *path);

/* Writes a PNG grid of G(z) for n fixed latents (drawn from seed) in eval mode: what the
 * generator has learned. */
enum status train_save_samples(struct anogan *m, uint64_t seed, int n, const char *path);
/* Writes a PNG of images x (NCHW, model units; up to 32) above their reconstructions
 * G(E(x)): what the encoder has learned. */
enum status train_save_reconstructions(struct anogan *m, const float *x, int n, const char *path);

/* Called by train_score_dataset after each search step and each batch: done of total images
 * scored (fractional inside a batch, by its steps), seconds since the start. */
typedef void (*train_score_progress_fn)(void *user, double done, size_t total, double seconds);

/* Scores every image of data with search and every part the model has (detect_score), in
 * batches of `batch`; image i is seeded by its source index, so a score does not depend on the
 * batch. res[data->count]; *seconds receives the wall time. cancel, seconds and progress may be
 * NULL. */
enum status train_score_dataset(struct detect_result *res, struct anogan *m,
                                const struct dataset *data, const struct anogan_search *search,
                                int batch, double *seconds, volatile int *cancel,
                                train_score_progress_fn progress, void *user);

/* Scores the held-out normal images and stores in m->cal the threshold at `percentile` of their
 * scores (the fused score when the model has a fusion rule, else the AnoGAN score), their
 * distribution and the search used. what: free text on where they came from. */
enum status train_calibrate(struct anogan *m, const struct dataset *holdout,
                            const struct anogan_search *search, float percentile,
                            const char *what);

/* ---- The parts beside the AnoGAN (train_detect.c) ------------------------------------------- */

/* Which parts to build and how. A part with weight 0 is not built (the transformation
 * classifier is built when the transform or knn_transform part has a weight). */
struct detect_recipe {
    struct geom_config geom;             /* side and channels are taken from the model */
    struct geom_train_config geom_train; /* its seed also seeds the coresets */
    int knn_max;                         /* rows kept per memory bank at most (k-center coreset) */
    int knn_k;                           /* neighbours averaged in a bank's score */
    float weight[DETECT_NPARTS];         /* the fusion rule */
};
/* inspectd's recipe, chosen by measurement (docs/benchmarks.md, Detection). */
struct detect_recipe detect_recipe_default(void);

struct detect_progress {
    const char *phase;              /* "transform", "memory", "fusion" */
    const struct geom_progress *geom; /* the classifier's own report in "transform", else NULL */
    double done, total;             /* transform: epochs; memory: banks; fusion: 0 then 1 */
    double elapsed_s;               /* since train_detect started */
};

struct detect_hooks {
    void (*progress)(void *user, const struct detect_progress *p); /* may be NULL */
    void *user;
    volatile int *cancel; /* nonzero: stop (STATUS_CANCELLED) */
};

/* Trains the parts of recipe r on the normal images of train (GAN and encoder already trained),
 * early-stopping the classifier and standardising every part on holdout (scored with search), and
 * puts them into m->det with the fusion rule. Replaces any parts m had; on failure m has none.
 * Then train_calibrate puts the threshold on the fused score. hooks may be NULL. */
enum status train_detect(struct anogan *m, const struct dataset *train,
                         const struct dataset *holdout, const struct detect_recipe *r,
                         const struct anogan_search *search, const struct detect_hooks *hooks);

#endif
