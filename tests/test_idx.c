/* test_idx: IDX parsing (raw and gzip), hostile headers and streams, the MNIST and Fashion-MNIST
 * files, idx_find_pair, and the fuzzers' regression inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "idx.h"
#include "idx_decode.h"
#include "testutil.h"

/* A raw IDX image: header for dims (ndim of them), then payload bytes i*7 mod 256. */
static uint8_t *make_idx(size_t *len, const uint32_t *dims, int ndim, size_t payload)
{
    size_t n = 4 + 4 * (size_t)ndim + payload;
    uint8_t *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    b[0] = 0, b[1] = 0, b[2] = 8, b[3] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++)
            b[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
    for (size_t i = 0; i < payload; i++)
        b[4 + 4 * (size_t)ndim + i] = (uint8_t)(i * 7);
    *len = n;
    return b;
}

/* gzip of b (one member) into a malloc'd buffer. */
static uint8_t *gzip_bytes(size_t *out_len, const uint8_t *b, size_t len)
{
    z_stream zs = {0};
    ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    uint8_t *out = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)b;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void write_file(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, len, f), len);
    fclose(f);
}

START_TEST(test_parse_valid)
{
    uint32_t dims[] = {3, 2, 5};
    size_t len;
    uint8_t *b = make_idx(&len, dims, 3, 30);
    struct idx x;
    ck_assert_int_eq(idx_parse(&x, b, len, "t"), STATUS_OK);
    ck_assert_int_eq(x.ndim, 3);
    ck_assert_uint_eq(x.count, 3);
    ck_assert_uint_eq(x.item, 10);
    ck_assert_uint_eq(x.dims[2], 5);
    ck_assert_mem_eq(x.data, b + 16, 30);
    idx_free(&x);
    ck_assert_ptr_null(x.data);
    free(b);

    uint32_t one[] = {4};
    b = make_idx(&len, one, 1, 4);
    ck_assert_int_eq(idx_decode(&x, b, len, NULL), STATUS_OK);
    ck_assert_uint_eq(x.count, 4);
    ck_assert_uint_eq(x.item, 1);
    ck_assert_int_eq(x.data[3], 21);
    idx_free(&x);
    free(b);
}
END_TEST

START_TEST(test_hostile_headers)
{
    struct idx x;
    uint32_t d3[] = {2, 2, 2}, big[] = {65536, 65536, 2}, maxd[] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    uint32_t zero[] = {2, 0, 2}, d5[] = {1, 1, 1, 1, 1};
    size_t len;
    uint8_t *b = make_idx(&len, d3, 3, 8);

    for (size_t n = 0; n < len; n++) { /* every truncation */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        ck_assert_int_eq(idx_parse(&x, cut, n, "cut"), STATUS_FORMAT);
        ck_assert_ptr_null(x.data);
        free(cut);
    }
    uint8_t *c = malloc(len + 1);
    memcpy(c, b, len);
    c[len] = 0;
    ck_assert_int_eq(idx_parse(&x, c, len + 1, "long"), STATUS_FORMAT); /* trailing byte */
    c[2] = 0x0d;                                                         /* float data */
    ck_assert_int_eq(idx_parse(&x, c, len, "float"), STATUS_UNSUPPORTED);
    c[2] = 8, c[0] = 1;
    ck_assert_int_eq(idx_parse(&x, c, len, "magic"), STATUS_FORMAT);
    c[0] = 0, c[3] = 0;
    ck_assert_int_eq(idx_parse(&x, c, len, "ndim 0"), STATUS_FORMAT);
    free(c);
    free(b);

    b = make_idx(&len, d5, 5, 1);
    ck_assert_int_eq(idx_parse(&x, b, len, "ndim 5"), STATUS_FORMAT);
    free(b);
    b = make_idx(&len, zero, 3, 0);
    ck_assert_int_eq(idx_parse(&x, b, len, "zero dim"), STATUS_FORMAT);
    free(b);
    b = make_idx(&len, big, 3, 16);
    ck_assert_int_eq(idx_parse(&x, b, len, "8 GiB"), STATUS_RANGE);
    ck_assert_ptr_nonnull(strstr(status_message(), "8 GiB"));
    free(b);
    b = make_idx(&len, maxd, 4, 16);
    ck_assert_int_eq(idx_parse(&x, b, len, "overflow"), STATUS_RANGE);
    free(b);
}
END_TEST

