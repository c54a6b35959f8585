/* warm: see warm.h. */
#include "warm.h"

#include <stdlib.h>

#include "app.h"
#include "models.h"
#include "pool.h"

struct warm_job {
    struct pool_job pj; /* first: the pool hands back &pj */
    struct app *app;
    float *x;
    uint64_t seed;
    struct detect_result res;
};

static void warm_done(struct pool_job *pj)
{
    struct warm_job *w = (struct warm_job *)pj;
    atomic_fetch_sub(&w->app->warming, 1);
    free(w->x);
    free(w);
}

void warm_start(struct app *app)
{
    const struct models *ms = app->models;
    atomic_store(&app->warming, ms->nanogan);
    for (int i = 0; i < ms->nanogan; i++) {
        const struct anogan *m = ms->anogan[i];
        struct warm_job *w = calloc(1, sizeof *w);
        float *x = w ? calloc(anogan_image_size(m), sizeof *x) : NULL;
        if (!x) {
            free(w);
            atomic_fetch_sub(&app->warming, 1);
            continue;
        }
        w->app = app;
        w->x = x;
        struct anogan_search s = anogan_search_default(m);
        s.iterations = 0;
        w->pj = (struct pool_job){.kind = POOL_JOB_SCORE, .model = m, .search = s, .n = 1,
                                  .x = x, .seeds = &w->seed, .res = &w->res, .done = warm_done};
        if (pool_submit(app->pool, &w->pj) != STATUS_OK) {
            free(x);
            free(w);
            atomic_fetch_sub(&app->warming, 1);
        }
    }
}
