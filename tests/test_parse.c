/* test_parse: the number parser shared by the command line and the request parser: every kind's
 * bounds, garbage, overflow, trailing characters, spaces, NaN and Inf, and the one message style
 * of its refusals. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "parse.h"
#include "testutil.h"

/* The refusal must leave *out alone and say "NAME 'TEXT': expected WHAT". */
#define REFUSED(call, want_msg)                                                                   \
    do {                                                                                          \
        ck_assert_int_eq((call), STATUS_RANGE);                                                   \
        ck_assert_msg(!strcmp(status_message(), (want_msg)), "message '%s', want '%s'",           \
                      status_message(), (want_msg));                                              \
    } while (0)

START_TEST(test_int)
{
    long long v = 7;
    ck_assert_int_eq(parse_int(&v, "n", "0", 0, 10), STATUS_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(parse_int(&v, "n", "10", 0, 10), STATUS_OK); /* bounds are inclusive */
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(parse_int(&v, "n", "-5", -5, 5), STATUS_OK);
    ck_assert_int_eq(v, -5);
    ck_assert_int_eq(parse_int(&v, "n", "007", 0, 10), STATUS_OK); /* decimal, not octal */
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(parse_int(&v, "n", "9223372036854775807", 0, LLONG_MAX), STATUS_OK);
    ck_assert(v == LLONG_MAX);
    ck_assert_int_eq(parse_int(&v, "n", "-9223372036854775808", LLONG_MIN, 0), STATUS_OK);
    ck_assert(v == LLONG_MIN);
    v = 42;
    REFUSED(parse_int(&v, "--port", "70000", 0, 65535),
            "--port '70000': expected an integer in [0, 65535]");
    REFUSED(parse_int(&v, "n", "-1", 0, 10), "n '-1': expected an integer in [0, 10]");
    REFUSED(parse_int(&v, "n", "11", 0, 10), "n '11': expected an integer in [0, 10]");
    /* garbage, trailing characters, spaces, signs and forms strtol would take */
    const char *bad[] = {"", "abc", "5x", "5 ", " 5", "+5", "--5", "-", "5.0", "1e3", "0x10",
                         "5\n", "\t5", "inf", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_int(&v, "n", bad[i], -100, 100) == STATUS_RANGE, "'%s' accepted",
                      bad[i]);
    /* overflow of long long itself, not only of the range */
    REFUSED(parse_int(&v, "n", "9223372036854775808", 0, LLONG_MAX),
            "n '9223372036854775808': expected an integer in [0, 9223372036854775807]");
    ck_assert_int_eq(parse_int(&v, "n", "-99999999999999999999", LLONG_MIN, 0), STATUS_RANGE);
    ck_assert_int_eq(v, 42); /* untouched by every refusal */
}
END_TEST

START_TEST(test_u64)
{
    uint64_t v = 3;
    ck_assert_int_eq(parse_u64(&v, "seed", "18446744073709551615"), STATUS_OK);
    ck_assert(v == UINT64_MAX);
    ck_assert_int_eq(parse_u64(&v, "seed", "0"), STATUS_OK);
    ck_assert(v == 0);
    v = 3;
    REFUSED(parse_u64(&v, "seed", "18446744073709551616"),
            "seed '18446744073709551616': expected an integer in [0, 2^64)");
    REFUSED(parse_u64(&v, "seed", "-1"), "seed '-1': expected an integer in [0, 2^64)");
    const char *bad[] = {"", "+1", " 1", "1 ", "1x", "0x1", "1.0", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_u64(&v, "seed", bad[i]) == STATUS_RANGE, "'%s' accepted", bad[i]);
    ck_assert(v == 3);
}
END_TEST

START_TEST(test_float)
{
    double v = 9;
    ck_assert_int_eq(parse_float(&v, "lr", "0.05", 1e-8, 10), STATUS_OK);
    ck_assert(v == 0.05);
    ck_assert_int_eq(parse_float(&v, "lr", "1e-3", 1e-8, 10), STATUS_OK);
    ck_assert(v == 1e-3);
    ck_assert_int_eq(parse_float(&v, "x", "-2.5E+1", -100, 0), STATUS_OK);
    ck_assert(v == -25);
    ck_assert_int_eq(parse_float(&v, "x", ".5", 0, 1), STATUS_OK);
    ck_assert(v == 0.5);
    ck_assert_int_eq(parse_float(&v, "tol", "1", 0, 1), STATUS_OK); /* inclusive */
    /* underflow reads as (nearly) zero, then faces the range */
    ck_assert_int_eq(parse_float(&v, "tol", "1e-400", 0, 1), STATUS_OK);
    ck_assert(v >= 0 && v < DBL_MIN);
    v = 9;
    REFUSED(parse_float(&v, "lr", "20", 1e-8, 10), "lr '20': expected a number in [1e-08, 10]");
    REFUSED(parse_float(&v, "lr", "0", 1e-8, 10), "lr '0': expected a number in [1e-08, 10]");
    /* overflow, NaN and Inf in every spelling, hex, garbage and trailing characters */
    const char *bad[] = {"1e999", "-1e999", "inf", "-inf", "INF", "infinity", "nan", "NaN",
                         "0x1p-3", "", ".", "e5", "1e", "1.5x", "1.5 ", " 1.5", "+1", "1..2",
                         "1-2", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_float(&v, "x", bad[i], -1e300, 1e300) == STATUS_RANGE,
                      "'%s' accepted", bad[i]);
    ck_assert(v == 9);
}
END_TEST

START_TEST(test_size)
{
    size_t v = 1;
    ck_assert_int_eq(parse_size(&v, "--max-body", "8M", 0, SIZE_MAX), STATUS_OK);
    ck_assert_uint_eq(v, 8u << 20);
    ck_assert_int_eq(parse_size(&v, "b", "512KiB", 0, SIZE_MAX), STATUS_OK);
    ck_assert_uint_eq(v, 512u << 10);
    ck_assert_int_eq(parse_size(&v, "b", "1g", 0, SIZE_MAX), STATUS_OK);
    ck_assert_uint_eq(v, 1u << 30);
    ck_assert_int_eq(parse_size(&v, "b", "3KB", 0, SIZE_MAX), STATUS_OK);
    ck_assert_uint_eq(v, 3u << 10);
    ck_assert_int_eq(parse_size(&v, "b", "1048576", 0, SIZE_MAX), STATUS_OK);
    ck_assert_uint_eq(v, 1u << 20);
    v = 1;
    REFUSED(parse_size(&v, "--max-body", "512", 1024, 1u << 30),
            "--max-body '512': expected a byte count in [1024, 1073741824] (K, M, G suffixes)");
    REFUSED(parse_size(&v, "--max-body", "2G", 1024, 1u << 30),
            "--max-body '2G': expected a byte count in [1024, 1073741824] (K, M, G suffixes)");
    const char *bad[] = {"", "-1", "1X", "1KK", "1 K", "K", "1.5M", " 1", "1MiBB",
                         "99999999999999999999", "17179869184G"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_size(&v, "b", bad[i], 0, SIZE_MAX) == STATUS_RANGE, "'%s' accepted",
                      bad[i]);
    ck_assert_uint_eq(v, 1);
}
END_TEST

START_TEST(test_bool_and_choice)
{
    bool b = false;
    const char *yes[] = {"1", "true", "TRUE", "yes", "on"}, *no[] = {"0", "false", "No", "off"};
    for (size_t i = 0; i < 5; i++) {
        b = false;
        ck_assert(parse_bool(&b, "x", yes[i]) == STATUS_OK && b);
    }
    for (size_t i = 0; i < 4; i++) {
        b = true;
        ck_assert(parse_bool(&b, "x", no[i]) == STATUS_OK && !b);
    }
    REFUSED(parse_bool(&b, "--access-log", "2"),
            "--access-log '2': expected 1 or 0 (true/false, yes/no, on/off)");
    ck_assert_int_eq(parse_bool(&b, "x", ""), STATUS_RANGE);
    int k = -1;
    ck_assert_int_eq(parse_choice(&k, "--search", "encoder", "auto|random|encoder"), STATUS_OK);
    ck_assert_int_eq(k, 2);
    ck_assert_int_eq(parse_choice(&k, "--search", "auto", "auto|random|encoder"), STATUS_OK);
    ck_assert_int_eq(k, 0);
    REFUSED(parse_choice(&k, "--search", "rand", "auto|random|encoder"),
            "--search 'rand': expected auto, random or encoder");
    REFUSED(parse_choice(&k, "--precision", "fp64", "fp32|bf16"),
            "--precision 'fp64': expected fp32 or bf16");
    ck_assert_int_eq(parse_choice(&k, "x", "", "a|b"), STATUS_RANGE);
    ck_assert_int_eq(parse_choice(&k, "x", "a|b", "a|b"), STATUS_RANGE);
    ck_assert_int_eq(k, 0);
}
END_TEST

START_TEST(test_check_parsed_numbers)
{
    long long i = 5;
    double d = 5;
    ck_assert_int_eq(parse_check_int(&i, "iterations", 3, 0, 500), STATUS_OK);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(parse_check_int(&i, "iterations", 500, 0, 500), STATUS_OK);
    REFUSED(parse_check_int(&i, "iterations", 501, 0, 500),
            "iterations '501': expected an integer in [0, 500]");
    REFUSED(parse_check_int(&i, "iterations", 2.5, 0, 500),
            "iterations '2.5': expected an integer in [0, 500]");
    REFUSED(parse_check_int(&i, "iterations", -1, 0, 500),
            "iterations '-1': expected an integer in [0, 500]");
    /* NaN: what a JSON string or object reads as; no value to quote */
    REFUSED(parse_check_int(&i, "iterations", NAN, 0, 500),
            "iterations: expected an integer in [0, 500]");
    ck_assert_int_eq(parse_check_int(&i, "n", INFINITY, LLONG_MIN, LLONG_MAX), STATUS_RANGE);
    ck_assert_int_eq(parse_check_int(&i, "n", -INFINITY, LLONG_MIN, LLONG_MAX), STATUS_RANGE);
    /* beyond long long (2^63 is a double, LLONG_MAX is not): refused, not cast */
    ck_assert_int_eq(parse_check_int(&i, "n", 0x1p63, LLONG_MIN, LLONG_MAX), STATUS_RANGE);
    ck_assert_int_eq(parse_check_int(&i, "n", 1e300, LLONG_MIN, LLONG_MAX), STATUS_RANGE);
    ck_assert_int_eq(parse_check_int(&i, "n", -0x1p63, LLONG_MIN, LLONG_MAX), STATUS_OK);
    ck_assert(i == LLONG_MIN);
    i = 5;
    ck_assert_int_eq(parse_check_int(&i, "n", 0x1p53, 0, 1LL << 53), STATUS_OK);
    ck_assert(i == 1LL << 53);
    ck_assert_int_eq(parse_check_int(&i, "n", 0x1p53 + 2, 0, 1LL << 53), STATUS_RANGE);

    ck_assert_int_eq(parse_check_float(&d, "lr", 0.05, 1e-8, 10), STATUS_OK);
    ck_assert(d == 0.05);
    REFUSED(parse_check_float(&d, "lr", 0, 1e-8, 10), "lr '0': expected a number in [1e-08, 10]");
    REFUSED(parse_check_float(&d, "tol", NAN, 0, 1), "tol: expected a number in [0, 1]");
    ck_assert_int_eq(parse_check_float(&d, "x", INFINITY, -1e308, 1e308), STATUS_RANGE);
    ck_assert(d == 0.05);
}
END_TEST

START_TEST(test_long_value_is_cut)
{
    char text[300];
    memset(text, '9', sizeof text - 1);
    text[sizeof text - 1] = 0;
    long long v;
    ck_assert_int_eq(parse_int(&v, "n", text, 0, 10), STATUS_RANGE);
    ck_assert_msg(strlen(status_message()) < 120, "message not cut: %s", status_message());
    ck_assert(strstr(status_message(), "...'"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_int);
    tcase_add_test(tc, test_u64);
    tcase_add_test(tc, test_float);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_bool_and_choice);
    tcase_add_test(tc, test_check_parsed_numbers);
    tcase_add_test(tc, test_long_value_is_cut);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
