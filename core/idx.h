/* idx: the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/), raw or
 * gzip-compressed (.gz, read with zlib). Big-endian header: magic 0x000008TT (TT = type, 08 =
 * uint8) with the number of dimensions in its low byte, then one uint32 per dimension, then data.
 * Only uint8 data is supported (all these data sets use it). Sizes are checked against the bytes
 * actually present; caps keep a hostile header from asking for unbounded memory. */
#ifndef INSPECTD_IDX_H
#define INSPECTD_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define IDX_MAX_DIMS 4
#define IDX_MAX_BYTES (1u << 30) /* 1 GiB of payload at most */

struct idx {
    int ndim;
    uint32_t dims[IDX_MAX_DIMS];
    size_t count; /* dims[0] */
    size_t item;  /* product of dims[1..] (1 for labels) */
    uint8_t *data;
};

/* Parses IDX bytes already in memory (decompressed). *out owned by caller: idx_free. */
enum status idx_parse(struct idx *out, const uint8_t *bytes, size_t len, const char *name);
/* Reads path; gzip is detected by its magic bytes, not by the name. */
enum status idx_load(struct idx *out, const char *path);
void idx_free(struct idx *x);

/* Finds an images/labels pair in dir: "images-idx3-ubyte(.gz)"/"labels-idx1-ubyte(.gz)" or
 * "<prefix>-images-idx3-ubyte(.gz)"/"<prefix>-labels-idx1-ubyte(.gz)" with prefix "train" or
 * "t10k" (split: "train" or "test"; NULL = whichever exists, train first). Writes the two paths. */
enum status idx_find_pair(const char *dir, const char *split, char *images, size_t images_len,
                          char *labels, size_t labels_len);

#endif
