/* test_image: PNG decode/encode (round trips, 16-bit, palette, interlace, hostile files built
 * here chunk by chunk), grey conversion, bicubic resize against PyTorch values and the golden
 * preprocessed digits, the heat map, and the fuzzers' regression inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "image.h"
#include "safetensors.h"
#include "testutil.h"

/* ---- a tiny PNG writer for crafting test files ---- */

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct bytes *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_be32(struct bytes *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, q, 4);
}

static void chunk(struct bytes *b, const char *type, const uint8_t *data, size_t len)
{
    put_be32(b, (uint32_t)len);
    size_t at = b->len;
    put(b, type, 4);
    if (len)
        put(b, data, len);
    put_be32(b, (uint32_t)crc32(0L, b->p + at, (uInt)(len + 4)));
}

/* A PNG with the given IHDR fields whose IDAT is zlib(raw); raw holds the filtered scanlines. */
static uint8_t *make_png(size_t *len, uint32_t w, uint32_t h, int depth, int color, int interlace,
                         const uint8_t *raw, size_t raw_len, const uint8_t *plte, size_t plte_len,
                         const uint8_t *trns, size_t trns_len)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    struct bytes b = {0};
    put(&b, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        (uint8_t)depth,     (uint8_t)color,     0,                 0,
                        (uint8_t)interlace};
    chunk(&b, "IHDR", ihdr, 13);
    if (plte)
        chunk(&b, "PLTE", plte, plte_len);
    if (trns)
        chunk(&b, "tRNS", trns, trns_len);
    uLongf zl = compressBound((uLong)raw_len);
    uint8_t *z = malloc(zl);
    ck_assert_int_eq(compress2(z, &zl, raw, (uLong)raw_len, 9), Z_OK);
    chunk(&b, "IDAT", z, zl);
    chunk(&b, "IEND", NULL, 0);
    free(z);
    *len = b.len;
    return b.p;
}

/* Filter-0 scanlines of 8-bit pixels (bpp bytes each), plain or in Adam7 pass order. */
static uint8_t *scanlines(size_t *len, const uint8_t *px, int w, int h, int bpp, int interlace)
{
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    struct bytes b = {0};
    uint8_t zero = 0;
    for (int p = 0; p < (interlace ? 7 : 1); p++) {
        int sx = interlace ? x0[p] : 0, sy = interlace ? y0[p] : 0;
        int ix = interlace ? dx[p] : 1, iy = interlace ? dy[p] : 1;
        if (sx >= w || sy >= h)
            continue;
        for (int y = sy; y < h; y += iy) {
            put(&b, &zero, 1);
            for (int x = sx; x < w; x += ix)
                put(&b, px + ((size_t)y * w + x) * bpp, (size_t)bpp);
        }
    }
    *len = b.len;
    return b.p;
}

static void fill_bytes(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (uint8_t)(seed >> 24);
    }
}

