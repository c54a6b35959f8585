/* test_safetensors: SHA-256 vectors, write/read round trip, F16/BF16 conversion, the golden
 * AnoGAN file, and hostile files (every truncation, bad headers, bad offsets, bit flips, the
 * fuzzers' regression inputs): each must be an error, never a crash. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"
#include "sha256.h"
#include "testutil.h"

/* A file image: 8-byte length, header (padded with spaces to a multiple of 8), data. */
static uint8_t *make_file(size_t *len, const char *header, const void *data, size_t data_len)
{
    size_t h = strlen(header), hp = (h + 7) / 8 * 8;
    uint8_t *b = malloc(8 + hp + data_len + 1);
    ck_assert_ptr_nonnull(b);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hp >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', hp - h);
    if (data_len)
        memcpy(b + 8 + hp, data, data_len);
    *len = 8 + hp + data_len;
    return b;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Parses and expects failure with status want (or any failure when want is STATUS_OK). */
static void expect_fail(const uint8_t *b, size_t len, enum status want, const char *what)
{
    struct safetensors *st = (struct safetensors *)1;
    enum status s = safetensors_parse(&st, b, len, "hostile.safetensors");
    ck_assert_msg(s != STATUS_OK, "%s: accepted", what);
    ck_assert_msg(want == STATUS_OK || s == want, "%s: got %s (%s)", what, status_to_string(s),
                  status_message());
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(status_message(), "hostile.safetensors"), "%s: message '%s' lacks the file name",
                  what, status_message());
}

START_TEST(test_sha256_vectors)
{
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
         "mnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sha256_hex((const uint8_t *)v[i].msg, strlen(v[i].msg), hex);
        ck_assert_str_eq(hex, v[i].hex);
    }
    /* one million 'a', fed in uneven pieces through the streaming interface */
    size_t n = 1000000;
    uint8_t *a = malloc(n);
    memset(a, 'a', n);
    struct sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c);
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 % 1000 + 1)
        sha256_update(&c, a + off, off + step <= n ? step : n - off);
    sha256_final(d, &c);
    static const uint8_t want[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
                                     0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
                                     0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    ck_assert_mem_eq(d, want, 32);
    free(a);
}
END_TEST