START_TEST(test_gzip)
{
    uint32_t dims[] = {100, 28, 28};
    size_t len, gz_len;
    uint8_t *b = make_idx(&len, dims, 3, 78400);
    uint8_t *gz = gzip_bytes(&gz_len, b, len);
    struct idx x;
    ck_assert_int_eq(idx_decode(&x, gz, gz_len, "gz"), STATUS_OK);
    ck_assert_uint_eq(x.count, 100);
    ck_assert_uint_eq(x.item, 784);
    ck_assert_mem_eq(x.data, b + 16, 78400);
    idx_free(&x);

    /* Two members concatenated (gzip -d accepts this): header in the first, data split. */
    size_t l1, l2;
    uint8_t *m1 = gzip_bytes(&l1, b, 1000), *m2 = gzip_bytes(&l2, b + 1000, len - 1000);
    uint8_t *cat = malloc(l1 + l2 + 4);
    memcpy(cat, m1, l1);
    memcpy(cat + l1, m2, l2);
    ck_assert_int_eq(idx_decode(&x, cat, l1 + l2, "two members"), STATUS_OK);
    ck_assert_mem_eq(x.data, b + 16, 78400);
    idx_free(&x);
    memcpy(cat + l1 + l2, "junk", 4);
    ck_assert_int_eq(idx_decode(&x, cat, l1 + l2 + 4, "junk"), STATUS_FORMAT);

    /* Every truncation of the stream fails (without reading past the buffer). */
    for (size_t n = 2; n < gz_len; n += n < 64 ? 1 : 97) {
        uint8_t *cut = malloc(n);
        memcpy(cut, gz, n);
        ck_assert_msg(idx_decode(&x, cut, n, "cut gz") == STATUS_FORMAT, "cut at %zu: %s", n, status_message());
        free(cut);
    }
    /* A corrupted CRC, a corrupted deflate stream. */
    uint8_t *bad = malloc(gz_len);
    memcpy(bad, gz, gz_len);
    bad[gz_len - 6] ^= 0x55;
    ck_assert_int_eq(idx_decode(&x, bad, gz_len, "crc"), STATUS_FORMAT);
    memcpy(bad, gz, gz_len);
    bad[20] ^= 0xff;
    ck_assert_int_eq(idx_decode(&x, bad, gz_len, "deflate"), STATUS_FORMAT);
    free(bad);

    /* More data than the header declares: stops inflating once past the declared size. */
    uint32_t small[] = {2, 2};
    uint8_t *lie = make_idx(&len, small, 2, 4);
    uint8_t *padded = calloc(len + 1000000, 1);
    memcpy(padded, lie, len);
    size_t pl;
    uint8_t *pgz = gzip_bytes(&pl, padded, len + 1000000);
    ck_assert_int_eq(idx_decode(&x, pgz, pl, "bomb"), STATUS_FORMAT);
    /* A header that lies the other way: declares 1 GiB, holds 4 bytes. */
    uint32_t huge[] = {1024, 1024, 1024};
    uint8_t *h = make_idx(&len, huge, 3, 4);
    size_t hl;
    uint8_t *hgz = gzip_bytes(&hl, h, len);
    ck_assert_int_eq(idx_decode(&x, hgz, hl, "short"), STATUS_FORMAT);
    free(h);
    free(hgz);
    free(pgz);
    free(padded);
    free(lie);
    free(cat);
    free(m1);
    free(m2);
    free(gz);
    free(b);
}
END_TEST