START_TEST(test_round_trip)
{
    for (int c = 1; c <= 4; c++) {
        struct image img, back;
        ck_assert_int_eq(image_alloc(&img, 7, 5, c), STATUS_OK);
        fill_bytes(img.pixels, 7 * 5 * (size_t)c, (uint32_t)c);
        uint8_t *png;
        size_t len;
        ck_assert_int_eq(image_encode_png(&png, &len, &img), STATUS_OK);
        ck_assert_int_eq(image_decode_png(&back, png, len, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS), STATUS_OK);
        ck_assert_int_eq(back.width, 7);
        ck_assert_int_eq(back.height, 5);
        ck_assert_int_eq(back.channels, c);
        ck_assert_mem_eq(back.pixels, img.pixels, 7 * 5 * (size_t)c);
        image_free(&back);
        free(png);
        image_free(&img);
        ck_assert_ptr_null(img.pixels);
    }
    /* through a file */
    char dir[] = "/tmp/inspectd-img-XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a.png", dir);
    struct image img, back;
    ck_assert_int_eq(image_alloc(&img, 64, 48, 3), STATUS_OK);
    fill_bytes(img.pixels, 64 * 48 * 3, 9);
    ck_assert_int_eq(image_save_png(&img, path), STATUS_OK);
    ck_assert_int_eq(image_load_png(&back, path, 64, 64 * 48), STATUS_OK);
    ck_assert_mem_eq(back.pixels, img.pixels, 64 * 48 * 3);
    image_free(&back);
    ck_assert_int_eq(image_load_png(&back, path, 63, 64 * 48), STATUS_SHAPE);
    ck_assert_ptr_nonnull(strstr(status_message(), path));
    ck_assert_int_eq(image_load_png(&back, "/nonexistent.png", 64, 4096), STATUS_NOT_FOUND);
    snprintf(path, sizeof path, "%s/no/such/b.png", dir);
    ck_assert_int_eq(image_save_png(&img, path), STATUS_IO);
    snprintf(path, sizeof path, "%s/a.png", dir);
    unlink(path);
    rmdir(dir);
    image_free(&img);

    ck_assert_int_eq(image_alloc(&img, 0, 5, 1), STATUS_SHAPE);
    ck_assert_int_eq(image_alloc(&img, 5, 5, 5), STATUS_SHAPE);
    uint8_t *png;
    size_t len;
    struct image empty = {0};
    ck_assert_int_eq(image_encode_png(&png, &len, &empty), STATUS_SHAPE);
}
END_TEST

START_TEST(test_png_variants)
{
    struct image img;
    size_t raw_len, len;
    /* 16-bit grey: stb keeps the high byte */
    uint8_t raw16[] = {0, 0x12, 0x34, 0xff, 0xee, 0, 0x00, 0x01, 0x80, 0x00};
    uint8_t *png = make_png(&len, 2, 2, 16, 0, 0, raw16, sizeof raw16, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_OK);
    ck_assert_int_eq(img.channels, 1);
    uint8_t want16[] = {0x12, 0xff, 0x00, 0x80};
    ck_assert_mem_eq(img.pixels, want16, 4);
    image_free(&img);
    free(png);

    /* palette with transparency: 4 channels */
    uint8_t plte[] = {255, 0, 0, 0, 255, 0}, trns[] = {128}, rawp[] = {0, 0x10}; /* 2-bit, high bits first: indices 0,1 */
    png = make_png(&len, 2, 1, 2, 3, 0, rawp, sizeof rawp, plte, sizeof plte, trns, sizeof trns);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_OK);
    ck_assert_int_eq(img.channels, 4);
    uint8_t wantp[] = {255, 0, 0, 128, 0, 255, 0, 255};
    ck_assert_mem_eq(img.pixels, wantp, 8);
    image_free(&img);
    free(png);

    /* Adam7 interlaced RGB equals the same pixels stored plainly (stb grows its buffer past its
     * first guess for interlaced files: the allocation budget must allow that). */
    int w = 37, h = 23;
    uint8_t *px = malloc((size_t)w * h * 3);
    fill_bytes(px, (size_t)w * h * 3, 77);
    for (int il = 0; il < 2; il++) {
        uint8_t *raw = scanlines(&raw_len, px, w, h, 3, il);
        png = make_png(&len, (uint32_t)w, (uint32_t)h, 8, 2, il, raw, raw_len, NULL, 0, NULL, 0);
        ck_assert_msg(image_decode_png(&img, png, len, 64, 4096) == STATUS_OK, "%s", status_message());
        ck_assert_int_eq(img.channels, 3);
        ck_assert_mem_eq(img.pixels, px, (size_t)w * h * 3);
        image_free(&img);
        free(png);
        free(raw);
    }
    free(px);
}
END_TEST

