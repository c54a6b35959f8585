/* test_verdict: the line's verdict from a score and a band (core/verdict.c): the rule at the
 * band's ends, a zero-width band equals the old score > threshold, NaN is NOT_DECIDABLE, and the
 * band from held-out scores follows the documented quantile rule; a band round-trips through a
 * model file, and a file calibrated before bands (no calibration.band_* keys) has a zero-width one. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anogan.h"

#include "testutil.h"
#include "verdict.h"

START_TEST(test_verdict_rule)
{
    ck_assert_int_eq(verdict_evaluate(0.5f, 1.0f, 2.0f), VERDICT_OK);
    ck_assert_int_eq(verdict_evaluate(1.0f, 1.0f, 2.0f), VERDICT_OK); /* low inclusive */
    ck_assert_int_eq(verdict_evaluate(1.5f, 1.0f, 2.0f), VERDICT_NOT_DECIDABLE);
    ck_assert_int_eq(verdict_evaluate(2.0f, 1.0f, 2.0f), VERDICT_NOT_DECIDABLE);
    ck_assert_int_eq(verdict_evaluate(2.01f, 1.0f, 2.0f), VERDICT_NOT_OK);
    ck_assert_int_eq(verdict_evaluate(NAN, 1.0f, 2.0f), VERDICT_NOT_DECIDABLE);
    ck_assert_str_eq(verdict_name(VERDICT_OK), "OK");
    ck_assert_str_eq(verdict_name(VERDICT_NOT_OK), "NOT_OK");
    ck_assert_str_eq(verdict_name(VERDICT_NOT_DECIDABLE), "NOT_DECIDABLE");
}
END_TEST

START_TEST(test_verdict_zero_band_is_threshold)
{
    float t = 3.25f;
    for (int i = -100; i <= 100; i++) {
        float s = t + (float)i * 0.01f;
        ck_assert_int_eq(verdict_evaluate(s, t, t), s > t ? VERDICT_NOT_OK : VERDICT_OK);
    }
}
END_TEST

START_TEST(test_verdict_band_quantiles)
{
    float s[101];
    for (int i = 0; i <= 100; i++)
        s[i] = (float)(100 - i); /* 0..100, unsorted: percentile q is q */
    float lo, hi;
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 99, 99), STATUS_OK);
    ck_assert_float_eq_tol(lo, 98, 1e-4);
    ck_assert_float_eq_tol(hi, 100, 1e-4);
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 95, 95), STATUS_OK);
    ck_assert_float_eq_tol(lo, 90, 1e-4);
    ck_assert_float_eq_tol(hi, 100, 1e-4);
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 100, 100), STATUS_OK);
    ck_assert_float_eq_tol(lo, 100, 1e-4); /* p100: no band */
    ck_assert_float_eq_tol(hi, 100, 1e-4);
    ck_assert_int_eq(verdict_band_from_scores(&lo, &hi, s, 101, 40, 40), STATUS_OK);
    ck_assert_float_eq_tol(lo, 0, 1e-4); /* p - (100 - p) < 0: the minimum */
    ck_assert(verdict_band_valid(lo, hi, 40));
    ck_assert(!verdict_band_valid(41, 50, 40));
    ck_assert(!verdict_band_valid(30, 39, 40));
    ck_assert(!verdict_band_valid(NAN, 50, 40));
    ck_assert(!verdict_band_valid(30, INFINITY, 40));
}
END_TEST

/* A tiny model calibrated at 2.5 with the band [2, 3], saved to a fresh file made from the
 * mkstemp template path (the caller unlinks it and frees the model). */
static struct anogan *save_banded_model(char *path, unsigned seed)
{
    struct anogan_config c = anogan_config_seed();
    c.width = 4;
    struct anogan *m = NULL;
    ck_assert_int_eq(anogan_create(&m, &c, seed), STATUS_OK);
    m->cal.present = true;
    m->cal.threshold = 2.5f;
    m->cal.percentile = 99;
    m->cal.count = 10;
    m->cal.band_low = 2.0f;
    m->cal.band_high = 3.0f;
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(anogan_save(m, path), STATUS_OK);
    return m;
}

