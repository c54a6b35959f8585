/* train_impl: what the training files share (train.c, train_encoder.c, train_checkpoint.c,
 * train_eval.c) and nobody else needs: the epoch/step driver both loops run on. */
#ifndef INSPECTD_TRAIN_IMPL_H
#define INSPECTD_TRAIN_IMPL_H

#include "train.h"

struct train_loop;
/* One optimisation step on the batch already gathered into L->xb ((C, B, H, W), B images).
 * Fills the loss fields of p. */
typedef enum status (*train_step_fn)(struct train_loop *L, int B, struct train_progress *p);
/* Called after each checkpointed epoch (sample grids); may be NULL. */
typedef enum status (*train_epoch_fn)(struct train_loop *L, int epoch);

struct train_loop {
    struct anogan *m;
    struct train_state *state;
    const struct dataset *data;
    const struct train_config *cfg;
    const struct train_hooks *hooks;
    int epochs;
    float *xb;     /* batch buffer: channels * batch * size * size */
    int *batch_idx; /* dataset indices of the current batch */
    train_step_fn step;
    train_epoch_fn at_checkpoint;
    void *impl;    /* the phase's own buffers */
};

/* Runs L->state from where it stands to L->epochs: shuffles each epoch from state->rng, gathers
 * batches, calls L->step, checks the losses are finite, reports progress, writes CSV rows,
 * checkpoints every cfg->checkpoint_every epochs and at the end, and on cancel. */
enum status train_loop_run(struct train_loop *L);

/* Copies images idx[0..B) of data (NCHW) into xb as (C, B, H, W). */
void train_gather(float *xb, const struct dataset *data, const int *idx, int B, int channels);

/* True when every parameter and running statistic of n is finite. */
bool train_net_finite(const struct net *n);

/* BCE-with-logits against a constant target y, mean over B logits; writes d loss / d logit
 * into dlogit and the mean sigmoid into *mean_prob. Stable for any logit. */
float train_bce_logits(float *dlogit, float *mean_prob, const float *logit, float y, int B);

/* Output file for a phase's pictures: "<prefix>-<what>-e<epoch>.png". */
void train_picture_path(char *buf, size_t len, const char *prefix, const char *what, int epoch);

#endif