START_TEST(test_hostile_png)
{
    struct image img;
    uint8_t grey[16 * 16];
    fill_bytes(grey, sizeof grey, 3);
    size_t raw_len, len;
    uint8_t *raw = scanlines(&raw_len, grey, 16, 16, 1, 0);
    uint8_t *png = make_png(&len, 16, 16, 8, 0, 0, raw, raw_len, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_OK);
    image_free(&img);

    /* caps: side and pixel count */
    ck_assert_int_eq(image_decode_png(&img, png, len, 15, 256), STATUS_SHAPE);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 255), STATUS_SHAPE);
    ck_assert_ptr_null(img.pixels);

    /* every truncation, each an exact-size copy so ASan sees overreads */
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, png, n);
        ck_assert_msg(image_decode_png(&img, cut, n, 16, 256) == STATUS_FORMAT, "cut at %zu", n);
        free(cut);
    }
    /* not PNGs */
    static const char *junk[] = {"", "\xff\xd8\xff\xe0JFIF", "GIF89a......", "hello world, not an image"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        ck_assert_int_eq(image_decode_png(&img, (const uint8_t *)junk[i], strlen(junk[i]), 16, 256),
                         STATUS_FORMAT);
    /* a flipped bit in the pixel data: the CRC catches it */
    png[len - 20] ^= 0x10;
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_FORMAT);
    ck_assert_ptr_nonnull(strstr(status_message(), "CRC"));
    free(png);

    /* a header claiming 100000 x 100000, with or without data behind it */
    png = make_png(&len, 100000, 100000, 8, 0, 0, raw, raw_len, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS), STATUS_SHAPE);
    ck_assert_int_eq(image_decode_png(&img, png, 33, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS), STATUS_SHAPE);
    ck_assert_int_eq(image_decode_png(&img, png, len, 1 << 20, (size_t)1 << 40), STATUS_SHAPE);
    free(png);
    /* 4097 wide: over the default side cap although only 4097 pixels */
    png = make_png(&len, 4097, 1, 8, 0, 0, raw, raw_len, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS), STATUS_SHAPE);
    free(png);
    /* zero width, bad colour type, bad depth: format errors */
    png = make_png(&len, 0, 16, 8, 0, 0, raw, raw_len, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_FORMAT);
    free(png);
    png = make_png(&len, 16, 16, 8, 5, 0, raw, raw_len, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_FORMAT);
    free(png);
    png = make_png(&len, 16, 16, 7, 0, 0, raw, raw_len, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_FORMAT);
    free(png);
    /* too little pixel data */
    png = make_png(&len, 16, 16, 8, 0, 0, raw, raw_len / 2, NULL, 0, NULL, 0);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_FORMAT);
    free(png);
    free(raw);

    /* a zlib bomb: a 16x16 header over 64 MiB of zeros (about 64 KiB compressed) */
    size_t bomb_len = (size_t)64 << 20;
    uint8_t *bomb = calloc(bomb_len, 1);
    png = make_png(&len, 16, 16, 8, 0, 0, bomb, bomb_len, NULL, 0, NULL, 0);
    free(bomb);
    ck_assert_uint_lt(len, 200000);
    ck_assert_int_eq(image_decode_png(&img, png, len, 16, 256), STATUS_FORMAT);
    ck_assert_ptr_nonnull(strstr(status_message(), "inflates"));
    free(png);
}
END_TEST

START_TEST(test_grey)
{
    struct image img;
    float out[4];
    ck_assert_int_eq(image_alloc(&img, 2, 2, 1), STATUS_OK);
    uint8_t g[] = {0, 255, 51, 128};
    memcpy(img.pixels, g, 4);
    image_to_grey(out, &img);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(out[i], (float)g[i] / 255.0f); /* bit-exact with ToTensor */
    image_free(&img);

    ck_assert_int_eq(image_alloc(&img, 2, 1, 2), STATUS_OK);
    uint8_t ga[] = {255, 51, 200, 0}; /* white at alpha 0.2, grey fully transparent */
    memcpy(img.pixels, ga, 4);
    image_to_grey(out, &img);
    ck_assert_double_eq_tol(out[0], 0.2, 1e-6);
    ck_assert_double_eq_tol(out[1], 0.0, 1e-7);
    image_free(&img);

    ck_assert_int_eq(image_alloc(&img, 4, 1, 3), STATUS_OK);
    uint8_t rgb[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 90};
    memcpy(img.pixels, rgb, 12);
    image_to_grey(out, &img);
    ck_assert_double_eq_tol(out[0], 0.299, 1e-6);
    ck_assert_double_eq_tol(out[1], 0.587, 1e-6);
    ck_assert_double_eq_tol(out[2], 0.114, 1e-6);
    ck_assert_double_eq_tol(out[3], (0.299 * 10 + 0.587 * 200 + 0.114 * 90) / 255.0, 1e-6);
    image_free(&img);

    ck_assert_int_eq(image_alloc(&img, 2, 1, 4), STATUS_OK);
    uint8_t rgba[] = {255, 255, 255, 255, 0, 255, 0, 102};
    memcpy(img.pixels, rgba, 8);
    image_to_grey(out, &img);
    ck_assert_double_eq_tol(out[0], 1.0, 1e-6);
    ck_assert_double_eq_tol(out[1], 0.587 * 0.4, 1e-6);
    image_free(&img);
}
END_TEST

