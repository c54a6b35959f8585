/* pipeline: training a model from normal images, phase by phase, the same way for every command
 * that trains (train anogan, eval oneclass): the GAN, the f-AnoGAN encoder, the parts beside
 * the AnoGAN (transformation classifier, memory banks, their standardisation; detect.h) and the
 * threshold on held-out normal images. Progress goes to a struct cli_progress, each phase's wall
 * time to a struct pipeline_times. */
#ifndef INSPECTD_CLI_PIPELINE_H
#define INSPECTD_CLI_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "dataset.h"
#include "train.h"

/* Wall seconds of each phase (0 for a phase that did not run). */
struct pipeline_times {
    double gan, encoder, transform, memory, fusion, calibration;
};
double pipeline_total(const struct pipeline_times *t);

/* What the recipe options of a command fill (CLI_RECIPE_OPTIONS). */
struct pipeline_recipe {
    struct detect_recipe parts;
    const char *parts_list; /* --parts: "all" (the recipe's), "none", or names, comma-separated */
    const char *weights;    /* --weights "transform=1,knn=2": the fusion rule */
};
void pipeline_recipe_init(struct pipeline_recipe *r);
/* Applies --parts and --weights to r->parts. 0, or 2 after a usage message. */
int pipeline_recipe_finish(struct pipeline_recipe *r, const char *cmd);
/* Whether the recipe builds any part beside the AnoGAN. */
bool pipeline_recipe_has_parts(const struct pipeline_recipe *r);

/* GAN and encoder epochs for n training images when none were asked for: a budget of about
 * 36,000 and 13,500 image passes, between 10 and 40 (GAN) and 5 and 15 (encoder) epochs; 900
 * images get the shipped model's 40 and 15 (docs/benchmarks.md: more epochs paid on small sets,
 * not on large ones). */
int pipeline_auto_epochs(size_t n);
int pipeline_auto_encoder_epochs(size_t n);

/* A fresh model of architecture arch, initialised as `init` says ("pytorch": PyTorch's layer
 * default, as the seed's code; "dcgan": N(0, 0.02)). 0 or 1 (message printed). */
int pipeline_new_model(struct anogan **m, const struct anogan_config *arch, uint64_t seed,
                       const char *init);

struct pipeline {
    struct train_config *cfg;          /* epochs <= 0: pipeline_auto_epochs (likewise encoder) */
    const struct detect_recipe *parts; /* NULL: an AnoGAN-only model */
    float percentile;                  /* of held-out scores for the threshold */
    const char *what;                  /* where the held-out images came from (calibration) */
    const char *cmd;                   /* for messages: "train anogan" */
    struct cli_progress *prog;
};

/* Runs the phases from where state stands (a fresh state: from the GAN; TRAIN_PHASE_ENCODER: the
 * encoder on; TRAIN_PHASE_DONE: the parts and calibration only) on train, with hold for early
 * stopping, standardisation and the threshold (hold empty: no parts, no calibration). 0 or 1
 * (message printed). */
int pipeline_run(struct anogan *m, struct train_state *state, const struct dataset *train,
                 const struct dataset *hold, const struct pipeline *p, struct pipeline_times *t);

/* Option rows for struct pipeline_recipe field F of settings struct T. */
#define CLI_RECIPE_OPTIONS(T, F)                                                                  \
    {"--parts", NULL, CLI_ARG, CLI_AT(T, F.parts_list), .value_name = "LIST",                    \
     .def = "all",                                                                                \
     .help = "detectors beside the AnoGAN: all (the recipe's: transform, knn, knn_transform), "   \
             "none, or names from transform, knn, knn_pixels, knn_transform"},                    \
    {"--weights", NULL, CLI_ARG, CLI_AT(T, F.weights), .value_name = "P=W,...",                   \
     .def = "the recipe's", .help = "weights of the fused score (the recipe: transform, knn and "  \
                                    "knn_transform 1, anogan and knn_pixels 0), e.g. anogan=1"},  \
    {"--transforms", NULL, CLI_INT, CLI_AT(T, F.parts.geom.transforms), 0, 4, 72,                 \
     .value_name = "K", .help = "transformation classifier: transforms learnt (4, 8 or 72)"},     \
    {"--scored", NULL, CLI_INT, CLI_AT(T, F.parts.geom.scored), 0, 0, 72, .value_name = "S",      \
     .help = "transformation classifier: transforms an image is scored with (0: all)"},           \
    {"--transform-epochs", NULL, CLI_INT, CLI_AT(T, F.parts.geom_train.epochs), 0, 1, 1000,       \
     .value_name = "N", .help = "transformation classifier: epochs at most (early stopping)"},    \
    {"--knn-max", NULL, CLI_INT, CLI_AT(T, F.parts.knn_max), 0, 1, 1000000, .value_name = "N",    \
     .help = "memory banks: normal images kept at most (k-center coreset)"}

#endif
