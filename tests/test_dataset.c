/* test_dataset: loading IDX pairs (raw and gzip) and PNG folders into model inputs: selection by
 * range, class and limit, preprocessing, splits, and the errors a user can cause (empty folder,
 * unreadable image, labels that do not match the images, unknown classes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "anogan.h"
#include "dataset.h"
#include "image.h"
#include "testutil.h"

static char dir[256];
static struct anogan *model;

/* A small model: the preprocessing is what matters here (64x64, mean 0.5, std 0.5). */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_dataset.%d", (int)getpid());
    mkdir(dir, 0700);
    struct anogan_config c = anogan_config_seed();
    c.width = 2;
    c.mean = c.std = 0.5f;
    ck_assert_int_eq(anogan_create(&model, &c, 1), STATUS_OK);
}

static void teardown(void)
{
    anogan_free(model);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* Writes an IDX file (gzip when gz). dims[0] items; item i's bytes are all value(i). */
static void write_idx(const char *path, int ndim, const uint32_t *dims, bool gz,
                      uint8_t (*value)(size_t))
{
    uint8_t hdr[4 + 4 * 4] = {0, 0, 0x08, (uint8_t)ndim};
    for (int d = 0; d < ndim; d++)
        be32(hdr + 4 + 4 * d, dims[d]);
    size_t item = 1;
    for (int d = 1; d < ndim; d++)
        item *= dims[d];
    size_t len = 4 + 4 * (size_t)ndim + dims[0] * item;
    uint8_t *buf = malloc(len);
    memcpy(buf, hdr, 4 + 4 * (size_t)ndim);
    for (size_t i = 0; i < dims[0]; i++)
        memset(buf + 4 + 4 * ndim + i * item, value(i), item);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, buf, (unsigned)len), (int)len);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
        fclose(f);
    }
    free(buf);
}

static uint8_t label_of(size_t i) { return (uint8_t)(i % 10); }
static uint8_t pixel_of(size_t i) { return (uint8_t)(i * 2); }

/* 100 images of 8x8 (image i is all pixel value 2i), labels i % 10. */
static void write_pair(const char *prefix, bool gz, uint32_t nlabels)
{
    char p[512];
    uint32_t di[3] = {100, 8, 8}, dl[1] = {nlabels};
    snprintf(p, sizeof p, "%s/%simages-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_idx(p, 3, di, gz, pixel_of);
    snprintf(p, sizeof p, "%s/%slabels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_idx(p, 1, dl, gz, label_of);
}

START_TEST(test_range_parse)
{
    struct dataset_range r;
    ck_assert_int_eq(dataset_parse_range(&r, "0:5000"), STATUS_OK);
    ck_assert(r.set && r.begin == 0 && r.end == 5000 && !r.begin_pct && !r.end_pct);
    ck_assert_int_eq(dataset_parse_range(&r, "50%:"), STATUS_OK);
    ck_assert(r.begin == 50 && r.begin_pct && r.end < 0);
    ck_assert_int_eq(dataset_parse_range(&r, ":10"), STATUS_OK);
    ck_assert(r.begin == 0 && r.end == 10);
    ck_assert_int_eq(dataset_parse_range(&r, "5000"), STATUS_RANGE);
    ck_assert_int_eq(dataset_parse_range(&r, "a:b"), STATUS_RANGE);
    ck_assert_int_eq(dataset_parse_range(&r, "-1:4"), STATUS_RANGE);
    ck_assert_int_eq(dataset_parse_range(&r, "0:150%"), STATUS_RANGE);
}
END_TEST

START_TEST(test_idx_select)
{
    write_pair("", true, 100);
    struct dataset ds;
    struct dataset_options o = {.path = dir, .classes = "7,8"};
    ck_assert_int_eq(dataset_parse_range(&o.range, "0:50%"), STATUS_OK);
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_OK);
    /* items 0..49 with label 7 or 8: 7, 8, 17, 18, ..., 47, 48 */
    ck_assert_uint_eq(ds.count, 10);
    ck_assert(ds.labelled);
    ck_assert_uint_eq(ds.image_floats, 64 * 64);
    for (size_t k = 0; k < ds.count; k++) {
        size_t i = ds.source[k];
        ck_assert(i < 50 && (i % 10 == 7 || i % 10 == 8));
        ck_assert_str_eq(ds.class_names[ds.labels[k]], i % 10 == 7 ? "7" : "8");
        /* a constant image stays constant through the resize: (2i/255 - 0.5) / 0.5 */
        float want = ((float)(2 * i) / 255.0f - 0.5f) / 0.5f;
        ck_assert_float_eq_tol(ds.x[k * ds.image_floats], want, 1e-4);
        ck_assert_float_eq_tol(ds.x[k * ds.image_floats + 4095], want, 1e-4);
    }
    ck_assert_int_eq(ds.min_w, 8);
    ck_assert_ptr_nonnull(strstr(ds.description, "classes 7,8"));
    dataset_free(&ds);

    /* second half, limit: the first 3 that remain */
    o.classes = NULL;
    o.limit = 3;
    ck_assert_int_eq(dataset_parse_range(&o.range, "50:"), STATUS_OK);
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_OK);
    ck_assert_uint_eq(ds.count, 3);
    ck_assert_uint_eq(ds.source[0], 50);
    ck_assert_uint_eq(ds.source[2], 52);
    dataset_free(&ds);
}
END_TEST