START_TEST(test_round_trip)
{
    char dir[] = "/tmp/inspectd-st-XXXXXX", path[256], tmp[300];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    struct safetensors *st = safetensors_new();
    ck_assert_ptr_nonnull(st);
    ck_assert_str_eq(st->sha256, "");
    float w[2 * 3 * 4], b[3], scalar = -2.5f;
    tu_fill_uniform(w, 24, 1, 3.0f);
    tu_fill_uniform(b, 3, 2, 1.0f);
    w[5] = INFINITY, w[6] = -0.0f, w[7] = 1e-42f; /* non-finite and subnormal survive */
    int64_t ws[] = {2, 3, 4}, bs[] = {3}, es[] = {0, 5};
    ck_assert_int_eq(safetensors_add(st, "layer.0.weight", ws, 3, w), STATUS_OK);
    ck_assert_int_eq(safetensors_add(st, "layer.0.bias", bs, 1, b), STATUS_OK);
    ck_assert_int_eq(safetensors_add(st, "scalar", NULL, 0, &scalar), STATUS_OK);
    ck_assert_int_eq(safetensors_add(st, "empty", es, 2, NULL), STATUS_OK);
    ck_assert_int_eq(safetensors_add(st, "q\"uote\\d\n", bs, 1, b), STATUS_OK);
    ck_assert_int_eq(safetensors_set_meta(st, "latent", "20"), STATUS_OK);
    ck_assert_int_eq(safetensors_set_meta(st, "note", "tab\there \"quoted\" \xc3\xa9"), STATUS_OK);
    ck_assert_int_eq(safetensors_set_meta(st, "latent", "21"), STATUS_OK); /* replaces */
    ck_assert_uint_eq(st->nmeta, 2);
    ck_assert_int_eq(safetensors_save(st, path), STATUS_OK);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);

    size_t len;
    uint8_t *bytes = read_all(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(len, 8 + hlen + (24 + 3 + 1 + 0 + 3) * 4);
    ck_assert_int_eq(bytes[8], '{');
    ck_assert_mem_eq(bytes + 8 + hlen, w, sizeof w); /* first tensor first, little-endian F32 */
    ck_assert_mem_eq(bytes + 8 + hlen + sizeof w, b, sizeof b);
    char hex[65];
    sha256_hex(bytes, len, hex);

    struct safetensors *back = NULL;
    ck_assert_int_eq(safetensors_load(&back, path), STATUS_OK);
    ck_assert_str_eq(back->sha256, hex);
    ck_assert_uint_eq(back->ntensors, 5);
    /* order preserved */
    ck_assert_str_eq(back->tensors[0].name, "layer.0.weight");
    ck_assert_str_eq(back->tensors[4].name, "q\"uote\\d\n");
    const struct safetensors_tensor *t = safetensors_find(back, "layer.0.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 3);
    ck_assert_int_eq(t->shape[0], 2);
    ck_assert_int_eq(t->shape[2], 4);
    ck_assert_uint_eq(t->numel, 24);
    ck_assert_mem_eq(t->data, w, sizeof w);
    t = safetensors_find(back, "scalar");
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_uint_eq(t->numel, 1);
    ck_assert_float_eq(t->data[0], -2.5f);
    t = safetensors_find(back, "empty");
    ck_assert_uint_eq(t->numel, 0);
    ck_assert_int_eq(t->shape[1], 5);
    ck_assert_mem_eq(safetensors_find(back, "q\"uote\\d\n")->data, b, sizeof b);
    ck_assert_ptr_null(safetensors_find(back, "missing"));
    ck_assert_str_eq(safetensors_meta_get(back, "latent"), "21");
    ck_assert_str_eq(safetensors_meta_get(back, "note"), "tab\there \"quoted\" \xc3\xa9");
    ck_assert_ptr_null(safetensors_meta_get(back, "absent"));

    /* Saving over an existing file replaces it. */
    ck_assert_int_eq(safetensors_save(back, path), STATUS_OK);
    struct safetensors *again = NULL;
    ck_assert_int_eq(safetensors_load(&again, path), STATUS_OK);
    ck_assert_str_eq(again->sha256, hex); /* same content, same bytes */
    safetensors_free(again);
    safetensors_free(back);
    safetensors_free(st);
    free(bytes);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_builder_rejects)
{
    struct safetensors *st = safetensors_new();
    float x[2] = {1, 2};
    int64_t s2[] = {2}, neg[] = {-1}, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 2};
    ck_assert_int_eq(safetensors_add(st, "a", s2, 1, x), STATUS_OK);
    ck_assert_int_eq(safetensors_add(st, "a", s2, 1, x), STATUS_RANGE);
    ck_assert_int_eq(safetensors_add(st, "__metadata__", s2, 1, x), STATUS_RANGE);
    ck_assert_int_eq(safetensors_add(st, "bad\xff", s2, 1, x), STATUS_RANGE);
    ck_assert_int_eq(safetensors_add(st, "overlong\xc0\xaf", s2, 1, x), STATUS_RANGE);
    ck_assert_int_eq(safetensors_add(st, "neg", neg, 1, x), STATUS_RANGE);
    ck_assert_int_eq(safetensors_add(st, "nine", nine, 9, x), STATUS_RANGE);
    ck_assert_int_eq(safetensors_set_meta(st, "k", "\xed\xa0\x80"), STATUS_RANGE); /* surrogate */
    ck_assert_uint_eq(st->ntensors, 1);
    ck_assert_uint_eq(st->nmeta, 0);
    safetensors_free(st);
}
END_TEST

START_TEST(test_half_types)
{
    /* F16: 1, -2, 65504, 2^-24 (smallest subnormal), -0, inf; BF16: 1, -3, 1e38-ish, -inf */
    static const uint8_t data[] = {0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x80, 0x00, 0x7c,
                                   0x80, 0x3f, 0x40, 0xc0, 0x7f, 0x7f, 0x80, 0xff, 0x00, 0x7e, 0x00, 0x00};
    size_t len;
    uint8_t *b = make_file(&len,
                           "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                           "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[12,20]},"
                           "\"n\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[20,24]}}",
                           data, sizeof data);
    struct safetensors *st = NULL;
    ck_assert_int_eq(safetensors_parse(&st, b, len, NULL), STATUS_OK);
    const float *h = safetensors_find(st, "h")->data, *bf = safetensors_find(st, "b")->data;
    ck_assert_float_eq(h[0], 1.0f);
    ck_assert_float_eq(h[1], -2.0f);
    ck_assert_float_eq(h[2], 65504.0f);
    ck_assert_float_eq(h[3], ldexpf(1.0f, -24));
    ck_assert(h[4] == 0.0f && signbit(h[4]));
    ck_assert(isinf(h[5]) && h[5] > 0);
    ck_assert_float_eq(bf[0], 1.0f);
    ck_assert_float_eq(bf[1], -3.0f);
    ck_assert_float_eq(bf[2], 0x1.fep127f);
    ck_assert(isinf(bf[3]) && bf[3] < 0);
    ck_assert(isnan(safetensors_find(st, "n")->data[0]));
    ck_assert_float_eq(safetensors_find(st, "n")->data[1], 0.0f);
    ck_assert_uint_eq(strlen(st->sha256), 64);
    safetensors_free(st);
    free(b);
}
END_TEST

