/* anogan: the AnoGAN model (Schlegl et al., IPMI 2017) and its anomaly score.
 *
 * A model is a DCGAN generator G (z -> image), the discriminator's feature stack f (image ->
 * 512x4x4 block) and critic, an optional encoder E (image -> z, f-AnoGAN, Schlegl et al. 2019),
 * the preprocessing that maps pixels to the model's input range, and an optional calibration
 * (threshold on the score). It is stored as one safetensors file; tensor names are the seed's
 * PyTorch names (G.generator_network..., D.feature_network..., D.critic_network...; E.* for the
 * encoder) and the rest is __metadata__ (see docs/model-format.md). A file without metadata is
 * a seed state_dict: it gets the seed's values (zdim 20, 64x64, 1 channel, mean 0.1307,
 * std 0.3081).
 *
 * Scoring searches a latent z per image so that G(z) looks like x (Adam on z, G and D frozen,
 * BatchNorm on running statistics so an image's score never depends on its batch neighbours) and
 * reports score = (1-lambda) * sum|x - G(z)| + lambda * sum|f(x) - f(G(z))|, lambda = 0.1. */
#ifndef INSPECTD_ANOGAN_H
#define INSPECTD_ANOGAN_H

#include <stdbool.h>
#include <stdint.h>

#include "image.h"
#include "net.h"
#include "status.h"

struct detect;

struct anogan_config {
    int zdim;       /* latent size (seed: 20) */
    int width;      /* base width of G and D (seed: 64) */
    int image_size; /* side of the square model input (seed: 64) */
    int channels;   /* image channels (seed: 1) */
    float mean, std;  /* preprocessing: x = (pixel/255 - mean) / std, after the bicubic resize */
    float lambda;   /* weight of the feature term in the score (seed: 0.1) */
};

/* The seed's values; a model file's metadata overrides them key by key. */
struct anogan_config anogan_config_seed(void);

struct anogan_calibration {
    bool present;
    float threshold;   /* score above it => anomalous */
    float percentile;  /* of held-out normal scores the threshold was taken at, e.g. 99 */
    int count;         /* held-out normal images scored */
    float mean, std, p50, p90, p99, max;
    float band_low, band_high; /* NOT_DECIDABLE between them (verdict.h); files without
                                  calibration.band_*: both the threshold (no band) */
    char score[16];    /* what the threshold applies to: "anogan" (the AnoGAN score) or "fused"
                          (detect.h's fused score); files without it: "anogan" */
    char search[16];   /* "random" or "encoder": the search settings used to score them */
    int iterations;
    char data[256];    /* where the held-out images came from (free text) */
};

struct anogan {
    struct anogan_config cfg;
    struct net g;       /* (zdim,1,1) -> (channels, size, size) */
    struct net d_feat;  /* (channels, size, size) -> (8*width, 4, 4) */
    struct net d_critic;/* (8*width, 4, 4) -> (1, 1, 1) logit */
    bool has_encoder;
    struct net enc;     /* (channels, size, size) -> (zdim, 1, 1) */
    struct anogan_calibration cal;
    char name[64];      /* model name: metadata "name", else the file's base name */
    char sha256[65];    /* of the file it was loaded from ("" if built in memory) */
    char trained[1024]; /* free-text provenance from metadata "trained" ("" if none) */
    struct detect *det; /* the parts beside the AnoGAN and their fusion (detect.h); NULL: none */
};

/* A model with the given architecture and freshly initialised weights (DCGAN init, seeded),
 * without calibration or encoder. For training. *out owned by the caller: anogan_free. */
enum status anogan_create(struct anogan **out, const struct anogan_config *cfg, uint64_t seed);
/* Adds an encoder with fresh weights (mirror of D, last conv to zdim). */
enum status anogan_add_encoder(struct anogan *m, uint64_t seed);
/* Loads a model file. Every tensor shape is checked against the architecture from metadata;
 * a missing or misshapen tensor is STATUS_SHAPE / STATUS_NOT_FOUND naming the tensor. */
enum status anogan_load(struct anogan **out, const char *path);
/* Saves all tensors and metadata (atomic replace, see safetensors_save). */
enum status anogan_save(const struct anogan *m, const char *path);
void anogan_free(struct anogan *m);

struct safetensors;
/* The same as load/save, on an in-memory safetensors (for checkpoints that add optimiser state
 * beside the model). from: *out owned by the caller; name is used for messages and as the model
 * name when metadata has none. to: adds tensors and metadata to st (which the caller owns). */
enum status anogan_from_safetensors(struct anogan **out, const struct safetensors *st,
                                    const char *name);
enum status anogan_to_safetensors(const struct anogan *m, struct safetensors *st);

/* Model input from an 8-bit image of any size and channel count: grey (image_to_grey), bicubic
 * resize to image_size, then (v - mean) / std. x: channels*size*size floats. STATUS_NOMEM when
 * the grey plane (4 bytes a pixel of img) cannot be allocated; x is then unspecified. */
enum status anogan_preprocess(const struct anogan *m, const struct image *img, float *x);
/* Model units back to pixel values in [0,1] (clamped): v * std + mean. n floats in place. */
void anogan_to_pixels(const struct anogan *m, float *v, size_t n);

enum anogan_init {
    ANOGAN_INIT_RANDOM,  /* z0 ~ N(0,1) from the image's seed (the seed's search) */
    ANOGAN_INIT_ENCODER, /* z0 = E(x); needs an encoder */
    ANOGAN_INIT_GIVEN,   /* z0 passed in by the caller through anogan_score's z */
};

