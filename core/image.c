/* image: allocation and PNG decode/encode through stb_image (PNG only, compiled here) and
 * stb_image_write (compressing with zlib).
 *
 * Decoding never lets stb see a file it has not been asked about: the signature and IHDR are
 * read here first and the caller's caps applied (STATUS_SHAPE), the chunk list is walked to
 * check lengths and CRCs and that IEND is present, then stbi_info_from_memory must agree on the
 * dimensions. While stb decodes, every allocation it makes is held to a per-thread budget derived
 * from the dimensions, so a zlib bomb hidden in IDAT fails instead of inflating to gigabytes.
 * Colour conversion, resizing and heat maps are in image_ops.c. */
#include "image.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <zlib.h>

#include "file.h"

/* Largest side stb itself will accept, whatever the caller asks for. */
#define IMAGE_HARD_MAX_SIDE 32768

/* The allocation budget of the stb call running on this thread (0: no stb call running). */
static _Thread_local size_t stb_budget;
static _Thread_local bool stb_over_budget, stb_out_of_memory;

static void *stb_malloc(size_t n)
{
    if (stb_budget && n > stb_budget) {
        stb_over_budget = true;
        return NULL;
    }
    void *p = malloc(n);
    stb_out_of_memory |= !p; /* a valid file the machine has no room for: not a corrupt one */
    return p;
}

static void *stb_realloc(void *p, size_t n)
{
    if (stb_budget && n > stb_budget) {
        stb_over_budget = true;
        return NULL;
    }
    void *q = realloc(p, n);
    stb_out_of_memory |= !q;
    return q;
}

/* stb_image_write's own deflate is slow and weak; zlib's is neither. Returns malloc'd bytes. */
static unsigned char *stbiw_zlib_compress(unsigned char *data, int data_len, int *out_len, int quality)
{
    uLongf n = compressBound((uLong)data_len);
    unsigned char *p = malloc(n);
    if (!p)
        return NULL;
    int level = quality < 1 ? 1 : quality > 9 ? 9 : quality;
    if (compress2(p, &n, data, (uLong)data_len, level) != Z_OK || n > INT_MAX) {
        free(p);
        return NULL;
    }
    *out_len = (int)n;
    return p;
}

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS IMAGE_HARD_MAX_SIDE
#define STBI_MALLOC(n) stb_malloc(n)
#define STBI_REALLOC(p, n) stb_realloc(p, n)
#define STBI_FREE(p) free(p)
#define STBI_ASSERT(x) ASSERT(x)
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ZLIB_COMPRESS stbiw_zlib_compress
#define STBIW_ASSERT(x) ASSERT(x)
/* stb 2.27 compiles clean under our warning flags (and CMake adds it as a SYSTEM include). */
#include <stb_image.h>
#include <stb_image_write.h>

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum status image_alloc(struct image *img, int width, int height, int channels)
{
    ASSERT(img);
    img->pixels = NULL;
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4 ||
        (size_t)width > SIZE_MAX / (size_t)height / (size_t)channels)
        return status_fail(STATUS_SHAPE, "image %dx%dx%d: invalid size", width, height, channels);
    img->pixels = calloc((size_t)width * (size_t)height * (size_t)channels, 1);
    if (!img->pixels)
        return status_fail(STATUS_NOMEM, "image %dx%dx%d: out of memory", width, height, channels);
    img->width = width, img->height = height, img->channels = channels;
    return STATUS_OK;
}

void image_free(struct image *img)
{
    if (!img)
        return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = img->channels = 0;
}

