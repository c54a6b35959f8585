/* image: 8-bit images in memory, PNG decode/encode, colour conversion and bicubic resize.
 *
 * This is the only module that includes stb_image / stb_image_write (compiled here, PNG only, so
 * the sanitizers and fuzzers see inside the decoder). Dimensions and byte counts are capped BEFORE
 * decoding (the PNG header is read first), and everything stb returns is checked. */
#ifndef INSPECTD_IMAGE_H
#define INSPECTD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define IMAGE_MAX_SIDE 4096        /* default cap on width and height */
#define IMAGE_MAX_PIXELS (16u << 20) /* default cap on width*height */

struct image {
    int width, height, channels; /* channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    uint8_t *pixels;             /* height*width*channels bytes, row-major, interleaved */
};

/* Allocates a zeroed image; the caller frees with image_free. */
enum status image_alloc(struct image *img, int width, int height, int channels);
void image_free(struct image *img);

/* Decodes a PNG held in memory. Fails with STATUS_FORMAT (not a PNG, corrupt), STATUS_SHAPE
 * (width or height above max_side, or more than max_pixels pixels) or STATUS_NOMEM (a valid file
 * the memory cannot hold) with a message. On success img
 * owns new pixels (image_free). Channels are kept as stored (1..4). */
enum status image_decode_png(struct image *img, const uint8_t *bytes, size_t len, int max_side,
                             size_t max_pixels);
enum status image_load_png(struct image *img, const char *path, int max_side, size_t max_pixels);

/* Encodes img as PNG. *out is malloc'd (caller frees), *out_len its size. */
enum status image_encode_png(uint8_t **out, size_t *out_len, const struct image *img);
enum status image_save_png(const struct image *img, const char *path);

/* Grey float image in [0,1] from any channel count: RGB by ITU-R BT.601 luma
 * (0.299 R + 0.587 G + 0.114 B); alpha composites onto black (the models' background).
 * out: width*height floats. */
void image_to_grey(float *out, const struct image *img);

/* Bicubic resize of one float plane, exactly PyTorch's F.interpolate(mode='bicubic',
 * align_corners=False) without antialias: cubic convolution a = -0.75, source coordinate
 * (dst + 0.5) * in/out - 0.5, indices clamped at the borders, values not clamped. */
void image_resize_bicubic(float *out, int out_w, int out_h, const float *inp, int in_w, int in_h);

/* A heat-map (inferno-like colour map) of a float plane scaled by 1/vmax, as an RGB image.
 * img receives new pixels (image_free). */
enum status image_heatmap(struct image *img, const float *values, int width, int height,
                          float vmax);

#endif
