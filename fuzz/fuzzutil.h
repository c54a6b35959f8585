/* fuzzutil: set-up shared by the fuzz targets that drive the daemon's request handlers
 * (fuzz_request.c, fuzz_v2.c). Not a target itself: its name stays outside fuzz/fuzz_*.c, the
 * pattern CMake and scripts/fuzz.sh build targets from. */
#ifndef INSPECTD_FUZZUTIL_H
#define INSPECTD_FUZZUTIL_H

#include "config.h"
#include "models.h"

/* Fills ms with one tiny random AnoGAN (width 2) named "tiny", the default and only model, and
 * cfg with the defaults under small caps (256 px a side, 2^14 pixels, 4 images, 100 iterations)
 * so inputs stay fast. Asserts on failure. The model is never freed: it lives as long as the
 * fuzzing process. */
void fuzzutil_tiny_models(struct models *ms, struct serve_config *cfg);

#endif
