/* regions: the connected components of a thresholded anomaly map, as a line reports defects:
 * bounding box, pixel area and peak value of each. Pure: no model, no I/O.
 *
 * A pixel is in a region when its value is >= threshold; pixels join when they touch by an edge
 * or a corner (8-connectivity). Components smaller than min_area pixels are dropped (noise).
 * Regions are reported largest first (ties: higher peak first, then top-left first). */
#ifndef INSPECTD_REGIONS_H
#define INSPECTD_REGIONS_H

#include <stddef.h>

#include "status.h"

struct region {
    int x, y, width, height; /* bounding box in pixels, (x, y) its top-left corner */
    long area;               /* pixels in the component */
    float peak;              /* largest map value in it */
};

/* Finds the regions of map (height rows of width values, row-major). out[max] receives the
 * largest max regions (max may be 0), *n how many were written, *total (may be NULL) how many
 * there were in all (min_area applied). STATUS_NOMEM when the label buffers (9 bytes a pixel)
 * cannot be allocated, STATUS_RANGE for width or height < 1. */
enum status regions_find(struct region *out, int max, int *n, int *total, const float *map,
                         int width, int height, float threshold, long min_area);

#endif
