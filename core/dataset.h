/* dataset: loads labelled or unlabelled images for training and evaluation, preprocessed into a
 * model's input units.
 *
 * Two sources:
 *  - an IDX pair (MNIST, Fashion-MNIST; raw or .gz): PATH is a directory holding the pair (found
 *    by idx_find_pair, split "train"/"test") or the images file itself (its labels file is the
 *    same name with "images-idx3" replaced by "labels-idx1", if present). Class names are the
 *    label values in decimal ("7").
 *  - a folder of PNG images of any size, grey or colour: PNGs directly in PATH are unlabelled;
 *    each subfolder of PATH holding PNGs is one class named after the subfolder (the MVTec
 *    "good/", "crack/" layout). Files are read in byte order of their names.
 * Selection happens in this order: range over the source's items in file order (e.g. the first
 * half), then the class filter, then the limit (the first N that remain). Only selected images
 * are decoded and preprocessed (anogan_preprocess: grey, bicubic resize, mean/std).
 *
 * Errors are STATUS_* with a message naming the file: an empty folder, an unreadable PNG, a
 * labels file whose count does not match the images file, a class that is not in the data. */
#ifndef INSPECTD_DATASET_H
#define INSPECTD_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anogan.h"
#include "status.h"

/* A half-open range [begin, end) of item indices; a bound may be a percentage of the count. */
struct dataset_range {
    bool set;
    double begin, end;          /* end < 0: to the end */
    bool begin_pct, end_pct;    /* bound given as "50%" */
};

/* Parses "A:B", "A:", ":B", with optional "%" on either bound ("0:50%", "50%:"). */
enum status dataset_parse_range(struct dataset_range *r, const char *text);

struct dataset_options {
    const char *path;
    const char *split;   /* IDX directory: "train", "test" or NULL (train if present) */
    const char *classes; /* comma-separated class names to keep ("7,8"); NULL or "" = all */
    struct dataset_range range;
    size_t limit;        /* 0 = no limit */
};

#define DATASET_MAX_CLASSES 256

struct dataset {
    size_t count;
    size_t image_floats;  /* per image: channels*size*size of the model */
    float *x;             /* count * image_floats, NCHW, model units */
    int *labels;          /* count class ids (index into class_names), -1 = unlabelled */
    size_t *source;       /* count: index of each image in the source (file order) */
    char **names;         /* count file paths (PNG folders), NULL for IDX */
    int nclasses;
    char *class_names[DATASET_MAX_CLASSES];
    bool labelled;        /* every image has a class */
    int min_w, min_h, max_w, max_h; /* source image sizes seen (mixed sizes are resized) */
    char description[256];/* "mnist/images-idx3-ubyte.gz range 0:5000 classes 7,8" */
};

/* Loads and preprocesses the selected images for model m (its image size, channels, mean and
 * std). *out is owned by the caller: dataset_free. Zero images after selection is STATUS_RANGE. */
enum status dataset_load(struct dataset *out, const struct dataset_options *opt,
                         const struct anogan *m);
void dataset_free(struct dataset *ds);

/* Class id of name in ds (-1 if absent). */
int dataset_class_id(const struct dataset *ds, const char *name);

/* Copies images which[0..n) of in into a new dataset *out (same class table). */
enum status dataset_take(struct dataset *out, const struct dataset *in, const size_t *which,
                         size_t n);

/* Splits in into train and holdout: round(fraction * count) images chosen at random (seeded)
 * go to holdout, the rest (in their original order) to train. fraction in [0, 1). */
enum status dataset_split(struct dataset *train, struct dataset *holdout,
                          const struct dataset *in, double fraction, uint64_t seed);

#endif
