/* dataset_impl: what dataset.c and dataset_png.c share and nobody else needs. */
#ifndef INSPECTD_DATASET_IMPL_H
#define INSPECTD_DATASET_IMPL_H

#include "dataset.h"

/* Chooses which of total source items to load: range, then class filter, then limit. *sel
 * receives the indices (malloc'd, caller frees). labels[total] may be NULL (unlabelled). */
enum status dataset_select(size_t **sel, size_t *nsel, const struct dataset *ds,
                           const int *labels, size_t total, const struct dataset_options *opt);
/* Allocates n images for model m (x, labels, source, and names when names is true). */
enum status dataset_alloc_images(struct dataset *ds, size_t n, const struct anogan *m,
                                 bool names);
/* Widens the recorded range of source image sizes. */
void dataset_note_size(struct dataset *ds, int w, int h);
/* Fills ds->description from the source and the options. */
void dataset_describe(struct dataset *ds, const struct dataset_options *opt, const char *what);
bool dataset_is_dir(const char *path);
/* Loads the PNG folder opt->path (see dataset.h). */
enum status dataset_load_pngs(struct dataset *ds, const struct dataset_options *opt,
                              const struct anogan *m);

#endif