/* Metadata numbers are read by parse.c: plain decimal only, refused as STATUS_FORMAT naming the
 * file and key in parse.c's words; an int may be written "20.0", as Python does. */
START_TEST(test_meta_numbers)
{
    struct safetensors *st = safetensors_new();
    ck_assert_ptr_nonnull(st);
    static const struct {
        const char *text;
        int ok_int, ok_float;
    } cases[] = {{"20", 1, 1},  {"20.0", 1, 1}, {"-3", 1, 1},    {"0.25", 0, 1}, {"1e-05", 0, 1},
                 {" 20", 0, 0}, {"+5", 0, 0},   {"0x10", 0, 0},  {"nan", 0, 0},  {"inf", 0, 0},
                 {"1e39", 0, 0}, {"2e9", 0, 1}, {"twenty", 0, 0}, {"", 0, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(safetensors_set_meta(st, "k", cases[i].text), STATUS_OK);
        int n = 7;
        float f = 7;
        enum status si = safetensors_meta_int(st, "k", &n, "m.safetensors");
        enum status sf = safetensors_meta_float(st, "k", &f, "m.safetensors");
        ck_assert_msg((si == STATUS_OK) == cases[i].ok_int, "int '%s': %s", cases[i].text,
                      status_message());
        ck_assert_msg((sf == STATUS_OK) == cases[i].ok_float, "float '%s'", cases[i].text);
        if (si) {
            ck_assert_int_eq(si, STATUS_FORMAT);
            ck_assert_int_eq(n, 7);
        }
        if (sf) {
            ck_assert_int_eq(sf, STATUS_FORMAT);
            ck_assert(strstr(status_message(), "m.safetensors: metadata k '"));
        }
    }
    int n = 7; /* absent: left as it is */
    ck_assert_int_eq(safetensors_meta_int(st, "absent", &n, "m.safetensors"), STATUS_OK);
    ck_assert_int_eq(n, 7);
    safetensors_free(st);
}
END_TEST

#define GOLDEN "golden/anogan_seed_random.safetensors"

START_TEST(test_golden_file)
{
    const char *path = tu_shared_need(GOLDEN);
    struct safetensors *st = NULL;
    ck_assert_msg(safetensors_load(&st, path) == STATUS_OK, "%s", status_message());
    const struct safetensors_tensor *t = safetensors_find(st, "G.generator_network.0.0.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 4);
    ck_assert_int_eq(t->shape[0], 20);
    ck_assert_int_eq(t->shape[1], 512);
    ck_assert_int_eq(t->shape[2], 4);
    ck_assert_int_eq(t->shape[3], 4);
    t = safetensors_find(st, "in.x");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->numel, 4 * 64 * 64);
    t = safetensors_find(st, "D.feature_network.3.1.running_var");
    ck_assert_uint_eq(t->numel, 512);
    for (size_t i = 0; i < t->numel; i++)
        ck_assert(t->data[i] > 0 && isfinite(t->data[i])); /* variances: a sign of correct decoding */
    ck_assert_int_eq(safetensors_find(st, "out.score")->shape[0], 4);
    const char *pre = safetensors_meta_get(st, "preprocess");
    ck_assert_ptr_nonnull(pre);
    ck_assert_ptr_nonnull(strstr(pre, "0.1307"));
    ck_assert_ptr_nonnull(strstr(safetensors_meta_get(st, "adam"), "lr=1e-3"));
    ck_assert_uint_eq(strlen(st->sha256), 64);
    safetensors_free(st);
}
END_TEST

static const char small_header[] = "{\"__metadata__\":{\"k\":\"v\"},"
                                   "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                   "\"b\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]}}";

START_TEST(test_every_truncation)
{
    static const uint8_t data[12] = {0, 0, 128, 63, 0, 0, 0, 64, 0, 60, 0, 188};
    size_t len;
    uint8_t *b = make_file(&len, small_header, data, sizeof data);
    struct safetensors *st = NULL;
    ck_assert_int_eq(safetensors_parse(&st, b, len, "small"), STATUS_OK);
    ck_assert_float_eq(safetensors_find(st, "b")->data[1], -1.0f);
    safetensors_free(st);
    for (size_t n = 0; n < len; n++) {
        /* an exact-size copy, so ASan sees any read past the end */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b, n);
        char what[48];
        snprintf(what, sizeof what, "truncated to %zu", n);
        expect_fail(cut, n, STATUS_FORMAT, what);
        free(cut);
    }
    ck_assert_int_eq(safetensors_parse(&st, NULL, 0, "null"), STATUS_FORMAT);
    free(b);
}
END_TEST