START_TEST(test_verdict_band_round_trip)
{
    /* a band stored with the model comes back as it was saved */
    char path[] = "/tmp/test_verdict_XXXXXX";
    struct anogan *m = save_banded_model(path, 5), *back = NULL;
    ck_assert_int_eq(anogan_load(&back, path), STATUS_OK);
    ck_assert(back->cal.band_low == 2.0f && back->cal.band_high == 3.0f);
    anogan_free(back);
    /* a band that does not hold the threshold is not stored: no band (both ends = threshold) */
    m->cal.band_low = 2.6f;
    ck_assert_int_eq(anogan_save(m, path), STATUS_OK);
    ck_assert_int_eq(anogan_load(&back, path), STATUS_OK);
    ck_assert(back->cal.band_low == 2.5f && back->cal.band_high == 2.5f);
    anogan_free(back);
    unlink(path);
    anogan_free(m);
}
END_TEST

/* The first occurrence of needle in hay[len], or NULL. */
static char *find(char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(hay + i, needle, n))
            return hay + i;
    return NULL;
}

/* Blanks the metadata entry "key":"value" out of a safetensors header in place (spaces are
 * JSON whitespace, so the header keeps its length). */
static void blank_meta(char *header, size_t len, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    char *at = find(header, len, quoted);
    ck_assert_ptr_nonnull(at);
    char *colon = strchr(at + strlen(quoted), ':');
    char *open = strchr(colon, '"'), *close = strchr(open + 1, '"');
    char *end = close + 1;
    while (*end == ' ')
        end++;
    if (*end == ',') {
        memset(at, ' ', (size_t)(end - at + 1)); /* the entry and its comma */
    } else {                                     /* the last entry: the comma before it */
        char *comma = at - 1;
        while (*comma == ' ')
            comma--;
        ck_assert_int_eq(*comma, ',');
        memset(comma, ' ', (size_t)(close + 1 - comma));
    }
}

START_TEST(test_verdict_old_model_file)
{
    /* a model calibrated before bands existed (no calibration.band_* keys) loads with a
     * zero-width band at the threshold, so the verdict is exactly score > threshold */
    char path[] = "/tmp/test_verdict_old_XXXXXX";
    struct anogan *m = save_banded_model(path, 6), *back = NULL;
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    uint64_t hlen = 0;
    ck_assert_int_eq(fread(&hlen, 8, 1, f), 1); /* little-endian u64, as on every x86 */
    char *header = calloc(hlen + 1, 1);
    ck_assert_ptr_nonnull(header);
    ck_assert_int_eq(fread(header, 1, hlen, f), hlen);
    blank_meta(header, hlen, "calibration.band_low");
    blank_meta(header, hlen, "calibration.band_high");
    ck_assert_ptr_null(find(header, hlen, "band_"));
    ck_assert_int_eq(fseek(f, 8, SEEK_SET), 0);
    ck_assert_int_eq(fwrite(header, 1, hlen, f), hlen);
    ck_assert_int_eq(fclose(f), 0);
    free(header);
    ck_assert_int_eq(anogan_load(&back, path), STATUS_OK);
    ck_assert(back->cal.present);
    ck_assert(back->cal.band_low == back->cal.threshold &&
              back->cal.band_high == back->cal.threshold);
    anogan_free(back);
    anogan_free(m);
    unlink(path);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("verdict");
    TCase *t = tcase_create("verdict");
    tcase_add_test(t, test_verdict_rule);
    tcase_add_test(t, test_verdict_zero_band_is_threshold);
    tcase_add_test(t, test_verdict_band_quantiles);
    tcase_add_test(t, test_verdict_band_round_trip);
    tcase_add_test(t, test_verdict_old_model_file);
    suite_add_tcase(s, t);
    return tu_main(s, argc, argv);
}