/* Signature, IHDR (dimensions against the caps), then every chunk's length and CRC up to IEND. */
static enum status png_check(const uint8_t *b, size_t len, int max_side, size_t max_pixels, uint32_t *w,
                             uint32_t *h)
{
    if (len < 8 || memcmp(b, png_signature, 8) != 0)
        return status_fail(STATUS_FORMAT, "not a PNG (bad signature)");
    if (len < 8 + 8 + 13 + 4 || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return status_fail(STATUS_FORMAT, "corrupt PNG: no IHDR chunk first");
    *w = be32(b + 16);
    *h = be32(b + 20);
    if (*w == 0 || *h == 0)
        return status_fail(STATUS_FORMAT, "corrupt PNG: %ux%u pixels", *w, *h);
    if (*w > (uint32_t)max_side || *h > (uint32_t)max_side || (uint64_t)*w * *h > max_pixels)
        return status_fail(STATUS_SHAPE, "PNG of %ux%u pixels exceeds the limit (%d per side, %zu in all)",
                           *w, *h, max_side, max_pixels);
    bool seen_idat_bytes = false;
    for (size_t pos = 8;;) {
        if (len - pos < 12)
            return status_fail(STATUS_FORMAT, "truncated PNG (no IEND chunk)");
        uint32_t clen = be32(b + pos);
        if (clen > INT32_MAX || clen > len - pos - 12)
            return status_fail(STATUS_FORMAT, "truncated PNG (chunk of %u bytes at offset %zu)", clen, pos);
        const uint8_t *type = b + pos + 4;
        if (memcmp(type, "CgBI", 4) == 0)
            return status_fail(STATUS_FORMAT, "Apple CgBI PNGs are not supported");
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let fuzzers past the checksums */
        uint32_t crc = (uint32_t)crc32(0L, type, clen + 4);
        if (crc != be32(type + 4 + clen))
            return status_fail(STATUS_FORMAT, "corrupt PNG: CRC mismatch in chunk %.4s at offset %zu",
                               (const char *)type, pos);
#endif
        if (memcmp(type, "IDAT", 4) == 0) {
            /* stb_image appends a leading empty IDAT to its NULL buffer (undefined behaviour);
             * legal but never written by real encoders, so refuse it. */
            if (clen == 0 && !seen_idat_bytes)
                return status_fail(STATUS_FORMAT, "corrupt PNG: empty first IDAT chunk");
            seen_idat_bytes = true;
        }
        if (memcmp(type, "IEND", 4) == 0)
            return STATUS_OK;
        pos += 12 + (size_t)clen;
    }
}

enum status image_decode_png(struct image *img, const uint8_t *bytes, size_t len, int max_side,
                             size_t max_pixels)
{
    ASSERT(img && (bytes || len == 0));
    img->pixels = NULL;
    img->width = img->height = img->channels = 0;
    if (max_side > IMAGE_HARD_MAX_SIDE)
        max_side = IMAGE_HARD_MAX_SIDE;
    uint32_t w = 0, h = 0;
    enum status s = png_check(bytes, len, max_side, max_pixels, &w, &h);
    if (s != STATUS_OK)
        return s;
    if (len > INT_MAX)
        return status_fail(STATUS_SHAPE, "PNG of %zu bytes is too large", len);

    /* Largest single allocation a valid file can need: the inflated rows (stb's first guess of
     * them, doubled because interlaced files grow past it once), the decoded pixels at 16 bits
     * and 4 channels, or the IDAT bytes gathered into one buffer. */
    size_t rows = ((size_t)w * 16 + 7) / 8 * h * 4 + h;
    size_t budget = 2 * rows;
    if (budget < (size_t)w * h * 8)
        budget = (size_t)w * h * 8;
    if (budget < 2 * len + 8192)
        budget = 2 * len + 8192;
    stb_budget = budget + 65536;
    stb_over_budget = stb_out_of_memory = false;

    int iw, ih, ic;
    if (!stbi_info_from_memory(bytes, (int)len, &iw, &ih, &ic)) {
        s = status_fail(STATUS_FORMAT, "corrupt PNG: %s", stbi_failure_reason());
        goto done;
    }
    if ((uint32_t)iw != w || (uint32_t)ih != h) {
        s = status_fail(STATUS_FORMAT, "corrupt PNG: inconsistent header");
        goto done;
    }
    uint8_t *pixels = stbi_load_from_memory(bytes, (int)len, &iw, &ih, &ic, 0);
    if (!pixels) {
        s = stb_over_budget     ? status_fail(STATUS_FORMAT, "corrupt PNG: image data inflates past %ux%u", w, h)
            : stb_out_of_memory ? status_fail(STATUS_NOMEM, "no memory to decode a %ux%u PNG", w, h)
                                : status_fail(STATUS_FORMAT, "corrupt PNG: %s", stbi_failure_reason());
        goto done;
    }
    if ((uint32_t)iw != w || (uint32_t)ih != h || ic < 1 || ic > 4) {
        free(pixels);
        s = status_fail(STATUS_FORMAT, "corrupt PNG: decoder returned %dx%dx%d", iw, ih, ic);
        goto done;
    }
    img->pixels = pixels; /* stb allocated it with malloc: image_free releases it */
    img->width = iw, img->height = ih, img->channels = ic;
    s = STATUS_OK;
done:
    stb_budget = 0;
    return s;
}

enum status image_load_png(struct image *img, const char *path, int max_side, size_t max_pixels)
{
    ASSERT(img && path);
    img->pixels = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    /* A PNG's compressed data is rarely larger than its raw pixels; allow 16-bit RGBA plus slack. */
    size_t max_bytes = max_pixels <= SIZE_MAX / 16 ? max_pixels * 8 + (1u << 20) : SIZE_MAX / 2;
    enum status s = file_read_all(&bytes, &len, path, max_bytes);
    if (s != STATUS_OK)
        return s;
    s = image_decode_png(img, bytes, len, max_side, max_pixels);
    if (s != STATUS_OK)
        status_fail(s, "%s: %s", path, status_message());
    free(bytes);
    return s;
}

/* Growing output buffer for stbi_write_png_to_func. */
struct sink {
    uint8_t *p;
    size_t len, cap;
    bool oom;
};

static void sink_write(void *ctx, void *data, int size)
{
    struct sink *k = ctx;
    if (k->oom || size <= 0)
        return;
    if (k->len + (size_t)size > k->cap) {
        size_t cap = k->cap ? k->cap : 4096;
        while (cap < k->len + (size_t)size)
            cap *= 2;
        uint8_t *p = realloc(k->p, cap);
        if (!p) {
            k->oom = true;
            return;
        }
        k->p = p, k->cap = cap;
    }
    memcpy(k->p + k->len, data, (size_t)size);
    k->len += (size_t)size;
}

enum status image_encode_png(uint8_t **out, size_t *out_len, const struct image *img)
{
    ASSERT(out && out_len && img);
    *out = NULL;
    *out_len = 0;
    if (!img->pixels || img->width <= 0 || img->height <= 0 || img->channels < 1 || img->channels > 4 ||
        (size_t)img->width * (size_t)img->height * (size_t)img->channels > INT_MAX / 2)
        return status_fail(STATUS_SHAPE, "cannot encode a %dx%dx%d image", img->width, img->height,
                           img->channels);
    struct sink k = {0};
    int ok = stbi_write_png_to_func(sink_write, &k, img->width, img->height, img->channels, img->pixels,
                                    img->width * img->channels);
    if (!ok || k.oom) {
        free(k.p);
        return status_fail(STATUS_NOMEM, "PNG encoding of %dx%d failed (out of memory)", img->width,
                           img->height);
    }
    *out = k.p;
    *out_len = k.len;
    return STATUS_OK;
}

enum status image_save_png(const struct image *img, const char *path)
{
    ASSERT(img && path);
    uint8_t *bytes = NULL;
    size_t len = 0;
    enum status s = image_encode_png(&bytes, &len, img);
    if (s != STATUS_OK)
        return s;
    FILE *f = fopen(path, "wb");
    if (!f) {
        s = status_fail(STATUS_IO, "%s: %s", path, strerror(errno));
    } else {
        bool ok = fwrite(bytes, 1, len, f) == len;
        int err = errno;
        if (fclose(f) != 0 && ok)
            ok = false, err = errno;
        if (!ok) {
            s = status_fail(STATUS_IO, "%s: %s", path, strerror(err));
            remove(path);
        }
    }
    free(bytes);
    return s;
}