START_TEST(test_resize_values)
{
    /* Expected values printed by PyTorch 1.13:
     * F.interpolate(t, size=..., mode='bicubic', align_corners=False). */
    float out[16];
    const float a[] = {0, 1};
    image_resize_bicubic(out, 4, 1, a, 2, 1);
    const float wa[] = {-0.10546875f, 0.2265625f, 0.7734375f, 1.10546875f};
    for (int i = 0; i < 4; i++)
        ck_assert_double_eq_tol(out[i], wa[i], 1e-6);

    const float b[] = {0, 1, 0.5f, 0.25f, 0, 1}; /* 2 rows, 3 columns -> 3 rows, 5 columns */
    image_resize_bicubic(out, 5, 3, b, 3, 2);
    const float wb[] = {-0.12811803817749023f, 0.4537745416164398f, 1.086805820465088f,  0.7809305787086487f,
                        0.3960973918437958f,   0.08900003135204315f, 0.25250014662742615f, 0.5000000596046448f,
                        0.6800000071525574f,   0.7740001678466797f,  0.3061180114746094f,  0.05122591182589531f,
                        -0.08680527657270432f, 0.5790696144104004f,  1.1519030332565308f};
    for (int i = 0; i < 15; i++)
        ck_assert_msg(fabs(out[i] - wb[i]) < 1e-6, "b[%d] = %.9g, want %.9g", i, out[i], wb[i]);

    float c[16];
    for (int i = 0; i < 16; i++)
        c[i] = (float)i / 15.0f;
    image_resize_bicubic(out, 2, 3, c, 4, 4); /* downscale, no antialias */
    const float wc[] = {0.06072529777884483f, 0.20655867457389832f, 0.42708340287208557f,
                        0.5729167461395264f,  0.7934414148330688f,  0.9392747282981873f};
    for (int i = 0; i < 6; i++)
        ck_assert_msg(fabs(out[i] - wc[i]) < 1e-6, "c[%d] = %.9g, want %.9g", i, out[i], wc[i]);

    /* same size is the identity; a constant stays constant (the weights sum to 1) */
    float r[35], s[35];
    tu_fill_uniform(r, 35, 5, 1.0f);
    image_resize_bicubic(s, 7, 5, r, 7, 5);
    ck_assert_mem_eq(s, r, sizeof r);
    float k[9] = {0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f}, big[100];
    image_resize_bicubic(big, 10, 10, k, 3, 3);
    for (int i = 0; i < 100; i++)
        ck_assert_double_eq_tol(big[i], 0.3, 1e-6);
}
END_TEST

/* The seed's preprocessing of the first 4 MNIST digits must reproduce in.x of the golden file. */
#define MNIST "datasets/mnist/images-idx3-ubyte.gz"
#define GOLDEN "golden/anogan_seed_random.safetensors"
START_TEST(test_resize_golden)
{
    const char *mnist = tu_shared_need(MNIST), *golden = tu_shared_need(GOLDEN);
    struct idx x;
    struct safetensors *st = NULL;
    ck_assert_int_eq(idx_load(&x, mnist), STATUS_OK);
    ck_assert_int_eq(safetensors_load(&st, golden), STATUS_OK);
    const struct safetensors_tensor *want = safetensors_find(st, "in.x");
    ck_assert_ptr_nonnull(want);
    ck_assert_uint_eq(want->numel, 4 * 64 * 64);
    double worst = 0;
    for (int n = 0; n < 4; n++) {
        struct image img = {.width = 28, .height = 28, .channels = 1, .pixels = x.data + 784 * (size_t)n};
        float grey[784], big[4096];
        image_to_grey(grey, &img);
        image_resize_bicubic(big, 64, 64, grey, 28, 28);
        for (int i = 0; i < 4096; i++) {
            float v = (big[i] - 0.1307f) / 0.3081f;
            float w = want->data[4096 * n + i];
            double err = fabs((double)v - w);
            ck_assert_msg(err <= 1e-5 + 1e-4 * fabs(w), "digit %d pixel %d: %.8g vs %.8g", n, i, v, w);
            if (err > worst)
                worst = err;
        }
    }
    printf("golden preprocessing: max abs error %.3g\n", worst);
    safetensors_free(st);
    idx_free(&x);
}
END_TEST