START_TEST(test_load_files)
{
    char dir[] = "/tmp/inspectd-idx-XXXXXX", raw[256], gzp[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    uint32_t dims[] = {5, 3, 3};
    size_t len, gz_len;
    uint8_t *b = make_idx(&len, dims, 3, 45);
    uint8_t *gz = gzip_bytes(&gz_len, b, len);
    snprintf(raw, sizeof raw, "%s/images-idx3-ubyte", dir);
    snprintf(gzp, sizeof gzp, "%s/misnamed.bin", dir); /* gzip found by magic, not name */
    write_file(raw, b, len);
    write_file(gzp, gz, gz_len);
    struct idx x;
    ck_assert_int_eq(idx_load(&x, raw), STATUS_OK);
    ck_assert_mem_eq(x.data, b + 16, 45);
    idx_free(&x);
    ck_assert_int_eq(idx_load(&x, gzp), STATUS_OK);
    ck_assert_uint_eq(x.count, 5);
    ck_assert_mem_eq(x.data, b + 16, 45);
    idx_free(&x);
    write_file(gzp, gz, gz_len - 3);
    ck_assert_int_eq(idx_load(&x, gzp), STATUS_FORMAT);
    ck_assert_int_eq(idx_load(&x, "/nonexistent/idx"), STATUS_NOT_FOUND);
    ck_assert_int_eq(idx_load(&x, dir), STATUS_IO);
    ck_assert_ptr_null(x.data);

    char img[256], lab[256];
    /* only images: no pair */
    ck_assert_int_eq(idx_find_pair(dir, NULL, img, sizeof img, lab, sizeof lab), STATUS_NOT_FOUND);
    char lp[300];
    snprintf(lp, sizeof lp, "%s/labels-idx1-ubyte.gz", dir);
    write_file(lp, gz, gz_len);
    ck_assert_int_eq(idx_find_pair(dir, NULL, img, sizeof img, lab, sizeof lab), STATUS_OK);
    ck_assert_str_eq(img, raw);
    ck_assert_str_eq(lab, lp);
    ck_assert_int_eq(idx_find_pair(dir, "test", img, sizeof img, lab, sizeof lab), STATUS_OK);
    ck_assert_int_eq(idx_find_pair(dir, "valid", img, sizeof img, lab, sizeof lab), STATUS_RANGE);
    ck_assert_int_eq(idx_find_pair(dir, NULL, img, 10, lab, sizeof lab), STATUS_RANGE);
    unlink(lp);
    unlink(raw);
    unlink(gzp);
    rmdir(dir);
    free(gz);
    free(b);
}
END_TEST

START_TEST(test_mnist)
{
    const char *dir = tu_shared_need("datasets/mnist");
    char img[1024], lab[1024];
    ck_assert_int_eq(idx_find_pair(dir, NULL, img, sizeof img, lab, sizeof lab), STATUS_OK);
    ck_assert_ptr_nonnull(strstr(img, "images-idx3-ubyte.gz"));
    ck_assert_ptr_nonnull(strstr(lab, "labels-idx1-ubyte.gz"));
    ck_assert_int_eq(idx_find_pair(dir, "train", img, sizeof img, lab, sizeof lab), STATUS_OK);
    struct idx x, y;
    ck_assert_msg(idx_load(&x, img) == STATUS_OK, "%s", status_message());
    ck_assert_msg(idx_load(&y, lab) == STATUS_OK, "%s", status_message());
    ck_assert_int_eq(x.ndim, 3);
    ck_assert_uint_eq(x.count, 10000);
    ck_assert_uint_eq(x.dims[1], 28);
    ck_assert_uint_eq(x.item, 784);
    ck_assert_int_eq(y.ndim, 1);
    ck_assert_uint_eq(y.count, 10000);
    ck_assert_uint_eq(y.item, 1);
    int seen[10] = {0}, ink = 0;
    for (size_t i = 0; i < y.count; i++) {
        ck_assert_uint_le(y.data[i], 9);
        seen[y.data[i]]++;
    }
    for (int k = 0; k < 10; k++)
        ck_assert_int_gt(seen[k], 500);
    for (size_t i = 0; i < x.item; i++)
        ink += x.data[i] > 128; /* the first digit has some ink */
    ck_assert_int_gt(ink, 20);
    idx_free(&x);
    idx_free(&y);
}
END_TEST

#define FASHION "/usr/share/datasets/fashion-mnist"

START_TEST(test_fashion_mnist)
{
    const char *dir = FASHION; /* tu_main checked it is there */
    static const struct {
        const char *split;
        size_t count;
    } splits[] = {{"train", 60000}, {"test", 10000}};
    for (int s = 0; s < 2; s++) {
        char img[1024], lab[1024];
        ck_assert_int_eq(idx_find_pair(dir, splits[s].split, img, sizeof img, lab, sizeof lab), STATUS_OK);
        ck_assert_ptr_nonnull(strstr(img, s == 0 ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte"));
        struct idx x, y;
        ck_assert_msg(idx_load(&x, img) == STATUS_OK, "%s", status_message());
        ck_assert_msg(idx_load(&y, lab) == STATUS_OK, "%s", status_message());
        ck_assert_uint_eq(x.count, splits[s].count);
        ck_assert_uint_eq(x.item, 784);
        ck_assert_uint_eq(y.count, splits[s].count);
        for (size_t i = 0; i < y.count; i++)
            ck_assert_uint_le(y.data[i], 9);
        idx_free(&x);
        idx_free(&y);
    }
    char img[1024], lab[1024];
    ck_assert_int_eq(idx_find_pair(dir, NULL, img, sizeof img, lab, sizeof lab), STATUS_OK);
    ck_assert_ptr_nonnull(strstr(img, "train-images"));
}
END_TEST

/* Loads one replayed file (tu_replay). */
static enum status load_idx(const char *path)
{
    struct idx x;
    enum status s = idx_load(&x, path);
    idx_free(&x);
    return s;
}

/* Seeds are valid files; past crashers (fuzz/regress/) must load without harm. */
START_TEST(test_fuzz_inputs)
{
    ck_assert_int_gt(tu_replay(load_idx, "fuzz/corpus/fuzz_idx", 1), 0);
    printf("replayed %d idx regression inputs\n", tu_replay(load_idx, "fuzz/regress/fuzz_idx", 0));
}
END_TEST

static Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse_valid);
    tcase_add_test(tc, test_hostile_headers);
    tcase_add_test(tc, test_gzip);
    tcase_add_test(tc, test_load_files);
    tcase_add_test(tc, test_fuzz_inputs);
    suite_add_tcase(s, tc);
    TCase *mnist = tcase_create("mnist");
    tu_needs_shared(mnist, "datasets/mnist/images-idx3-ubyte.gz", "datasets/mnist/labels-idx1-ubyte.gz",
                    NULL);
    tcase_add_test(mnist, test_mnist);
    suite_add_tcase(s, mnist);
    TCase *fashion = tcase_create("fashion-mnist");
    tu_needs_system(fashion, FASHION, NULL);
    tcase_add_test(fashion, test_fashion_mnist);
    suite_add_tcase(s, fashion);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(idx_suite(), argc, argv);
}
