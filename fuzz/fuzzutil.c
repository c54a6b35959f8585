/* fuzzutil: set-up shared by the request fuzz targets (see fuzzutil.h). */
#include "fuzzutil.h"

#include <stdio.h>
#include <stdlib.h>

void fuzzutil_tiny_models(struct models *ms, struct serve_config *cfg)
{
    struct anogan_config c = anogan_config_seed();
    c.width = 2;
    struct anogan *m = NULL;
    ASSERT(anogan_create(&m, &c, 1) == STATUS_OK);
    snprintf(m->name, sizeof m->name, "tiny");
    ms->anogan = malloc(sizeof *ms->anogan);
    ms->anogan_path = calloc(1, sizeof *ms->anogan_path);
    ASSERT(ms->anogan && ms->anogan_path);
    ms->anogan[0] = m;
    ms->nanogan = 1;
    *cfg = config_defaults();
    cfg->max_side = 256;
    cfg->max_pixels = 1u << 14;
    cfg->max_images = 4;
    cfg->max_iterations = 100;
}
