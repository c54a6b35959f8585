/* test_regions: connected components of a thresholded map (core/regions.c): boxes, areas and
 * peaks on hand-drawn maps, 8-connectivity, min_area, the ordering and the cap on how many are
 * returned, an empty map, a map that is one blob, and bad sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "regions.h"
#include "testutil.h"

/* A map from text: '.' is 0, digits d are d/10. */
static float *map_from(const char *const *rows, int h, int *w)
{
    *w = (int)strlen(rows[0]);
    float *m = malloc((size_t)*w * (size_t)h * sizeof *m);
    ck_assert_ptr_nonnull(m);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < *w; x++) {
            char c = rows[y][x];
            m[y * *w + x] = c == '.' ? 0.0f : (float)(c - '0') / 10.0f;
        }
    return m;
}

/* Region r has this area, bounding box (x, y, width, height) and peak. */
static void expect_region(const struct region *r, int area, int x, int y, int width, int height,
                          float peak)
{
    ck_assert_int_eq(r->area, area);
    ck_assert_int_eq(r->x, x);
    ck_assert_int_eq(r->y, y);
    ck_assert_int_eq(r->width, width);
    ck_assert_int_eq(r->height, height);
    ck_assert_float_eq_tol(r->peak, peak, 1e-6);
}

START_TEST(test_regions_boxes)
{
    static const char *const rows[] = {
        "55......",
        "59...3..",
        ".....33.",
        "......3.",
        "7.......",
    };
    int w, n, total;
    float *m = map_from(rows, 5, &w);
    struct region r[4];
    ck_assert_int_eq(regions_find(r, 4, &n, &total, m, w, 5, 0.3f, 1), STATUS_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(total, 3);
    /* equal areas (4): the higher peak first. The 2x2 block with the 9: */
    expect_region(&r[0], 4, 0, 0, 2, 2, 0.9f);
    /* the L of 3s: (5,1) (5,2) (6,2) (6,3): box x 5..6, y 1..3 */
    expect_region(&r[1], 4, 5, 1, 2, 3, 0.3f);
    ck_assert_int_eq(r[2].area, 1);
    ck_assert_int_eq(r[2].x, 0);
    ck_assert_int_eq(r[2].y, 4);
    free(m);
}
END_TEST

START_TEST(test_regions_order_peak_then_position)
{
    static const char *const rows[] = {
        "4...8",
        ".....",
        "8....",
    };
    int w, n, total;
    float *m = map_from(rows, 3, &w);
    struct region r[3];
    ck_assert_int_eq(regions_find(r, 3, &n, &total, m, w, 3, 0.1f, 1), STATUS_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_float_eq_tol(r[0].peak, 0.8f, 1e-6); /* same area: higher peak first */
    ck_assert_int_eq(r[0].y, 0);                   /* same peak: top row first */
    ck_assert_int_eq(r[0].x, 4);
    ck_assert_int_eq(r[1].y, 2);
    ck_assert_float_eq_tol(r[2].peak, 0.4f, 1e-6);
    free(m);
}
END_TEST

START_TEST(test_regions_diagonal_joins)
{
    static const char *const rows[] = {
        "5...",
        ".5..",
        "..5.",
        "...5",
    };
    int w, n, total;
    float *m = map_from(rows, 4, &w);
    struct region r[2];
    ck_assert_int_eq(regions_find(r, 2, &n, &total, m, w, 4, 0.5f, 1), STATUS_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(r[0].area, 4);
    ck_assert_int_eq(r[0].width, 4);
    ck_assert_int_eq(r[0].height, 4);
    /* the threshold is inclusive; above every value nothing is found */
    ck_assert_int_eq(regions_find(r, 2, &n, &total, m, w, 4, 0.51f, 1), STATUS_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(total, 0);
    free(m);
}
END_TEST

START_TEST(test_regions_min_area_and_cap)
{
    static const char *const rows[] = {
        "1.1.1.11",
        "......11",
        "1.1.....",
    };
    int w, n, total;
    float *m = map_from(rows, 3, &w);
    struct region r[2];
    ck_assert_int_eq(regions_find(r, 2, &n, &total, m, w, 3, 0.1f, 1), STATUS_OK);
    ck_assert_int_eq(total, 6);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(r[0].area, 4);
    ck_assert_int_eq(r[1].area, 1);
    ck_assert_int_eq(regions_find(r, 2, &n, &total, m, w, 3, 0.1f, 2), STATUS_OK);
    ck_assert_int_eq(total, 1);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(regions_find(NULL, 0, &n, &total, m, w, 3, 0.1f, 1), STATUS_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(total, 6);
    free(m);
}
END_TEST

START_TEST(test_regions_one_blob_and_nan)
{
    int w = 300, h = 200;
    float *m = malloc((size_t)w * h * sizeof *m);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < w * h; i++)
        m[i] = 1.0f;
    m[5] = NAN; /* never above a threshold */
    struct region r[1];
    int n, total;
    ck_assert_int_eq(regions_find(r, 1, &n, &total, m, w, h, 0.5f, 1), STATUS_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(r[0].area, (long)w * h - 1);
    ck_assert_int_eq(r[0].width, w);
    ck_assert_int_eq(r[0].height, h);
    ck_assert_int_eq(regions_find(r, 1, &n, &total, m, 0, h, 0.5f, 1), STATUS_RANGE);
    ck_assert_int_eq(n, 0);
    free(m);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("regions");
    TCase *t = tcase_create("regions");
    tcase_add_test(t, test_regions_boxes);
    tcase_add_test(t, test_regions_order_peak_then_position);
    tcase_add_test(t, test_regions_diagonal_joins);
    tcase_add_test(t, test_regions_min_area_and_cap);
    tcase_add_test(t, test_regions_one_blob_and_nan);
    suite_add_tcase(s, t);
    return tu_main(s, argc, argv);
}