struct anogan_search {
    enum anogan_init init;
    int iterations;   /* Adam steps at most (0 = score z0 as it is) */
    float lr;         /* Adam learning rate (seed: 1e-3), betas (0.9, 0.999), eps 1e-8 */
    int patience;     /* early stop: 0 = off; else stop an image when its score has not improved */
    float tol;        /*   by more than tol (relative) over the last `patience` steps */
};

/* Search modes as people choose them (a request's "search", the --search flag). */
enum anogan_mode {
    ANOGAN_MODE_AUTO,    /* the encoder start when the model has an encoder, else random */
    ANOGAN_MODE_RANDOM,  /* z0 ~ N(0,1) from the image's seed */
    ANOGAN_MODE_ENCODER, /* z0 = E(x), then refinement steps */
};
/* Their names in enum order, '|'-separated, for option tables (parse_choice). */
#define ANOGAN_MODE_CHOICES "auto|random|encoder"

/* One layer of search settings, as a source gives them (the command line, the server's
 * settings, a request): each field counts only when its has_ flag is set, so a zeroed layer
 * sets nothing. seed is the base seed of the random start (see anogan_search_resolve). */
struct anogan_search_layer {
    bool has_mode, has_iterations, has_lr, has_patience, has_tol, has_seed;
    enum anogan_mode mode;
    int iterations;
    float lr;
    int patience;
    float tol;
    uint64_t seed;
};

/* The search a score runs, in layers: the defaults of the start that the mode picks, then the
 * fields settings sets, then the fields request sets (either layer may be NULL). The mode is the
 * request's, else the settings', else auto; auto is the encoder start when m has an encoder. The
 * defaults: random start 100 steps at lr 0.05, encoder start 0 steps (lr 0.05 for refinement),
 * no early stop (patience 0, tol 0). *seed (may be NULL) receives the base seed, 0 unless a layer
 * sets one: image i of a run starts from seed + i, i its position in the input (the file order
 * of `inspectd score`, the source index in `inspectd eval`, 0 for a request's image).
 * STATUS_UNSUPPORTED (message naming the model) when the encoder start is asked of a model
 * without an encoder. m may be NULL: a model without an encoder. Field values are not checked
 * here: their parsers did, and anogan_score refuses a search out of range. */
enum status anogan_search_resolve(struct anogan_search *out, uint64_t *seed,
                                  const struct anogan *m,
                                  const struct anogan_search_layer *settings,
                                  const struct anogan_search_layer *request);
/* What anogan_search_resolve gives m with no layers: the daemon's and the CLI's default. */
struct anogan_search anogan_search_default(const struct anogan *m);
/* The seed's search: random start, 5000 steps, lr 1e-3, no early stop. */
struct anogan_search anogan_search_seed(void);
/* "random" / "encoder" / "given". */
const char *anogan_init_name(enum anogan_init init);
/* "auto" / "random" / "encoder" <-> enum; parse returns -1 for an unknown name. */
const char *anogan_mode_name(enum anogan_mode mode);
int anogan_mode_parse(const char *name);

struct anogan_result {
    float score, residual, discrimination;
    int iterations; /* Adam steps actually taken for this image */
};

/* Workspace for scoring up to max_batch images on one thread; NULL on allocation failure.
 * Must not outlive m. */
struct anogan_ctx *anogan_ctx_create(const struct anogan *m, int max_batch);
void anogan_ctx_free(struct anogan_ctx *c);
/* Calls fn(user, t, iterations) after each search step t of anogan_score on c (progress for
 * long searches); fn NULL removes the hook. */
typedef void (*anogan_step_fn)(void *user, int step, int iterations);
void anogan_ctx_set_step_hook(struct anogan_ctx *c, anogan_step_fn fn, void *user);

/* Scores B images searched together. x: B preprocessed images, each (channels, size, size),
 * image after image (NCHW). seeds[i] seeds image i's random z0 (ignored for the encoder start):
 * the same image with the same seed gets the same score whatever else is in the batch.
 * Outputs (each may be NULL): res[B]; recon: B images of G(z) in model units (NCHW);
 * z: B * zdim final latents (with ANOGAN_INIT_GIVEN it also holds the starting ones). cancel, if not NULL, is polled between steps (nonzero = stop,
 * STATUS_CANCELLED). STATUS_UNSUPPORTED if the encoder start is asked of a model without one. */
enum status anogan_score(struct anogan_ctx *c, const float *x, int B, const uint64_t *seeds,
                         const struct anogan_search *search, struct anogan_result *res,
                         float *recon, float *z, volatile int *cancel);

/* Pieces of the score, exposed for tests, training and the encoder:
 * G(z) for B latents (z: B*zdim, NCHW out), and f(x) for B images (B * feat_size, each image's
 * features flattened as PyTorch's view(B,-1) would). */
void anogan_generate(struct anogan_ctx *c, const float *z, int B, float *out);
void anogan_features(struct anogan_ctx *c, const float *x, int B, float *out);
/* f(x) of the images of the last anogan_score on c, (B, anogan_feature_size) image after image:
 * computed once per score (the search compares G(z)'s features with them), so other detectors can
 * use them at no cost. Valid until the next anogan_score or anogan_features on c. */
const float *anogan_ctx_features(const struct anogan_ctx *c);
size_t anogan_feature_size(const struct anogan *m);
size_t anogan_image_size(const struct anogan *m); /* channels*size*size */

/* Score of images x at latents z without search, with d score / d z into dz (may be NULL).
 * res[B]. This is what the search repeats; exposed for golden tests. */
void anogan_score_at(struct anogan_ctx *c, const float *x, const float *z, int B,
                     struct anogan_result *res, float *dz);

#endif