START_TEST(test_hostile_headers)
{
    static const struct {
        const char *header;
        size_t data_len;
        enum status want;
    } cases[] = {
        {"not json", 0, STATUS_FORMAT},
        {"{\"a\":", 0, STATUS_FORMAT},
        {"[1,2]", 0, STATUS_FORMAT},
        {"\"str\"", 0, STATUS_FORMAT},
        {"{} x", 0, STATUS_FORMAT},
        {"{\"a\":1}", 0, STATUS_FORMAT},
        {"{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, STATUS_UNSUPPORTED},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, STATUS_UNSUPPORTED},
        {"{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, STATUS_UNSUPPORTED},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}",
         4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4,
         STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         STATUS_UNSUPPORTED},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}", 4,
         STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        /* duplicates, overlaps, holes, trailing bytes */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, STATUS_FORMAT},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, STATUS_FORMAT},
        {"{}", 4, STATUS_FORMAT},
        /* metadata */
        {"{\"__metadata__\":{\"k\":1}}", 0, STATUS_FORMAT},
        {"{\"__metadata__\":{\"k\":null}}", 0, STATUS_FORMAT},
        {"{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, STATUS_FORMAT},
        {"{\"__metadata__\":[\"k\"]}", 0, STATUS_FORMAT},
        {"{\"__metadata__\":\"k\"}", 0, STATUS_FORMAT},
        {"{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, STATUS_FORMAT},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, STATUS_FORMAT},
    };
    uint8_t data[16] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *b = make_file(&len, cases[i].header, data, cases[i].data_len);
        expect_fail(b, len, cases[i].want, cases[i].header);
        free(b);
    }
    /* The message names the tensor. */
    size_t len;
    uint8_t *b = make_file(&len, "{\"weird.tensor\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                           data, 1);
    expect_fail(b, len, STATUS_UNSUPPORTED, "I8");
    ck_assert_ptr_nonnull(strstr(status_message(), "weird.tensor"));
    free(b);
    /* Valid edge cases: empty header object, null metadata, a zero-element tensor. */
    struct safetensors *st = NULL;
    b = make_file(&len, "{}", NULL, 0);
    ck_assert_int_eq(safetensors_parse(&st, b, len, "empty"), STATUS_OK);
    ck_assert_uint_eq(st->ntensors, 0);
    safetensors_free(st);
    free(b);
    b = make_file(&len, "{\"__metadata__\":null,\"z\":{\"dtype\":\"BF16\",\"shape\":[0,3],\"data_offsets\":[0,0]}}",
                  NULL, 0);
    ck_assert_int_eq(safetensors_parse(&st, b, len, "zero"), STATUS_OK);
    ck_assert_uint_eq(safetensors_find(st, "z")->numel, 0);
    safetensors_free(st);
    free(b);
}
END_TEST

START_TEST(test_hostile_lengths)
{
    uint8_t b[64];
    memset(b, ' ', sizeof b);
    memcpy(b + 8, "{}", 2);
    static const uint64_t lens[] = {UINT64_MAX, (uint64_t)1 << 63, SAFETENSORS_MAX_HEADER + 1ull, 57, 0, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(lens[i] >> (8 * k));
        char what[64];
        snprintf(what, sizeof what, "header length %llu", (unsigned long long)lens[i]);
        expect_fail(b, sizeof b, STATUS_FORMAT, what);
    }
    /* 16 MiB + 1 is over the cap even when the file really is that long */
    size_t n = 8 + SAFETENSORS_MAX_HEADER + 8;
    uint8_t *big = malloc(n);
    memset(big, ' ', n);
    uint64_t h = SAFETENSORS_MAX_HEADER + 8ull;
    for (int k = 0; k < 8; k++)
        big[k] = (uint8_t)(h >> (8 * k));
    big[8] = '{', big[9] = '}';
    expect_fail(big, n, STATUS_FORMAT, "header over the cap");
    free(big);
}
END_TEST

