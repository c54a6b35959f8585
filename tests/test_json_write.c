/* test_json_write: core's one JSON writer (json_write.h), the one the daemon's answers, the
 * command line's result lines and the safetensors header are written with: escaping, numbers
 * (shortest float text, fixed decimals, non-finite as null), commas at every depth, base64, the
 * FILE form of a string, and an allocation failure reported once at the end. The daemon's
 * reader reading it back is in test_api. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_write.h"
#include "testutil.h"

static char *finish(struct json_writer *w)
{
    size_t len;
    char *text = json_writer_finish(w, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    return text;
}

START_TEST(test_escaping)
{
    struct json_writer w;
    json_writer_init(&w);
    json_array_begin(&w);
    json_string_put(&w, "q\"b\\n\nr\rt\tc\x01\x1f del\x7f \xc3\xa9");
    json_string_put(&w, NULL); /* as "" */
    json_array_end(&w);
    char *text = finish(&w);
    ck_assert_str_eq(text, "[\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f del\x7f \xc3\xa9\",\"\"]");
    free(text);
}
END_TEST

/* json_fput_string prints exactly what the writer writes for the same string. */
START_TEST(test_fput_string_matches_writer)
{
    static const char *const cases[] = {"", "plain", "a\"b\\c\n\x02", "path/with spaces/é.png"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *printed = NULL;
        size_t plen = 0;
        FILE *f = open_memstream(&printed, &plen);
        ck_assert_ptr_nonnull(f);
        json_fput_string(f, cases[i]);
        fclose(f);
        struct json_writer w;
        json_writer_init(&w);
        json_string_put(&w, cases[i]);
        char *text = finish(&w);
        ck_assert_str_eq(printed, text);
        free(text);
        free(printed);
    }
}
END_TEST

START_TEST(test_numbers)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_number(&w, "f", 0.1f);
    json_kv_number(&w, "d", 0.1);
    json_kv_number(&w, "inf", INFINITY);
    json_kv_fixed(&w, "acc", 0.81299999, 4);
    json_kv_fixed(&w, "zero", 0, 1);
    json_kv_fixed(&w, "nan", NAN, 4);
    json_kv_fixed(&w, "big", 1e20, 2); /* past 1e15: the shortest exact form, not 21 digits */
    json_kv_int(&w, "i", -9007199254740993LL);
    json_object_end(&w);
    char *text = finish(&w);
    ck_assert_str_eq(text, "{\"f\":0.1,\"d\":0.10000000000000001,\"inf\":null,\"acc\":0.8130,"
                           "\"zero\":0.0,\"nan\":null,\"big\":1e+20,\"i\":-9007199254740993}");
    free(text);
}
END_TEST

START_TEST(test_nesting_and_base64)
{
    struct json_writer w;
    json_writer_init(&w);
    json_array_begin(&w);
    for (int i = 0; i < 3; i++) {
        json_object_begin(&w);
        json_kv_int(&w, "i", i);
        json_key_put(&w, "a");
        json_array_begin(&w);
        json_array_end(&w);
        json_object_end(&w);
    }
    json_base64_put(&w, (const uint8_t *)"Ma", 2);
    json_bool_put(&w, false);
    json_null_put(&w);
    json_raw_put(&w, "{\"r\":1}", 7);
    json_array_end(&w);
    char *text = finish(&w);
    ck_assert_str_eq(text, "[{\"i\":0,\"a\":[]},{\"i\":1,\"a\":[]},{\"i\":2,\"a\":[]},\"TWE=\",false,"
                           "null,{\"r\":1}]");
    free(text);
}
END_TEST

START_TEST(test_print)
{
    char *printed = NULL;
    size_t plen = 0;
    FILE *f = open_memstream(&printed, &plen);
    ck_assert_ptr_nonnull(f);
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "file", "x.png");
    json_object_end(&w);
    ck_assert(json_writer_print(&w, f));
    fclose(f);
    ck_assert_str_eq(printed, "{\"file\":\"x.png\"}\n");
    free(printed);
}
END_TEST

/* A failed allocation is sticky: the writer goes on quietly and finish says NULL once. */
START_TEST(test_failure_is_reported_at_the_end)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    w.failed = true; /* what reserve() sets when realloc fails */
    json_kv_string(&w, "k", "v");
    json_object_end(&w);
    size_t len = 99;
    ck_assert_ptr_null(json_writer_finish(&w, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(w.buf);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("json_write");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_escaping);
    tcase_add_test(tc, test_fput_string_matches_writer);
    tcase_add_test(tc, test_numbers);
    tcase_add_test(tc, test_nesting_and_base64);
    tcase_add_test(tc, test_print);
    tcase_add_test(tc, test_failure_is_reported_at_the_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