START_TEST(test_heatmap)
{
    float v[6] = {0.0f, 2.0f, 4.0f, 100.0f, -3.0f, NAN};
    struct image img;
    ck_assert_int_eq(image_heatmap(&img, v, 3, 2, 4.0f), STATUS_OK);
    ck_assert_int_eq(img.channels, 3);
    const uint8_t *p = img.pixels;
    uint8_t bottom[3] = {0, 0, 4}, top[3] = {252, 255, 164};
    ck_assert_mem_eq(p, bottom, 3);
    ck_assert_mem_eq(p + 6, top, 3);  /* v == vmax */
    ck_assert_mem_eq(p + 9, top, 3);  /* clamped above */
    ck_assert_mem_eq(p + 12, bottom, 3); /* clamped below */
    ck_assert_mem_eq(p + 15, bottom, 3); /* NaN */
    ck_assert_int_gt(p[3] + p[4] + p[5], 100); /* halfway is neither end */
    image_free(&img);
    /* brightness rises along the map */
    float ramp[101];
    for (int i = 0; i <= 100; i++)
        ramp[i] = (float)i / 100.0f;
    ck_assert_int_eq(image_heatmap(&img, ramp, 101, 1, 1.0f), STATUS_OK);
    double prev = -1;
    for (int i = 0; i <= 100; i++) {
        double y = 0.299 * img.pixels[3 * i] + 0.587 * img.pixels[3 * i + 1] + 0.114 * img.pixels[3 * i + 2];
        ck_assert_double_ge(y, prev - 1.0);
        prev = y;
    }
    image_free(&img);
    ck_assert_int_eq(image_heatmap(&img, ramp, 101, 1, 0.0f), STATUS_OK); /* no scale: all bottom */
    ck_assert_mem_eq(img.pixels + 300, bottom, 3);
    image_free(&img);
    ck_assert_int_eq(image_heatmap(&img, ramp, 0, 1, 1.0f), STATUS_SHAPE);
}
END_TEST

/* Decodes one replayed file (tu_replay). */
static enum status load_png(const char *path)
{
    struct image img;
    enum status s = image_load_png(&img, path, 512, 1u << 18);
    if (s == STATUS_OK)
        image_free(&img);
    return s;
}

/* Seeds are valid PNGs; past crashers (fuzz/regress/, saved with their CRCs repaired so that
 * they reach the decoder here too) must decode or fail without harm. */
START_TEST(test_fuzz_inputs)
{
    ck_assert_int_gt(tu_replay(load_png, "fuzz/corpus/fuzz_png", 1), 0);
    printf("replayed %d png regression inputs\n", tu_replay(load_png, "fuzz/regress/fuzz_png", 0));
}
END_TEST

static Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_png_variants);
    tcase_add_test(tc, test_hostile_png);
    tcase_add_test(tc, test_grey);
    tcase_add_test(tc, test_resize_values);
    tcase_add_test(tc, test_heatmap);
    tcase_add_test(tc, test_fuzz_inputs);
    suite_add_tcase(s, tc);
    TCase *gold = tcase_create("golden");
    tu_needs_shared(gold, MNIST, GOLDEN, NULL);
    tcase_add_test(gold, test_resize_golden);
    suite_add_tcase(s, gold);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(image_suite(), argc, argv);
}