/* Every single-byte corruption of a small valid file: any verdict is fine, a crash is not, and a
 * file that is still accepted must be self-consistent. */
START_TEST(test_bit_flips)
{
    static const uint8_t data[12] = {0, 0, 128, 63, 0, 0, 0, 64, 0, 60, 0, 188};
    size_t len;
    uint8_t *b = make_file(&len, small_header, data, sizeof data);
    static const uint8_t masks[] = {0x01, 0x04, 0x20, 0x80, 0xff};
    for (size_t i = 0; i < len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            uint8_t *c = malloc(len);
            memcpy(c, b, len);
            c[i] ^= masks[m];
            struct safetensors *st = NULL;
            if (safetensors_parse(&st, c, len, "flip") == STATUS_OK) {
                size_t total = 0;
                for (size_t t = 0; t < st->ntensors; t++)
                    total += st->tensors[t].numel;
                ck_assert_uint_le(total, 6);
            }
            safetensors_free(st);
            free(c);
        }
    free(b);
}
END_TEST

START_TEST(test_save_failures)
{
    char dir[] = "/tmp/inspectd-st-XXXXXX", path[256], tmp[300];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct safetensors *st = safetensors_new();
    float x[1024] = {0};
    int64_t shape[] = {1024};
    ck_assert_int_eq(safetensors_add(st, "x", shape, 1, x), STATUS_OK);

    snprintf(path, sizeof path, "%s/no/such/dir/m.safetensors", dir);
    ck_assert_int_eq(safetensors_save(st, path), STATUS_IO);
    ck_assert_ptr_nonnull(strstr(status_message(), "No such file"));

    /* rename onto a directory fails after the data was written: the temporary must go */
    snprintf(path, sizeof path, "%s/adir", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(safetensors_save(st, path), STATUS_IO);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
    rmdir(path);

    /* a "full disk" (file size limit) leaves the old file untouched and no temporary */
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fputs("old", f);
    fclose(f);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1000;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    enum status s = safetensors_save(st, path);
    setrlimit(RLIMIT_FSIZE, &old);
    ck_assert_int_eq(s, STATUS_IO);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
    size_t len;
    uint8_t *b = read_all(path, &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(b, "old", 3);
    free(b);

    struct safetensors *back = NULL;
    ck_assert_int_eq(safetensors_load(&back, "/nonexistent/x.safetensors"), STATUS_NOT_FOUND);
    ck_assert_int_eq(safetensors_load(&back, dir), STATUS_IO);
    ck_assert_int_eq(safetensors_load(&back, path), STATUS_FORMAT);
    ck_assert_ptr_null(back);
    unlink(path);
    rmdir(dir);
    safetensors_free(st);
}
END_TEST

/* Loads one replayed file (tu_replay): any verdict is fine for a past crasher. */
static enum status load_safetensors(const char *path)
{
    struct safetensors *st = NULL;
    enum status s = safetensors_load(&st, path);
    safetensors_free(st);
    return s;
}

/* The fuzzer's seeds are valid files; the inputs it once crashed on (fuzz/regress/) must now
 * parse without harm (the sanitizer builds catch the rest). */
START_TEST(test_fuzz_inputs)
{
    ck_assert_int_gt(tu_replay(load_safetensors, "fuzz/corpus/fuzz_safetensors", 1), 0);
    printf("replayed %d safetensors regression inputs\n", tu_replay(load_safetensors, "fuzz/regress/fuzz_safetensors", 0));
}
END_TEST

static Suite *safetensors_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_builder_rejects);
    tcase_add_test(tc, test_meta_numbers);
    tcase_add_test(tc, test_half_types);
    tcase_add_test(tc, test_every_truncation);
    tcase_add_test(tc, test_hostile_headers);
    tcase_add_test(tc, test_hostile_lengths);
    tcase_add_test(tc, test_bit_flips);
    tcase_add_test(tc, test_save_failures);
    tcase_add_test(tc, test_fuzz_inputs);
    suite_add_tcase(s, tc);
    TCase *gold = tcase_create("golden");
    tu_needs_shared(gold, GOLDEN, NULL);
    tcase_add_test(gold, test_golden_file);
    suite_add_tcase(s, gold);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(safetensors_suite(), argc, argv);
}