START_TEST(test_idx_errors)
{
    write_pair("train-", false, 99); /* one label short */
    struct dataset ds;
    struct dataset_options o = {.path = dir};
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_FORMAT);
    ck_assert_ptr_nonnull(strstr(status_message(), "do not match"));
    write_pair("train-", false, 100);
    o.classes = "7,x";
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(status_message(), "'x'"));
    o.classes = NULL;
    ck_assert_int_eq(dataset_parse_range(&o.range, "200:300"), STATUS_OK);
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_RANGE);
    o.range.set = false;
    o.split = "test";
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_NOT_FOUND);
    /* the images file itself: its labels are found beside it */
    char p[512];
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    struct dataset_options f = {.path = p, .classes = "3"};
    ck_assert_int_eq(dataset_load(&ds, &f, model), STATUS_OK);
    ck_assert_uint_eq(ds.count, 10);
    dataset_free(&ds);
    struct dataset_options missing = {.path = "/nonexistent/data"};
    ck_assert_int_eq(dataset_load(&ds, &missing, model), STATUS_NOT_FOUND);
}
END_TEST

static void save_png(const char *path, int w, int h, int channels, uint8_t v)
{
    struct image img;
    ck_assert_int_eq(image_alloc(&img, w, h, channels), STATUS_OK);
    memset(img.pixels, v, (size_t)w * (size_t)h * (size_t)channels);
    ck_assert_int_eq(image_save_png(&img, path), STATUS_OK);
    image_free(&img);
}

START_TEST(test_png_folders)
{
    char p[512];
    snprintf(p, sizeof p, "%s/good", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/crack", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/empty", dir);
    mkdir(p, 0700);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/good/%03d.png", dir, i);
        save_png(p, 32 + 8 * i, 40, 1, 255); /* mixed sizes, white */
    }
    snprintf(p, sizeof p, "%s/crack/a.PNG", dir);
    save_png(p, 100, 100, 3, 0); /* colour, black */
    snprintf(p, sizeof p, "%s/crack/notes.txt", dir);
    FILE *f = fopen(p, "w");
    fputs("not an image", f);
    fclose(f);

    struct dataset ds;
    struct dataset_options o = {.path = dir};
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_OK);
    ck_assert_uint_eq(ds.count, 4);
    ck_assert(ds.labelled);
    ck_assert_int_eq(ds.nclasses, 2); /* "empty" holds no PNG: not a class */
    ck_assert_str_eq(ds.class_names[0], "crack");
    ck_assert_str_eq(ds.class_names[1], "good");
    ck_assert_int_eq(ds.labels[0], 0);
    ck_assert_float_eq_tol(ds.x[0], -1.0f, 1e-5); /* black -> -1 */
    ck_assert_int_eq(ds.labels[1], 1);
    ck_assert_float_eq_tol(ds.x[ds.image_floats + 100], 1.0f, 1e-4); /* white -> 1 */
    ck_assert_int_eq(ds.min_w, 32);
    ck_assert_int_eq(ds.max_w, 100);
    ck_assert_ptr_nonnull(strstr(ds.names[3], "good/002.png"));
    dataset_free(&ds);

    o.classes = "good";
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_OK);
    ck_assert_uint_eq(ds.count, 3);
    dataset_free(&ds);

    /* an unreadable PNG is an error that names the file */
    snprintf(p, sizeof p, "%s/good/zz-broken.png", dir);
    f = fopen(p, "w");
    fputs("\x89PNG garbage", f);
    fclose(f);
    ck_assert_int_ne(dataset_load(&ds, &o, model), STATUS_OK);
    ck_assert_ptr_nonnull(strstr(status_message(), "zz-broken.png"));

    /* an empty folder */
    snprintf(p, sizeof p, "%s/empty", dir);
    struct dataset_options e = {.path = p};
    ck_assert_int_eq(dataset_load(&ds, &e, model), STATUS_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(status_message(), "no IDX pair and no PNG"));

    /* unlabelled images cannot be filtered by class */
    snprintf(p, sizeof p, "%s/empty/x.png", dir);
    save_png(p, 10, 10, 4, 200);
    snprintf(p, sizeof p, "%s/empty", dir);
    struct dataset_options u = {.path = p};
    ck_assert_int_eq(dataset_load(&ds, &u, model), STATUS_OK);
    ck_assert(!ds.labelled && ds.labels[0] == -1);
    dataset_free(&ds);
    u.classes = "good";
    ck_assert_int_eq(dataset_load(&ds, &u, model), STATUS_NOT_FOUND);
}
END_TEST

