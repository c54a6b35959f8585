/* regions: see regions.h. One pass over the pixels; each unlabelled pixel above the threshold
 * seeds a flood fill with an explicit stack (no recursion: a map can be one big blob). The
 * regions kept are the best `max` seen so far, by insertion into a small sorted array. */
#include "regions.h"

#include <stdint.h>
#include <stdlib.h>

/* a before b in the answer: larger area, then higher peak, then earlier (top-left) */
static int better(const struct region *a, const struct region *b)
{
    if (a->area != b->area)
        return a->area > b->area;
    if (a->peak != b->peak)
        return a->peak > b->peak;
    if (a->y != b->y)
        return a->y < b->y;
    return a->x < b->x;
}

static void keep(struct region *out, int max, int *n, const struct region *r)
{
    int i = *n < max ? (*n)++ : max;
    if (i == max && (max == 0 || !better(r, &out[max - 1])))
        return;
    if (i == max)
        i = max - 1;
    while (i > 0 && better(r, &out[i - 1])) {
        out[i] = out[i - 1];
        i--;
    }
    out[i] = *r;
}

enum status regions_find(struct region *out, int max, int *n, int *total, const float *map,
                         int width, int height, float threshold, long min_area)
{
    *n = 0;
    if (total)
        *total = 0;
    if (width < 1 || height < 1)
        return status_fail(STATUS_RANGE, "regions: map of %dx%d", width, height);
    size_t npix = (size_t)width * (size_t)height;
    uint8_t *seen = calloc(npix, 1);
    size_t *stack = malloc(npix * sizeof *stack);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return status_fail(STATUS_NOMEM, "out of memory finding regions of a %dx%d map", width,
                           height);
    }
    int count = 0;
    for (size_t start = 0; start < npix; start++) {
        if (seen[start] || !(map[start] >= threshold))
            continue;
        struct region r = {(int)(start % (size_t)width), (int)(start / (size_t)width), 1, 1, 0,
                           map[start]};
        int x1 = r.x, y1 = r.y; /* inclusive bottom-right */
        size_t top = 0;
        stack[top++] = start;
        seen[start] = 1;
        while (top) {
            size_t p = stack[--top];
            int px = (int)(p % (size_t)width), py = (int)(p / (size_t)width);
            r.area++;
            if (map[p] > r.peak)
                r.peak = map[p];
            r.x = px < r.x ? px : r.x;
            r.y = py < r.y ? py : r.y;
            x1 = px > x1 ? px : x1;
            y1 = py > y1 ? py : y1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qx = px + dx, qy = py + dy;
                    if (qx < 0 || qy < 0 || qx >= width || qy >= height)
                        continue;
                    size_t q = (size_t)qy * (size_t)width + (size_t)qx;
                    if (seen[q] || !(map[q] >= threshold))
                        continue;
                    seen[q] = 1;
                    stack[top++] = q;
                }
        }
        r.width = x1 - r.x + 1;
        r.height = y1 - r.y + 1;
        if (r.area < min_area)
            continue;
        count++;
        keep(out, max, n, &r);
    }
    free(seen);
    free(stack);
    if (total)
        *total = count;
    return STATUS_OK;
}