START_TEST(test_split)
{
    write_pair("", false, 100);
    struct dataset all, a, b, a2, b2;
    struct dataset_options o = {.path = dir};
    ck_assert_int_eq(dataset_load(&all, &o, model), STATUS_OK);
    ck_assert_int_eq(dataset_split(&a, &b, &all, 0.2, 7), STATUS_OK);
    ck_assert_uint_eq(a.count, 80);
    ck_assert_uint_eq(b.count, 20);
    bool seen[100] = {false};
    for (size_t i = 0; i < a.count; i++)
        seen[a.source[i]] = true;
    for (size_t i = 0; i < b.count; i++) {
        ck_assert(!seen[b.source[i]]); /* disjoint */
        seen[b.source[i]] = true;
        ck_assert_float_eq(b.x[i * b.image_floats], all.x[b.source[i] * all.image_floats]);
        ck_assert_str_eq(b.class_names[b.labels[i]], all.class_names[all.labels[b.source[i]]]);
    }
    for (int i = 0; i < 100; i++)
        ck_assert(seen[i]);
    /* deterministic in the seed, different for another */
    ck_assert_int_eq(dataset_split(&a2, &b2, &all, 0.2, 7), STATUS_OK);
    ck_assert_int_eq(memcmp(b.source, b2.source, b.count * sizeof *b.source), 0);
    dataset_free(&a2);
    dataset_free(&b2);
    ck_assert_int_eq(dataset_split(&a2, &b2, &all, 0.2, 8), STATUS_OK);
    ck_assert_int_ne(memcmp(b.source, b2.source, b.count * sizeof *b.source), 0);
    dataset_free(&a2);
    dataset_free(&b2);
    ck_assert_int_eq(dataset_split(&a2, &b2, &all, 0.0, 7), STATUS_OK);
    ck_assert_uint_eq(a2.count, 100);
    ck_assert_uint_eq(b2.count, 0);
    dataset_free(&a2);
    dataset_free(&b2);
    dataset_free(&a);
    dataset_free(&b);
    dataset_free(&all);
}
END_TEST

/* The seed's data: the first half of ../shared/datasets/mnist, sevens and eights. */
#define MNIST "datasets/mnist/images-idx3-ubyte.gz"
START_TEST(test_mnist_first_half)
{
    const char *mnist = tu_shared_need(MNIST);
    char d[1024];
    snprintf(d, sizeof d, "%s", mnist);
    *strrchr(d, '/') = 0;
    struct dataset ds;
    struct dataset_options o = {.path = d, .classes = "7,8"};
    ck_assert_int_eq(dataset_parse_range(&o.range, "0:50%"), STATUS_OK);
    ck_assert_int_eq(dataset_load(&ds, &o, model), STATUS_OK);
    /* classes interleave, so about half of 1070 + 944 sevens and eights are in the first half */
    ck_assert(ds.count > 900 && ds.count < 1100);
    float hi = -INFINITY;
    for (size_t k = 0; k < ds.count; k++) {
        ck_assert(ds.source[k] < 5000);
        ck_assert_float_eq_tol(ds.x[k * ds.image_floats], -1.0f, 1e-5); /* corner: background */
        for (size_t j = 0; j < ds.image_floats; j++)
            hi = fmaxf(hi, ds.x[k * ds.image_floats + j]);
    }
    ck_assert(hi > 0.9f); /* ink (bicubic over- and undershoots around strokes) */
    dataset_free(&ds);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_range_parse);
    tcase_add_test(tc, test_idx_select);
    tcase_add_test(tc, test_idx_errors);
    tcase_add_test(tc, test_png_folders);
    tcase_add_test(tc, test_split);
    suite_add_tcase(s, tc);
    TCase *mnist = tcase_create("mnist");
    tcase_add_checked_fixture(mnist, setup, teardown);
    tu_needs_shared(mnist, MNIST, NULL);
    tcase_add_test(mnist, test_mnist_first_half);
    suite_add_tcase(s, mnist);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
